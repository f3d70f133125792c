"""ie_mount on real loop devices (ext4 by the kernel, FAT32 and NTFS by FUSE on this machine)."""
import hashlib
import json
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


# --- Hardening (issue 14 items 8, 11, 12) ----------------------------------------------------
def mount_play(tasks):
    """A play of ie_mount tasks (dicts of module args, with optional _check), each registered and ignored
    on failure, then saved as JSON to {{ out }}."""
    lines = ['- name: T', '  hosts: localhost', '  gather_facts: false', '  tasks:']
    for number, args in enumerate(tasks):
        args = dict(args)
        check = args.pop('_check', False)
        lines += ['    - name: Task %d' % number, '      awsie.importexport.ie_mount: %s' % json.dumps(args),
                  '      check_mode: %s' % ('true' if check else 'false'),
                  '      register: r%d' % number, '      ignore_errors: true']
    lines += ['    - name: Save', '      ansible.builtin.copy:',
              '        content: "{{ [%s] | to_json }}"' % ', '.join('r%d' % n for n in range(len(tasks))),
              '        dest: "{{ out }}"', '      check_mode: false']
    return '\n'.join(lines) + '\n'


def run_mount_play(playbook, tmp_path, tasks):
    out = tmp_path / 'results.json'
    playbook.run(mount_play(tasks), extra_vars=dict(out=str(out)))
    return json.loads(out.read_text())


def assert_clear_failure(result, *words):
    assert result.get('failed') is True, result
    assert 'MODULE FAILURE' not in result.get('msg', '') and 'Traceback' not in json.dumps(result), result
    for word in words:
        assert word in result['msg'], result['msg']


def test_a_path_that_is_a_file_or_under_a_file_is_a_clear_error(loop_drive, playbook, tmp_path, unmount_after):
    drive = loop_drive('ext4', size_mb=16, mount=False)
    a_file = tmp_path / 'a-file'
    a_file.write_text('not a directory\n')
    under = a_file / 'drive'
    unmount_after(str(a_file))
    results = run_mount_play(playbook, tmp_path, [
        dict(src=drive.device, path=str(a_file), _check=True),
        dict(src=drive.device, path=str(a_file)),
        dict(src=drive.device, path=str(under), _check=True),
        dict(src=drive.device, path=str(under)),
    ])
    for result in results[:2]:
        assert_clear_failure(result, 'path %s is a file, not a directory' % a_file)
    for result in results[2:]:
        assert_clear_failure(result, 'path %s is under %s, which is a file, not a directory' % (under, a_file))
    assert a_file.read_text() == 'not a directory\n'


@pytest.mark.parametrize('state,path', [
    ('unmounted', '/some/dir/../../../../'),
    ('unmounted', '/boot'),
    ('unmounted', '/proc/.'),
    ('mounted', '/usr'),
    ('mounted', '/var/'),
    ('mounted', '/home/../etc'),
])
def test_system_mount_points_are_refused_even_in_check_mode(loop_drive, playbook, tmp_path, state, path):
    drive = loop_drive('ext4', size_mb=16, mount=False)
    args = dict(path=path, state=state, _check=True)
    if state == 'mounted':
        args['src'] = drive.device  # an unmount without src unmounts whatever is there: the case of the report
    results = run_mount_play(playbook, tmp_path, [args])
    target = os.path.abspath(path)
    assert_clear_failure(results[0], 'refusing to %s %s: it is a system mount point'
                         % ('unmount' if state == 'unmounted' else 'mount over', target))
    assert results[0]['changed'] is False and results[0]['command'] == []


def test_unmount_of_a_system_mount_point_is_refused_for_real(playbook, tmp_path):
    # /srv is not a mount point here, so the run before the fix did nothing harmful either.
    results = run_mount_play(playbook, tmp_path, [dict(path='/srv', state='unmounted')])
    assert_clear_failure(results[0], 'refusing to unmount /srv: it is a system mount point')


def test_a_failed_mount_removes_the_directories_it_created(loop_drive, playbook, tmp_path, unmount_after):
    drive = loop_drive('ext4', size_mb=16, mount=False)
    path = tmp_path / 'new' / 'deeper' / 'drive'
    unmount_after(str(path))
    results = run_mount_play(playbook, tmp_path, [dict(src=drive.device, path=str(path), opts='ie_no_such_option')])
    assert_clear_failure(results[0], 'mounting %s at %s failed' % (drive.device, path))
    assert not (tmp_path / 'new').exists()
    assert not mounts.mounts_of(run_host, drive.device)


def test_a_symlinked_path_is_refused_and_nothing_is_mounted(loop_drive, playbook, tmp_path, unmount_after):
    drive = loop_drive('ext4', size_mb=16, mount=False)
    real = tmp_path / 'real-dir'
    real.mkdir()
    link = tmp_path / 'link'
    link.symlink_to(real)
    unmount_after(str(real))
    unmount_after(str(link))
    results = run_mount_play(playbook, tmp_path, [dict(src=drive.device, path=str(link), _check=True),
                                                  dict(src=drive.device, path=str(link))])
    for result in results:
        assert_clear_failure(result, 'path %s is a symbolic link (to %s)' % (link, real))
    assert not os.path.ismount(str(real))
    assert not mounts.mounts_of(run_host, drive.device)
    assert link.is_symlink() and sorted(os.listdir(str(real))) == []


def run_host(argv):
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr
