# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Mounting drives: which driver mounts a file system here, and what is mounted where.

No Ansible imports. Commands run through a ``run(argv) -> (rc, stdout, stderr)`` callable
(``AnsibleModule.run_command`` fits), so tests can pass their own. Nothing here writes
``/etc/fstab``: mounts name both source and target, so fstab is never consulted either.
"""

from __future__ import annotations

import json
import os
import stat
import time

# File system names as blkid reports them, with the aliases users write.
ALIASES = {'fat32': 'vfat', 'fat': 'vfat', 'msdos': 'vfat', 'ntfs3': 'ntfs', 'ntfs-3g': 'ntfs',
           'fuseblk': None, 'hfs+': 'hfsplus'}
# Kernel driver name to try, then FUSE programs in order of preference.
DRIVERS = {
    'vfat': ('vfat', ['fusefat']),
    'ntfs': ('ntfs3', ['ntfs-3g']),
    'exfat': ('exfat', ['mount.exfat-fuse']),
}
class MountError(Exception):
    """Something about a mount that the caller must fix; the message says what and how."""


def canonical_fstype(fstype):
    if not fstype:
        return None
    name = fstype.strip().lower()
    return ALIASES.get(name, name)


def kernel_filesystems(path='/proc/filesystems'):
    try:
        with open(path) as handle:
            return set(line.split()[-1] for line in handle if line.strip())
    except OSError:
        return set()


def block_device(path):
    """The st_rdev of a block device (following symlinks such as /dev/disk/by-id), or None."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_rdev if stat.S_ISBLK(info.st_mode) else None


def probe_fstype(run, device):
    """The file system type blkid finds on the device (low-level probe, no cache), or None."""
    rc, out, _err = run(['blkid', '-p', '-o', 'value', '-s', 'TYPE', device])
    if rc == 0 and out.strip():
        return out.strip().splitlines()[0]
    return None


def findmnt(run, *selector):
    """Mounts matching a findmnt selector (``['-M', path]`` or ``['-S', dev]``), as dicts."""
    rc, out, err = run(['findmnt', '--json', '--output', 'TARGET,SOURCE,FSTYPE,OPTIONS'] + list(selector))
    if rc == 1 and not out.strip():
        return []
    if rc != 0:
        raise MountError('findmnt %s failed: %s' % (' '.join(selector), err.strip()))
    return json.loads(out).get('filesystems', [])


def mounted_at(run, path):
    """The mount whose target is exactly path (the top one if stacked), or None."""
    found = [m for m in findmnt(run, '--mountpoint', path) if m.get('target') == path]
    return found[-1] if found else None


def mounts_of(run, device):
    """Targets where the device is mounted, matched by device number (any path to it)."""
    rdev = block_device(device)
    targets = []
    for entry in findmnt(run, '--list'):
        source = entry.get('source') or ''
        if source.startswith('/dev/') and rdev is not None and block_device(source) == rdev:
            targets.append(entry['target'])
    return targets


def same_source(mount, device):
    source = (mount or {}).get('source') or ''
    rdev = block_device(device)
    return rdev is not None and source.startswith('/dev/') and block_device(source) == rdev


def read_only(options):
    return 'ro' in (options or '').split(',')


def choose_driver(fstype, kernel, which):
    """(driver, program) for a blkid file system type: the kernel's when it has it, else FUSE."""
    kernel_name, fuse = DRIVERS.get(fstype, (fstype, []))
    if kernel_name in kernel or not fuse:
        return 'kernel', kernel_name
    for program in fuse:
        if which(program):
            return program, which(program)
    raise MountError('this kernel has no %s driver and none of %s is installed; install one of them '
                     '(Debian: %s) or load the kernel module' % (
                         kernel_name, ', '.join(fuse), {'vfat': 'fusefat', 'ntfs': 'ntfs-3g',
                                                        'exfat': 'exfat-fuse'}.get(fstype, fuse[0])))


def mount_command(driver, program, device, path, opts):
    """argv that mounts device at path with the chosen driver. FUSE mounts name the device as
    their source, so findmnt can prove later which device is mounted there."""
    opts = [o for o in (opts or '').split(',') if o and o != 'defaults']
    if driver == 'kernel':
        return ['mount', '-t', program] + (['-o', ','.join(opts)] if opts else []) + [device, path]
    if driver == 'fusefat':
        # fusefat mounts read-only unless told rw+; without fsname findmnt shows "fusefat".
        mode = 'ro' if 'ro' in opts else 'rw+'
        rest = [o for o in opts if o not in ('ro', 'rw', 'rw+')]
        return [program, '-o', ','.join([mode, 'fsname=' + device, 'subtype=fusefat'] + rest), device, path]
    return [program] + (['-o', ','.join(opts)] if opts else []) + [device, path]


def unmount(run, path, attempts=5, delay=0.2):
    """Unmount ``path``, retrying while it is busy; ``(unmounted, message)``.

    FUSE daemons and just-closed files keep a mount busy for a moment, so ``umount`` is tried
    up to ``attempts`` times, waiting ``delay`` seconds and then twice as long each time
    (0.2 + 0.4 + 0.8 + 1.6 s with the defaults). ``unmounted`` is True when ``umount`` succeeded
    once or nothing is mounted at ``path`` (any more); ``message`` is the last error of ``umount``.
    Raises MountError when findmnt fails.
    """
    message = ''
    for attempt in range(max(1, attempts)):
        if attempt:
            time.sleep(delay * 2 ** (attempt - 1))
        if mounted_at(run, path) is None:
            return True, message
        rc, out, err = run(['umount', path])
        if rc == 0:
            return True, ''  # one unmount only: a mount stacked below stays
        message = (err or out or 'umount exited %d' % rc).strip()
    return mounted_at(run, path) is None, message


def fstab_mentions(device, path, fstab='/etc/fstab'):
    """Lines of fstab naming the device or the mount point (a shipped drive should have none)."""
    try:
        with open(fstab) as handle:
            lines = handle.read().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        fields = line.split('#', 1)[0].split()
        if len(fields) >= 2 and (fields[1] == path or fields[0] == device):
            found.append(line)
    return found
