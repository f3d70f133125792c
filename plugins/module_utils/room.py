# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Room on a drive, counted the way its file system allocates: whole blocks or clusters per
file, directory entries, inodes (ext) and MFT records (NTFS), and FAT32's 4 GiB file limit.

No Ansible imports. ``geometry_*`` read what a file system offers (allocation unit, free
bytes, free inodes) from a mounted file system, an ext superblock (``dumpe2fs -h``) or a FAT32
or NTFS boot sector; ``Need`` adds up what a tree of files will take; ``verdict`` compares them.
Apparent sizes are not room: 6,000 files of 100 bytes take 6,000 blocks and 6,000 inodes.
"""

from __future__ import annotations

import os
import stat

FAT32_MAX_FILE = 2 ** 32 - 1
# NTFS keeps a small file's data inside its MFT record; above this many bytes it takes clusters.
NTFS_RESIDENT_MAX = 600
EXT_EXTENT_BLOCKS = 32768       # blocks one ext4 extent maps
EXT_INODE_EXTENTS = 4           # extents held in the inode itself
EXT_EXTENTS_PER_BLOCK = 340     # extents in one extent-tree block (4 KiB)
EXT_RESERVED_INODES = 11        # inodes an ext file system uses before the first file


def _ceil(value, unit):
    return -(-value // unit) * unit if value else 0


def geometry_from_statvfs(fstype, st):
    """A mounted file system's geometry, or None when its driver reports no sizes (fusefat)."""
    if not st.f_blocks:
        return None
    unit = st.f_frsize or st.f_bsize
    ext = fstype in ('ext2', 'ext3', 'ext4')
    return dict(fstype=fstype, unit=unit, size_bytes=st.f_blocks * unit, free_bytes=st.f_bavail * unit,
                free_inodes=st.f_favail if ext else None, inodes=st.f_files if ext else None,
                record_bytes=1024 if fstype == 'ntfs' else None, source='mounted file system')


def geometry_from_dumpe2fs(fstype, text):
    """From ``dumpe2fs -h``: block size, free blocks less the reserved ones, free inodes."""
    facts = {}
    for line in text.splitlines():
        key, sep, value = line.partition(':')
        if sep:
            facts[key.strip()] = value.strip().split()[0] if value.strip() else ''
    try:
        unit, blocks, free = int(facts['Block size']), int(facts['Block count']), int(facts['Free blocks'])
        free_inodes, inodes = int(facts['Free inodes']), int(facts['Inode count'])
    except (KeyError, ValueError):
        return None
    reserved = int(facts.get('Reserved block count') or 0)
    return dict(fstype=fstype, unit=unit, size_bytes=blocks * unit, free_bytes=max(free - reserved, 0) * unit,
                free_inodes=free_inodes, inodes=inodes, record_bytes=None, source='ext superblock')


def geometry_from_fat32(boot, fsinfo):
    """From a FAT32 boot sector and its FSInfo sector (free count may be unknown: None)."""
    sector = int.from_bytes(boot[11:13], 'little')
    per_cluster = boot[13] if len(boot) > 13 else 0
    if sector not in (512, 1024, 2048, 4096) or not per_cluster:
        return None
    unit = sector * per_cluster
    reserved = int.from_bytes(boot[14:16], 'little')
    total = int.from_bytes(boot[32:36], 'little')
    fat_size = int.from_bytes(boot[36:40], 'little')
    clusters = (total - reserved - boot[16] * fat_size) // per_cluster
    free = None
    if fsinfo[0:4] == b'RRaA' and fsinfo[484:488] == b'rrAa':
        count = int.from_bytes(fsinfo[488:492], 'little')
        if count != 0xFFFFFFFF:
            free = min(count, clusters) * unit
    return dict(fstype='vfat', unit=unit, size_bytes=clusters * unit, free_bytes=free, free_inodes=None,
                inodes=None, record_bytes=None, source='FAT32 boot sector')


def geometry_from_ntfs(boot):
    """From an NTFS boot sector: cluster and MFT record size, capacity; free bytes are not there."""
    if boot[3:11] != b'NTFS    ':
        return None
    sector = int.from_bytes(boot[11:13], 'little')
    spc = boot[13]
    unit = sector * (spc if spc <= 0x80 else 1 << (256 - spc))
    record = boot[64]
    record_bytes = record * unit if record < 0x80 else 1 << (256 - record)
    total = int.from_bytes(boot[40:48], 'little') * sector
    return dict(fstype='ntfs', unit=unit, size_bytes=total, free_bytes=None, free_inodes=None,
                inodes=None, record_bytes=record_bytes, source='NTFS boot sector')


def read_boot_geometry(path, fstype, offset=0):
    """Geometry from the first sectors of a FAT32 or NTFS file system on ``path``, or None."""
    try:
        with open(path, 'rb') as handle:
            handle.seek(offset)
            boot = handle.read(512)
            if fstype == 'ntfs':
                return geometry_from_ntfs(boot)
            sector = int.from_bytes(boot[11:13], 'little') or 512
            handle.seek(offset + int.from_bytes(boot[48:50], 'little') * sector)
            return geometry_from_fat32(boot, handle.read(512))
    except (OSError, ValueError):
        return None


class Need:
    """What a tree of files takes on one kind of file system, in bytes and inodes."""

    def __init__(self, geometry):
        self.fstype = geometry['fstype']
        self.unit = geometry['unit']
        self.record = geometry.get('record_bytes') or 1024
        self.bytes = 0
        self.inodes = 0
        self.files = 0
        self.dirs = 0
        self.data_bytes = 0
        self.largest = 0
        self.too_big = []

    def add_file(self, rel, size):
        self.files += 1
        self.inodes += 1
        self.data_bytes += size
        self.largest = max(self.largest, size)
        self.bytes += self.file_bytes(size)
        if self.fstype == 'vfat' and size > FAT32_MAX_FILE:
            self.too_big.append(rel)

    def file_bytes(self, size):
        if self.fstype == 'ntfs':
            return self.record + (0 if size <= NTFS_RESIDENT_MAX else _ceil(size, self.unit))
        data = _ceil(size, self.unit)
        if self.fstype in ('ext2', 'ext3', 'ext4'):
            blocks = data // self.unit
            if self.fstype == 'ext4':
                extents = -(-blocks // EXT_EXTENT_BLOCKS)
                meta = 0 if extents <= EXT_INODE_EXTENTS else -(-extents // EXT_EXTENTS_PER_BLOCK)
            else:  # indirect blocks: one per (unit / 4) blocks past the first 12
                meta = -(-max(blocks - 12, 0) // (self.unit // 4)) + (1 if blocks > 12 + self.unit // 4 else 0)
            data += meta * self.unit
        return data

    def add_dir(self, name_lengths, new=True):
        """A directory holding entries with these name lengths (bytes); ``new``: not on the drive yet."""
        if not new:
            return
        self.dirs += 1
        self.inodes += 1
        if self.fstype == 'vfat':  # 32-byte entries, long names in 13-character pieces, '.' and '..'
            size = 64 + sum(32 * (1 + -(-n // 13)) for n in name_lengths)
            self.bytes += max(_ceil(size, self.unit), self.unit)
        elif self.fstype == 'ntfs':  # MFT record, then 4 KiB index blocks filled to about 3/4
            size = sum(_ceil(82 + 2 * n, 8) for n in name_lengths)
            self.bytes += self.record + (0 if size <= 200 else _ceil(size * 4 // 3, 4096))
        else:  # ext: 8-byte header per entry, names padded to 4 bytes
            size = 24 + sum(8 + _ceil(n, 4) for n in name_lengths)
            self.bytes += max(_ceil(size, self.unit), self.unit)

    def as_dict(self):
        return dict(need_bytes=self.bytes, need_inodes=self.inodes, files=self.files, dirs=self.dirs,
                    data_bytes=self.data_bytes, largest_file=self.largest, too_big_for_fat32=self.too_big[:20])


def scan(root, need, dest=None, skip_root=('SIGNATURE', 'lost+found')):
    """Add every regular file and directory under ``root`` to ``need``. With ``dest`` (the drive's
    mount point), a file already there with the same size, and a directory already there, cost
    nothing more. Symbolic links and special files are not counted (a loader does not copy them)."""
    stack = ['']
    while stack:
        rel = stack.pop()
        names = []
        try:
            entries = list(os.scandir(os.path.join(root, rel) if rel else root))
        except OSError:
            continue
        for entry in entries:
            if not rel and entry.name in skip_root:
                continue
            child = os.path.join(rel, entry.name) if rel else entry.name
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode):
                stack.append(child)
            elif not stat.S_ISREG(st.st_mode):
                continue
            elif dest is None or not _same_size(os.path.join(dest, child), st.st_size):
                need.add_file(child, st.st_size)
            if dest is None or not os.path.lexists(os.path.join(dest, child)):
                names.append(len(os.fsencode(entry.name)))
        if rel:
            need.add_dir(names, new=dest is None or not os.path.isdir(os.path.join(dest, rel)))
            if dest is not None and os.path.isdir(os.path.join(dest, rel)) and names:
                need.bytes += need.unit  # new entries in a directory already there may take one more unit
        elif names:
            need.add_dir(names, new=True)  # entries added to the root directory
            need.dirs -= 1
            need.inodes -= 1
    return need


def _same_size(path, size):
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_size == size


def verdict(need, geometry, margin, device_size=None, counted_existing=False):
    """(fits: True, False, or None when it cannot be told yet; the reason in words).

    ``counted_existing``: ``need`` already left out what is on the drive (scanned with ``dest``),
    so it is compared with the free room alone. Otherwise a drive whose free room is short may
    hold an earlier load of the same data: that is False only when the data exceeds the whole
    file system, and None (check again once mounted) in between.
    """
    if need.too_big:
        return False, ('%d file(s) are larger than FAT32 allows (4 GiB - 1 byte), first %s; use an NTFS or ext4 '
                       'drive for them' % (len(need.too_big), need.too_big[0]))
    fstype = geometry.get('fstype') or 'unknown'
    unit_name = 'blocks' if fstype.startswith('ext') else 'clusters'
    wanted = need.bytes + margin
    free_inodes, inodes = geometry.get('free_inodes'), geometry.get('inodes')
    if free_inodes is not None and need.inodes > free_inodes:
        total = (inodes - EXT_RESERVED_INODES) if inodes else None
        if counted_existing or (total is not None and need.inodes > total):
            return False, ('the data needs %d inodes (one per file and directory) but the %s file system has %d free%s; '
                           'use a larger drive, split the data, or make the file system with more inodes '
                           '(mkfs.ext4 -i 4096)' % (need.inodes, fstype, free_inodes,
                                                    '' if counted_existing else ' of %d' % total))
        return None, ('the data needs %d inodes and %d are free: the drive may hold an earlier load; checked again '
                      'once mounted' % (need.inodes, free_inodes))
    free = geometry.get('free_bytes')
    capacity = geometry.get('size_bytes') or device_size
    too_small = ('the data takes %s in the drive\'s %d-byte %s (%s as file sizes) but %s; use a larger drive or '
                 'split the data')
    if free is not None and wanted <= free:
        return True, 'the data takes %s of the %s free (keeping %s spare)' % (human(need.bytes), human(free), human(margin))
    if free is not None and counted_existing:
        return False, too_small % (human(need.bytes), geometry['unit'], unit_name, human(need.data_bytes),
                                   'the drive has %s free, keeping %s spare' % (human(free), human(margin)))
    if capacity and wanted > capacity:
        return False, too_small % (human(need.bytes), geometry.get('unit') or 0, unit_name, human(need.data_bytes),
                                   'the whole drive holds %s' % human(capacity))
    if free is not None:
        return None, ('the data takes %s and %s are free: the drive may hold an earlier load; checked again once '
                      'mounted' % (human(need.bytes), human(free)))
    return None, ('the free space of this %s drive cannot be read while it is not mounted (the data takes %s, the '
                  'drive holds %s); checked again once mounted'
                  % (fstype, human(need.bytes), human(capacity) if capacity else 'an unknown size'))


def human(count):
    value = float(count or 0)
    for unit in ('B', 'KiB', 'MiB', 'GiB', 'TiB'):
        if value < 1024 or unit == 'TiB':
            return ('%d %s' % (value, unit)) if unit == 'B' else ('%.1f %s' % (value, unit))
        value /= 1024
    return '%d B' % count
