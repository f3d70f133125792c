# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Controller-side helpers shared by this collection's action plugins."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail, AnsibleError


def read_controller_file(action, path, option):
    """Bytes of a controller file named by ``option``: searched like ``src`` options (role
    ``files/``), vault-decrypted when needed."""
    try:
        source = action._find_needle('files', path)
    except AnsibleError as exc:
        raise AnsibleActionFail('%s %s not found on the controller: %s' % (option, path, exc))
    real = action._loader.get_real_file(source, decrypt=True)
    try:
        with open(real, 'rb') as handle:
            return handle.read()
    finally:
        action._loader.cleanup_tmp_file(real)
