"""When an export drive may be used as it is, formatted, or must be refused."""
from ansible_collections.awsie.importexport.plugins.module_utils import blank


def probe(**facts):
    base = dict(device='/dev/sdx', partition_table=None, fstype=None, fs_version=None, blank=False,
                mount_points=[], partitions=[])
    base.update(facts)
    return base


def test_a_blank_drive_is_formatted_only_when_allowed():
    assert blank.decide(probe(blank=True), 'NTFS', None)[0] == 'refuse'
    assert 'drive_prepare_format: true' in blank.decide(probe(blank=True), 'NTFS', None)[1]
    assert blank.decide(probe(blank=True), 'ntfs', None, allow_format=True) == (
        'format', '/dev/sdx is blank: formatting it as NTFS')


def test_an_empty_file_system_of_the_wanted_type_is_kept():
    facts = probe(fstype='ext4')
    assert blank.decide(facts, 'EXT4', ['lost+found', 'SIGNATURE'])[0] == 'keep'
    assert blank.decide(probe(fstype='vfat', fs_version='FAT32'), 'FAT32', ['System Volume Information'])[0] == 'keep'


def test_an_empty_file_system_of_another_type_needs_format():
    action, reason = blank.decide(probe(fstype='ext4'), 'NTFS', ['lost+found'])
    assert action == 'refuse' and 'the manifest asks for NTFS' in reason
    assert blank.decide(probe(fstype='ext4'), 'NTFS', ['lost+found'], allow_format=True)[0] == 'format'
    # FAT16 is not FAT32
    assert blank.decide(probe(fstype='vfat', fs_version='FAT16'), 'FAT32', [], allow_format=True)[0] == 'format'


def test_files_a_partition_table_or_unknown_data_are_refused_unless_forced():
    action, reason = blank.decide(probe(fstype='ext4'), 'EXT4', ['lost+found', 'photos', 'a.txt', 'b', 'c'],
                                  allow_format=True)
    assert action == 'refuse' and 'a.txt, b, c, ...' in reason and 'drive_prepare_force: true' in reason
    assert blank.decide(probe(fstype='ext4'), 'EXT4', ['photos'], force=True)[0] == 'keep'
    assert blank.decide(probe(fstype='ext4'), 'NTFS', ['photos'], allow_format=True, force=True)[0] == 'format'
    parted = probe(partition_table='dos', fstype='ntfs', partitions=[{'mount_points': []}])
    assert blank.decide(parted, 'NTFS', [], allow_format=True)[0] == 'refuse'
    assert blank.decide(parted, 'NTFS', [], allow_format=True, force=True)[0] == 'format'
    assert blank.decide(probe(), 'NTFS', None, allow_format=True)[0] == 'refuse'  # not zeros, no file system
    assert blank.decide(probe(), 'NTFS', None, allow_format=True, force=True)[0] == 'format'


def test_a_mounted_drive_is_never_formatted_and_an_unknown_file_system_name_is_refused():
    facts = probe(fstype='ext4', mount_points=['/mnt/x'])
    action, reason = blank.decide(facts, 'NTFS', [], allow_format=True, force=True)
    assert action == 'refuse' and 'mounted' in reason
    assert blank.decide(probe(blank=True), 'HFSPlus', None, allow_format=True)[0] == 'refuse'


def test_mkfs_commands_and_listing_parsers():
    assert blank.mkfs_argv('FAT32', '/dev/sdx', 'A-VERY-LONG-LABEL') == ['mkfs.vfat', '-F', '32', '-n', 'A-VERY-LONG', '/dev/sdx']
    assert blank.mkfs_argv('EXT4', '/dev/sdx') == ['mkfs.ext4', '-q', '-F', '/dev/sdx']
    assert blank.parse_debugfs_ls('/2/040755/0/0/.//\n/11/040700/0/0/lost+found//\n/12/100644/0/0/a b.txt/6/\n') == [
        '.', 'lost+found', 'a b.txt']
    assert blank.parse_mdir('::/SIGNATURE\n::/photos/\n') == ['SIGNATURE', 'photos']
    assert blank.parse_ntfsls('SIGNATURE\nphotos\n') == ['SIGNATURE', 'photos']
    assert blank.owner_files(['.', '..', 'lost+found', 'SIGNATURE', 'x']) == ['x']
