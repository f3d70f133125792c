# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Mounting drives: which driver mounts a file system here, what is mounted where, and the
plan of ie_mount (what to do at a path, checked before anything is done, carried out so that a
failure takes back what it made).

No Ansible imports; runs on managed hosts and in the local service. Commands run through a
``run(argv) -> (rc, stdout, stderr)`` callable (``AnsibleModule.run_command`` fits), so tests
can pass their own. Nothing here writes ``/etc/fstab``: mounts name both source and target, so
fstab is never consulted for a mount; it is read only to keep off the host's own mount points.
"""

from __future__ import annotations

import json
import os
import shutil
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
FUSE_PACKAGES = {'vfat': 'fusefat', 'ntfs': 'ntfs-3g', 'exfat': 'exfat-fuse'}
# Mount points of the host itself: never mounted over or unmounted (with those of /etc/fstab).
# /mnt and /media are left out: they are there for removable drives.
SYSTEM_MOUNT_POINTS = frozenset([
    '/', '/bin', '/boot', '/boot/efi', '/dev', '/dev/pts', '/dev/shm', '/etc', '/home', '/lib', '/lib64', '/opt',
    '/proc', '/root', '/run', '/sbin', '/srv', '/sys', '/tmp', '/usr', '/usr/local', '/var', '/var/lib', '/var/log',
    '/var/tmp'])


class MountError(Exception):
    """Something about a mount that the caller must fix; the message says what and how.
    ``facts`` are result keys that go with it."""

    def __init__(self, message, **facts):
        super().__init__(message)
        self.facts = facts


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
                     '(Debian: %s) or load the kernel module' % (kernel_name, ', '.join(fuse),
                                                                 FUSE_PACKAGES.get(fstype, fuse[0])))


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


def _fstab_entries(fstab):
    """(line, fields) of fstab's entries."""
    try:
        with open(fstab) as handle:
            lines = handle.read().splitlines()
    except OSError:
        return []
    entries = []
    for line in lines:
        fields = line.split('#', 1)[0].split()
        if len(fields) >= 2:
            entries.append((line, fields))
    return entries


def fstab_mentions(device, path, fstab='/etc/fstab'):
    """Lines of fstab naming the device or the mount point (a shipped drive should have none)."""
    return [line for line, fields in _fstab_entries(fstab) if fields[1] == path or (device and fields[0] == device)]


def fstab_mount_points(fstab='/etc/fstab'):
    """The mount points fstab lists (swap and ``none`` aside), normalised."""
    return set(os.path.normpath(fields[1]) for _line, fields in _fstab_entries(fstab) if fields[1].startswith('/'))


# --- the plan of ie_mount ----------------------------------------------------------------------

def check_path(path, state, fstab='/etc/fstab'):
    """The mount point to work on, as an absolute path with ``..`` and linked parents resolved.

    MountError when it is a symbolic link itself (a mount would land on the link's target), a
    mount point of the host (SYSTEM_MOUNT_POINTS or fstab's), or, to mount, a file or under one.
    """
    given = os.path.abspath(path)
    if os.path.islink(given):
        raise MountError('path %s is a symbolic link (to %s); give the directory itself, so the drive is mounted '
                         'where you say' % (given, os.path.realpath(given)))
    real = os.path.realpath(given)
    if real in SYSTEM_MOUNT_POINTS or real in fstab_mount_points(fstab):
        raise MountError('refusing to %s %s: it is a system mount point (of the host itself, or listed in %s); '
                         'give a directory of its own for the drive, such as /mnt/ie/drive1'
                         % ('unmount' if state == 'unmounted' else 'mount over', real, fstab))
    if state == 'mounted':
        if os.path.lexists(real) and not os.path.isdir(real):
            raise MountError('path %s is a file, not a directory; give a directory to mount the drive at' % real)
        parent = os.path.dirname(real)
        while not os.path.lexists(parent):
            parent = os.path.dirname(parent)
        if not os.path.isdir(parent):
            raise MountError('path %s is under %s, which is a file, not a directory; give a directory to mount '
                             'the drive at' % (real, parent))
    return real


def drive_dest_problem(dest, require_mount, fstab='/etc/fstab'):
    """Why ``dest`` is no place to write a drive's files (ie_load, ie_signature), or None.

    A system mount point ('/', /etc, fstab's) is refused even with ``require_mount=false``: it is
    never a drive, and '/' passes a mount-point check.
    """
    real = os.path.realpath(dest)
    if real in SYSTEM_MOUNT_POINTS or real in fstab_mount_points(fstab):
        return ('dest %s is a system mount point (of the host itself, or listed in %s), never a drive: mount the '
                'drive at a directory of its own, such as /mnt/ie/drive1' % (real, fstab))
    if require_mount and not os.path.ismount(dest):
        return ('dest %s is not a mount point: mount the drive there, or set require_mount=false to write into a '
                'plain directory' % dest)
    return None


def plan_mount(run, src, path, fstype=None, opts='defaults', kernel=None, which=None):
    """What mounting ``src`` at ``path`` takes, checked before anything is done.

    A dict: ``action`` (V(mount), V(remount) or None when it is already so), ``command``,
    ``fstype``, ``driver``, ``current`` (the mount at path now, or None). MountError (with
    ``probed_fstype`` among its facts when the given type disagrees) when it must not be done.
    """
    if block_device(src) is None:
        raise MountError('src %s is not a block device (missing or not attached); check lsblk, the cable, '
                         'or losetup for an image' % src)
    current = mounted_at(run, path)
    if current and not same_source(current, src):
        raise MountError('%s already has %s mounted (not %s); unmount it first or choose another path'
                         % (path, current.get('source'), src))
    probed = probe_fstype(run, src)
    wanted = canonical_fstype(fstype)
    if wanted and probed and wanted != probed:
        raise MountError('%s holds a %s file system, not %s; fix fstype or the drive' % (src, probed, wanted),
                         probed_fstype=probed)
    fstype = wanted or probed
    if not fstype:
        raise MountError('blkid finds no file system on %s; format the drive or set fstype' % src)
    driver, program = choose_driver(fstype, kernel_filesystems() if kernel is None else kernel,
                                    which or shutil.which)
    plan = dict(action=None, command=[], fstype=fstype, driver=driver, current=current)
    want_ro = read_only(opts)
    if current is None:
        elsewhere = mounts_of(run, src)
        if elsewhere:
            raise MountError('%s is already mounted at %s; unmount it there first (a drive mounted twice can be '
                             'corrupted)' % (src, ', '.join(elsewhere)), fstype=fstype, driver=driver)
        plan.update(action='mount', command=mount_command(driver, program, src, path, opts))
    elif read_only(current.get('options')) != want_ro:
        if (current.get('fstype') or '').startswith('fuse'):
            raise MountError('%s is mounted %s at %s by a FUSE driver, which cannot remount; unmount it first'
                             % (src, 'ro' if not want_ro else 'rw', path), fstype=fstype, driver=driver)
        plan.update(action='remount', command=['mount', '-o', 'remount,' + ('ro' if want_ro else 'rw'), path])
    return plan


def plan_unmount(run, src, path):
    """What unmounting ``path`` takes: ``action`` V(unmount) or None, ``command``, ``current``.
    MountError when ``src`` is given and something else is mounted there."""
    current = mounted_at(run, path)
    if current is None:
        return dict(action=None, command=[], current=None)
    if src and not same_source(current, src):
        raise MountError('%s has %s mounted, not %s; refusing to unmount a different device'
                         % (path, current.get('source'), src))
    return dict(action='unmount', command=['umount', path], current=current)


def make_directories(path, mode=0o755):
    """Create ``path`` and its missing parents; the directories created, outermost first."""
    missing = []
    while not os.path.lexists(path):
        missing.insert(0, path)
        path = os.path.dirname(path)
    for directory in missing:
        os.mkdir(directory, mode)
    return missing


def remove_directories(created):
    """Remove directories ``make_directories`` created (innermost first), if still empty."""
    for directory in reversed(created):
        try:
            os.rmdir(directory)
        except OSError:
            return


def carry_out(run, plan, src, path):
    """Do what the plan says; the mount at ``path`` afterwards (``{}`` when unmounted).

    A failure takes back what this call made (the directories it created, a mount of ``src``
    that did not come out as planned) and raises MountError saying what failed.
    """
    if plan['action'] == 'unmount':
        unmounted, message = unmount(run, path)
        if not unmounted:
            raise MountError('unmounting %s failed: %s; see which processes use it with fuser -vm %s'
                             % (path, message, path))
        return {}
    try:
        created = make_directories(path) if plan['action'] == 'mount' else []
    except OSError as exc:
        raise MountError('cannot create the mount point %s: %s' % (path, exc.strerror))
    rc, out, err = run(plan['command'])
    mount = mounted_at(run, path) if rc == 0 else None
    if rc == 0 and same_source(mount, src):
        return mount
    if plan['action'] == 'mount':
        for target in mounts_of(run, src):  # it was mounted nowhere before: all of these are ours
            unmount(run, target)
        remove_directories(created)
    if rc != 0:
        raise MountError('mounting %s at %s failed: %s' % (src, path, (err or out).strip()), rc=rc)
    raise MountError('%s ran, but findmnt does not show %s at %s; the mount was taken back'
                     % (plan['command'][0], src, path))
