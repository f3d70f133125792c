"""ie_device_info on real loop drives (ext4, FAT32 through fusefat, NTFS through ntfs-3g), with
udev off (as on this machine) and on (a udev rule giving the loop device a serial)."""
import json
import os
import re
import shutil
import subprocess
import time

import pytest

from ansible_collections.awsie.importexport.plugins.module_utils.devices import uuid_device_id

EXPECTED = {  # fstype fixture name -> (blkid type, service name, read for Export)
    'ext4': ('ext4', 'EXT4', True),
    'fat32': ('vfat', 'FAT32', True),
    'ntfs': ('ntfs', 'NTFS', True),
    'exfat': ('exfat', None, False),
}


def probe(playbook, tmp_path, inputs, job_type='Export', check=True):
    out = tmp_path / 'probe.json'
    body = ('- name: T\n  hosts: localhost\n  gather_facts: false\n  tasks:\n'
            '    - name: Probe\n      awsie.importexport.ie_device_info:\n'
            '        device: "{{ item }}"\n        job_type: %s\n'
            '      loop: "{{ inputs }}"\n      register: probed\n'
            '    - name: Save\n      ansible.builtin.copy:\n        content: "{{ probed.results | to_json }}"\n'
            '        dest: %s\n      check_mode: false\n') % (job_type, out)
    proc = playbook.run(body, extra_vars=dict(inputs=inputs), check=check)
    assert 'changed=0' in proc.stdout or 'changed=1' in proc.stdout  # only the Save task may change
    return json.loads(out.read_text())


def blkid_value(device, key):
    return subprocess.run(['blkid', '-p', '-s', key, '-o', 'value', device], capture_output=True,
                          text=True, check=True).stdout.strip()


@pytest.mark.parametrize('fstype', ['ext4', 'fat32', 'ntfs'])
def test_drive_is_identified_by_device_mount_point_and_image(loop_drive, playbook, tmp_path, fstype):
    drive = loop_drive(fstype, label='IEDRIVE')
    with open(os.path.join(drive.mountpoint, 'data.bin'), 'wb') as handle:
        handle.write(os.urandom(2 * 1024 * 1024))
    os.sync()
    results = probe(playbook, tmp_path, [drive.device, drive.mountpoint, drive.image])
    blk, service, _export = EXPECTED[fstype]
    uuid = blkid_value(drive.device, 'UUID')
    for result, input_type in zip(results, ['loop', 'loop', 'image']):
        assert result['changed'] is False
        assert result['input_type'] == input_type
        assert result['fstype'] == blk and result['label'] == 'IEDRIVE'
        assert result['fs_uuid'] == uuid
        assert result['service_filesystem'] == service and result['supported'] is True
        assert result['mount_points'] == [drive.mountpoint]
        assert result['blank'] is False and result['partition_table'] is None
        assert result['serial'] is None  # udev is off: loop devices have no serial
        assert result['device_id'] == uuid_device_id(uuid) and result['device_id_source'] == 'filesystem_uuid'
        assert re.match(r'^FS-[0-9A-Z]{5}-[0-9A-Z]{5}$', result['device_id'])
        assert result['size'] == 64 * 1024 * 1024
        assert result['used_bytes'] >= 2 * 1024 * 1024 and result['free_bytes'] > 30 * 1024 * 1024
    assert results[0]['device'] == results[1]['device'] == drive.device
    assert results[0]['backing_file'] == drive.image
    assert results[2]['loop_devices'] == [drive.device]


def test_blank_and_unreadable_drives(loop_drive, playbook, tmp_path):
    blank = loop_drive(None, mount=False)
    inputs = [blank.device]
    exfat = None
    if shutil.which('mkfs.exfat') and shutil.which('mount.exfat-fuse'):
        exfat = loop_drive('exfat', mount=False)
        inputs.append(exfat.device)
    results = probe(playbook, tmp_path, inputs, job_type='Import')
    assert results[0]['blank'] is True and results[0]['supported'] is False
    assert results[0]['device_id'] is None and results[0]['mount_points'] == []
    if exfat:
        assert results[1]['fstype'] == 'exfat' and results[1]['supported'] is False
        assert 'exfat is not read by the service' in results[1]['supported_reason']


def test_not_a_mount_point_fails_with_what_to_give(playbook, tmp_path):
    proc = playbook.run('- name: T\n  hosts: localhost\n  gather_facts: false\n  tasks:\n'
                        '    - name: Probe\n      awsie.importexport.ie_device_info:\n        device: %s\n'
                        % tmp_path, expect_rc=2)
    assert 'is a directory but not a mount point' in proc.stdout


UDEVD = '/lib/systemd/systemd-udevd'


@pytest.mark.skipif(not os.path.exists(UDEVD) or not shutil.which('udevadm'), reason='udev not installed')
def test_with_udev_the_serial_is_the_device_id(loop_drive, playbook, tmp_path):
    """Starts udevd for this test only, with a rule that gives the loop device a serial and a by-id link."""
    if subprocess.run(['pgrep', '-x', 'systemd-udevd'], capture_output=True, check=False).returncode == 0:
        pytest.skip('a udev daemon is already running; this test starts and stops its own')
    drive = loop_drive('ext4', label='UDEVDRV')
    name = os.path.basename(drive.device)
    serial = 'IETEST%s' % name.upper()
    rule = '/etc/udev/rules.d/99-awsie-ie-test-%s.rules' % name
    created = [p for p in ('/run/udev', '/dev/disk') if not os.path.exists(p)]
    os.makedirs(os.path.dirname(rule), exist_ok=True)
    with open(rule, 'w') as handle:
        handle.write('KERNEL=="%s", ENV{ID_SERIAL_SHORT}="%s", ENV{ID_MODEL}="IE_Test_Drive", '
                     'SYMLINK+="disk/by-id/ie-test-%s"\n' % (name, serial, serial))
    daemon = subprocess.Popen([UDEVD], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    link = '/dev/disk/by-id/ie-test-%s' % serial
    try:
        for _attempt in range(50):
            subprocess.run(['udevadm', 'trigger', '--action=change', '--sysname-match=%s' % name], check=False)
            subprocess.run(['udevadm', 'settle', '-t', '5'], check=False)
            if os.path.exists(link):
                break
            time.sleep(0.1)
        assert os.path.exists(link), 'udev did not create %s' % link
        results = probe(playbook, tmp_path, [link, drive.mountpoint])
        for result in results:
            assert result['serial'] == serial and result['model'] == 'IE Test Drive'
            assert result['device_id'] == serial and result['device_id_source'] == 'serial'
            assert result['device'] == drive.device and result['fstype'] == 'ext4'
        assert results[0]['input_type'] == 'by-id'
    finally:
        os.unlink(rule)
        subprocess.run(['udevadm', 'control', '--reload'], check=False)
        subprocess.run(['udevadm', 'trigger', '--action=change', '--sysname-match=%s' % name], check=False)
        subprocess.run(['udevadm', 'settle', '-t', '5'], check=False)
        daemon.terminate()
        try:
            daemon.wait(timeout=10)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        for path in created:
            shutil.rmtree(path, ignore_errors=True)


def test_a_small_fat32_drive_has_no_negative_size(loop_drive, playbook, tmp_path):
    drive = loop_drive('fat32', size_mb=20, mount=False)
    result = probe(playbook, tmp_path, [drive.device])[0]
    assert result['fstype'] == 'vfat' and result['fs_version'] == 'FAT32'
    assert 19 * 1024 * 1024 < result['size_bytes'] <= 20 * 1024 * 1024
    assert 0 <= result['used_bytes'] and 0 < result['free_bytes'] <= result['size_bytes']


def test_a_dangling_symlink_and_a_symlink_loop_are_clear_errors(playbook, tmp_path):
    dangling = tmp_path / 'by-id-unplugged'
    dangling.symlink_to('/dev/ie-test-no-such-disk')
    loop = tmp_path / 'loop'
    loop.symlink_to(loop)
    out = tmp_path / 'probe.json'
    body = ('- name: T\n  hosts: localhost\n  gather_facts: false\n  tasks:\n'
            '    - name: Probe\n      awsie.importexport.ie_device_info:\n        device: "{{ item }}"\n'
            '      loop: "{{ inputs }}"\n      register: probed\n      ignore_errors: true\n'
            '    - name: Save\n      ansible.builtin.copy:\n        content: "{{ probed.results | to_json }}"\n'
            '        dest: %s\n' % out)
    playbook.run(body, extra_vars=dict(inputs=[str(dangling), str(loop)]))
    results = json.loads(out.read_text())
    assert results[0]['failed'] and 'is a symbolic link to /dev/ie-test-no-such-disk, which does not exist' in results[0]['msg']
    assert results[1]['failed'] and 'is a symbolic link loop' in results[1]['msg']
    for result in results:
        assert 'Traceback' not in json.dumps(result) and 'MODULE FAILURE' not in result['msg']
