"""ie_mount on real loop devices (ext4 by the kernel, FAT32 and NTFS by FUSE on this machine)."""
import hashlib
import os
import subprocess
import time

import pytest

from ansible_collections.awsie.importexport.plugins.module_utils import mounts

HERE = os.path.join(os.path.dirname(__file__), 'targets', 'ie_mount')
FUSE_OR_KERNEL = {
    'vfat': 'kernel' if 'vfat' in mounts.kernel_filesystems() else 'fusefat',
    'ntfs': 'kernel' if 'ntfs3' in mounts.kernel_filesystems() else 'ntfs-3g',
    'ext4': 'kernel',
}


def fstab_digest():
    try:
        return hashlib.sha256(open('/etc/fstab', 'rb').read()).hexdigest()
    except OSError:
        return None


@pytest.fixture
def unmount_after(tmp_path):
    """Mount points the module may have mounted; unmounted before the loop devices go."""
    paths = []
    yield paths.append
    for path in paths:
        for _attempt in range(30):
            if not os.path.ismount(path):
                break
            subprocess.run(['umount', path], capture_output=True, check=False)
            time.sleep(0.1)


@pytest.mark.parametrize('fstype,given', [('ext4', None), ('fat32', 'fat32'), ('ntfs', None)])
def test_four_step_mount_and_unmount_leaves_fstab_alone(loop_drive, playbook, unmount_after, tmp_path, fstype, given):
    drive = loop_drive(fstype, size_mb=40, mount=False)
    mountpoint = str(tmp_path / 'mnt' / 'drive')  # does not exist yet: the module creates it
    unmount_after(mountpoint)
    expected = mounts.canonical_fstype(fstype)
    before = fstab_digest()
    extra = dict(device=drive.device, mountpoint=mountpoint, expected_fstype=expected,
                 expected_driver=FUSE_OR_KERNEL[expected])
    if given:
        extra['fstype'] = given
    playbook.run(os.path.join(HERE, 'four_step.yml'), extra_vars=extra)
    assert fstab_digest() == before
    assert not os.path.ismount(mountpoint)
    # The file written through the module's mount is on the device itself.
    drive.mount(readonly=True)
    with open(os.path.join(drive.mountpoint, 'proof.txt')) as handle:
        assert handle.read() == 'written through %s\n' % FUSE_OR_KERNEL[expected]


ERRORS = '''
- name: Ie_mount refusals
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Another device is already mounted at the path
      awsie.importexport.ie_mount: {src: "{{ other }}", path: "{{ busy }}"}
      register: wrong_device
      ignore_errors: true
    - name: Unmount guarded by src refuses a different device
      awsie.importexport.ie_mount: {src: "{{ other }}", path: "{{ busy }}", state: unmounted}
      register: wrong_unmount
      ignore_errors: true
    - name: The same device again, at a second path
      awsie.importexport.ie_mount: {src: "{{ busy_device }}", path: "{{ spare }}"}
      register: twice
      ignore_errors: true
    - name: Missing device
      awsie.importexport.ie_mount: {src: /dev/ie-no-such-drive, path: "{{ spare }}"}
      register: missing
      ignore_errors: true
    - name: Blank device
      awsie.importexport.ie_mount: {src: "{{ blank }}", path: "{{ spare }}"}
      register: blank_fs
      ignore_errors: true
    - name: Given type disagrees with the probe
      awsie.importexport.ie_mount: {src: "{{ other }}", path: "{{ spare }}", fstype: ntfs}
      register: mismatch
      ignore_errors: true
    - name: The right device at the path is ok, in diff mode too
      awsie.importexport.ie_mount: {src: "{{ busy_device }}", path: "{{ busy }}"}
      diff: true
      register: right
    - name: Assert every refusal names the problem and nothing changed
      ansible.builtin.assert:
        that:
          - wrong_device is failed and (busy_device ~ ' mounted (not ' ~ other) in wrong_device.msg
          - wrong_unmount is failed and 'refusing to unmount' in wrong_unmount.msg
          - twice is failed and ('already mounted at ' ~ busy) in twice.msg
          - missing is failed and 'not a block device' in missing.msg
          - blank_fs is failed and 'no file system' in blank_fs.msg
          - mismatch is failed and 'holds a ext4 file system, not ntfs' in mismatch.msg
          - right is not changed and right.mount.source == busy_device
'''


def test_refuses_wrong_device_missing_device_blank_device_and_type_mismatch(loop_drive, playbook, tmp_path,
                                                                            unmount_after):
    busy = loop_drive('ext4', size_mb=16, workdir=tmp_path / 'busy')
    other = loop_drive('ext4', size_mb=16, mount=False, workdir=tmp_path / 'other')
    blank = loop_drive(None, size_mb=8, mount=False)
    spare = str(tmp_path / 'spare')
    unmount_after(spare)
    playbook.run(ERRORS, extra_vars=dict(busy=busy.mountpoint, busy_device=busy.device, other=other.device,
                                         blank=blank.device, spare=spare))
    assert not os.path.ismount(spare)
    assert os.path.ismount(busy.mountpoint)


def test_driver_choice_prefers_the_kernel_and_falls_back_to_fuse():
    which = {'fusefat': '/usr/bin/fusefat', 'ntfs-3g': '/usr/bin/ntfs-3g'}.get
    assert mounts.choose_driver('vfat', {'vfat', 'ext4'}, which) == ('kernel', 'vfat')
    assert mounts.choose_driver('vfat', {'ext4'}, which) == ('fusefat', '/usr/bin/fusefat')
    assert mounts.choose_driver('ntfs', {'ntfs3'}, which) == ('kernel', 'ntfs3')
    assert mounts.choose_driver('ntfs', set(), which) == ('ntfs-3g', '/usr/bin/ntfs-3g')
    with pytest.raises(mounts.MountError, match='exfat-fuse'):
        mounts.choose_driver('exfat', set(), which)
    assert mounts.mount_command('fusefat', 'fusefat', '/dev/sdb1', '/mnt/x', 'defaults') == [
        'fusefat', '-o', 'rw+,fsname=/dev/sdb1,subtype=fusefat', '/dev/sdb1', '/mnt/x']
    assert mounts.mount_command('kernel', 'ext4', '/dev/sdb1', '/mnt/x', 'ro,noatime') == [
        'mount', '-t', 'ext4', '-o', 'ro,noatime', '/dev/sdb1', '/mnt/x']
