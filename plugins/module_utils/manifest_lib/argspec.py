# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The argument spec of ie_manifest, written once for the module and its action plugin.

The action plugin checks the task's arguments with it on the controller; the module checks the
arguments the action plugin sends with the same spec on the managed host (community.crypto
shares the spec of ``openssl_privatekey`` with ``openssl_privatekey_pipe`` the same way).

Where it runs: on the controller and on managed hosts. Standard library only.
"""

from __future__ import annotations

import copy

from ansible_collections.awsie.importexport.plugins.module_utils.manifest_lib.schema import JOB_TYPES, KINDS

ARGUMENT_SPEC = dict(
    job_type=dict(type='str', choices=list(JOB_TYPES), default='Import'),
    kind=dict(type='str', choices=list(KINDS)),
    fields=dict(type='dict'),
    src=dict(type='path'),
    dest=dict(type='path'),
    strict=dict(type='bool', default=True),
    backup=dict(type='bool', default=False),
    mode=dict(type='raw'),
)
MUTUALLY_EXCLUSIVE = [('fields', 'src')]
REQUIRED_ONE_OF = [('fields', 'src')]


def ie_manifest_spec():
    """Keyword arguments for ``AnsibleModule`` and ``ActionBase.validate_argument_spec`` (a fresh copy)."""
    return dict(argument_spec=copy.deepcopy(ARGUMENT_SPEC), mutually_exclusive=list(MUTUALLY_EXCLUSIVE),
                required_one_of=list(REQUIRED_ONE_OF))
