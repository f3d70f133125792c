"""Room on a drive counted in its allocation units: the rules, and geometry read from real images."""
import os
import shutil
import subprocess

import pytest

from ansible_collections.awsie.importexport.plugins.module_utils import room

MIB = 1024 * 1024


def ext4(unit=1024, free=17000, free_inodes=5101, inodes=5112):
    return dict(fstype='ext4', unit=unit, size_bytes=20 * MIB, free_bytes=free * unit, free_inodes=free_inodes,
                inodes=inodes, record_bytes=None, source='test')


def test_six_thousand_small_files_do_not_fit_a_20_mb_ext4_drive_by_inodes():
    need = room.Need(ext4())
    for i in range(6000):
        need.add_file('f%d' % i, 100)
    need.add_dir([9] * 6000)
    fits, reason = room.verdict(need, ext4(), margin=MIB)
    assert need.data_bytes == 600000 and need.bytes >= 6000 * 1024
    assert fits is False and 'inodes' in reason and '6001' in reason


def test_files_take_whole_blocks_and_fat32_clusters():
    need = room.Need(dict(ext4(unit=4096)))
    need.add_file('a', 1)
    need.add_file('b', 4097)
    need.add_file('c', 0)
    assert need.bytes == 4096 + 8192
    fat = room.Need(dict(fstype='vfat', unit=512))
    fat.add_file('a', 100)
    assert fat.bytes == 512


def test_ntfs_keeps_small_files_in_their_mft_record():
    need = room.Need(dict(fstype='ntfs', unit=4096, record_bytes=1024))
    need.add_file('small', 300)
    need.add_file('big', 5000)
    assert need.bytes == 1024 + (1024 + 8192)


def test_a_fat32_drive_takes_no_file_of_4_gib():
    geometry = dict(fstype='vfat', unit=32768, size_bytes=8 * 1024 ** 4, free_bytes=8 * 1024 ** 4, free_inodes=None)
    need = room.Need(geometry)
    need.add_file('video.mkv', 2 ** 32)
    fits, reason = room.verdict(need, geometry, margin=0)
    assert fits is False and 'video.mkv' in reason and 'FAT32' in reason


def test_unknown_free_space_is_said_not_guessed_and_too_big_for_the_whole_drive_is_known():
    geometry = dict(fstype='ntfs', unit=4096, size_bytes=16 * MIB, free_bytes=None, free_inodes=None, record_bytes=1024)
    need = room.Need(geometry)
    need.add_file('a', MIB)
    fits, reason = room.verdict(need, geometry, margin=0)
    assert fits is None and 'cannot be read while it is not mounted' in reason
    need.add_file('b', 20 * MIB)
    fits, reason = room.verdict(need, geometry, margin=0)
    assert fits is False and 'whole drive holds' in reason


def test_a_drive_short_of_room_before_mounting_may_hold_an_earlier_load():
    geometry = ext4(unit=4096, free=100, free_inodes=4000)
    need = room.Need(geometry)
    need.add_file('a', 2 * MIB)
    fits, reason = room.verdict(need, geometry, margin=0)
    assert fits is None and 'earlier load' in reason
    fits, _reason = room.verdict(need, geometry, margin=0, counted_existing=True)
    assert fits is False


def test_scan_with_the_drive_mounted_counts_only_what_is_not_there(tmp_path):
    src, dest = tmp_path / 'src', tmp_path / 'dest'
    (src / 'd').mkdir(parents=True)
    (dest / 'd').mkdir(parents=True)
    (src / 'd' / 'same').write_bytes(b'x' * 5000)
    (dest / 'd' / 'same').write_bytes(b'y' * 5000)
    (src / 'd' / 'new').write_bytes(b'x' * 10)
    (src / 'link').symlink_to('/etc/passwd')
    geometry = ext4(unit=4096)
    need = room.scan(str(src), room.Need(geometry), dest=str(dest))
    assert need.files == 1 and need.data_bytes == 10
    full = room.scan(str(src), room.Need(geometry))
    assert full.files == 2 and full.dirs == 1 and full.inodes == 3


def test_geometry_from_dumpe2fs_leaves_out_reserved_blocks():
    text = 'Block count:              20480\nReserved block count:     1024\nFree blocks:              17835\n' \
           'Free inodes:              5101\nInode count:              5112\nBlock size:               1024\n'
    geometry = room.geometry_from_dumpe2fs('ext4', text)
    assert geometry['free_bytes'] == (17835 - 1024) * 1024 and geometry['free_inodes'] == 5101


@pytest.mark.parametrize('fstype, mkfs', [('vfat', ['mkfs.vfat', '-F', '32']), ('ntfs', ['mkfs.ntfs', '-F', '-Q', '-q'])])
def test_geometry_from_real_boot_sectors(tmp_path, fstype, mkfs):
    if not shutil.which(mkfs[0]):
        pytest.skip('%s is not installed' % mkfs[0])
    image = str(tmp_path / 'drive.img')
    with open(image, 'wb') as handle:
        handle.truncate(40 * MIB)
    subprocess.run(mkfs + [image], capture_output=True, check=True)
    geometry = room.read_boot_geometry(image, fstype)
    assert geometry['fstype'] == fstype and geometry['unit'] in (512, 1024, 2048, 4096)
    assert 30 * MIB < geometry['size_bytes'] <= 40 * MIB
    if fstype == 'vfat':
        assert 30 * MIB < geometry['free_bytes'] <= geometry['size_bytes']
    else:
        assert geometry['free_bytes'] is None and geometry['record_bytes'] == 1024
    assert room.read_boot_geometry(image, 'vfat' if fstype == 'ntfs' else 'ntfs') is None or fstype == 'ntfs'


def test_human_sizes():
    assert room.human(100) == '100 B' and room.human(1536) == '1.5 KiB' and room.human(3 * MIB) == '3.0 MiB'
    assert os.path.basename(room.__file__) == 'room.py'
