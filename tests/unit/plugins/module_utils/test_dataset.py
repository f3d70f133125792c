"""One scan of a source tree (plugins/module_utils/dataset.py): loadable files and exact findings."""
import os
import socket
import subprocess
import tempfile
import time

import pytest

from ansible_collections.awsie.importexport.plugins.module_utils import dataset, ledger, s3keys

RULE = s3keys.KeyRule('imp/', {'dir/': 'folder/'}, [r'\.swp$', '('])


def write(root, rel, data=b'x'):
    full = os.path.join(root, *rel.split('/')) if isinstance(rel, str) else os.path.join(os.fsencode(root), rel)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, 'wb') as handle:
        handle.write(data)
    return full


def long_path(key_bytes):
    """A relative path whose key (with the 'imp/' prefix) is exactly ``key_bytes`` long."""
    rest = key_bytes - len('imp/')
    parts = []
    while rest > 201:
        parts.append('d' * 200)
        rest -= 201
    parts.append('f' * rest)
    return '/'.join(parts)


@pytest.fixture
def tricky(tmp_path):
    root = str(tmp_path / 'src')
    write(root, 'a.txt', b'alpha')
    write(root, 'empty.dat', b'')
    write(root, b'bad\xff.txt')
    write(root, long_path(1024))
    write(root, long_path(1025).replace('f', 'g'))
    write(root, 'dir/x.bin')
    write(root, 'folder/x.bin')
    write(root, 'notes.swp')
    write(root, 'SIGNATURE')
    write(root, 'sub/SIGNATURE')
    write(root, 'grow.log', b'start\n')
    os.symlink('/etc/passwd', os.path.join(root, 'out-link'))
    os.symlink('sub', os.path.join(root, 'dir-link'))
    os.mkfifo(os.path.join(root, 'pipe'))
    with open(os.path.join(root, 'huge.img'), 'wb') as handle:
        handle.truncate(s3keys.MAX_OBJECT_BYTES + 1)
    return root


def grow(root, name='grow.log'):
    def hook(rel):
        if rel == name:
            with open(os.path.join(root, name), 'ab') as handle:
                handle.write(b'more\n')
    return hook


def test_tricky_tree_gives_exactly_its_findings(tricky):
    result = dataset.scan(tricky, RULE, hook=grow(tricky))
    got = sorted((f['path'], f['rule']) for f in result.findings)
    assert got == sorted([
        ('.', 'ignore-pattern-invalid'),
        ('bad\\xff.txt', 'name-not-utf8'),
        (long_path(1025).replace('f', 'g'), 'key-too-long'),
        ('folder/x.bin', 'key-collision'),
        ('notes.swp', 'ignored'),
        ('SIGNATURE', 'signature-name'),
        ('grow.log', 'changed-during-scan'),
        ('out-link', 'symlink'),
        ('dir-link', 'symlink'),
        ('pipe', 'special-file'),
        ('huge.img', 'file-too-large'),
    ])
    paths = [f.path for f in result.files]
    assert sorted(paths) == sorted(['a.txt', 'empty.dat', long_path(1024), 'dir/x.bin', 'sub/SIGNATURE'])
    assert paths == sorted(paths, key=ledger.sort_key)
    by_path = {f.path: f for f in result.files}
    assert by_path['empty.dat'].size == 0 and by_path['dir/x.bin'].key == 'imp/folder/x.bin'
    assert s3keys.key_bytes(by_path[long_path(1024)].key) == 1024
    assert result.bytes == 5 + 0 + 1 + 1 + 1
    assert sorted(result.directories)[:2] == ['d' * 200, 'd' * 200 + '/' + 'd' * 200]
    detail = {f['rule']: f['detail'] for f in result.findings}
    assert '/etc/passwd' in detail['symlink'] and 'a FIFO' in detail['special-file']
    assert 'same S3 key as dir/x.bin' in detail['key-collision']
    assert 'size 6 -> 11 bytes' in detail['changed-during-scan']


def test_without_recheck_a_file_grown_after_it_was_read_is_not_seen(tricky):
    result = dataset.scan(tricky, RULE, hook=grow(tricky), recheck='none')
    assert 'changed-during-scan' not in result.counts()


def test_recheck_all_finds_files_removed_replaced_or_grown_in_any_directory(tmp_path):
    """The second read opens each directory once: a file grown, one replaced by a link, one
    removed, and a whole directory removed after its files were read are each a finding."""
    root = str(tmp_path / 'src')
    for rel in ('a/keep.txt', 'a/grow.txt', 'a/link.txt', 'b/gone.txt', 'b/keep.txt', 'c/d/x.txt', 'c/d/y.txt', 'top.txt'):
        write(root, rel, b'data')

    def hook(rel):
        if rel == 'c/d/y.txt':  # the last file of the walk: every other file was read already
            with open(os.path.join(root, 'a', 'grow.txt'), 'ab') as handle:
                handle.write(b'more')
            os.unlink(os.path.join(root, 'a', 'link.txt'))
            os.symlink('keep.txt', os.path.join(root, 'a', 'link.txt'))
            os.unlink(os.path.join(root, 'b', 'gone.txt'))
            for name in ('x.txt', 'y.txt'):
                os.unlink(os.path.join(root, 'c', 'd', name))
            os.rmdir(os.path.join(root, 'c', 'd'))
    result = dataset.scan(root, RULE, hook=hook, recheck='all')
    changed = {f['path']: f['detail'] for f in result.findings if f['rule'] == 'changed-during-scan'}
    assert sorted(changed) == ['a/grow.txt', 'a/link.txt', 'b/gone.txt', 'c/d/x.txt', 'c/d/y.txt']
    assert 'size 4 -> 8 bytes' in changed['a/grow.txt'] and 'removed or replaced' in changed['c/d/y.txt']
    assert sorted(f.path for f in result.files) == ['a/keep.txt', 'b/keep.txt', 'top.txt']


def test_a_file_changed_after_the_scan_began_is_a_finding_even_unread(tricky):
    def hook(rel):
        if rel == 'a.txt':
            time.sleep(0.02)  # file times come from a clock that ticks every few ms
            write(tricky, 'sub/SIGNATURE', b'now')  # its directory is read later in the same scan
    result = dataset.scan(tricky, RULE, hook=hook, recheck='none')
    assert ('sub/SIGNATURE', 'changed-during-scan') in [(f['path'], f['rule']) for f in result.findings]


def test_threads_do_not_change_the_result(tricky, monkeypatch):
    one = dataset.scan(tricky, RULE, workers=1)
    reads = iter(range(10 ** 6))
    monkeypatch.setattr(dataset, 'storage_reads', lambda: next(reads))  # as on a cold disk: the threads start
    started = []
    real_pool = dataset.concurrent.futures.ThreadPoolExecutor
    monkeypatch.setattr(dataset.concurrent.futures, 'ThreadPoolExecutor', lambda n: started.append(n) or real_pool(n))
    four = dataset.scan(tricky, RULE, workers=4)
    assert started == [4]
    assert one.files == four.files and one.findings == four.findings and one.directories == four.directories


def test_threads_start_only_when_the_metadata_comes_from_storage(tricky, monkeypatch):
    if os.path.exists('/proc/thread-self/io'):
        assert isinstance(dataset.storage_reads(), int)
    started = []
    real_pool = dataset.concurrent.futures.ThreadPoolExecutor
    monkeypatch.setattr(dataset.concurrent.futures, 'ThreadPoolExecutor', lambda n: started.append(n) or real_pool(n))
    monkeypatch.setattr(dataset, 'storage_reads', lambda: 7)  # cached metadata: nothing read from storage
    cached = dataset.scan(tricky, RULE, workers=8)
    assert started == []
    monkeypatch.setattr(dataset, 'storage_reads', lambda: None)  # cannot be known: the threads start at once
    unknown = dataset.scan(tricky, RULE, workers=8)
    assert started == [8]
    assert cached.files == unknown.files and cached.findings == unknown.findings


def test_empty_key_and_case_collisions(tmp_path):
    root = str(tmp_path)
    write(root, 'gone.txt')
    write(root, 'A/b.txt')
    write(root, 'a/B.txt')
    result = dataset.scan(root, s3keys.KeyRule(substitutions={'gone.txt': ''}), case_insensitive=True)
    expected = [('a/B.txt', 'case-collision'), ('gone.txt', 'key-empty')]
    assert sorted((f['path'], f['rule']) for f in result.findings) == expected
    assert not dataset.scan(root, s3keys.KeyRule()).findings


def test_selection_by_paths_and_items(tricky):
    sel = dataset.Selection(paths={'a.txt', 'dir/x.bin', 'sub/SIGNATURE'})
    assert [f.path for f in dataset.scan(tricky, RULE, sel).files] == ['a.txt', 'dir/x.bin', 'sub/SIGNATURE']
    sel = dataset.Selection(items=['dir', 'empty.dat'])
    assert [f.path for f in dataset.scan(tricky, RULE, sel).files] == ['empty.dat', 'dir/x.bin']
    both = dataset.Selection(paths={'a.txt', 'dir/x.bin'}, items=['dir'])
    assert [f.path for f in dataset.scan(tricky, RULE, both).files] == ['dir/x.bin']
    assert dataset.Selection(items=['.']).wants_file('anything')


def scan_as(user, root):
    """Scan in a forked child that switched to ``user`` (the interpreter itself may not be
    reachable for that user); returns [(path, rule or 'ok')]."""
    import json  # pylint: disable=import-outside-toplevel
    import pwd  # pylint: disable=import-outside-toplevel
    entry = pwd.getpwnam(user)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(read_end)
            os.setgroups([])
            os.setresgid(entry.pw_gid, entry.pw_gid, entry.pw_gid)
            os.setresuid(entry.pw_uid, entry.pw_uid, entry.pw_uid)
            result = dataset.scan(root, s3keys.KeyRule(), workers=1)
            out = [[f['path'], f['rule']] for f in result.findings] + [[f.path, 'ok'] for f in result.files]
            os.write(write_end, json.dumps(out).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, 'rb') as handle:
        data = handle.read()
    os.waitpid(pid, 0)
    return sorted(json.loads(data))


@pytest.mark.skipif(os.geteuid() != 0, reason='switches to the nobody user')
def test_unreadable_files_and_directories_as_an_ordinary_user():
    root = tempfile.mkdtemp(prefix='ie-unreadable-')
    try:
        os.chmod(root, 0o755)
        os.chmod(write(root, 'open.txt'), 0o644)
        os.chmod(write(root, 'closed.txt'), 0o600)
        write(root, 'locked/inside.txt')
        os.chmod(os.path.join(root, 'locked'), 0o700)
        assert scan_as('nobody', root) == [['closed.txt', 'unreadable'], ['locked', 'unreadable'], ['open.txt', 'ok']]
    finally:
        subprocess.run(['rm', '-rf', root], check=False)


def test_sockets_are_special_files(tmp_path):
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(tmp_path / 's'))
        result = dataset.scan(str(tmp_path), s3keys.KeyRule())
    finally:
        sock.close()
    assert [(f['path'], f['rule'], f['detail'].split(';')[0]) for f in result.findings] == [('s', 'special-file', 'a socket')]
