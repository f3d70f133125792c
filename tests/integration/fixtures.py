"""Fixtures for integration tests: real loop-mounted drives and real ansible-playbook runs."""
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)

MKFS = {
    'ext4': ['mkfs.ext4', '-q', '-F'],
    'ext3': ['mkfs.ext3', '-q', '-F'],
    'ext2': ['mkfs.ext2', '-q', '-F'],
    'fat32': ['mkfs.vfat', '-F', '32'],
    'ntfs': ['mkfs.ntfs', '-F', '-Q', '-q'],
    'exfat': ['mkfs.exfat'],
}


def _run(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


class LoopDrive:
    """A disk image attached to a loop device, optionally formatted and mounted."""

    def __init__(self, workdir, fstype=None, size_mb=64, label=None):
        self.fstype = fstype
        self.image = os.path.join(workdir, 'drive-%s.img' % (fstype or 'blank'))
        self.mountpoint = os.path.join(workdir, 'mnt-%s' % (fstype or 'blank'))
        with open(self.image, 'wb') as handle:
            handle.truncate(size_mb * 1024 * 1024)
        self.device = _run(['losetup', '-f', '--show', self.image]).stdout.strip()
        if fstype:
            cmd = list(MKFS[fstype])
            if label:
                cmd += ['-n' if fstype in ('fat32', 'exfat') else '-L', label]
            _run(cmd + [self.device])
        os.makedirs(self.mountpoint, exist_ok=True)
        self.mounted = False

    def mount(self, readonly=False):
        opts = 'ro' if readonly else 'rw'
        if self.fstype == 'fat32':
            # No vfat in this kernel: the FUSE driver mounts it read-write with rw+.
            _run(['fusefat', '-o', 'ro' if readonly else 'rw+', self.device, self.mountpoint])
        elif self.fstype == 'ntfs':
            _run(['ntfs-3g', '-o', opts, self.device, self.mountpoint])
        elif self.fstype == 'exfat':
            _run(['mount.exfat-fuse', '-o', opts, self.device, self.mountpoint])
        else:
            _run(['mount', '-o', opts, self.device, self.mountpoint])
        self.mounted = True
        return self.mountpoint

    def umount(self):
        if not self.mounted:
            return
        for _attempt in range(50):
            proc = subprocess.run(['umount', self.mountpoint], capture_output=True, check=False)
            if proc.returncode == 0 or not os.path.ismount(self.mountpoint):
                break
            time.sleep(0.1)
        self.mounted = False

    def close(self):
        self.umount()
        subprocess.run(['losetup', '-d', self.device], capture_output=True, check=False)


@pytest.fixture
def loop_drive(tmp_path):
    """Factory: loop_drive('ext4') -> a mounted LoopDrive, torn down after the test."""
    if os.geteuid() != 0:
        pytest.skip('loop devices and mounts need root')
    made = []

    def make(fstype='ext4', size_mb=64, label=None, mount=True, readonly=False, workdir=None):
        # workdir: a directory of its own, for several drives of one file system in a test
        if workdir:
            os.makedirs(str(workdir), exist_ok=True)
        drive = LoopDrive(str(workdir or tmp_path), fstype, size_mb, label)
        made.append(drive)
        if mount:
            drive.mount(readonly=readonly)
        return drive

    yield make
    for drive in reversed(made):
        drive.close()


class PlaybookRunner:
    """Runs ansible-playbook against localhost with this venv's Python."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.inventory = os.path.join(workdir, 'inventory.ini')
        with open(self.inventory, 'w') as handle:
            handle.write('localhost ansible_connection=local ansible_python_interpreter=%s\n' % sys.executable)

    def env(self, extra=None):
        env = dict(os.environ)
        env.update({
            'PATH': BIN + os.pathsep + env.get('PATH', ''),
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_FORCE_COLOR': '0',
            'ANSIBLE_RETRY_FILES_ENABLED': '0',
            'ANSIBLE_LOCAL_TEMP': os.path.join(self.workdir, 'local-tmp'),
            'ANSIBLE_REMOTE_TMP': os.path.join(self.workdir, 'remote-tmp'),
            'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
            'ANSIBLE_DEPRECATION_WARNINGS': '0',
        })
        env.update(extra or {})
        return env

    def run(self, playbook, extra_vars=None, check=False, diff=False, verbosity=0, env=None,
            inventory=None, expect_rc=0, args=()):
        """Run a playbook (path, or YAML text when it contains a newline) and return the process."""
        if '\n' in playbook:
            path = tempfile.NamedTemporaryFile('w', suffix='.yml', dir=self.workdir, delete=False)
            path.write(playbook)
            path.close()
            playbook = path.name
        cmd = [os.path.join(BIN, 'ansible-playbook'), '-i', inventory or self.inventory, playbook]
        if extra_vars:
            cmd += ['-e', json.dumps(extra_vars)]
        if check:
            cmd.append('--check')
        if diff:
            cmd.append('--diff')
        if verbosity:
            cmd.append('-' + 'v' * verbosity)
        cmd += list(args)
        proc = subprocess.run(cmd, cwd=REPO, env=self.env(env), capture_output=True, text=True, check=False)
        if expect_rc is not None and proc.returncode != expect_rc:
            raise AssertionError('ansible-playbook exited %d (expected %d)\nSTDOUT:\n%s\nSTDERR:\n%s'
                                 % (proc.returncode, expect_rc, proc.stdout[-20000:], proc.stderr[-5000:]))
        return proc


@pytest.fixture
def playbook(tmp_path):
    return PlaybookRunner(str(tmp_path))


@contextlib.contextmanager
def chdir(path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def which(name):
    return shutil.which(name) or shutil.which(name, path=BIN)
