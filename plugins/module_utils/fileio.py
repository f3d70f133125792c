# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Writing small files onto drives: atomically, and without forcing modes.

Drives may carry FAT or NTFS, where chmod/chown fail or lie, so modes are copied or set
on a best-effort basis only. A failure never leaves a half-written file behind: data goes
to a temporary file in the same directory, is flushed, then renamed over the target.
"""

from __future__ import annotations

import errno
import os
import tempfile

_FRIENDLY = {
    errno.EROFS: 'the file system is mounted read-only; remount it read-write',
    errno.ENOSPC: 'no space left on the file system; free some space on the drive',
    errno.EDQUOT: 'the disk quota is exceeded',
    errno.EACCES: 'permission denied; run with become or fix the directory permissions',
    errno.EPERM: 'operation not permitted',
    errno.ENOENT: 'the directory does not exist',
    errno.ENOTDIR: 'a path component is not a directory',
    errno.EIO: 'input/output error; the drive may be failing',
}


class FileWriteError(Exception):
    """A write that failed; the message says what, where and how to fix it."""

    def __init__(self, path, exc):
        self.path = path
        self.errno = getattr(exc, 'errno', None)
        reason = _FRIENDLY.get(self.errno, getattr(exc, 'strerror', None) or str(exc))
        super().__init__('cannot write %s: %s' % (path, reason))


def read_bytes(path):
    """The file's bytes, or None when it does not exist."""
    try:
        with open(path, 'rb') as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _best_effort_chmod(path, mode):
    try:
        os.chmod(path, mode)
    except OSError:
        pass  # FAT/NTFS: modes are not ours to force


def atomic_write(path, data):
    """Write ``data`` to ``path`` through a temporary file in the same directory."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        existing_mode = os.stat(path).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        existing_mode = 0o666 & ~umask
    tmp_path = None
    try:
        fd, tmp_path = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), suffix='.tmp', dir=directory)
        with os.fdopen(fd, 'wb') as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        _best_effort_chmod(tmp_path, existing_mode)
        os.replace(tmp_path, path)
        tmp_path = None
        _fsync_directory(directory)
    except OSError as exc:
        raise FileWriteError(path, exc)
    finally:
        if tmp_path is not None:
            try:
                os.unlink(tmp_path)
            except OSError:
                pass


def _fsync_directory(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some FUSE file systems do not support fsync on directories
    finally:
        os.close(fd)


def remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise FileWriteError(path, exc)
    return True


def sync_file(path, content, check_mode=False, backup=None):
    """Make ``path`` hold exactly ``content`` (bytes), or remove it when ``content`` is None.

    ``backup`` is a callable taking the path and returning the backup's path; it runs only
    before a real change. Returns a dict with ``changed``, ``before`` (bytes or None) and,
    when a backup was made, ``backup_file``. Writes nothing in check mode.
    """
    before = read_bytes(path)
    result = {'changed': before != content, 'before': before}
    if not result['changed'] or check_mode:
        return result
    if backup is not None and before is not None:
        result['backup_file'] = backup(path)
    if content is None:
        remove(path)
    else:
        atomic_write(path, content)
    return result
