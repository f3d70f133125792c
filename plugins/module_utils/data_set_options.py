# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The options ie_plan and ie_load share - the data set, which of its files to take, how their
paths become S3 keys - as one argument spec (documented in the ``awsie.importexport.data_set``
doc fragment). Runs on the managed host, inside those modules; no Ansible imports."""

from __future__ import annotations


def argument_spec(**own):
    """The shared options, then the module's ``own`` ones (a fresh dict)."""
    spec = dict(
        src=dict(type='path', required=True),
        manifest=dict(type='dict'),
        prefix=dict(type='str'),
        substitutions=dict(type='dict'),
        ignore=dict(type='list', elements='str'),
        include=dict(type='list', elements='str'),
        files_from=dict(type='path'),
    )
    spec.update(own)
    return spec
