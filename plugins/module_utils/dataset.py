# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One scan of a source tree: the files an import would load, and findings on the rest.

The walk uses ``os.scandir`` and ``lstat`` only; symbolic links are reported, never followed.
Directories are visited in name order, so files come in ledger order (``ledger.sort_key``).
Each finding is a dict with ``path`` (printable), ``rule``, ``severity`` and ``detail``.
Standard library only, no Ansible imports.
"""

from __future__ import annotations

import collections
import concurrent.futures
import operator
import os
import stat
import time

from ansible_collections.awsie.importexport.plugins.module_utils import s3keys

NOT_UTF8 = 'name-not-utf8'
KEY_TOO_LONG = 'key-too-long'
EMPTY_KEY = 'key-empty'
FILE_TOO_LARGE = 'file-too-large'
SYMLINK = 'symlink'
SPECIAL = 'special-file'
UNREADABLE = 'unreadable'
COLLISION = 'key-collision'
CASE_COLLISION = 'case-collision'
IGNORED = 'ignored'
SIGNATURE = 'signature-name'
CHANGED = 'changed-during-scan'
BAD_PATTERN = 'ignore-pattern-invalid'
TOO_BIG_FOR_DRIVES = 'too-big-for-drives'
TOO_BIG_FOR_FILESYSTEM = 'too-big-for-filesystem'

# error: the file cannot be imported as it is; warning: it is left out (not an error of the
# data set); info: left out on purpose.
SEVERITY = {
    NOT_UTF8: 'error', KEY_TOO_LONG: 'error', EMPTY_KEY: 'error', FILE_TOO_LARGE: 'error', SPECIAL: 'warning',
    UNREADABLE: 'error', COLLISION: 'error', CASE_COLLISION: 'error', CHANGED: 'error', SIGNATURE: 'error',
    BAD_PATTERN: 'error', TOO_BIG_FOR_DRIVES: 'error', TOO_BIG_FOR_FILESYSTEM: 'error', SYMLINK: 'warning',
    IGNORED: 'info',
}
RULES = tuple(sorted(SEVERITY))
_NAME = operator.attrgetter('name')


class FileEntry(collections.namedtuple('FileEntry', 'path key size mtime_ns')):
    """A file the import would load: relative path, S3 key, apparent size, mtime in ns."""

    __slots__ = ()


def finding(rule, rel, detail):
    return {'path': s3keys.display_path(rel) if rel else '.', 'rule': rule, 'severity': SEVERITY[rule], 'detail': detail}


class Selection:
    """Which relative paths to take: ``paths`` (a set of exact file paths, from a plan or
    re-ship list) and/or ``items`` (paths of files or whole directories; ``.`` is everything)."""

    def __init__(self, paths=None, items=None):
        for item in items or ():
            if item.startswith('/') or '..' in item.split('/'):
                raise ValueError('include %r is not a path inside the source: give it relative to src, without ".." '
                                 '(it would match nothing, and the load would silently leave those files out)'
                                 % item[:200])
        self.paths = None if paths is None else set(paths)
        self.items = None if items is None or '.' in items else [i.strip('/') for i in items]
        self._dirs = None
        if self.paths is not None:
            self._dirs = set()
            for path in self.paths:
                parts = path.split('/')
                for i in range(1, len(parts)):
                    self._dirs.add('/'.join(parts[:i]))

    def wants_dir(self, rel):
        if self._dirs is not None and rel not in self._dirs:
            return False
        return self.items is None or any(rel == i or rel.startswith(i + '/') or i.startswith(rel + '/') for i in self.items)

    def wants_file(self, rel):
        if self.paths is not None and rel not in self.paths:
            return False
        return self.items is None or any(rel == i or rel.startswith(i + '/') for i in self.items)


def _readable(st, euid, groups):
    if euid == 0:
        return True
    if st.st_uid == euid:
        return bool(st.st_mode & stat.S_IRUSR)
    if st.st_gid in groups:
        return bool(st.st_mode & stat.S_IRGRP)
    return bool(st.st_mode & stat.S_IROTH)


def _kind(mode):
    for test, name in ((stat.S_ISFIFO, 'a FIFO'), (stat.S_ISSOCK, 'a socket'), (stat.S_ISBLK, 'a block device'),
                       (stat.S_ISCHR, 'a character device')):
        if test(mode):
            return name
    return 'not a regular file'


class Scan:
    """The result: ``files`` (FileEntry, in ledger order), ``findings``, ``directories``
    (relative paths of the directories walked), ``bytes``, ``seconds``."""

    def __init__(self):
        self.files = []
        self.findings = []
        self.directories = []
        self.bytes = 0
        self.seconds = 0.0

    def counts(self):
        counts = {}
        for item in self.findings:
            counts[item['rule']] = counts.get(item['rule'], 0) + 1
        return counts


S_IFMT, S_IFDIR, S_IFREG = 0o170000, 0o040000, 0o100000
OPEN_DIR = os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0) | getattr(os, 'O_CLOEXEC', 0)
BY_FD = os.listdir in os.supports_fd and os.stat in os.supports_dir_fd and os.stat in os.supports_follow_symlinks


def _list_dir(full):
    """A directory's entries in name order as (name, lstat result or OSError). The directory is
    opened once and each entry's ``lstat`` is relative to it (no lookup of the whole path per
    file); the system calls release the GIL, so worker threads overlap them (cold caches)."""
    if not BY_FD:
        return list_dir_by_path(full)
    lstat = os.stat
    fd = os.open(full, OPEN_DIR)
    try:
        names = os.listdir(fd)
        names.sort()
        out = []
        for name in names:
            try:
                out.append((name, lstat(name, dir_fd=fd, follow_symlinks=False)))
            except OSError as exc:
                out.append((name, exc))
        return out
    finally:
        os.close(fd)


def list_dir_by_path(full):
    """The same with ``os.scandir`` (systems without ``dir_fd``)."""
    with os.scandir(full) as handle:
        entries = sorted(handle, key=_NAME)
    out = []
    for entry in entries:
        try:
            out.append((entry.name, entry.stat(follow_symlinks=False)))
        except OSError as exc:
            out.append((entry.name, exc))
    return out


def storage_reads():
    """Bytes this thread has had read from storage (Linux ``/proc/thread-self/io``), or None."""
    try:
        with open('/proc/thread-self/io', 'rb') as handle:
            for line in handle:
                if line.startswith(b'read_bytes:'):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


class _Lister:
    """Lists directories, ahead of the walk in ``workers`` threads (at most ``ahead`` waiting)
    once the metadata comes from storage. Until then the walk lists directories itself, and
    checks after the first and then every ``check_every`` entries whether that made the kernel
    read from storage: on a tree whose metadata is cached the threads would only add hand-overs
    of the GIL (about a quarter more CPU for 100,000 files) and are not started. Where that
    cannot be known (no ``/proc``), they start at once."""

    def __init__(self, workers, ahead=256, check_every=1000):
        self.workers = workers if workers > 1 else 0
        self.pool = None
        self.ahead = ahead
        self.pending = 0
        self.check_every = check_every
        self.since = check_every
        self.reads = storage_reads() if self.workers else None
        if self.workers and self.reads is None:
            self.start()

    def start(self):
        self.pool = concurrent.futures.ThreadPoolExecutor(self.workers)

    def submit(self, full):
        if self.pool is None or self.pending >= self.ahead:
            return None
        self.pending += 1
        return self.pool.submit(_list_dir, full)

    def result(self, full, future):
        if future is not None:
            self.pending -= 1
            return future.result()
        listing = _list_dir(full)
        if self.workers and self.pool is None:
            self.since += len(listing)
            if self.since >= self.check_every:
                self.since = 0
                if storage_reads() != self.reads:
                    self.start()
        return listing

    def close(self):
        if self.pool is not None:
            try:
                self.pool.shutdown(wait=True, cancel_futures=True)
            except TypeError:  # Python 3.8: no cancel_futures
                self.pool.shutdown(wait=True)


RECENT_NS = 60 * 10 ** 9


def scan(root, rule, selection=None, recheck='recent', case_insensitive=False, hook=None, workers=1):
    """Walk ``root`` once and sort every entry into loadable files and findings.

    ``rule`` is an ``s3keys.KeyRule``. Files that changed after the scan began are findings.
    ``recheck`` reads metadata a second time at the end: ``all`` files, only files changed in the
    minute before the scan (``recent``, the default: files still being written), or ``none``;
    files whose size, mtime or ctime moved in between are findings. ``hook(rel)`` is called after each file's metadata
    was read (tests). ``workers`` (more than 1) threads list directories ahead of the walk once
    it reads from storage. One is the default: on the disks measured (docs/data.md, Figures) the
    threads' hand-overs of the GIL cost more than the overlapped reads gained - a cold scan of
    100,000 files took 1.6-1.8 s with 8 and 1.0-1.1 s with 1 (find 0.8-1.0 s)."""
    if not os.path.isdir(root):
        raise ValueError('the source %s is not a directory (or does not exist)' % root)
    result = Scan()
    started = time.time()
    started_ns = time.time_ns()
    recent_ns = {'all': None, 'recent': started_ns - RECENT_NS, 'none': False}[recheck]
    euid = os.geteuid()
    groups = set(os.getgroups()) | {os.getegid()}
    keys = {}
    folded = {} if case_insensitive else None
    again = []
    files = result.files
    prefix, pairs, searches = rule.prefix, rule.substitutions, [p.search for p in rule.patterns]
    max_size = s3keys.MAX_OBJECT_BYTES
    fast = folded is None
    plain = fast and prefix.isascii()
    findings = result.findings
    new_entry = tuple.__new__
    for pattern, message in rule.bad_patterns:
        result.findings.append(finding(BAD_PATTERN, '', 'ignore pattern %r does not compile (%s); the service '
                                       'passes over it' % (pattern, message)))

    def on_error(rel, exc):
        result.findings.append(finding(UNREADABLE, rel, 'directory cannot be listed: %s' % (exc.strerror or exc)))

    lister = _Lister(workers)
    stack = [('', root, lister.submit(root))]
    try:
        while stack:
            rel_dir, full, future = stack.pop()
            try:
                listing = lister.result(full, future)
            except OSError as exc:
                on_error(rel_dir, exc)
                continue
            base = rel_dir + '/' if rel_dir else ''
            sep = '' if full.endswith('/') else '/'
            subdirs = []
            recent = []
            for name, st in listing:
                rel = base + name
                try:
                    mode = st.st_mode
                except AttributeError:  # the lstat failed: st is its OSError
                    if selection is None or selection.wants_file(rel) or selection.wants_dir(rel):
                        findings.append(finding(CHANGED if isinstance(st, FileNotFoundError) else UNREADABLE, rel,
                                                'metadata cannot be read: %s' % (st.strerror or st)))
                    continue
                if mode & S_IFMT == S_IFDIR:
                    if selection is None or selection.wants_dir(rel):
                        subdirs.append(rel)
                    continue
                if selection is not None and not selection.wants_file(rel):
                    continue
                if hook is not None:
                    hook(rel)
                # The common case inline (a plain file with an ASCII name and key): this loop is
                # most of the scan's time; anything unusual goes through _check_file. Without
                # substitutions prefix + path is unique, so only they need the key index.
                key = prefix + rel
                if pairs:
                    for old, new in pairs:
                        key = key.replace(old, new)
                    ok = fast and key.isascii() and key not in keys
                else:
                    ok = plain
                size, ctime = st.st_size, st.st_ctime_ns
                if (ok and mode & S_IFMT == S_IFREG and ctime <= started_ns and rel.isascii() and 0 < len(key) <= 1024
                        and size <= max_size and rel != 'SIGNATURE' and (euid == 0 or st.st_uid == euid and mode & 0o400)):
                    for search in searches:
                        if search(rel):
                            ok = False
                            break
                else:
                    ok = False
                if ok:
                    if pairs:
                        keys[key] = rel
                else:
                    problem = _special(rel, full + sep + name, st) or _check_file(rel, st, rule, euid, groups, keys,
                                                                                  folded, started_ns)[0]
                    if problem:
                        findings.append(problem)
                        continue
                files.append(new_entry(FileEntry, (rel, key, size, st.st_mtime_ns)))
                if recent_ns is not False and (recent_ns is None or ctime >= recent_ns):
                    recent.append((len(files) - 1, name, size, st.st_mtime_ns, ctime))
            if recent:
                again.append((full, recent))
            result.directories.extend(subdirs)
            for rel in reversed(subdirs):
                path = full + sep + rel[len(base):]
                stack.append((rel, path, lister.submit(path)))
    finally:
        lister.close()
    if again:
        _recheck(result, again)
    result.bytes = sum(f.size for f in result.files)
    result.seconds = time.time() - started
    return result


def _special(rel, path, st):
    """The finding for a symbolic link or a special file (``path``: its full path), or None for a regular file."""
    mode = st.st_mode
    if stat.S_ISLNK(mode):
        try:
            target = os.readlink(path)
        except OSError:
            target = '?'
        return finding(SYMLINK, rel, 'symbolic link to %s; links are not followed or copied' % s3keys.display_path(target))
    if not stat.S_ISREG(mode):
        return finding(SPECIAL, rel, '%s; only regular files are imported' % _kind(mode))
    return None


def _no(rule, rel, detail):
    return finding(rule, rel, detail), None


def _check_file(rel, st, rule, euid, groups, keys, folded, started_ns):
    """(finding, None) for a regular file that cannot be loaded as it is, else (None, its key)."""
    if not s3keys.is_utf8(rel):
        return _no(NOT_UTF8, rel, 'the name is not valid UTF-8; the service fails it (400 InvalidFileName)')
    if rel == s3keys.SIGNATURE_NAME:
        return _no(SIGNATURE, rel, 'a file named SIGNATURE in the root would be taken for the drive\'s '
                   'signature; rename it')
    if rule.is_ignored(rel):
        return _no(IGNORED, rel, 'the manifest\'s ignore patterns skip it')
    key = rule.key_of(rel)
    if not key:
        return _no(EMPTY_KEY, rel, 'prefix and substitutions leave an empty key (400 InvalidSubstitution)')
    size = s3keys.key_bytes(key)
    if size > s3keys.MAX_KEY_BYTES:
        return _no(KEY_TOO_LONG, rel, 'its S3 key is %d bytes after prefix and substitutions; S3 takes at most %d'
                   % (size, s3keys.MAX_KEY_BYTES))
    if st.st_size > s3keys.MAX_OBJECT_BYTES:
        return _no(FILE_TOO_LARGE, rel, '%d bytes; an S3 object holds at most 5 TiB (%d bytes)'
                   % (st.st_size, s3keys.MAX_OBJECT_BYTES))
    if not _readable(st, euid, groups):
        return _no(UNREADABLE, rel, 'no read permission for this user; run with become or fix the mode')
    if st.st_ctime_ns > started_ns:
        return _no(CHANGED, rel, 'changed after the scan began; wait until the data set is complete')
    first = keys.get(key)
    if first is not None:
        return _no(COLLISION, rel, 'gets the same S3 key as %s (%s); one would overwrite the other'
                   % (first, key))
    if folded is not None:
        other = folded.get(rel.casefold())
        if other is not None:
            return _no(CASE_COLLISION, rel, 'differs from %s only in case; the drive\'s file system does not '
                       'tell them apart' % other)
        folded[rel.casefold()] = rel
    keys[key] = rel
    return None, key


def _recheck(result, again):
    """Second metadata read of the files in ``again`` ((directory, [(index, name, size, mtime_ns,
    ctime_ns)]), by directory); files that moved become findings and leave the list. Each
    directory is opened once and its files are read relative to it."""
    dropped = set()
    for full, group in again:
        _recheck_dir(full, group, result.files, result.findings, dropped)
    if dropped:
        result.files = [f for i, f in enumerate(result.files) if i not in dropped]


def _recheck_dir(full, group, files, findings, dropped):
    lstat = os.stat
    try:
        fd = os.open(full, OPEN_DIR | getattr(os, 'O_NOFOLLOW', 0)) if BY_FD else None
    except OSError:
        fd = full = None  # the directory went away or was replaced: each of its files is a finding below
    try:
        for index, name, size, mtime_ns, ctime_ns in group:
            try:
                if fd is not None:
                    st = lstat(name, dir_fd=fd, follow_symlinks=False)
                elif full is not None:
                    st = os.lstat(os.path.join(full, name))
                else:
                    raise FileNotFoundError(name)
                if st.st_ctime_ns == ctime_ns and st.st_size == size and st.st_mtime_ns == mtime_ns and st.st_mode & S_IFMT == S_IFREG:
                    continue
                detail = 'size %d -> %d bytes' % (size, st.st_size) if st.st_mode & S_IFMT == S_IFREG else 'replaced'
            except OSError:
                detail = 'removed or replaced'
            findings.append(finding(CHANGED, files[index].path, 'changed while the tree was scanned (%s); wait until '
                                    'the data set is complete' % detail))
            dropped.add(index)
    finally:
        if fd is not None:
            os.close(fd)
