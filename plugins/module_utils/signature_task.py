# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ie_signature task, written once for the module and its action plugin: the argument spec,
which options stay on the controller, the size limit of a SIGNATURE file, and what to report
about the file found on the drive.

Where it runs: on the controller (action plugin) and on managed hosts (module). Standard
library only.
"""

from __future__ import annotations

import copy

# A SIGNATURE is four short lines (about 100 bytes); anything much larger is not one, and is
# neither read whole nor shown.
MAX_SIGNATURE_BYTES = 64 * 1024

ARGUMENT_SPEC = dict(
    dest=dict(type='path', required=True),
    job_id=dict(type='str'),
    manifest_src=dict(type='path'),
    manifest_content=dict(type='str'),
    signature_file_contents=dict(type='str'),
    secret_key=dict(type='str', no_log=True, aliases=['aws_secret_access_key', 'aws_secret_key']),
    signature_version=dict(type='str', choices=['1.0', '2.0'], default='1.0'),
    state=dict(type='str', choices=['present', 'absent'], default='present'),
    backup=dict(type='bool', default=False),
    require_mount=dict(type='bool', default=True),
)
MUTUALLY_EXCLUSIVE = [('manifest_src', 'manifest_content', 'signature_file_contents')]
# Options the managed host receives (signature_file_contents only as the finished file).
HOST_OPTIONS = ('dest', 'state', 'backup', 'require_mount')
SECRET_OPTIONS = ('secret_key',) + tuple(ARGUMENT_SPEC['secret_key']['aliases'])


def ie_signature_spec():
    """Keyword arguments for ``AnsibleModule`` and ``ActionBase.validate_argument_spec`` (a fresh copy)."""
    return dict(argument_spec=copy.deepcopy(ARGUMENT_SPEC), mutually_exclusive=[tuple(m) for m in MUTUALLY_EXCLUSIVE])


def about_previous(path, before_kind, check_mode, removing=False):
    """(warning or None, diff header of the before side) for what ``fileio.sync_file`` found."""
    done = '%s %s' % ('would be' if check_mode else 'was', 'removed' if removing else 'replaced by a regular file')
    if before_kind == 'symlink':
        return ('%s is a symbolic link; the link itself %s (it was not followed: its target was neither read nor '
                'changed)' % (path, done), '%s (symbolic link, not followed)' % path)
    if before_kind == 'too_large':
        return ('%s is larger than %d bytes, so it is not a valid SIGNATURE; it was not read and %s'
                % (path, MAX_SIGNATURE_BYTES, done), '%s (over %d bytes, not read)' % (path, MAX_SIGNATURE_BYTES))
    return None, path
