"""mounts: the unmount retry helper, against a scripted ``run`` (no root needed)."""
import json

import pytest

from ansible_collections.awsie.importexport.plugins.module_utils import mounts as M


class FakeHost:
    """``run`` for findmnt and umount: umount fails ``busy`` times, then unmounts one mount."""

    def __init__(self, stack, busy=0):
        self.stack = list(stack)  # sources mounted at /mnt/x, bottom first
        self.busy = busy
        self.calls = []

    def __call__(self, argv):
        self.calls.append(argv[0])
        if argv[0] == 'findmnt':
            if not self.stack:
                return 1, '', ''
            found = [dict(target='/mnt/x', source=s, fstype='ext4', options='rw') for s in self.stack]
            return 0, json.dumps(dict(filesystems=found)), ''
        if argv[0] == 'umount':
            if self.busy:
                self.busy -= 1
                return 32, '', 'umount: /mnt/x: target is busy.'
            self.stack.pop()
            return 0, '', ''
        raise AssertionError(argv)


def test_unmount_retries_a_busy_mount(monkeypatch):
    slept = []
    monkeypatch.setattr(M.time, 'sleep', slept.append)
    host = FakeHost(['/dev/loop1'], busy=2)
    assert M.unmount(host, '/mnt/x') == (True, '')
    assert host.calls.count('umount') == 3 and slept == [0.2, 0.4]


def test_unmount_gives_up_with_the_last_error(monkeypatch):
    monkeypatch.setattr(M.time, 'sleep', lambda s: None)
    host = FakeHost(['/dev/loop1'], busy=99)
    assert M.unmount(host, '/mnt/x', attempts=3) == (False, 'umount: /mnt/x: target is busy.')
    assert host.calls.count('umount') == 3


def test_unmount_takes_off_one_mount_only():
    host = FakeHost(['/dev/loop1', '/dev/loop2'])
    assert M.unmount(host, '/mnt/x') == (True, '')
    assert host.stack == ['/dev/loop1']


def test_unmount_of_nothing_runs_no_umount():
    host = FakeHost([])
    assert M.unmount(host, '/mnt/x') == (True, '')
    assert 'umount' not in host.calls


def test_check_path_refuses_fstab_mount_points_and_system_ones(tmp_path):
    fstab = tmp_path / 'fstab'
    data = tmp_path / 'data'
    data.mkdir()
    fstab.write_text('# comment\nUUID=1234 / ext4 defaults 0 1\nUUID=99 %s/ xfs defaults 0 2\n'
                     'UUID=77 none swap sw 0 0\n' % data)
    for state in ('mounted', 'unmounted'):
        with pytest.raises(M.MountError, match='system mount point'):
            M.check_path(str(data / 'sub' / '..'), state, fstab=str(fstab))
        with pytest.raises(M.MountError, match='refusing to .* /: it is a system mount point'):
            M.check_path('/a/b/../../..', state, fstab=str(fstab))
    assert M.check_path(str(data / 'drive1'), 'mounted', fstab=str(fstab)) == str(data / 'drive1')
    assert M.fstab_mount_points(str(fstab)) == {'/', str(data)}


def test_check_path_resolves_linked_parents_and_refuses_a_link(tmp_path):
    real = tmp_path / 'real'
    (real / 'drive').mkdir(parents=True)
    (tmp_path / 'parent-link').symlink_to(real)
    assert M.check_path(str(tmp_path / 'parent-link' / 'drive'), 'mounted') == str(real / 'drive')
    (tmp_path / 'drive-link').symlink_to(real / 'drive')
    with pytest.raises(M.MountError, match='is a symbolic link'):
        M.check_path(str(tmp_path / 'drive-link'), 'unmounted')


class MountsNothing(FakeHost):
    """A mount command that reports success but mounts nothing where asked (as a link would)."""

    def __call__(self, argv):
        if argv[0] == 'mount':
            self.calls.append('mount')
            return 0, '', ''
        return super().__call__(argv)


def test_carry_out_takes_back_the_directories_it_made_when_the_mount_is_not_there(tmp_path, monkeypatch):
    host = MountsNothing([])
    monkeypatch.setattr(M, 'mounts_of', lambda run, src: [])
    path = tmp_path / 'a' / 'b'
    plan = dict(action='mount', command=['mount', '/dev/loop9', str(path)])
    with pytest.raises(M.MountError, match='findmnt does not show /dev/loop9 at .*; the mount was taken back'):
        M.carry_out(host, plan, '/dev/loop9', str(path))
    assert not (tmp_path / 'a').exists()


def test_carry_out_unmounts_what_landed_elsewhere(tmp_path, monkeypatch):
    host = MountsNothing([])
    unmounted = []
    monkeypatch.setattr(M, 'mounts_of', lambda run, src: ['/somewhere/else'])
    monkeypatch.setattr(M, 'unmount', lambda run, target: unmounted.append(target) or (True, ''))
    with pytest.raises(M.MountError):
        M.carry_out(host, dict(action='mount', command=['mount', 'x', 'y']), '/dev/loop9', str(tmp_path / 'm'))
    assert unmounted == ['/somewhere/else']


def test_a_system_mount_point_is_never_a_drive_to_write_on(tmp_path):
    """'/' passes a mount-point check: ie_load and ie_signature wrote /a.txt and /SIGNATURE there before."""
    fstab = tmp_path / 'fstab'
    fstab.write_text('/dev/sdz1 /data ext4 defaults 0 2\n')
    for dest, require in (('/', True), ('/', False), ('/etc', False), ('/data', True)):
        assert 'system mount point' in M.drive_dest_problem(dest, require, str(fstab)), dest
    assert 'not a mount point' in M.drive_dest_problem(str(tmp_path), True, str(fstab))
    assert M.drive_dest_problem(str(tmp_path), False, str(fstab)) is None
