# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ie_wait's options, one spec for the module (on the managed host) and its action plugin (on the
controller, which validates them before the first look). No Ansible imports."""

from __future__ import annotations


def argument_spec():
    """A fresh dict each call (AnsibleModule may change what it is given)."""
    return dict(
        jobs=dict(type='list', elements='dict', required=True),
        interval=dict(type='int', default=30),
        timeout=dict(type='int', default=172800),
        wait=dict(type='float', default=5),
        async_dir=dict(type='path', default='~/.ansible_async'),
    )
