"""Drive discovery on real disk images (no root needed) and on the parsers' inputs."""
import os
import re
import shutil
import subprocess

import pytest

from ansible_collections.awsie.importexport.plugins.module_utils import devices as D

MIB = 1024 * 1024


def run(argv):
    proc = subprocess.run(argv, capture_output=True, text=True, env=dict(os.environ, LC_ALL='C'), check=False)
    return proc.returncode, proc.stdout, proc.stderr


def prober():
    return D.Prober(run, blkid=shutil.which('blkid') or '/usr/sbin/blkid',
                    partx=shutil.which('partx') or '/usr/bin/partx',
                    dumpe2fs=shutil.which('dumpe2fs') or '/usr/sbin/dumpe2fs')


def image(tmp_path, name, size_mb=64):
    path = tmp_path / name
    with open(path, 'wb') as handle:
        handle.truncate(size_mb * MIB)
    return str(path)


def mkfs(argv):
    subprocess.run(argv, check=True, capture_output=True)


@pytest.mark.parametrize('tool', ['blkid', 'partx', 'mkfs.vfat', 'mkfs.ext4', 'sfdisk'])
def test_tools_are_installed(tool):
    assert shutil.which(tool) or os.path.exists('/usr/sbin/' + tool) or os.path.exists('/sbin/' + tool)


def test_blank_image_is_blank_and_has_no_device_id(tmp_path):
    facts = prober().probe(image(tmp_path, 'blank.img'), 'Import')
    assert facts['blank'] is True
    assert facts['fstype'] is None and facts['partition_table'] is None
    assert facts['supported'] is False and 'no file system' in facts['supported_reason']
    assert facts['device_id'] is None and facts['input_type'] == 'image'
    assert facts['size'] == 64 * MIB


def test_image_with_random_data_but_no_signature_is_not_blank(tmp_path):
    path = image(tmp_path, 'noise.img', 4)
    with open(path, 'r+b') as handle:
        handle.seek(5000)
        handle.write(os.urandom(4096))
    facts = prober().probe(path)
    assert facts['fstype'] is None and facts['blank'] is False


def test_fat32_image_reports_file_system_usage_and_uuid_device_id(tmp_path):
    path = image(tmp_path, 'fat.img')
    mkfs(['mkfs.vfat', '-F', '32', '-n', 'DRIVE7', path])
    facts = prober().probe(path, 'Export')
    assert (facts['fstype'], facts['fs_version'], facts['label']) == ('vfat', 'FAT32', 'DRIVE7')
    assert facts['service_filesystem'] == 'FAT32' and facts['supported'] is True
    assert re.match(r'^[0-9A-F]{4}-[0-9A-F]{4}$', facts['fs_uuid'])
    assert facts['device_id'] == D.uuid_device_id(facts['fs_uuid'])
    assert facts['device_id_source'] == 'filesystem_uuid'
    assert facts['blank'] is False
    assert facts['free_bytes'] > 60 * MIB and facts['used_bytes'] < 1 * MIB
    assert facts['used_bytes'] + facts['free_bytes'] == facts['size_bytes']


def test_fat16_is_not_read_by_the_service(tmp_path):
    path = image(tmp_path, 'fat16.img', 32)
    mkfs(['mkfs.vfat', '-F', '16', path])
    facts = prober().probe(path, 'Import')
    assert facts['fstype'] == 'vfat' and facts['fs_version'] == 'FAT16'
    assert facts['supported'] is False and facts['service_filesystem'] is None
    assert 'FAT16' in facts['supported_reason']


def test_ext4_image_usage_comes_from_the_superblock(tmp_path):
    path = image(tmp_path, 'ext.img')
    mkfs(['mkfs.ext4', '-q', '-F', '-L', 'EXTDRV', path])
    facts = prober().probe(path, 'Export')
    assert (facts['fstype'], facts['label'], facts['service_filesystem']) == ('ext4', 'EXTDRV', 'EXT4')
    assert facts['supported'] is True
    assert facts['size_bytes'] == 64 * MIB and 0 < facts['used_bytes'] < 16 * MIB


@pytest.mark.skipif(not shutil.which('mkfs.exfat'), reason='exfatprogs not installed')
def test_exfat_is_not_read_by_the_service(tmp_path):
    path = image(tmp_path, 'exfat.img')
    mkfs(['mkfs.exfat', path])
    facts = prober().probe(path, 'Import')
    assert facts['fstype'] == 'exfat' and facts['supported'] is False


def test_partitioned_image_reads_the_first_partition_with_a_file_system(tmp_path):
    path = image(tmp_path, 'gpt.img')
    subprocess.run(['sfdisk', '-q', path], input='label: gpt\n,16M,L\n,,L\n', text=True, check=True,
                   capture_output=True)
    facts = prober().probe(path)
    assert facts['partition_table'] == 'gpt' and len(facts['partitions']) == 2
    assert facts['fstype'] is None and facts['blank'] is False
    # A FAT32 file system in partition 2 (at its byte offset), found without kernel partition nodes.
    start = facts['partitions'][1]['start_bytes']
    mkfs(['mkfs.vfat', '-F', '32', '--offset', str(start // 512), '-n', 'PART2', path])
    facts = prober().probe(path, 'Export')
    assert facts['fs_partition'] == 2 and facts['label'] == 'PART2' and facts['supported'] is True
    assert facts['partitions'][0]['fstype'] is None
    assert facts['free_bytes'] > 40 * MIB


def test_directory_that_is_not_a_mount_point_is_refused(tmp_path):
    with pytest.raises(D.DeviceError, match='not a mount point'):
        prober().probe(str(tmp_path))


def test_missing_path_is_refused_with_what_to_give():
    with pytest.raises(D.DeviceError, match='does not exist; give a block device'):
        prober().probe('/nonexistent/drive')


def test_uuid_device_id_is_stable_sticker_friendly_and_documented():
    a = D.uuid_device_id('66a67ad1-7ebb-4862-972d-47e9f85fba9b')
    assert a == D.uuid_device_id('66A67AD17EBB4862972D47E9F85FBA9B')
    assert re.match(r'^FS-[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$', a)
    assert a != D.uuid_device_id('59E9-1D4B')
    # The documented recipe, written out independently.
    import base64
    import hashlib
    code = base64.b32encode(hashlib.sha256(b'66a67ad17ebb4862972d47e9f85fba9b').digest()).decode()
    code = code.translate(str.maketrans('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', '0123456789ABCDEFGHJKMNPQRSTVWXYZ'))
    assert a == 'FS-%s-%s' % (code[:5], code[5:10])


@pytest.mark.parametrize('fstype,version,job_type,kind,supported', [
    ('ntfs', None, 'Import', 's3', True), ('ntfs', None, 'Export', 's3', True),
    ('ext2', None, 'Export', 's3', True), ('ext3', None, 'Import', 's3', True), ('ext4', '1.0', 'Export', 's3', True),
    ('vfat', 'FAT32', 'Export', 's3', True), ('vfat', 'FAT16', 'Import', 's3', False),
    ('hfsplus', None, 'Import', 's3', True), ('hfsplus', None, 'Export', 's3', False),
    ('exfat', None, 'Import', 's3', False), ('xfs', None, 'Import', 's3', False), ('btrfs', None, 'Export', 's3', False),
    (None, None, 'Import', 's3', False), (None, None, 'Import', 'ebs', True), ('xfs', None, 'Import', 'glacier', True),
])
def test_which_file_systems_the_service_reads(fstype, version, job_type, kind, supported):
    assert D.readability(fstype, version, job_type, kind)[0] is supported


def test_mountinfo_parsing_unescapes_paths():
    text = ('44 27 0:40 / /tmp/dv/m\\0401 rw,nosuid - fuse.fusefat fusefat rw,user_id=0\n'
            '45 27 7:3 / /mnt/n rw shared:1 - fuseblk /dev/loop3 rw,allow_other\n')
    mounts = D.parse_mountinfo(text)
    assert mounts[0] == dict(majmin='0:40', target='/tmp/dv/m 1', fstype='fuse.fusefat', source='fusefat')
    assert mounts[1]['majmin'] == '7:3' and mounts[1]['source'] == '/dev/loop3'


def test_export_and_pair_parsers():
    assert D.parse_export('TYPE=vfat\nLABEL=A=B\n\n') == {'TYPE': 'vfat', 'LABEL': 'A=B'}
    rows = D.parse_pairs('NR="1" START="2048" NAME="my\\x20part"\n')
    assert rows == [{'NR': '1', 'START': '2048', 'NAME': 'my part'}]


def test_ext_usage_parser():
    out = 'Block count:              16384\nReserved block count:     819\nFree blocks:              11000\n' \
          'Block size:               4096\n'
    assert D.ext_usage(out) == dict(size_bytes=16384 * 4096, used_bytes=(16384 - 11000) * 4096,
                                    free_bytes=(11000 - 819) * 4096)
    assert D.ext_usage('nothing') is None


def test_small_fat32_sizes_are_not_negative(tmp_path):
    # Under 32 MiB the boot sector keeps the sector count in its 16-bit field and 0 in the 32-bit one.
    path = image(tmp_path, 'small-fat.img', 20)
    mkfs(['mkfs.vfat', '-F', '32', path])
    usage = D.fat32_usage(path)
    assert 19 * MIB < usage['size_bytes'] < 20 * MIB
    assert 0 <= usage['used_bytes'] < MIB and usage['free_bytes'] == usage['size_bytes'] - usage['used_bytes']
    facts = prober().probe(path)
    assert facts['size_bytes'] == usage['size_bytes'] and facts['service_filesystem'] == 'FAT32'


def test_fat_usage_of_a_damaged_boot_sector_is_unknown_not_negative(tmp_path):
    path = image(tmp_path, 'bad-fat.img', 20)
    mkfs(['mkfs.vfat', '-F', '32', path])
    with open(path, 'r+b') as handle:  # both sector counts zero: nothing to compute from
        handle.seek(19)
        handle.write(b'\0\0')
    assert D.fat32_usage(path) is None


@pytest.mark.parametrize('kind', ['dangling', 'loop'])
def test_a_dangling_link_or_a_link_loop_is_a_clear_error(tmp_path, kind):
    link = tmp_path / 'drive'
    if kind == 'dangling':
        link.symlink_to(tmp_path / 'unplugged')
        message = 'is a symbolic link to %s, which does not exist' % (tmp_path / 'unplugged')
    else:
        link.symlink_to(link)
        message = 'is a symbolic link loop'
    with pytest.raises(D.DeviceError, match=message):
        prober().probe(str(link))
