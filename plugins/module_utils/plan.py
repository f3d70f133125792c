# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Packing a scanned data set onto drives.

Room is counted in the drive's allocation units: each file is rounded up to the file
system's block (cluster) size, plus a per-file overhead where the file system keeps one (an
NTFS file record), and each directory takes one block on every drive that holds part of it.

The rule: largest units first; a directory is kept whole on the first drive (in the order
given) where it fits; one that fits nowhere is split into its files and subdirectories,
which are placed the same way. A file that fits on no drive at all is a finding. With a
``drive_size``, the same rule opens new drives of that size as needed and says how many.
Standard library only, no Ansible imports.
"""

from __future__ import annotations

import heapq

from ansible_collections.awsie.importexport.plugins.module_utils import dataset, ledger

FAT32_MAX_FILE = 4 * 1024 ** 3 - 1
# block: default allocation unit; overhead: bytes per file outside its blocks; max_file: the
# largest file the file system holds; case_insensitive: names differing in case collide.
FILESYSTEMS = {
    'ext2': {'block': 4096, 'overhead': 0, 'max_file': None, 'case_insensitive': False},
    'ext3': {'block': 4096, 'overhead': 0, 'max_file': None, 'case_insensitive': False},
    'ext4': {'block': 4096, 'overhead': 0, 'max_file': None, 'case_insensitive': False},
    'ntfs': {'block': 4096, 'overhead': 1024, 'max_file': None, 'case_insensitive': True},
    'fat32': {'block': 32768, 'overhead': 0, 'max_file': FAT32_MAX_FILE, 'case_insensitive': True},
    'exfat': {'block': 131072, 'overhead': 0, 'max_file': None, 'case_insensitive': True},
}
ALIASES = {'vfat': 'fat32', 'fat': 'fat32', 'ntfs-3g': 'ntfs'}


class PlanError(ValueError):
    pass


def filesystem(name):
    """The settings of a file system by name (ext4, ntfs, fat32/vfat, exfat)."""
    key = ALIASES.get(str(name).lower(), str(name).lower())
    if key not in FILESYSTEMS:
        raise PlanError('unknown file system %r; one of %s' % (name, ', '.join(sorted(FILESYSTEMS))))
    return FILESYSTEMS[key]


class _Node:
    __slots__ = ('path', 'files', 'dirs', 'blocks', 'bytes', 'count', 'seq')

    def __init__(self, path):
        self.path = path
        self.files = []
        self.dirs = {}
        self.blocks = 0
        self.bytes = 0
        self.count = 0
        self.seq = 0


class Drive:
    """One drive being filled: ``capacity`` bytes of room (after the margin)."""

    def __init__(self, name, capacity, spec=None, extra=False):
        self.spec = dict(spec or {})
        self.name = name
        self.capacity = capacity
        self.extra = extra
        self.used = 0
        self.bytes = 0
        self.files = 0
        self.items = []
        self.dirs = set()

    def as_dict(self):
        out = dict(self.spec)
        out.update({'name': self.name, 'capacity_bytes': self.capacity, 'used_bytes': self.used,
                    'free_bytes': self.capacity - self.used, 'bytes': self.bytes, 'files': self.files,
                    'items': sorted(self.items, key=lambda p: ledger.sort_key(p) if p != '.' else [])})
        return out


class Planner:
    """Packs ``files`` (dataset.FileEntry) with the given block size and per-file overhead."""

    def __init__(self, files, block_size=4096, overhead=0, max_file=None):
        if block_size < 1:
            raise PlanError('block_size must be at least 1 byte')
        self.block = block_size
        self.overhead = overhead
        self.findings = []
        self.root = _Node('')
        self.total_blocks = 0
        last_dir, last_node = None, None
        for entry in files:
            if max_file is not None and entry.size > max_file:
                self.findings.append(dataset.finding(
                    dataset.TOO_BIG_FOR_FILESYSTEM, entry.path, '%d bytes; the file system holds files of at most %d '
                    'bytes' % (entry.size, max_file)))
                continue
            parent = entry.path.rpartition('/')[0]
            if parent != last_dir:  # files come grouped by directory (scan order): one lookup each
                last_dir, last_node = parent, self._node(parent)
            last_node.files.append(entry)
        self._sum(self.root)

    def cost(self, size):
        return -(-size // self.block) * self.block + self.overhead

    def _node(self, path):
        node = self.root
        if not path:
            return node
        for part in path.split('/'):
            child = node.dirs.get(part)
            if child is None:
                child = node.dirs[part] = _Node(part if not node.path else node.path + '/' + part)
            node = child
        return node

    def _sum(self, root):
        # Iterative post-order: deep trees must not hit the recursion limit.
        order, stack = [], [root]
        while stack:
            node = stack.pop()
            order.append(node)
            stack.extend(node.dirs.values())
        for seq, node in enumerate(reversed(order)):
            node.seq = seq
            block = self.block
            node.blocks = ((block if node.path else 0) + self.overhead * len(node.files)
                           + sum(-(-f.size // block) * block for f in node.files))
            node.bytes = sum(f.size for f in node.files)
            node.count = len(node.files)
            for child in node.dirs.values():
                node.blocks += child.blocks
                node.bytes += child.bytes
                node.count += child.count
        self.total_blocks = root.blocks

    def _missing(self, drive, path):
        """Blocks for the ancestor directories of ``path`` not yet on ``drive``."""
        parts = path.split('/')[:-1]
        missing = 0
        for i in range(1, len(parts) + 1):
            if '/'.join(parts[:i]) not in drive.dirs:
                missing += 1
        return missing * self.block

    @staticmethod
    def _place(drive, path, blocks, size, count, is_dir):
        parts = path.split('/') if path else []
        for i in range(1, len(parts) + (1 if is_dir else 0)):
            drive.dirs.add('/'.join(parts[:i]))
        drive.items.append(path or '.')
        drive.used += blocks
        drive.bytes += size
        drive.files += count

    def pack(self, drives, drive_size=None, prefix='drive-'):
        """Fill ``drives`` (Drive objects, in order); with ``drive_size`` open extra drives of
        that size when nothing fits. Returns the list of unplaced FileEntry."""
        unplaced = []
        heap = [(-self.root.blocks, 0, 0, self.root)]
        counter = 1
        while heap:
            _cost, _kind, _seq, unit = heapq.heappop(heap)
            is_dir = isinstance(unit, _Node)
            path = unit.path
            blocks = unit.blocks if is_dir else self.cost(unit.size)
            size = unit.bytes if is_dir else unit.size
            count = unit.count if is_dir else 1
            if is_dir and not count:
                continue  # nothing to load below it
            target = None
            for drive in drives:
                if blocks + self._missing(drive, path) <= drive.capacity - drive.used:
                    target = drive
                    break
            if target is None and drive_size is not None and blocks + self._missing(Drive('', 0), path) <= drive_size:
                target = Drive('%s%d' % (prefix, len(drives) + 1), drive_size, extra=True)
                drives.append(target)
            if target is not None:
                self._place(target, path, blocks + self._missing(target, path), size, count, is_dir)
                continue
            if is_dir:
                for child in unit.dirs.values():
                    heapq.heappush(heap, (-child.blocks, 0, child.seq, child))
                for entry in unit.files:
                    counter += 1
                    heapq.heappush(heap, (-self.cost(entry.size), 1, counter, entry))
            else:
                unplaced.append(unit)
        return unplaced


def make_plan(files, drives=(), drive_size=None, block_size=4096, overhead=0, max_file=None, margin=0):
    """Plan ``files`` onto ``drives`` (dicts: name, size in bytes, device) and/or drives of
    ``drive_size`` bytes. Returns a dict: drives, unplaced, drives_needed, findings, totals."""
    if not drives and not drive_size:
        raise PlanError('give the sizes of the drives, or a drive_size to count the drives needed')
    planner = Planner(files, block_size, overhead, max_file)
    targets = []
    for index, spec in enumerate(drives):
        capacity = int(spec['size']) - margin
        if capacity <= 0:
            raise PlanError('drive %s has %s bytes, not more than the margin of %d bytes'
                            % (spec.get('name') or index + 1, spec['size'], margin))
        targets.append(Drive(spec.get('name') or 'drive-%d' % (index + 1), capacity, spec))
    room = drive_size - margin if drive_size else None
    if room is not None and room <= 0:
        raise PlanError('drive_size %d is not more than the margin of %d bytes' % (drive_size, margin))
    largest = max([d.capacity for d in targets] + [room or 0])
    unplaced = planner.pack(targets, None if targets else room)
    findings = list(planner.findings)
    left = []
    for entry in unplaced:
        if planner.cost(entry.size) + planner._missing(Drive('', 0), entry.path) > largest:  # pylint: disable=protected-access
            findings.append(dataset.finding(dataset.TOO_BIG_FOR_DRIVES, entry.path, '%d bytes (%d in %d-byte blocks) fit '
                                            'on none of the drives (largest %d bytes of room)'
                                            % (entry.size, planner.cost(entry.size), block_size, largest)))
        else:
            left.append(entry)
    result = {
        'drives': [d.as_dict() for d in targets],
        'unplaced': {'files': len(left), 'bytes': sum(e.size for e in left),
                     'used_bytes': sum(planner.cost(e.size) for e in left),
                     'items': [e.path for e in sorted(left, key=lambda e: ledger.sort_key(e.path))]},
        'findings': findings,
        'files': sum(d.files for d in targets) + len(left),
        'bytes': sum(d.bytes for d in targets) + sum(e.size for e in left),
        'used_bytes': planner.total_blocks,
        'block_size': block_size,
    }
    if room:
        # How many drives of drive_size the whole set needs under the same rule, from scratch
        # (the same tree: packing does not change it).
        fresh = targets
        if drives:
            fresh = []
            planner.pack(fresh, room)
        result['drives_needed'] = len(fresh)
        result['drives_needed_at_least'] = -(-planner.total_blocks // room)
        if targets:
            more = []
            Planner(left, block_size, overhead, max_file).pack(more, room)
            result['additional_drives_needed'] = len(more)
    return result


def expand(items, files):
    """The paths of ``files`` (FileEntry) that ``items`` (a drive's share) cover."""
    if '.' in items:
        return [f.path for f in files]
    wanted = set(items)
    out = []
    for entry in files:
        parts = entry.path.split('/')
        if any('/'.join(parts[:i]) in wanted for i in range(1, len(parts) + 1)):
            out.append(entry.path)
    return out


def drive_specs(drives, probe=None):
    """Drive dicts with ``size`` in bytes: given (``size`` as bytes or ``size_bytes``), or probed
    for those that name a ``device`` (``probe(device)`` -> facts of devices.Prober.probe: the
    free bytes of its file system, else its size). Other keys are kept."""
    out = []
    for index, drive in enumerate(drives or []):
        spec = dict(drive)
        spec.setdefault('name', 'drive-%d' % (index + 1))
        size = spec.get('size', spec.get('size_bytes'))
        if size is None:
            if not spec.get('device') or probe is None:
                raise PlanError('drive %s has neither a size nor a device to probe' % spec['name'])
            facts = probe(spec['device'])
            size = next((facts.get(k) for k in ('free_bytes', 'size_bytes', 'size') if facts.get(k)), None)
            if size is None:
                raise PlanError('the size of drive %s (%s) could not be probed; give its size' % (spec['name'], spec['device']))
            spec['probed_fstype'] = facts.get('fstype')
        try:
            spec['size'] = int(size)
        except (TypeError, ValueError):
            raise PlanError('drive %s: size %r is not a number of bytes' % (spec['name'], size))
        out.append(spec)
    return out
