# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading and writing small files safely, on drives and on the controller.

Runs on managed hosts and on the controller; no Ansible imports.

Reads open only regular files: the type is checked before opening, the file is opened with
``O_NONBLOCK`` (a FIFO never blocks) and checked again with ``fstat``, and no more than a
limit is read. A destination is never followed through a symbolic link for reading, diffing
or backing up: a link where a file is to be written is replaced by the file (the link's
target is neither read nor touched). A directory, FIFO, socket or device where a file belongs
is a clear error.

Drives may carry FAT or NTFS, where chmod/chown fail or lie, so modes are copied or set on a
best-effort basis only, and backup names use no character FAT or NTFS refuse. A failure never
leaves a half-written file behind: data goes to a temporary file in the same directory, is
flushed, then renamed over the target.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
import time

_FRIENDLY = {
    errno.EROFS: 'the file system is mounted read-only; remount it read-write',
    errno.ENOSPC: 'no space left on the file system; free some space on the drive',
    errno.EDQUOT: 'the disk quota is exceeded',
    errno.EACCES: 'permission denied; run with become or fix the directory permissions',
    errno.EPERM: 'operation not permitted',
    errno.ENOENT: 'the directory does not exist',
    errno.ENOTDIR: 'a path component is not a directory',
    errno.EIO: 'input/output error; the drive may be failing',
    errno.ELOOP: 'too many levels of symbolic links (a link loop)',
}
_CHUNK = 65536


class FileError(Exception):
    """A read or write that failed; ``path``, ``errno`` (or None) and ``kind`` (what was found
    at the path when it was not a regular file, else None)."""

    def __init__(self, message, path, err=None, kind=None):
        self.path = path
        self.errno = err
        self.kind = kind
        super().__init__(message)


class FileReadError(FileError):
    """A file that could not be read, or was not a regular file."""


class FileTooLargeError(FileReadError):
    """A regular file over the size limit; ``size`` and ``max_bytes`` say by how much. Not read."""

    def __init__(self, path, size, max_bytes):
        self.size = size
        self.max_bytes = max_bytes
        super().__init__('%s is %d bytes, more than the %d bytes allowed; it was not read' % (path, size, max_bytes),
                         path)


class FileWriteError(FileError):
    """A write that failed; the message says what, where and how to fix it."""

    def __init__(self, path, exc=None, reason=None, kind=None):
        err = getattr(exc, 'errno', None)
        if reason is None:
            reason = _FRIENDLY.get(err, getattr(exc, 'strerror', None) or str(exc))
        super().__init__('cannot write %s: %s' % (path, reason), path, err, kind)


def octal_mode(mode):
    """A file mode given as an octal number (int, or text such as '0600'), as an int at most 07777;
    None stays None. ValueError otherwise - one rule for every module that takes ``mode``."""
    if mode is None:
        return None
    if isinstance(mode, int) and not isinstance(mode, bool):
        if 0 <= mode <= 0o7777:
            return mode
    elif isinstance(mode, str) and mode.strip().isdigit() and set(mode.strip()) <= set('01234567'):
        if len(mode.strip()) <= 5 and int(mode.strip(), 8) <= 0o7777:
            return int(mode.strip(), 8)
    raise ValueError('mode %r is not an octal mode such as \'0600\' (quoted)' % (str(mode)[:60],))


def file_kind(mode):
    """What a st_mode is, in words: ``a regular file``, ``a directory``, ``a FIFO (named pipe)``..."""
    for test, name in ((stat.S_ISREG, 'a regular file'), (stat.S_ISDIR, 'a directory'),
                       (stat.S_ISLNK, 'a symbolic link'), (stat.S_ISFIFO, 'a FIFO (named pipe)'),
                       (stat.S_ISSOCK, 'a socket'), (stat.S_ISBLK, 'a block device'),
                       (stat.S_ISCHR, 'a character device')):
        if test(mode):
            return name
    return 'not a regular file'


def _not_regular(path, kind, cls=FileReadError):
    if cls is FileWriteError:
        return FileWriteError(path, reason='it is %s, not a regular file; remove it or choose another path' % kind,
                              kind=kind)
    return cls('cannot read %s: it is %s, not a regular file; remove it or give the path of a regular file'
               % (path, kind), path, None, kind)


def _open_regular(path, follow_symlinks):
    """A read-only fd on a regular file (None when missing); FileReadError for anything else."""
    try:
        info = os.stat(path) if follow_symlinks else os.lstat(path)
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        raise FileReadError('cannot read %s: %s' % (path, _FRIENDLY.get(exc.errno, exc.strerror)), path, exc.errno)
    if not stat.S_ISREG(info.st_mode):
        raise _not_regular(path, file_kind(info.st_mode))
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, 'O_CLOEXEC', 0) | getattr(os, 'O_NOCTTY', 0)
    if not follow_symlinks:
        flags |= os.O_NOFOLLOW
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_symlinks:
            raise _not_regular(path, 'a symbolic link')
        raise FileReadError('cannot read %s: %s' % (path, _FRIENDLY.get(exc.errno, exc.strerror)), path, exc.errno)
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):  # swapped between the check and the open
        os.close(fd)
        raise _not_regular(path, file_kind(info.st_mode))
    return fd, info


def read_regular_file(path, max_bytes, follow_symlinks=True):
    """The bytes of the regular file at ``path``, or None when nothing is there.

    Raises FileReadError when ``path`` is a directory, FIFO, socket or device (or, with
    ``follow_symlinks=False``, a symbolic link), and FileTooLargeError, without reading it, when
    the file holds more than ``max_bytes`` (None: no limit). Never blocks on a FIFO, and never
    reads more than ``max_bytes + 1`` bytes, whatever the file claims.
    """
    fd, info = _open_regular(path, follow_symlinks)
    if fd is None:
        return None
    try:
        if max_bytes is not None and info.st_size > max_bytes:
            raise FileTooLargeError(path, info.st_size, max_bytes)
        chunks, total = [], 0
        while max_bytes is None or total <= max_bytes:
            want = _CHUNK if max_bytes is None else min(_CHUNK, max_bytes + 1 - total)
            chunk = os.read(fd, want)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if max_bytes is not None and total > max_bytes:  # grew while being read
            raise FileTooLargeError(path, total, max_bytes)
        return b''.join(chunks)
    except OSError as exc:
        raise FileReadError('cannot read %s: %s' % (path, _FRIENDLY.get(exc.errno, exc.strerror)), path, exc.errno)
    finally:
        os.close(fd)


def read_bytes(path, max_bytes=None):
    """The bytes of the regular file at ``path`` (following links), or None when it does not exist."""
    return read_regular_file(path, max_bytes)


def _best_effort_chmod(path, mode):
    try:
        os.chmod(path, mode)
    except OSError:
        pass  # FAT/NTFS: modes are not ours to force


def _default_mode():
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _destination(path):
    """(kind, lstat result or None) of what is at a destination now; FileWriteError for a
    directory, FIFO, socket or device, or a path that cannot be looked at."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return 'absent', None
    except OSError as exc:
        raise FileWriteError(path, exc)
    if stat.S_ISREG(info.st_mode):
        return 'file', info
    if stat.S_ISLNK(info.st_mode):
        return 'symlink', info
    raise _not_regular(path, file_kind(info.st_mode), FileWriteError)


def atomic_write(path, data, mode=None):
    """Write ``data`` to ``path`` through a temporary file in the same directory.

    ``mode`` (an int) is the file's mode from the start, never wider for a moment; else a regular
    file keeps its mode; a symbolic link at ``path`` is replaced by the file (its
    target is not touched); a directory, FIFO, socket or device there is a FileWriteError.
    """
    directory = os.path.dirname(os.path.abspath(path))
    kind, info = _destination(path)
    if mode is None:
        mode = stat.S_IMODE(info.st_mode) if kind == 'file' else _default_mode()
    tmp_path = None
    try:
        fd, tmp_path = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), suffix='.tmp', dir=directory)
        with os.fdopen(fd, 'wb') as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        _best_effort_chmod(tmp_path, mode)
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
    """Remove the file (or the symbolic link itself) at ``path``; False when nothing was there."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise FileWriteError(path, exc)
    return True


def backup_name(path, now=None, pid=None):
    """``PATH.PID.YYYY-MM-DD@HH-MM-SS~``: Ansible's backup name without the colons FAT and
    NTFS refuse."""
    stamp = time.strftime('%Y-%m-%d@%H-%M-%S', time.localtime(now))
    return '%s.%d.%s~' % (path, os.getpid() if pid is None else pid, stamp)


def backup_copy(path):
    """Copy the regular file at ``path`` (never through a symbolic link) beside it; its name."""
    fd, _info = _open_regular(path, follow_symlinks=False)
    if fd is None:
        raise FileWriteError(path, reason='it vanished before it could be backed up')
    dest = backup_name(path)
    try:
        with os.fdopen(fd, 'rb') as source, open(dest, 'xb') as target:
            shutil.copyfileobj(source, target, _CHUNK)
            target.flush()
            os.fsync(target.fileno())
    except OSError as exc:
        raise FileWriteError(dest, exc)
    return dest


def sync_file(path, content, check_mode=False, backup=None, max_bytes=None, mode=None):
    """Make ``path`` hold exactly ``content`` (bytes), or remove it when ``content`` is None.

    Returns a dict with ``changed``, ``before`` and ``before_kind``. ``before_kind`` is
    ``absent``, ``file``, ``symlink`` (a link at ``path``: never followed, replaced or removed
    itself) or ``too_large`` (a regular file over ``max_bytes``, not read). ``before`` holds the
    file's bytes only for ``file``, else None, so it is always safe to show in a diff.

    ``backup`` is True (a copy named by ``backup_name``) or a callable taking the path and
    returning the backup's path; it runs only before a real change, and only on a regular file:
    a link's target is never copied. ``backup_file`` is then in the result. Writes nothing in
    check mode. A directory, FIFO, socket or device at ``path`` is a FileWriteError. ``mode``
    (an int): the mode a written file has from the start (see atomic_write).
    """
    kind, _info = _destination(path)
    before = None
    if kind == 'file':
        try:
            before = read_regular_file(path, max_bytes, follow_symlinks=False)
            kind = 'absent' if before is None else kind  # None: removed meanwhile
        except FileTooLargeError:
            kind = 'too_large'
        except FileReadError as exc:
            raise FileWriteError(path, reason=str(exc), kind=exc.kind)
    if kind == 'absent':
        changed = content is not None
    elif kind == 'file':
        changed = before != content
    else:
        changed = True
    result = {'changed': changed, 'before': before, 'before_kind': kind}
    if not changed or check_mode:
        return result
    if backup and kind in ('file', 'too_large'):
        result['backup_file'] = backup(path) if callable(backup) else backup_copy(path)
    if content is None:
        remove(path)
    else:
        atomic_write(path, content, mode=mode)
    return result
