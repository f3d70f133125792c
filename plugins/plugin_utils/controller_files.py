# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Controller-side helpers shared by this collection's action plugins."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.parsing.vault import is_encrypted

from ansible_collections.awsie.importexport.plugins.module_utils.fileio import (
    FileReadError, FileTooLargeError, read_regular_file)

# Vault text is hex of the ciphertext (twice the size) in lines of 80, after a header.
_VAULT_OVERHEAD = 2.1


def read_controller_file(action, path, option, max_bytes=None):
    """Bytes of a controller file named by ``option``: searched like ``src`` options (role
    ``files/``), vault-decrypted when needed. Only a regular file is opened (a FIFO never
    blocks); a file over ``max_bytes`` (after decryption; None: no limit) is refused."""
    try:
        source = action._find_needle('files', path)
    except AnsibleError as exc:
        raise AnsibleActionFail('%s %s not found on the controller: %s' % (option, path, exc))
    raw_limit = None if max_bytes is None else int(max_bytes * _VAULT_OVERHEAD) + 4096
    try:
        data = read_regular_file(source, raw_limit)
    except FileTooLargeError as exc:
        raise AnsibleActionFail(_too_large(option, source, exc.size, max_bytes))
    except FileReadError as exc:
        raise AnsibleActionFail('%s: %s' % (option, exc))
    if data is None:
        raise AnsibleActionFail('%s %s not found on the controller' % (option, source))
    if is_encrypted(data):
        data = action._loader._vault.decrypt(data, filename=source)
    if max_bytes is not None and len(data) > max_bytes:
        raise AnsibleActionFail(_too_large(option, source, len(data), max_bytes))
    return data


def _too_large(option, path, size, max_bytes):
    return ('%s %s is %d bytes; the limit is %d: check that it is the right file (it was not used)'
            % (option, path, size, max_bytes))
