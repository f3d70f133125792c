# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Drive discovery for AWS Import/Export: what a device, image or mount point holds.

No Ansible imports: commands run through a ``run(argv) -> (rc, stdout, stderr)`` callable, so
the parsing is testable with plain pytest. Works without udev (blkid probes the media directly,
sysfs gives sizes and loop backing files); uses udev's database when it has one (serial, model).
"""

from __future__ import annotations

import base64
import errno
import hashlib
import os
import re
import stat

# The file systems AWS Import/Export reads from a drive, as blkid names them: the name the
# manifest's fileSystem uses, and the job types that read it. FAT counts only as FAT32 (blkid
# VERSION); FAT12/FAT16, exFAT, XFS and Btrfs are not read. This is the one table of the
# collection (the local service reads it too, through readable_filesystems).
SERVICE_FILESYSTEMS = {
    'ntfs': ('NTFS', ('Import', 'Export')),
    'ext2': ('EXT2', ('Import', 'Export')),
    'ext3': ('EXT3', ('Import', 'Export')),
    'ext4': ('EXT4', ('Import', 'Export')),
    'vfat': ('FAT32', ('Import', 'Export')),
    'hfsplus': ('HFSPlus', ('Import',)),
}
HEAD_BYTES = 1024 * 1024
_CROCKFORD = str.maketrans('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', '0123456789ABCDEFGHJKMNPQRSTVWXYZ')


class DeviceError(Exception):
    """A device that cannot be probed; the message says what and how to fix it."""


def uuid_device_id(uuid):
    """The sticker-friendly device id derived from a file system UUID.

    ``FS-`` + the first 10 characters of the Crockford base32 (digits and letters without I, L,
    O, U) of SHA-256 over the UUID in lower case without dashes, grouped 5 and 5:
    ``FS-7K2QM-9XD4T``. Stable for the life of the file system; 50 bits, so two drives of a
    fleet do not collide in practice.
    """
    norm = uuid.strip().lower().replace('-', '')
    digest = hashlib.sha256(norm.encode('ascii', 'replace')).digest()
    code = base64.b32encode(digest).decode('ascii').translate(_CROCKFORD)[:10]
    return 'FS-%s-%s' % (code[:5], code[5:])


def parse_export(text, separator='='):
    """``KEY=value`` lines (blkid -o export, udevadm --query=property) into a dict; with
    ``separator=':'``, ``Key: value`` lines (dumpe2fs -h)."""
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition(separator)
        if sep:
            out[key.strip()] = value.strip()
    return out


def parse_pairs(text):
    """``KEY="value" KEY="value"`` lines (partx -P) into a list of dicts."""
    rows = []
    for line in text.splitlines():
        row = dict((k, v.replace('\\x20', ' ')) for k, v in re.findall(r'([A-Z:_-]+)="([^"]*)"', line))
        if row:
            rows.append(row)
    return rows


def _unescape_mount(text):
    return re.sub(r'\\([0-7]{3})', lambda m: chr(int(m.group(1), 8)), text)


def parse_mountinfo(text):
    """/proc/self/mountinfo into dicts with ``majmin``, ``target``, ``fstype``, ``source``."""
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(' - ')
        if not sep:
            continue
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 2:
            continue
        mounts.append(dict(majmin=fields[2], target=_unescape_mount(fields[4]), fstype=tail[0],
                           source=_unescape_mount(tail[1])))
    return mounts


def service_filesystem(fstype, version=None):
    """(service name or None, job types that can read it)."""
    if fstype == 'vfat' and (version or '').upper() != 'FAT32':
        return None, ()
    return SERVICE_FILESYSTEMS.get(fstype or '', (None, ()))


def readable_filesystems(job_type):
    """The blkid names of the file systems the service reads for a job type (vfat: FAT32 only)."""
    return tuple(name for name, (_service, job_types) in SERVICE_FILESYSTEMS.items() if job_type in job_types)


def readability(fstype, version, job_type, kind='s3'):
    """(supported, reason) for the service reading this file system for a job."""
    if kind in ('ebs', 'glacier'):
        return True, 'EBS and Glacier imports copy the whole device; the file system is not read'
    if not fstype:
        return False, 'no file system found; create one the service reads (NTFS, EXT2/3/4, FAT32%s)' % (
            ', HFSPlus' if job_type == 'Import' else '')
    name, job_types = service_filesystem(fstype, version)
    label = '%s%s' % (fstype, ' (%s)' % version if version and fstype == 'vfat' else '')
    if name is None:
        return False, '%s is not read by the service; use NTFS, EXT2/3/4 or FAT32%s' % (
            label, ' (or HFSPlus for imports)' if job_type == 'Import' else '')
    if job_type not in job_types:
        return False, '%s is read for imports only; export drives take NTFS, EXT2/3/4 or FAT32' % name
    return True, '%s is read by the service for %s jobs' % (name, job_type.lower())


class Prober:
    """Probes one path. ``run`` executes argv and returns (rc, stdout, stderr)."""

    def __init__(self, run, blkid='blkid', partx='partx', udevadm=None, losetup='losetup', dumpe2fs=None,
                 proc='/proc', sys_root='/sys'):
        self.run = run
        self.dumpe2fs = dumpe2fs
        self.blkid = blkid
        self.partx = partx
        self.udevadm = udevadm
        self.losetup = losetup
        self.proc = proc
        self.sys = sys_root
        self._mounts = None

    # --- what was given ---------------------------------------------------------------------
    def resolve(self, path):
        """(device or image path, input type, mount point given or None)."""
        if not os.path.lexists(path):
            raise DeviceError('%s does not exist; give a block device, a /dev/disk/by-id path, a loop device, '
                              'a disk image or a mount point' % path)
        real = os.path.realpath(path)
        try:
            st = os.stat(path)
        except OSError as exc:
            if not os.path.islink(path):
                raise DeviceError('cannot read %s: %s; run as root' % (path, exc.strerror))
            if exc.errno == errno.ELOOP:
                raise DeviceError('%s is a symbolic link loop (it leads back to itself); give the device, image or '
                                  'mount point itself' % path)
            raise DeviceError('%s is a symbolic link to %s, which does not exist; plug the drive in (or attach the '
                              'image), or give another path' % (path, os.readlink(path)))
        if stat.S_ISBLK(st.st_mode):
            name = os.path.basename(real)
            if path.startswith('/dev/disk/by-id/'):
                kind = 'by-id'
            elif name.startswith('loop'):
                kind = 'loop'
            else:
                kind = 'block'
            return real, kind, None
        if stat.S_ISREG(st.st_mode):
            return real, 'image', None
        if stat.S_ISDIR(st.st_mode):
            mount = self.mount_at(real)
            if mount is None:
                raise DeviceError('%s is a directory but not a mount point; give the drive\'s device, or the '
                                  'directory where it is mounted' % path)
            source = self.mount_source(mount)
            if source is None:
                raise DeviceError('cannot tell which device is mounted at %s (source %s, type %s); give the '
                                  'device instead' % (path, mount['source'], mount['fstype']))
            _dev, kind, _mnt = self.resolve(source)
            return os.path.realpath(source), kind, real
        raise DeviceError('%s is neither a block device, a disk image nor a mount point' % path)

    # --- mounts -----------------------------------------------------------------------------
    def mounts(self):
        if self._mounts is None:
            try:
                with open(os.path.join(self.proc, 'self', 'mountinfo')) as handle:
                    self._mounts = parse_mountinfo(handle.read())
            except OSError:
                self._mounts = []
        return self._mounts

    def mount_at(self, directory):
        found = [m for m in self.mounts() if m['target'] == directory]
        return found[-1] if found else None

    def mount_source(self, mount):
        """The device or image behind a mount; FUSE mounts (fusefat) are traced to their process."""
        if mount['source'].startswith('/') and os.path.exists(mount['source']):
            return mount['source']
        if mount['fstype'].startswith('fuse'):
            return self._fuse_source(mount)
        return None

    def _fuse_source(self, mount):
        """The device a FUSE daemon serves at a mount point, from that daemon's command line."""
        target = mount['target']
        programs = {mount['source'], mount['fstype'].partition('.')[2]} - {''}
        try:
            pids = [p for p in os.listdir(self.proc) if p.isdigit()]
        except OSError:
            return None
        for pid in pids:
            try:
                with open(os.path.join(self.proc, pid, 'cmdline'), 'rb') as handle:
                    argv = [a.decode('utf-8', 'replace') for a in handle.read().split(b'\0') if a]
            except OSError:
                continue
            if not argv or os.path.basename(argv[0]) not in programs or int(pid) == os.getpid():
                continue
            try:
                cwd = os.readlink(os.path.join(self.proc, pid, 'cwd'))
            except OSError:
                cwd = '/'
            args = [a for a in argv[1:] if not a.startswith('-')]
            paths = [os.path.realpath(os.path.join(cwd, a)) for a in args]
            # A daemon may have changed directory since it was given a relative mount point.
            if target not in paths and not any(not a.startswith('/') and target.endswith('/' + a.rstrip('/'))
                                               for a in args):
                continue
            for real in paths:
                if real != target and os.path.exists(real) and not os.path.isdir(real):
                    mode = os.stat(real).st_mode
                    if stat.S_ISBLK(mode) or stat.S_ISREG(mode):
                        return real
        return None

    def mount_points(self, device, aliases=()):
        """Mount points of a device (by major:minor, source path, or a FUSE process using it)."""
        names = {os.path.realpath(device)} | {os.path.realpath(a) for a in aliases}
        majmins = set()
        for name in names:
            try:
                st = os.stat(name)
            except OSError:
                continue
            if stat.S_ISBLK(st.st_mode):
                majmins.add('%d:%d' % (os.major(st.st_rdev), os.minor(st.st_rdev)))
        found = []
        for mount in self.mounts():
            if mount['majmin'] in majmins or (mount['source'].startswith('/')
                                              and os.path.realpath(mount['source']) in names):
                found.append(mount['target'])
            elif mount['fstype'].startswith('fuse') and not mount['source'].startswith('/'):
                source = self._fuse_source(mount)
                if source and os.path.realpath(source) in names:
                    found.append(mount['target'])
        return sorted(set(found))

    # --- media ------------------------------------------------------------------------------
    def blkid_probe(self, path, offset=None):
        argv = [self.blkid, '-p', '-o', 'export']
        if offset:
            argv += ['-O', str(offset)]
        rc, out, err = self.run(argv + [path])
        if rc == 2:
            return {}
        if rc != 0:
            raise DeviceError('blkid cannot read %s: %s; check that it is readable (run as root)'
                              % (path, (err or out).strip() or 'exit code %d' % rc))
        return parse_export(out)

    def partitions(self, path, pttype):
        if not pttype:
            return []
        rc, out, _err = self.run([self.partx, '-g', '-b', '-o', 'NR,START,SECTORS,SIZE,TYPE,UUID,NAME', '-P', path])
        if rc != 0:
            return []
        rows = []
        for row in parse_pairs(out):
            rows.append(dict(number=int(row.get('NR', 0)), start_bytes=int(row.get('START', 0)) * 512,
                             size=int(row.get('SIZE', 0)), type=row.get('TYPE') or None,
                             uuid=row.get('UUID') or None, name=row.get('NAME') or None))
        return rows

    def head_is_zero(self, path, size):
        try:
            with open(path, 'rb') as handle:
                head = handle.read(min(HEAD_BYTES, size or HEAD_BYTES))
                tail = b''
                if size and size > 2 * HEAD_BYTES:
                    handle.seek(size - HEAD_BYTES)
                    tail = handle.read(HEAD_BYTES)
        except OSError as exc:
            raise DeviceError('cannot read %s: %s; run as root' % (path, exc.strerror))
        return not head.strip(b'\0') and not tail.strip(b'\0')

    def udev(self, device):
        if not self.udevadm:
            return {}
        rc, out, _err = self.run([self.udevadm, 'info', '--query=property', '--name=%s' % device])
        return parse_export(out) if rc == 0 else {}

    def sysfs(self, device):
        """Facts from /sys/class/block: size, parent disk, serial, model, loop backing file."""
        name = os.path.basename(device)
        base = os.path.join(self.sys, 'class', 'block', name)
        facts = {}
        if not os.path.exists(base):
            return facts
        facts['size'] = _int(_read(os.path.join(base, 'size')), 0) * 512
        disk = base
        if os.path.exists(os.path.join(base, 'partition')):
            disk = os.path.dirname(os.path.realpath(base))
            facts['parent'] = '/dev/' + os.path.basename(disk)
        for key, names in (('serial', ('device/serial', 'serial', 'device/wwid')), ('model', ('device/model',)),
                           ('vendor', ('device/vendor',))):
            for rel in names:
                value = _read(os.path.join(disk, rel))
                if value:
                    facts[key] = value
                    break
        backing = _read(os.path.join(base, 'loop', 'backing_file'))
        if backing:
            facts['backing_file'] = backing
        return facts

    def loops_of(self, image):
        rc, out, _err = self.run([self.losetup, '-j', image, '-O', 'NAME', '-n'])
        return sorted(line.strip() for line in out.splitlines() if line.strip()) if rc == 0 else []

    # --- everything -------------------------------------------------------------------------
    def probe(self, path, job_type='Import', kind='s3'):
        device, input_type, given_mount = self.resolve(path)
        facts = dict(device=device, input_type=input_type, serial=None, model=None,
                     loop_devices=[], backing_file=None)
        if input_type == 'image':
            facts['size'] = os.path.getsize(device)
            facts['loop_devices'] = self.loops_of(device)
        else:
            sysfs = self.sysfs(device)
            udev = self.udev(sysfs.get('parent', device))
            facts['size'] = sysfs.get('size')
            facts['backing_file'] = sysfs.get('backing_file')
            facts['serial'] = (udev.get('ID_SERIAL_SHORT') or udev.get('ID_SERIAL') or sysfs.get('serial')
                               or '').strip() or None
            model = udev.get('ID_MODEL') or sysfs.get('model')
            facts['model'] = model.replace('_', ' ').strip() if model else None
        whole = self.blkid_probe(device)
        facts['partition_table'] = whole.get('PTTYPE') or None
        parts = self.partitions(device, facts['partition_table'])
        nodes = self._partition_nodes(device, facts)
        for part in parts:
            node = nodes.get(part['number'])
            part['device'] = node
            info = self.blkid_probe(node) if node else self.blkid_probe(device, part['start_bytes'])
            part.update(fstype=info.get('TYPE') or None, fs_version=info.get('VERSION') or None,
                        label=info.get('LABEL') or None, fs_uuid=info.get('UUID') or None,
                        mount_points=self.mount_points(node) if node else [])
        facts['partitions'] = parts
        # The file system the service reads: on the whole device, else on the first partition with one.
        if whole.get('TYPE') and whole.get('USAGE', 'filesystem') == 'filesystem':
            fs = dict(fstype=whole.get('TYPE'), fs_version=whole.get('VERSION') or None,
                      label=whole.get('LABEL') or None, fs_uuid=whole.get('UUID') or None,
                      fs_device=device, fs_partition=None)
            aliases = facts['loop_devices'] + ([facts['backing_file']] if facts['backing_file'] else [])
            fs['mount_points'] = self.mount_points(device, aliases)
        else:
            first = next((p for p in parts if p['fstype']), None)
            fs = dict(fstype=first['fstype'] if first else None, fs_version=first['fs_version'] if first else None,
                      label=first['label'] if first else None, fs_uuid=first['fs_uuid'] if first else None,
                      fs_device=first['device'] if first else None,
                      fs_partition=first['number'] if first else None,
                      mount_points=first['mount_points'] if first else [])
        if given_mount and given_mount not in fs['mount_points']:
            fs['mount_points'] = sorted(fs['mount_points'] + [given_mount])
        facts.update(fs)
        facts.update(self.usage(fs['mount_points']))
        if facts['used_bytes'] is None and fs['fstype']:
            offset = 0 if fs['fs_partition'] is None or fs['fs_device'] else next(
                p['start_bytes'] for p in parts if p['number'] == fs['fs_partition'])
            facts.update(self.offline_usage(fs['fs_device'] or device, fs['fstype'], fs['fs_version'], offset))
        has_signature = bool(whole) or any(p['fstype'] for p in parts)
        facts['blank'] = not has_signature and self.head_is_zero(device, facts['size'])
        name, _types = service_filesystem(fs['fstype'], fs['fs_version'])
        facts['service_filesystem'] = name
        facts['supported'], facts['supported_reason'] = readability(fs['fstype'], fs['fs_version'], job_type, kind)
        if facts['serial']:
            facts['device_id'], facts['device_id_source'] = facts['serial'], 'serial'
        elif fs['fs_uuid']:
            facts['device_id'], facts['device_id_source'] = uuid_device_id(fs['fs_uuid']), 'filesystem_uuid'
        else:
            facts['device_id'], facts['device_id_source'] = None, None
        return facts

    def _partition_nodes(self, device, facts):
        """{partition number: /dev node} for partitions the kernel knows."""
        nodes = {}
        targets = [device] + facts.get('loop_devices', [])
        for target in targets:
            base = os.path.join(self.sys, 'class', 'block', os.path.basename(target))
            if not os.path.isdir(base):
                continue
            for entry in sorted(os.listdir(base)):
                number = _int(_read(os.path.join(base, entry, 'partition')), None)
                if number is not None and os.path.exists('/dev/' + entry):
                    nodes.setdefault(number, '/dev/' + entry)
        return nodes

    def offline_usage(self, path, fstype, version, offset=0):
        """Used/free bytes read from the file system itself (FAT32 FSInfo, ext superblock)."""
        none = dict(size_bytes=None, used_bytes=None, free_bytes=None)
        if fstype == 'vfat' and (version or '').upper() == 'FAT32':
            return fat32_usage(path, offset) or none
        if fstype in ('ext2', 'ext3', 'ext4') and self.dumpe2fs and not offset:
            rc, out, _err = self.run([self.dumpe2fs, '-h', path])
            if rc == 0:
                return ext_usage(out) or none
        return none

    @staticmethod
    def usage(mount_points):
        for mount in mount_points:
            try:
                st = os.statvfs(mount)
            except OSError:
                continue
            if not st.f_blocks:
                continue  # FUSE drivers such as fusefat report no sizes
            return dict(size_bytes=st.f_blocks * st.f_frsize, used_bytes=(st.f_blocks - st.f_bfree) * st.f_frsize,
                        free_bytes=st.f_bavail * st.f_frsize)
        return dict(size_bytes=None, used_bytes=None, free_bytes=None)


def fat32_usage(path, offset=0):
    """Used/free bytes of a FAT32 file system from its boot sector and FSInfo sector, or None."""
    try:
        with open(path, 'rb') as handle:
            handle.seek(offset)
            boot = handle.read(512)
            sector = int.from_bytes(boot[11:13], 'little')
            fsinfo_sector = int.from_bytes(boot[48:50], 'little')
            if sector not in (512, 1024, 2048, 4096) or not fsinfo_sector:
                return None
            handle.seek(offset + fsinfo_sector * sector)
            fsinfo = handle.read(512)
    except OSError:
        return None
    if fsinfo[0:4] != b'RRaA' or fsinfo[484:488] != b'rrAa':
        return None
    per_cluster = boot[13]
    reserved = int.from_bytes(boot[14:16], 'little')
    fats = boot[16]
    # The sector count is in the 16-bit field when it fits (file systems under 32 MiB), else in
    # the 32-bit one; the other holds 0.
    total = int.from_bytes(boot[19:21], 'little') or int.from_bytes(boot[32:36], 'little')
    fat_size = int.from_bytes(boot[36:40], 'little')
    free = int.from_bytes(fsinfo[488:492], 'little')
    if not per_cluster or free == 0xFFFFFFFF:
        return None
    clusters = (total - reserved - fats * fat_size) // per_cluster
    if clusters <= 0:
        return None
    cluster = sector * per_cluster
    free = min(free, clusters)
    return dict(size_bytes=clusters * cluster, used_bytes=(clusters - free) * cluster, free_bytes=free * cluster)


def ext_usage(dumpe2fs_header):
    """Used/free bytes from ``dumpe2fs -h`` output, or None."""
    facts = parse_export(dumpe2fs_header, ':')
    try:
        blocks, free, size = (int(facts['Block count']), int(facts['Free blocks']), int(facts['Block size']))
    except (KeyError, ValueError):
        return None
    reserved = int(facts.get('Reserved block count', '0') or 0)
    return dict(size_bytes=blocks * size, used_bytes=(blocks - free) * size,
                free_bytes=max(free - reserved, 0) * size)


def _read(path):
    try:
        with open(path, 'rb') as handle:
            return handle.read().decode('utf-8', 'replace').strip()
    except OSError:
        return None


def _int(text, default):
    try:
        return int(text)
    except (TypeError, ValueError):
        return default
