"""fileio: reads open only regular files, never block, never read past a limit; writes never
follow a link at the destination. Real files, FIFOs, sockets and links in a temporary directory."""
import os
import socket
import stat
import threading
import time

import pytest

from ansible_collections.awsie.importexport.plugins.module_utils import fileio

GIB = 1024 ** 3


def within(seconds, func, *args, **kwargs):
    """Run func in a thread; fail (instead of hanging the suite) if it is still running after ``seconds``."""
    box = {}

    def target():
        try:
            box['value'] = func(*args, **kwargs)
        except BaseException as exc:  # noqa: B902 - handed back to the test
            box['error'] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), '%s blocked for more than %s s' % (func.__name__, seconds)
    if 'error' in box:
        raise box['error']
    return box.get('value')


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / 'outside' / 'credentials'
    path.parent.mkdir()
    path.write_bytes(b'aws_secret_access_key = do-not-leak-me\n')
    return path


def test_read_regular_file_reads_a_file_and_none_when_missing(tmp_path):
    path = tmp_path / 'f'
    path.write_bytes(b'hello')
    assert fileio.read_regular_file(str(path), 10) == b'hello'
    assert fileio.read_regular_file(str(path), 5) == b'hello'
    assert fileio.read_regular_file(str(tmp_path / 'missing'), 10) is None


def test_read_regular_file_refuses_a_fifo_without_blocking(tmp_path):
    fifo = str(tmp_path / 'fifo')
    os.mkfifo(fifo)
    with pytest.raises(fileio.FileReadError, match='is a FIFO .named pipe., not a regular file') as info:
        within(5, fileio.read_regular_file, fifo, 100)
    assert info.value.kind == 'a FIFO (named pipe)' and info.value.path == fifo
    # read_bytes (the old entry point) no longer hangs either
    with pytest.raises(fileio.FileReadError):
        within(5, fileio.read_bytes, fifo)


@pytest.mark.parametrize('make,kind', [
    (os.mkdir, 'a directory'),
    (lambda p: socket.socket(socket.AF_UNIX).bind(p), 'a socket'),
])
def test_read_regular_file_names_what_it_found(tmp_path, make, kind):
    path = str(tmp_path / 'thing')
    make(path)
    with pytest.raises(fileio.FileReadError) as info:
        within(5, fileio.read_regular_file, path, 100)
    assert str(info.value).startswith('cannot read %s: it is %s, not a regular file' % (path, kind))


def test_read_regular_file_refuses_a_device():
    with pytest.raises(fileio.FileReadError, match='is a character device'):
        within(5, fileio.read_regular_file, '/dev/zero', 100)


def test_read_regular_file_refuses_a_large_sparse_file_without_reading_it(tmp_path):
    path = tmp_path / 'sparse'
    with open(path, 'wb') as handle:
        handle.truncate(GIB)
    started = time.monotonic()
    with pytest.raises(fileio.FileTooLargeError) as info:
        fileio.read_regular_file(str(path), 65536)
    assert time.monotonic() - started < 1
    assert info.value.size == GIB and info.value.max_bytes == 65536
    assert 'was not read' in str(info.value)


def test_read_regular_file_follows_links_only_when_asked(tmp_path, secret_file):
    link = tmp_path / 'link'
    link.symlink_to(secret_file)
    assert fileio.read_regular_file(str(link), 1000) == secret_file.read_bytes()
    with pytest.raises(fileio.FileReadError, match='is a symbolic link'):
        fileio.read_regular_file(str(link), 1000, follow_symlinks=False)
    loop = tmp_path / 'loop'
    loop.symlink_to(loop)
    with pytest.raises(fileio.FileReadError, match='link loop'):
        fileio.read_regular_file(str(loop), 1000)


def test_sync_file_replaces_a_link_and_never_reads_or_backs_up_its_target(tmp_path, secret_file):
    secret = secret_file.read_bytes()
    link = tmp_path / 'SIGNATURE'
    link.symlink_to(secret_file)
    outcome = fileio.sync_file(str(link), b'new\n', check_mode=True, backup=True)
    assert outcome == {'changed': True, 'before': None, 'before_kind': 'symlink'}
    assert link.is_symlink()
    outcome = fileio.sync_file(str(link), b'new\n', backup=True)
    assert outcome['before'] is None and outcome['before_kind'] == 'symlink' and 'backup_file' not in outcome
    assert not link.is_symlink() and link.read_bytes() == b'new\n'
    assert secret_file.read_bytes() == secret
    for name in os.listdir(tmp_path):
        if os.path.isfile(tmp_path / name) and name != 'outside':
            assert secret not in (tmp_path / name).read_bytes()


def test_sync_file_removes_a_link_itself(tmp_path, secret_file):
    link = tmp_path / 'SIGNATURE'
    link.symlink_to(secret_file)
    outcome = fileio.sync_file(str(link), None, backup=True)
    assert outcome['changed'] and not os.path.lexists(link) and secret_file.exists()


def test_atomic_write_replaces_a_link_and_keeps_the_target_mode(tmp_path, secret_file):
    os.chmod(secret_file, 0o600)
    link = tmp_path / 'dest'
    link.symlink_to(secret_file)
    fileio.atomic_write(str(link), b'x')
    assert not link.is_symlink() and link.read_bytes() == b'x'
    assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600
    assert b'do-not-leak' in secret_file.read_bytes()


@pytest.mark.parametrize('kind', ['fifo', 'directory'])
def test_sync_file_refuses_a_fifo_or_directory_destination_without_blocking(tmp_path, kind):
    path = str(tmp_path / 'dest')
    os.mkfifo(path) if kind == 'fifo' else os.mkdir(path)
    for check_mode in (True, False):
        with pytest.raises(fileio.FileWriteError, match='cannot write %s: it is a' % path):
            within(5, fileio.sync_file, path, b'data', check_mode=check_mode)
    with pytest.raises(fileio.FileWriteError, match='not a regular file'):
        within(5, fileio.atomic_write, path, b'data')
    assert os.path.isdir(path) if kind == 'directory' else stat.S_ISFIFO(os.lstat(path).st_mode)


def test_sync_file_too_large_is_changed_not_read(tmp_path):
    path = tmp_path / 'SIGNATURE'
    with open(path, 'wb') as handle:
        handle.truncate(GIB)
    outcome = fileio.sync_file(str(path), b'small\n', check_mode=True, max_bytes=65536)
    assert outcome == {'changed': True, 'before': None, 'before_kind': 'too_large'}


def test_backup_name_has_no_character_fat_or_ntfs_refuse(tmp_path):
    name = os.path.basename(fileio.backup_name('/mnt/SIGNATURE', now=0, pid=42))
    assert name.startswith('SIGNATURE.42.') and name.endswith('~')
    assert not set(name) & set('<>:"/\\|?*')


def test_sync_file_backup_copies_the_regular_file(tmp_path):
    path = tmp_path / 'SIGNATURE'
    path.write_bytes(b'old\n')
    outcome = fileio.sync_file(str(path), b'new\n', backup=True)
    assert open(outcome['backup_file'], 'rb').read() == b'old\n' and path.read_bytes() == b'new\n'
    assert ':' not in os.path.basename(outcome['backup_file'])


def test_sync_file_mode_is_the_written_files_mode_from_the_start(tmp_path, monkeypatch):
    """mode: a new file is never wider than asked, even for a moment (the temporary file is chmodded before
    the rename); a replaced file takes the mode too; without mode a replaced file keeps its own."""
    seen = []
    real = os.replace

    def spy(src, dst):
        seen.append(stat.S_IMODE(os.stat(src).st_mode))
        return real(src, dst)

    monkeypatch.setattr(fileio.os, 'replace', spy)
    old = os.umask(0o022)
    try:
        new = tmp_path / 'new.yml'
        assert fileio.sync_file(str(new), b'a\n', mode=0o600)['changed']
        kept = tmp_path / 'kept.yml'
        kept.write_bytes(b'old\n')
        os.chmod(str(kept), 0o640)
        fileio.sync_file(str(kept), b'b\n')
        fileio.sync_file(str(kept), b'c\n', mode=0o600)
    finally:
        os.umask(old)
    assert seen == [0o600, 0o640, 0o600]
    assert stat.S_IMODE(os.stat(str(new)).st_mode) == 0o600 and stat.S_IMODE(os.stat(str(kept)).st_mode) == 0o600
