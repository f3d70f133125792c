# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Loading a source tree onto a mounted drive in one pass, with a ledger.

Each source byte is read once: the MD5 is computed on the buffer that is written. A file is
written to ``.ie-load-<random>.part`` in its destination directory and renamed when complete,
so a killed load leaves no partial file under a real name; the next run removes such leftovers.
A file whose size and mtime match the previous ledger, and whose copy on the drive has that
size, is not read again. Modes and owners are never set (FAT, NTFS, exFAT); ``SIGNATURE`` and
``lost+found`` in the drive's root are left alone; nothing else on the drive is removed.
Standard library only, no Ansible imports.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import json
import os
import queue
import stat
import threading
import time

from ansible_collections.awsie.importexport.plugins.module_utils import dataset, ledger, s3keys

TEMP_PREFIX = '.ie-load-'
TEMP_SUFFIX = '.part'
BUFFER_BYTES = 1024 * 1024
PIPELINE_BYTES = 2 * BUFFER_BYTES
PIPELINE_BUFFERS = 4
RESERVED_ROOT = ('lost+found',)
# Small files are read ahead by a thread (posix_fadvise WILLNEED: the kernel reads them while the
# files before them are copied), at most this many files and bytes ahead of the copy.
PREFETCH_MAX_FILE = 1024 * 1024
PREFETCH_FILES = 64
PREFETCH_BYTES = 32 * 1024 * 1024
MAX_LISTED = 100
FLUSH_SECONDS = 0.5


class LoadError(Exception):
    """The load cannot go on (drive full, destination unusable); the message says how to fix it."""


def is_temp_name(name):
    return name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)


def _libc_function(name, argtypes):
    """A function of the C library (Linux calls Python's os module lacks), or None."""
    try:
        func = getattr(ctypes.CDLL(None, use_errno=True), name)
    except (OSError, AttributeError):
        return None
    func.argtypes = argtypes
    return func


SYNCFS = _libc_function('syncfs', [ctypes.c_int])
SYNC_FILE_RANGE = _libc_function('sync_file_range', [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint])
SYNC_FILE_RANGE_WRITE = 2


def _syncfs(path):
    """Flush the destination's file system (``syncfs``), or every file system."""
    try:
        fd = os.open(path, os.O_RDONLY) if SYNCFS is not None else None
    except OSError:
        fd = None
    if fd is None:
        os.sync()
        return
    try:
        if SYNCFS(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


# Writing a large file, the load asks the kernel every this many bytes to start writing the pages
# just written to the drive (start_writeback): else a load smaller than the dirty-page limit
# (10% of memory) reaches the drive only in the closing syncfs, after the last byte was read and
# hashed, and the two never overlap.
WRITE_BEHIND_BYTES = 8 * 1024 * 1024


def start_writeback(fd, offset, count):
    """Start writing ``count`` bytes of ``fd`` from ``offset`` to the drive, without waiting
    (``sync_file_range`` ``SYNC_FILE_RANGE_WRITE``). Only a hint: a failure shows in the write
    or the closing syncfs, so its result is not looked at."""
    if SYNC_FILE_RANGE is not None:
        SYNC_FILE_RANGE(fd, offset, count, SYNC_FILE_RANGE_WRITE)


def _write_all(fd, view):
    written = 0
    while written < len(view):
        written += os.write(fd, view[written:])


def _pipelined(src_fd, dest_fd, buffers):
    """(md5, bytes) of a large file, in three stages that overlap: a thread reads a buffer, this
    thread hashes it, a third writes it (each releases Python's lock in the system call or in
    OpenSSL, so they run on different cores). The first error stops all three and is raised."""
    free, hashing, writing = queue.Queue(), queue.Queue(), queue.Queue()
    for buf in buffers:
        free.put(buf)
    failure = []
    stop = threading.Event()

    def reader():
        while True:
            buf = free.get()
            count = 0
            if not stop.is_set():
                try:
                    count = os.readv(src_fd, [buf])
                except OSError as exc:
                    failure.append(exc)
            if not count:
                free.put(buf)
                hashing.put(None)
                return
            hashing.put((buf, count))

    def writer():
        done = started = 0
        while True:
            item = writing.get()
            if item is None:
                return
            buf, count = item
            if not failure:
                try:
                    _write_all(dest_fd, memoryview(buf)[:count])
                    done += count
                    if done - started >= WRITE_BEHIND_BYTES:
                        start_writeback(dest_fd, started, done - started)
                        started = done
                except OSError as exc:
                    failure.append(exc)
                    stop.set()
            free.put(buf)

    threads = [threading.Thread(target=writer, daemon=True), threading.Thread(target=reader, daemon=True)]
    for thread in threads:
        thread.start()
    md5 = hashlib.md5()
    total = 0
    read_all = False
    try:
        while not failure:
            item = hashing.get()
            if item is None:
                read_all = True
                break
            buf, count = item
            md5.update(memoryview(buf)[:count])
            total += count
            writing.put(item)
    finally:
        stop.set()
        writing.put(None)
        threads[0].join()
        while not read_all:  # give the reader back what it read, so that it sees the stop
            item = hashing.get()
            if item is None:
                break
            free.put(item[0])
        threads[1].join()
    if failure:
        raise failure[0]
    return md5, total


class Prefetcher:
    """Asks the kernel to read the next small files to copy (``posix_fadvise`` ``WILLNEED``) while
    the ones before them are copied: their reads overlap instead of waiting one after the other.
    Only files the previous ledger does not list as they are (files to copy, not to skip)."""

    def __init__(self, src, files, previous):
        self.src = src
        self.wanted = [(i, f) for i, f in enumerate(files) if 0 < f.size <= PREFETCH_MAX_FILE
                       and not _same(previous.get(f.path), f)]
        self.position = 0
        self.stopped = False
        self.prefetched = 0
        self.cond = threading.Condition()
        self.thread = None
        if self.wanted and hasattr(os, 'posix_fadvise'):
            self.thread = threading.Thread(target=self._run, daemon=True)
            self.thread.start()

    def at(self, index):
        """The copy reached file ``index``."""
        if self.thread is not None:
            with self.cond:
                self.position = index
                self.cond.notify()

    def stop(self):
        if self.thread is not None:
            with self.cond:
                self.stopped = True
                self.cond.notify()
            self.thread.join()

    def _run(self):
        ahead = []  # (index, size) of files asked for and not yet copied
        for index, entry in self.wanted:
            with self.cond:
                while not self.stopped:
                    while ahead and ahead[0][0] < self.position:
                        ahead.pop(0)
                    if index < self.position or (len(ahead) < PREFETCH_FILES
                                                 and sum(size for _i, size in ahead) + entry.size <= PREFETCH_BYTES):
                        break
                    self.cond.wait(0.5)
                if self.stopped:
                    return
                if index < self.position:
                    continue  # the copy got there first
            try:
                fd = os.open(self.src + '/' + entry.path, os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0) | os.O_NONBLOCK)
            except OSError:
                continue  # the copy reports it
            try:
                os.posix_fadvise(fd, 0, entry.size, os.POSIX_FADV_WILLNEED)
                self.prefetched += 1
            except OSError:
                pass
            finally:
                os.close(fd)
            ahead.append((index, entry.size))


def _same(before, entry):
    return before is not None and before.get('size') == entry.size and before.get('mtime_ns') == entry.mtime_ns


class Progress:
    """Writes a small JSON file at most every ``interval`` seconds: ``phase``, ``files_done``,
    ``files_total``, ``bytes_done``, ``bytes_total`` (skipped files count as done), ``elapsed``
    (seconds), ``rate`` (bytes copied per second), ``eta`` (seconds left), ``updated`` (epoch)."""

    def __init__(self, path, files_total, bytes_total, interval=2.0, clock=time.monotonic):
        self.path = path
        self.files_total = files_total
        self.bytes_total = bytes_total
        self.interval = interval
        self.clock = clock
        self.started = clock()
        self.last = None
        self.state = {}

    def update(self, files_done, bytes_done, copied_bytes, phase='loading', force=False):
        now = self.clock()
        if not force and self.last is not None and now - self.last < self.interval:
            return False
        self.last = now
        elapsed = max(now - self.started, 1e-9)
        rate = copied_bytes / elapsed
        left = self.bytes_total - bytes_done
        self.state = {'phase': phase, 'files_done': files_done, 'files_total': self.files_total,
                      'bytes_done': bytes_done, 'bytes_total': self.bytes_total, 'elapsed': round(elapsed, 1),
                      'rate': int(rate), 'eta': int(left / rate) if rate > 0 else None, 'updated': int(time.time())}
        if self.path:
            tmp = '%s.%d.tmp' % (self.path, os.getpid())
            with open(tmp, 'w') as handle:
                json.dump(self.state, handle, sort_keys=True)
            os.replace(tmp, self.path)
        return True


class Loader:
    """One load of ``src`` onto ``dest`` under ``rule`` (an s3keys.KeyRule)."""

    def __init__(self, src, dest, rule, previous=None, selection=None, check_mode=False, buffer_bytes=BUFFER_BYTES,
                 progress_path=None, progress_interval=2.0, case_insensitive=False):
        for path, what in ((src, 'src'), (dest, 'dest')):
            if not os.path.isdir(path):
                raise LoadError('%s %s is not a directory' % (what, path))
        if os.path.commonpath([os.path.realpath(src), os.path.realpath(dest)]) in (os.path.realpath(src), os.path.realpath(dest)):
            raise LoadError('src %s and dest %s overlap (one is, or is inside, the other): keep the data and the drive apart' % (src, dest))
        self.src = src
        self.dest = dest
        self.dest_dev = os.stat(dest).st_dev  # the drive's file system: a lazy unmount changes it under dest
        self.rule = rule
        self.previous = previous or {}
        self.selection = selection
        self.check_mode = check_mode
        self.buffers = [bytearray(buffer_bytes) for _i in range(PIPELINE_BUFFERS)]
        self.temp_counter = 0
        self.progress_path = progress_path
        self.progress_interval = progress_interval
        self.case_insensitive = case_insensitive
        self.made_dirs = set()
        self.listings = {}
        self.copied_bytes = 0
        self.prefetched = 0  # small files read ahead (Prefetcher)
        self.result = {'copied': 0, 'skipped': 0, 'bytes': 0, 'removed_partials': 0, 'failed': [], 'excluded': {},
                       'vanished': 0, 'files': 0, 'total_bytes': 0}

    # --- the destination ------------------------------------------------------------------
    def _listing(self, rel_dir):
        """{name: DirEntry} of a destination directory (read once); leftover temp files removed."""
        found = self.listings.get(rel_dir)
        if found is not None:
            return found
        found = {}
        full = os.path.join(self.dest, *rel_dir.split('/')) if rel_dir else self.dest
        try:
            with os.scandir(full) as handle:
                for entry in handle:
                    if is_temp_name(entry.name) and entry.is_file(follow_symlinks=False):
                        self.result['removed_partials'] += 1
                        if not self.check_mode:
                            os.unlink(entry.path)
                        continue
                    found[entry.name] = entry
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise LoadError('cannot read the drive directory %s: %s' % (full, exc.strerror))
        self.listings[rel_dir] = found
        return found

    def _on_drive(self, rel):
        """The size of the regular file at ``rel`` on the drive, or None."""
        parent, _sep, name = rel.rpartition('/')
        entry = self._listing(parent).get(name)
        if entry is None:
            return None
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            return None
        return st.st_size if st.st_mode & 0o170000 == 0o100000 else -1

    # --- one file -------------------------------------------------------------------------
    def _copy(self, entry):
        """Copy one file; returns its MD5. Raises OSError (the file fails) or LoadError (stop)."""
        parent = entry.path.rpartition('/')[0]
        dest_dir = self.dest + '/' + parent if parent else self.dest
        self._check_drive(os.stat(self.dest).st_dev)
        if parent not in self.made_dirs:
            self._directories(parent)
            self.made_dirs.add(parent)
        target = self.dest + '/' + entry.path
        if self._on_drive(entry.path) == -1:
            raise OSError(errno.EEXIST, 'something that is not a regular file is in the way on the drive')
        src_fd = os.open(self.src + '/' + entry.path, os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0))
        tmp = None
        try:
            st = os.fstat(src_fd)
            if st.st_size != entry.size or st.st_mtime_ns != entry.mtime_ns:
                raise OSError(errno.EAGAIN, 'changed since the scan; run the load again when it is complete')
            tmp, dest_fd = self._temp(dest_dir)
            try:
                self._check_drive(os.fstat(dest_fd).st_dev)
                md5 = self._stream(src_fd, dest_fd, entry.size)
                try:
                    os.utime(dest_fd, ns=(st.st_atime_ns, st.st_mtime_ns))
                except OSError:
                    pass  # FUSE FAT/NTFS drivers may refuse; times are not part of the import
            finally:
                os.close(dest_fd)
            after = os.fstat(src_fd)
            if (after.st_size, after.st_mtime_ns, after.st_ctime_ns) != (st.st_size, st.st_mtime_ns, st.st_ctime_ns):
                raise OSError(errno.EAGAIN, 'changed while it was copied; run the load again when it is complete')
            os.replace(tmp, target)
            tmp = None
            return md5
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise LoadError('the drive %s is full (%s while writing %s); use a larger drive or plan the data '
                                'across drives with ie_plan' % (self.dest, exc.strerror, entry.path))
            if exc.errno in (errno.EROFS, errno.EIO):
                raise LoadError('cannot write to the drive %s: %s' % (self.dest, exc.strerror))
            raise
        finally:
            os.close(src_fd)
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass

    def _directories(self, parent):
        """Make ``parent``'s directories under dest one by one: a link or file in the way fails the file, never followed."""
        path = self.dest
        for name in filter(None, parent.split('/')):
            path += '/' + name
            try:
                os.mkdir(path)
            except FileExistsError:
                mode = os.lstat(path).st_mode
                if stat.S_ISLNK(mode):
                    raise OSError(errno.ELOOP, 'a link on the drive is in the way (%s); the load never writes through '
                                               'links: remove it' % path)
                if not stat.S_ISDIR(mode):
                    raise OSError(errno.EEXIST, 'something that is not a directory is in the way on the drive (%s)' % path)

    def _check_drive(self, device):
        if device != self.dest_dev:
            raise LoadError('dest %s is no longer the drive: its file system changed during the load (unmounted or '
                            'detached); mount the drive there again and run the load again' % self.dest)

    def _temp(self, dest_dir):
        """A new temporary file in ``dest_dir``: (path, fd); mode from the umask, never forced."""
        while True:
            self.temp_counter += 1
            tmp = '%s/%s%d-%d%s' % (dest_dir, TEMP_PREFIX, os.getpid(), self.temp_counter, TEMP_SUFFIX)
            try:
                return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                continue

    def _stream(self, src_fd, dest_fd, size):
        """Copy and hash in one pass; large files overlap hashing with writing (two threads)."""
        if size >= PIPELINE_BYTES:
            md5, total = _pipelined(src_fd, dest_fd, self.buffers)
        else:
            # Small files: read the size the scan saw, no extra call to meet the end; a file that
            # grew meanwhile is caught by the size/mtime/ctime check after the copy.
            md5 = hashlib.md5()
            total = 0
            while total < size:
                data = os.read(src_fd, size - total)
                if not data:
                    break
                md5.update(data)
                _write_all(dest_fd, memoryview(data))
                total += len(data)
        self.copied_bytes += total
        if total != size:
            raise OSError(errno.EAGAIN, 'read %d bytes where the scan saw %d; it changed' % (total, size))
        return md5.hexdigest()

    # --- the whole load -------------------------------------------------------------------
    def run(self, writer=None):
        """Load everything; ``writer`` (ledger.Writer) receives each record in ledger order."""
        result = self.result
        started = time.time()
        scan = dataset.scan(self.src, self.rule, self.selection, recheck='none', case_insensitive=self.case_insensitive)
        files = [f for f in scan.files if f.path.split('/')[0] not in RESERVED_ROOT]
        for item in scan.findings:
            result['excluded'][item['rule']] = result['excluded'].get(item['rule'], 0) + 1
        if len(files) != len(scan.files):
            result['excluded']['reserved-name'] = len(scan.files) - len(files)
        result['findings'] = scan.findings[:MAX_LISTED]
        seen = {f.path for f in files}
        wanted = self.selection.wants_file if self.selection is not None else (lambda path: True)
        result['vanished'] = sum(1 for p in self.previous if p not in seen and wanted(p))
        progress = Progress(self.progress_path, len(files), sum(f.size for f in files), self.progress_interval)
        prefetcher = Prefetcher(self.src, files, self.previous) if not self.check_mode else None
        try:
            self._all(files, writer, progress, prefetcher)
        finally:
            if prefetcher is not None:
                prefetcher.stop()
                self.prefetched = prefetcher.prefetched
        if not self.check_mode and result['copied']:
            _syncfs(self.dest)
        progress.update(len(files), progress.bytes_total, self.copied_bytes, phase='done', force=True)
        result['seconds'] = round(time.time() - started, 3)
        result['rate_bytes_per_second'] = int(result['bytes'] / result['seconds']) if result['seconds'] else 0
        return result

    def _all(self, files, writer, progress, prefetcher):
        result = self.result
        done_bytes = 0
        flushed = time.monotonic()
        for index, entry in enumerate(files):
            if prefetcher is not None:
                prefetcher.at(index)
            record = self._one(entry)
            done_bytes += entry.size
            if record is not None:
                result['files'] += 1
                result['total_bytes'] += entry.size
                if writer is not None:
                    writer.add(record, check=False)
            progress.update(index + 1, done_bytes, self.copied_bytes)
            if writer is not None and time.monotonic() - flushed > FLUSH_SECONDS:
                writer.flush()  # a killed run keeps what it did (ledger.read_latest)
                flushed = time.monotonic()

    def _one(self, entry):
        """Skip or copy one file; returns its ledger record, or None when it failed."""
        result = self.result
        before = self.previous.get(entry.path)
        on_drive = self._on_drive(entry.path)  # also clears leftover temp files of the directory
        if _same(before, entry) and on_drive == entry.size:
            result['skipped'] += 1
            return dict(before, key=entry.key)
        if self.check_mode:
            result['copied'] += 1
            result['bytes'] += entry.size
            return None
        try:
            md5 = self._copy(entry)
        except OSError as exc:
            if len(result['failed']) < MAX_LISTED:
                result['failed'].append({'path': entry.path, 'error': exc.strerror or str(exc)})
            result['failed_count'] = result.get('failed_count', 0) + 1
            return None
        result['copied'] += 1
        result['bytes'] += entry.size
        return {'path': entry.path, 'key': entry.key, 'size': entry.size, 'mtime_ns': entry.mtime_ns, 'md5': md5}


def check_drive_ledger_name(rule, rel):
    """A ledger copy on the drive must be skipped by the import: returns an error text or None."""
    outcome = rule.outcome(rel)
    if outcome.status == s3keys.IGNORED and outcome.code == s3keys.CODE_IGNORE:
        return None
    return ('the manifest\'s ignore patterns do not skip %s, so the ledger would be imported as data; add a pattern '
            'such as ^%s$ to the manifest\'s ignore list, or keep the ledger only on the controller' % (rel, rel.replace('.', '[.]')))


def load(src, dest, rule, ledger_path=None, previous=None, drive_ledger=None, **kwargs):
    """Run a Loader; writes the new ledger to ``ledger_path`` (streamed, then renamed) unless in
    check mode, and a copy to ``drive_ledger`` (relative to ``dest``) when asked."""
    loader = Loader(src, dest, rule, previous=previous, **kwargs)
    if drive_ledger:
        problem = check_drive_ledger_name(rule, drive_ledger)
        if problem:
            raise LoadError(problem)
    writer = None
    if ledger_path and not loader.check_mode:
        writer = ledger.Writer(ledger_path, meta={'source': src})
    try:
        result = loader.run(writer)
    except BaseException:
        if writer is not None:
            writer.abandon()
        raise
    if writer is not None:
        writer.close()
        if drive_ledger:
            from ansible_collections.awsie.importexport.plugins.module_utils import fileio  # pylint: disable=import-outside-toplevel
            with open(ledger_path, 'rb') as handle:
                fileio.atomic_write(os.path.join(dest, *drive_ledger.split('/')), handle.read())
    return result


def previous_records(previous_ledger=None, ledger_dest=None):
    """What is known from earlier runs: the ledger handed over (from the controller), updated by
    the host's own ``ledger_dest`` and the ``.partial`` a killed run left beside it."""
    records = {}
    if previous_ledger:
        records.update(ledger.read(previous_ledger, tolerant=True).records)
    if ledger_dest:
        records.update(ledger.read_latest(ledger_dest))
    return records
