"""Loop drives for tests, the demo and benchmarks: a disk image on a loop device, formatted, mounted.

Mounting here is the tests' own (plain ``mount``, or the FUSE driver this kernel needs for FAT,
NTFS and exFAT), independent of the collection's mount rules under test; unmounting is the
collection's one unmount-with-retry helper. Needs root.
"""
import os
import shutil
import subprocess

from tests.collection_path import link_collection

link_collection()
# pylint: disable=wrong-import-position
from ansible_collections.awsie.importexport.plugins.module_utils import mounts  # noqa: E402

MKFS = {
    'ext4': ['mkfs.ext4', '-q', '-F'],
    'ext3': ['mkfs.ext3', '-q', '-F'],
    'ext2': ['mkfs.ext2', '-q', '-F'],
    'fat32': ['mkfs.vfat', '-F', '32'],
    'ntfs': ['mkfs.ntfs', '-F', '-Q', '-q'],
    'exfat': ['mkfs.exfat'],
}
LABEL_OPTION = {'fat32': '-n', 'exfat': '-n'}  # the others take -L


class DriveError(RuntimeError):
    """A command that makes, mounts or removes a drive failed; the message has its output."""


def run(cmd):
    proc = subprocess.run(cmd, check=False, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        output = proc.stdout[-2000:] + proc.stderr[-2000:]
        raise DriveError('%s failed (rc=%d): %s' % (' '.join(cmd), proc.returncode, output))
    return proc


def _run(argv):
    proc = subprocess.run(argv, check=False, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc.returncode, proc.stdout, proc.stderr


def unmount(path, attempts=6):
    """Unmount ``path`` if something is mounted there, retrying while it is busy (FUSE daemons let go late)."""
    if not os.path.isdir(path):
        return
    unmounted, message = mounts.unmount(_run, path, attempts=attempts)
    if not unmounted:
        raise DriveError('could not unmount %s: %s' % (path, message))


class LoopDrive:
    """A disk image attached to a loop device, optionally formatted (``fstype``) and mounted.

    ``name`` names the image (``<name>.img``) and the default mount point (``mnt-<name>``) in
    ``workdir``; it defaults to ``drive-<fstype>``.
    """

    def __init__(self, workdir, fstype=None, size_mb=64, label=None, name=None, mountpoint=None):
        self.fstype = fstype
        self.name = name or 'drive-%s' % (fstype or 'blank')
        self.image = os.path.join(workdir, '%s.img' % self.name)
        default_mnt = 'mnt-%s' % (fstype or 'blank') if name is None else 'mnt-%s' % name
        self.mountpoint = mountpoint or os.path.join(workdir, default_mnt)
        self.device = None
        self.mounted = False
        with open(self.image, 'wb') as handle:
            handle.truncate(size_mb * 1024 * 1024)
        self.device = run(['losetup', '-f', '--show', self.image]).stdout.strip()
        if fstype:
            cmd = list(MKFS[fstype])
            if label:
                cmd += [LABEL_OPTION.get(fstype, '-L'), label]
            try:
                run(cmd + [self.device])
            except DriveError:
                self.close()
                raise

    def mount(self, readonly=False):
        os.makedirs(self.mountpoint, exist_ok=True)
        opts = 'ro' if readonly else 'rw'
        if self.fstype == 'fat32':
            # No vfat in this kernel: the FUSE driver mounts it read-write with rw+.
            run(['fusefat', '-o', 'ro' if readonly else 'rw+', self.device, self.mountpoint])
        elif self.fstype == 'ntfs':
            run(['ntfs-3g', '-o', opts, self.device, self.mountpoint])
        elif self.fstype == 'exfat':
            run(['mount.exfat-fuse', '-o', opts, self.device, self.mountpoint])
        else:
            run(['mount', '-o', opts, self.device, self.mountpoint])
        self.mounted = True
        return self.mountpoint

    def umount(self):
        if self.mounted:
            unmount(self.mountpoint)
            self.mounted = False

    def copy_in(self, source):
        """Copy the tree ``source`` into the mounted drive (plain copies: no modes forced on FAT/NTFS)."""
        for root, _dirs, files in os.walk(source):
            dest = os.path.normpath(os.path.join(self.mountpoint, os.path.relpath(root, source)))
            os.makedirs(dest, exist_ok=True)
            for name in files:
                shutil.copyfile(os.path.join(root, name), os.path.join(dest, name))

    def close(self, remove_image=False):
        """Unmount, detach the loop device, and (when asked) delete the image; safe to call twice."""
        try:
            self.umount()
        finally:
            if self.device:
                subprocess.run(['losetup', '-d', self.device], capture_output=True, check=False)
                self.device = None
            if remove_image and os.path.exists(self.image):
                os.unlink(self.image)
