"""ie_plan through ansible-playbook: the tricky tree's exact findings, a plan onto probed loop drives, check mode."""
import json
import os

import pytest

from tests.unit.plugins.module_utils.test_dataset import long_path, write

PLAY = '''
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Plan
      awsie.importexport.ie_plan: "{{ plan_args }}"
      register: planned
    - name: Keep the result
      ansible.builtin.copy:
        content: "{{ planned | to_json }}"
        dest: "{{ out }}"
      check_mode: false
'''


def run_plan(playbook, tmp_path, check=False, expect_rc=0, **args):
    out = str(tmp_path / 'plan.json')
    if os.path.exists(out):
        os.unlink(out)
    proc = playbook.run(PLAY, extra_vars={'plan_args': args, 'out': out}, check=check, expect_rc=expect_rc)
    if expect_rc:
        return proc
    with open(out) as handle:
        return json.load(handle)


@pytest.fixture
def tricky(tmp_path):
    root = str(tmp_path / 'src')
    write(root, 'a.txt', b'alpha')
    write(root, 'empty.dat', b'')
    write(root, b'bad\xff.txt', b'x')
    write(root, long_path(1025), b'x')
    write(root, 'dir/x.bin', b'x')
    write(root, 'folder/x.bin', b'x')
    write(root, 'notes.swp', b'x')
    write(root, 'big/blob.bin', b'x' * 300000)
    os.symlink('/etc/passwd', os.path.join(root, 'out-link'))
    os.mkfifo(os.path.join(root, 'pipe'))
    return root


def test_tricky_tree_findings_through_the_module_and_the_same_in_check_mode(playbook, tmp_path, tricky):
    args = dict(src=tricky, manifest={'prefix': 'imp/', 'substitutions': {'dir/': 'folder/'}, 'ignore': [r'\.swp$']},
                drive_size=10 * 1024 * 1024, margin_bytes=0)
    result = run_plan(playbook, tmp_path, **args)
    assert sorted((f['path'], f['rule']) for f in result['findings']) == sorted([
        ('bad\\xff.txt', 'name-not-utf8'), (long_path(1025), 'key-too-long'), ('folder/x.bin', 'key-collision'),
        ('notes.swp', 'ignored'), ('out-link', 'symlink'), ('pipe', 'special-file')])
    assert result['findings_blocking'] == 3 and result['finding_counts']['symlink'] == 1
    assert not result['changed'] and result['files'] == 4 and result['drives_needed'] == 1
    assert result['drives'][0]['items'] == ['.'] and result['drives'][0]['name'] == 'drive-1'
    checked = run_plan(playbook, tmp_path, check=True, **args)
    for volatile in ('scan_seconds', 'invocation'):
        checked.pop(volatile, None)
        result.pop(volatile, None)
    assert checked == result


@pytest.mark.root
def test_drives_given_as_devices_are_probed_and_files_spread(loop_drive, playbook, tmp_path):
    small = loop_drive('ext4', size_mb=16, workdir=tmp_path / 'a')
    fat = loop_drive('fat32', size_mb=40, workdir=tmp_path / 'b')
    src = str(tmp_path / 'src')
    for index in range(10):  # 50 MB: more than either drive holds
        write(src, 'set%d/data.bin' % index, os.urandom(5 * 1024 * 1024))
    result = run_plan(playbook, tmp_path, src=src, filesystem='ext4', drives=[
        {'name': 'small', 'device': small.device, 'data_src': src},
        {'name': 'fat', 'device': fat.device, 'data_src': src}])
    by_name = {d['name']: d for d in result['drives']}
    assert by_name['small']['capacity_bytes'] < 16 * 1024 * 1024 and by_name['small']['data_src'] == src
    placed = [p.split('/')[0] for p in by_name['small']['items'] + by_name['fat']['items'] + result['unplaced']['items']]
    assert sorted(placed) == ['set%d' % i for i in range(10)]  # each set once, kept whole
    assert by_name['small']['files'] >= 1 and by_name['fat']['files'] >= 5 and result['unplaced']['files'] >= 1
    for drive in result['drives']:
        assert drive['used_bytes'] <= drive['capacity_bytes']
    assert by_name['small']['files'] + by_name['fat']['files'] + result['unplaced']['files'] == 10
    assert result['finding_counts'] == {}


def test_a_file_too_big_for_every_drive_and_fat32_limits(playbook, tmp_path):
    src = str(tmp_path / 'src')
    write(src, 'small.txt', b'x')
    with open(os.path.join(src, 'huge.iso'), 'wb') as handle:
        handle.truncate(5 * 1024 ** 3)
    result = run_plan(playbook, tmp_path, src=src, filesystem='fat32', drives=[{'name': 'd', 'size': 10 ** 9}])
    assert [(f['path'], f['rule']) for f in result['findings']] == [('huge.iso', 'too-big-for-filesystem')]
    assert result['block_size'] == 32768 and result['drives'][0]['items'] == ['.']


def test_missing_source_and_missing_sizes_are_clear_errors(playbook, tmp_path):
    proc = run_plan(playbook, tmp_path, expect_rc=2, src=str(tmp_path / 'nope'), drive_size=10 ** 9)
    assert 'is not a directory (or does not exist)' in proc.stdout
    os.makedirs(tmp_path / 'src')
    proc = run_plan(playbook, tmp_path, expect_rc=2, src=str(tmp_path / 'src'), drives=[{'name': 'x'}])
    assert 'drive x has neither a size nor a device' in proc.stdout
