"""Fixtures for integration tests: real loop-mounted drives and real ansible-playbook runs.

The drives and the runner live in tests/support (shared with the demo and the benchmarks).
"""
import contextlib
import os
import shutil

import pytest

from tests.support.drives import MKFS, LoopDrive  # noqa: F401  pylint: disable=unused-import
from tests.support.playbooks import BIN, REPO, PlaybookRunner  # noqa: F401  pylint: disable=unused-import


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
