"""mounts: the unmount retry helper, against a scripted ``run`` (no root needed)."""
import json

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
