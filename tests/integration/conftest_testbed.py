"""pytest fixtures for the multi-host test bed (tests/support/testbed.py).

``testbed``: one bed for the session, three SSH hosts with one drive each (ext4, FAT32, NTFS).
``testbed_factory``: ``testbed_factory(hosts=5, fstypes=['ext4'], ...)`` makes a bed of its own,
removed after the test. Both clear leftovers of killed runs first.
"""
import os

import pytest

from tests.support import testbed as tb

_STALE_CLEARED = []


def _prepare():
    if os.geteuid() != 0:
        pytest.skip('the multi-host test bed needs root (network namespaces, loop devices, mounts)')
    if not _STALE_CLEARED:
        _STALE_CLEARED.append(tb.cleanup_stale())


@pytest.fixture(scope='session')
def testbed():
    """Three SSH hosts (host01-03), one 64 MB drive each: ext4, fat32 (mkfs.vfat), ntfs (mkntfs)."""
    _prepare()
    with tb.Testbed(hosts=3, drives_per_host=1, drive_size_mb=64, fstypes=['ext4', 'fat32', 'ntfs']) as bed:
        yield bed


@pytest.fixture
def testbed_factory():
    """Factory: testbed_factory(hosts=N, **Testbed options) -> a started bed, removed after the test."""
    _prepare()
    beds = []

    def make(**options):
        bed = tb.Testbed(**options)
        beds.append(bed)
        return bed.start()

    yield make
    for bed in reversed(beds):
        bed.close()
