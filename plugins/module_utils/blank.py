# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Whether a drive may be prepared for an export job, and whether it may be formatted.

No Ansible imports. ``decide`` takes what ``devices.Prober.probe`` found and the names in the
root of the file system, and answers ``keep`` (use the file system as it is), ``format`` or
``refuse``, with the reason. A drive is formatted only when the caller allows it, and a drive
holding files or a partition table only when the caller also forces it.
"""

from __future__ import annotations

from ansible_collections.awsie.importexport.plugins.module_utils.devices import service_filesystem

# Names a fresh or prepared drive holds in its root that are not the owner's files.
HOUSEKEEPING = frozenset(['lost+found', 'SIGNATURE', 'System Volume Information', '$RECYCLE.BIN', '.Trashes',
                          '.fseventsd', '.Spotlight-V100'])
# The manifest's fileSystem -> (blkid type, mkfs command without the device).
MKFS = {
    'NTFS': ('ntfs', ['mkfs.ntfs', '-F', '-Q', '-q']),
    'EXT4': ('ext4', ['mkfs.ext4', '-q', '-F']),
    'EXT3': ('ext3', ['mkfs.ext3', '-q', '-F']),
    'EXT2': ('ext2', ['mkfs.ext2', '-q', '-F']),
    'FAT32': ('vfat', ['mkfs.vfat', '-F', '32']),
}
LABEL_OPTION = {'NTFS': '-L', 'EXT4': '-L', 'EXT3': '-L', 'EXT2': '-L', 'FAT32': '-n'}


def normalise_filesystem(name):
    """The manifest's fileSystem in the form MKFS knows (case-insensitive), or None."""
    key = (name or '').strip().upper()
    return key if key in MKFS else None


def owner_files(names):
    """Entries of a root directory that are the owner's data (not housekeeping), sorted."""
    return sorted(n for n in names if n not in HOUSEKEEPING and n not in ('.', '..'))


def mkfs_argv(filesystem, device, label=None):
    _fstype, argv = MKFS[filesystem]
    argv = list(argv)
    if label:
        argv += [LABEL_OPTION[filesystem], label[:11] if filesystem == 'FAT32' else label]
    return argv + [device]


def decide(facts, filesystem, root_names, allow_format=False, force=False):
    """(action, reason): action is ``keep``, ``format`` or ``refuse``.

    ``facts``: a probe (``partition_table``, ``fstype``, ``fs_version``, ``blank``, ``mount_points``,
    ``device``); ``filesystem``: the manifest's fileSystem (NTFS, EXT4, FAT32, ...);
    ``root_names``: names in the root of the file system (None when there is none).
    """
    device = facts.get('device')
    wanted = normalise_filesystem(filesystem)
    if wanted is None:
        return 'refuse', ('the manifest\'s fileSystem %r is not one the drive can be prepared as; use NTFS, EXT4 or '
                          'FAT32' % (filesystem,))
    have, _jobs = service_filesystem(facts.get('fstype'), facts.get('fs_version'))
    mounted = facts.get('mount_points') or [m for p in facts.get('partitions') or [] for m in p.get('mount_points') or []]
    hint = ('set drive_prepare_format: true (ie_format format=true) to format it as %s' % wanted)
    force_hint = 'drive_prepare_force: true (ie_format force=true) if its contents may be destroyed'
    if facts.get('partition_table') and not force:
        return 'refuse', ('%s has a %s partition table; an export drive is formatted whole. Check it is the right '
                          'drive, then set %s' % (device, facts['partition_table'], force_hint))
    files = owner_files(root_names or [])
    if facts.get('fstype'):
        if files and not force:
            return 'refuse', ('%s holds a file system (%s) with files (%s%s); an export drive must be empty. Check it '
                              'is the right drive, then set %s' % (device, facts['fstype'], ', '.join(files[:3]),
                                                                   ', ...' if len(files) > 3 else '', force_hint))
        if have == wanted and not facts.get('partition_table'):
            return 'keep', '%s already holds a file system (%s)%s' % (
                device, wanted, ' with files (forced)' if files else ' with no files')
        if have == wanted and force and not allow_format:
            return 'keep', '%s holds a file system (%s) on a partition (forced)' % (device, wanted)
        reason = '%s holds %s, the manifest asks for %s' % (device, have or facts['fstype'], wanted)
    elif facts.get('blank'):
        reason = '%s is blank' % device
    elif not force:
        return 'refuse', ('%s holds data that is not a file system (its first or last MiB is not zeros); check it is '
                          'the right drive, then set %s' % (device, force_hint))
    else:
        reason = '%s holds data that is not a file system (forced)' % device
    if not allow_format:
        return 'refuse', '%s; %s' % (reason, hint)
    if mounted:
        return 'refuse', '%s is mounted at %s; unmount it before it is formatted' % (device, ', '.join(mounted))
    return 'format', '%s: formatting it as %s' % (reason, wanted)


def parse_debugfs_ls(text):
    """Names from ``debugfs -R 'ls -p /'`` (``/inode/mode/uid/gid/name/size/`` lines)."""
    names = []
    for line in text.splitlines():
        parts = line.strip().split('/')
        if len(parts) >= 7 and parts[0] == '':
            names.append('/'.join(parts[5:-2]))
    return names


def parse_mdir(text):
    """Names from ``mdir -b ::/`` (one ``::/name`` per line)."""
    return [line.strip()[3:].rstrip('/') for line in text.splitlines() if line.strip().startswith('::/')]


def parse_ntfsls(text):
    """Names from ``ntfsls -f`` (one name per line, system files hidden)."""
    return [line.rstrip('\n') for line in text.splitlines() if line.strip() and line.strip() not in ('.', '..')]
