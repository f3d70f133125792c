"""One-pass loading with a ledger (plugins/module_utils/load.py), on plain directories."""
import errno
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from ansible_collections.awsie.importexport.plugins.module_utils import dataset, ledger, load, s3keys

RULE = s3keys.KeyRule('imp/', {'dir/': 'folder/'}, [r'\.swp$', r'^ledger\.jsonl$'])


def write(root, rel, data):
    full = os.path.join(root, *rel.split('/'))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, 'wb') as handle:
        handle.write(data)
    return full


def make_source(root, big=3 * 1024 * 1024):
    files = {'a.txt': b'alpha\n', 'empty': b'', 'dir/b.bin': os.urandom(70000), 'dir/sub/c.dat': os.urandom(5000),
             'big.bin': os.urandom(big), 'notes.swp': b'skip me', 'SIGNATURE': b'not a signature'}
    for rel, data in files.items():
        write(root, rel, data)
    os.symlink('/etc', os.path.join(root, 'link'))
    return files


def expected_ledger(root, rule):
    """The ledger computed independently of the loader: walk, read, hash."""
    out = {}
    for dirpath, dirs, names in os.walk(root):
        dirs.sort()
        for name in names:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root).replace(os.sep, '/')
            st = os.lstat(full)
            outcome = rule.outcome(rel)
            if not os.path.isfile(full) or os.path.islink(full) or outcome.status != 'Loaded':
                continue
            with open(full, 'rb') as handle:
                md5 = hashlib.md5(handle.read()).hexdigest()
            out[rel] = {'path': rel, 'key': outcome.key, 'size': st.st_size, 'mtime_ns': st.st_mtime_ns, 'md5': md5}
    return out


def drive_files(root):
    out = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            full = os.path.join(dirpath, name)
            with open(full, 'rb') as handle:
                out[os.path.relpath(full, root).replace(os.sep, '/')] = handle.read()
    return out


@pytest.fixture
def tree(tmp_path):
    src, dest = str(tmp_path / 'src'), str(tmp_path / 'drive')
    files = make_source(src)
    write(dest, 'SIGNATURE', b'the real signature')
    write(dest, 'lost+found/x', b'fsck')
    write(dest, 'mine/keep.txt', b'user data')
    return src, dest, str(tmp_path / 'ledger.jsonl'), files


def test_first_load_copies_once_and_the_ledger_equals_the_source(tree):
    src, dest, path, files = tree
    result = load.load(src, dest, RULE, ledger_path=path)
    assert (result['copied'], result['skipped'], result['removed_partials']) == (5, 0, 0)
    assert result['bytes'] == sum(len(files[p]) for p in ('a.txt', 'empty', 'dir/b.bin', 'dir/sub/c.dat', 'big.bin'))
    assert result['excluded'] == {'ignored': 1, 'signature-name': 1, 'symlink': 1}
    assert ledger.read(path).records == expected_ledger(src, RULE)
    on_drive = drive_files(dest)
    assert on_drive['SIGNATURE'] == b'the real signature' and on_drive['mine/keep.txt'] == b'user data'
    assert on_drive['lost+found/x'] == b'fsck'
    for rel in ('a.txt', 'empty', 'dir/b.bin', 'dir/sub/c.dat', 'big.bin'):
        assert on_drive[rel] == files[rel]
    assert 'notes.swp' not in on_drive and 'link' not in on_drive
    assert os.stat(os.path.join(dest, 'big.bin')).st_mtime_ns == os.stat(os.path.join(src, 'big.bin')).st_mtime_ns


def test_rerun_reads_no_file_and_changes_nothing(tree, monkeypatch):
    src, dest, path, _files = tree
    load.load(src, dest, RULE, ledger_path=path)
    before = open(path, 'rb').read()
    opened = []
    real_open = os.open
    monkeypatch.setattr(load.os, 'open', lambda p, flags, *a, **k: opened.append((p, flags)) or real_open(p, flags, *a, **k))
    result = load.load(src, dest, RULE, ledger_path=path, previous=load.previous_records(None, path))
    assert (result['copied'], result['skipped'], result['bytes']) == (0, 5, 0)
    # the scan opens the source's directories (O_DIRECTORY) to list them; no file is opened
    assert not [p for p, flags in opened if str(p).startswith(src) and not flags & os.O_DIRECTORY]
    assert [p for p, flags in opened if str(p).startswith(src)]
    assert open(path, 'rb').read() == before


def test_changed_new_and_lost_files_are_copied_again(tree):
    src, dest, path, _files = tree
    load.load(src, dest, RULE, ledger_path=path)
    write(src, 'a.txt', b'alpha, longer\n')
    write(src, 'dir/new.txt', b'new')
    os.unlink(os.path.join(dest, 'dir', 'sub', 'c.dat'))
    with open(os.path.join(dest, 'dir', 'b.bin'), 'ab') as handle:
        handle.write(b'x')  # the copy on the drive no longer has the size of the ledger
    os.unlink(os.path.join(src, 'empty'))
    result = load.load(src, dest, RULE, ledger_path=path, previous=load.previous_records(None, path))
    assert (result['copied'], result['skipped'], result['vanished']) == (4, 1, 1)
    assert ledger.read(path).records == expected_ledger(src, RULE)
    assert drive_files(dest)['dir/b.bin'] == open(os.path.join(src, 'dir', 'b.bin'), 'rb').read()


def test_check_mode_writes_nothing(tree):
    src, dest, path, _files = tree
    write(dest, 'dir/.ie-load-1-1.part', b'leftover')
    before = drive_files(dest)
    result = load.load(src, dest, RULE, ledger_path=path, check_mode=True)
    assert (result['copied'], result['bytes'] > 0) == (5, True)
    assert drive_files(dest) == before and not os.path.exists(path) and not os.path.exists(path + '.partial')


def test_leftover_temp_files_are_removed_and_only_they(tree):
    src, dest, path, _files = tree
    write(dest, 'dir/.ie-load-99-1.part', b'half a file')
    write(dest, '.ie-load-99-2.part', b'half a file')
    write(dest, 'dir/.ie-load-notes.txt', b'user file with a similar name')
    result = load.load(src, dest, RULE, ledger_path=path)
    assert result['removed_partials'] == 2
    names = drive_files(dest)
    assert not [n for n in names if load.is_temp_name(n.rsplit('/', 1)[-1])]
    assert names['dir/.ie-load-notes.txt'] == b'user file with a similar name'


def test_a_directory_in_the_way_fails_that_file_only(tree):
    src, dest, path, _files = tree
    os.makedirs(os.path.join(dest, 'a.txt'))
    result = load.load(src, dest, RULE, ledger_path=path)
    assert result['copied'] == 4 and result['failed_count'] == 1 and result['failed'][0]['path'] == 'a.txt'
    assert 'a.txt' not in ledger.read(path).records and os.path.isdir(os.path.join(dest, 'a.txt'))


def test_a_link_on_the_drive_to_outside_is_never_written_through(tree, tmp_path):
    """A directory of the drive that is a link (here to a directory off the drive) fails its files; nothing
    lands outside (the load wrote dir/b.bin and dir/sub/c.dat into the link's target before)."""
    src, dest, path, _files = tree
    outside = tmp_path / 'outside'
    outside.mkdir()
    os.symlink(str(outside), os.path.join(dest, 'dir'))
    result = load.load(src, dest, RULE, ledger_path=path)
    assert sorted(item['path'] for item in result['failed']) == ['dir/b.bin', 'dir/sub/c.dat']
    assert 'link on the drive' in result['failed'][0]['error'] or 'link on the drive' in json.dumps(result['failed'])
    assert not os.listdir(str(outside)) and os.path.islink(os.path.join(dest, 'dir'))
    assert 'dir/b.bin' not in ledger.read(path).records and result['copied'] == 3


def test_a_file_changed_while_copied_is_not_recorded(tree, monkeypatch):
    src, dest, path, _files = tree
    real = load._pipelined  # pylint: disable=protected-access

    def grow_then_copy(src_fd, dest_fd, buffers):
        with open(os.path.join(src, 'big.bin'), 'ab') as handle:
            handle.write(b'more')
        return real(src_fd, dest_fd, buffers)
    monkeypatch.setattr(load, '_pipelined', grow_then_copy)
    result = load.load(src, dest, RULE, ledger_path=path)
    assert [f['path'] for f in result['failed']] == ['big.bin'] and 'changed' in result['failed'][0]['error']
    assert not os.path.exists(os.path.join(dest, 'big.bin'))
    assert not [n for n in drive_files(dest) if load.is_temp_name(n.rsplit('/', 1)[-1])]


def test_selection_loads_a_share(tree):
    src, dest, path, _files = tree
    result = load.load(src, dest, RULE, ledger_path=path, selection=dataset.Selection(items=['dir']))
    assert result['copied'] == 2 and sorted(ledger.read(path).records) == ['dir/b.bin', 'dir/sub/c.dat']


def test_drive_ledger_only_when_the_manifest_ignores_it(tree):
    src, dest, path, _files = tree
    with pytest.raises(load.LoadError, match='do not skip ie-ledger.jsonl'):
        load.load(src, dest, RULE, ledger_path=path, drive_ledger='ie-ledger.jsonl')
    load.load(src, dest, RULE, ledger_path=path, drive_ledger='ledger.jsonl')
    assert open(os.path.join(dest, 'ledger.jsonl'), 'rb').read() == open(path, 'rb').read()


def test_progress_file_has_the_keys_ie_wait_reads(tree, tmp_path):
    src, dest, path, _files = tree
    progress = str(tmp_path / 'progress.json')
    load.load(src, dest, RULE, ledger_path=path, progress_path=progress)
    state = json.load(open(progress))
    assert state['phase'] == 'done' and state['files_done'] == state['files_total'] == 5
    assert state['bytes_done'] == state['bytes_total'] and {'elapsed', 'rate', 'eta', 'updated'} <= set(state)


LOAD_SCRIPT = '''
import sys
sys.path.insert(0, sys.argv[4])
from ansible_collections.awsie.importexport.plugins.module_utils import load, s3keys
rule = s3keys.KeyRule('imp/')
load.load(sys.argv[1], sys.argv[2], rule, ledger_path=sys.argv[3], previous=load.previous_records(None, sys.argv[3]))
'''


def test_loads_killed_at_random_points_converge(tmp_path):
    from tests.collection_path import COLLECTIONS  # pylint: disable=import-outside-toplevel
    src, dest, path = str(tmp_path / 'src'), str(tmp_path / 'drive'), str(tmp_path / 'ledger.jsonl')
    rng = random.Random(20261123)
    for index in range(400):
        write(src, 'd%d/f%03d' % (index % 7, index), os.urandom(rng.randint(0, 40000)))
    for index in range(4):
        write(src, 'big/%d.bin' % index, os.urandom(4 * 1024 * 1024))
    os.makedirs(dest)
    cmd = [sys.executable, '-c', LOAD_SCRIPT, src, dest, path, COLLECTIONS]
    killed = 0
    for _attempt in range(5):
        proc = subprocess.Popen(cmd)  # pylint: disable=consider-using-with
        time.sleep(rng.uniform(0.05, 0.6))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            killed += 1
        proc.wait()
        # Whatever the moment: every file under a real name on the drive is complete.
        for rel, data in drive_files(dest).items():
            if not load.is_temp_name(rel.rsplit('/', 1)[-1]):
                assert data == open(os.path.join(src, rel), 'rb').read(), rel
    assert killed, 'no run was killed while it worked; the test proved nothing'
    subprocess.run(cmd, check=True)
    assert ledger.read(path).records == expected_ledger(src, s3keys.KeyRule('imp/'))
    assert sorted(drive_files(dest)) == sorted(expected_ledger(src, s3keys.KeyRule('imp/')))


def test_ie_wait_tells_a_running_job_from_one_whose_processes_are_gone(tmp_path):
    """async_wrapper names a job <id>.<pid> and keeps only <id> in its command lines."""
    from ansible_collections.awsie.importexport.plugins.modules import ie_wait  # pylint: disable=import-outside-toplevel
    proc = tmp_path / 'proc'
    status = tmp_path / 'j123.456'
    status.write_text('{"started": 1, "finished": 0}')
    old = time.time() - 60
    os.utime(str(status), (old, old))
    write(str(proc), '17/cmdline', b'/usr/bin/python3\x00/root/.ansible/tmp/x/async_wrapper.py\x00j123\x00600\x00/tmp/m.py\x00')
    write(str(proc), '18/cmdline', b'/usr/bin/python3\x00-c\x00j1234\x00')
    assert not ie_wait.gone('j123.456', str(status), proc=str(proc))
    os.unlink(str(proc / '17' / 'cmdline'))
    assert ie_wait.gone('j123.456', str(status), proc=str(proc))  # j1234 is another job
    os.utime(str(status))
    assert not ie_wait.gone('j123.456', str(status), proc=str(proc))  # just started: not yet known


def test_small_files_to_copy_are_read_ahead_and_only_they(tmp_path, monkeypatch):
    src, dest = str(tmp_path / 'src'), str(tmp_path / 'drive')
    for index in range(300):
        write(src, 'd%d/f%03d' % (index % 4, index), os.urandom(100 + index))
    write(src, 'empty', b'')
    write(src, 'big.bin', os.urandom(load.PREFETCH_MAX_FILE + 1))
    os.makedirs(dest)
    advised = []
    real = os.posix_fadvise
    monkeypatch.setattr(load.os, 'posix_fadvise', lambda fd, off, size, advice: advised.append(
        (os.readlink('/proc/self/fd/%d' % fd), advice)) or real(fd, off, size, advice))
    first = load.Loader(src, dest, RULE)
    result = first.run()
    # A file the copy reaches first is not read ahead (a race on a loaded machine): only they, none twice.
    small = {os.path.join(src, 'd%d/f%03d' % (i % 4, i)) for i in range(300)}
    assert result['copied'] == 302 and 0 < first.prefetched == len(advised) <= 300
    assert {path for path, _advice in advised} <= small and len({path for path, _advice in advised}) == len(advised)
    assert {advice for _path, advice in advised} == {os.POSIX_FADV_WILLNEED}
    records = expected_ledger(src, RULE)
    assert drive_files(dest) == {rel: open(os.path.join(src, rel), 'rb').read() for rel in records}
    # The files the previous ledger lists as they are are not read ahead (a re-run reads no data).
    previous = dict((rel, rec) for rel, rec in records.items() if not rel.startswith('d1/'))
    os.unlink(os.path.join(dest, 'd1', 'f001'))
    del advised[:]
    again = load.Loader(src, dest, RULE, previous=previous)
    result = again.run()
    assert result['copied'] == 75 and again.prefetched == len(advised) <= 75
    assert all('/d1/' in path for path, _advice in advised)


def test_src_and_dest_that_overlap_are_refused_before_anything_is_written(tmp_path):
    """ie_load took src == dest, src inside the drive and the drive inside src (proof/badinput)."""
    drive = tmp_path / 'drive'
    write(str(drive), 'data/a.txt', b'a')
    for src, dest in ((drive, drive), (drive / 'data', drive), (drive, drive / 'data')):
        before = sorted(str(p) for p in drive.rglob('*'))
        with pytest.raises(load.LoadError, match='overlap'):
            load.Loader(str(src), str(dest), RULE)
        assert sorted(str(p) for p in drive.rglob('*')) == before


@pytest.mark.parametrize('item', ['../x', 'a/../../x', '/etc'])
def test_an_include_outside_the_source_is_refused_not_ignored(item):
    with pytest.raises(ValueError, match='not a path inside the source'):
        dataset.Selection(None, [item])


def pipeline_copy(src_fd, dest_fd):
    """Run the large-file pipeline in a thread, so that a hang fails the test instead of stalling it."""
    import threading  # pylint: disable=import-outside-toplevel
    out = {}

    def run():
        try:
            out['result'] = load._pipelined(src_fd, dest_fd, [bytearray(64 * 1024) for unused in range(4)])  # pylint: disable=protected-access
        except OSError as exc:
            out['error'] = exc
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), 'the pipeline hung'
    return out


def test_the_large_file_pipeline_copies_hashes_and_starts_writeback_behind_it(tmp_path, monkeypatch):
    data = os.urandom(5 * 1024 * 1024 + 12345)
    src = write(str(tmp_path), 'src.bin', data)
    asked = []
    monkeypatch.setattr(load, 'WRITE_BEHIND_BYTES', 1024 * 1024)
    monkeypatch.setattr(load, 'SYNC_FILE_RANGE', lambda fd, offset, count, flags: asked.append((offset, count, flags)))
    src_fd = os.open(src, os.O_RDONLY)
    dest_fd = os.open(str(tmp_path / 'dest.bin'), os.O_WRONLY | os.O_CREAT)
    try:
        out = pipeline_copy(src_fd, dest_fd)
    finally:
        os.close(src_fd)
        os.close(dest_fd)
    md5, total = out['result']
    assert total == len(data) and md5.hexdigest() == hashlib.md5(data).hexdigest()
    assert (tmp_path / 'dest.bin').read_bytes() == data
    assert asked and all(flags == load.SYNC_FILE_RANGE_WRITE for unused, unused2, flags in asked)
    assert [offset for offset, unused, unused2 in asked] == [sum(c for unused, c, unused2 in asked[:i]) for i in range(len(asked))]
    assert sum(count for unused, count, unused2 in asked) >= 5 * 1024 * 1024  # behind the writes, in order, none left out


@pytest.mark.parametrize('side', ['read', 'write'])
def test_an_error_on_either_side_of_the_pipeline_is_raised_and_stops_it(tmp_path, side):
    src = write(str(tmp_path), 'src.bin', os.urandom(3 * 1024 * 1024))
    if side == 'read':
        src_fd = os.open(str(tmp_path), os.O_RDONLY)  # a directory: read fails with EISDIR
        dest_fd = os.open(str(tmp_path / 'dest.bin'), os.O_WRONLY | os.O_CREAT)
    else:
        src_fd = os.open(src, os.O_RDONLY)
        dest_fd = os.open(src, os.O_RDONLY)  # not open for writing: write fails with EBADF
    try:
        out = pipeline_copy(src_fd, dest_fd)
    finally:
        os.close(src_fd)
        os.close(dest_fd)
    assert out['error'].errno == {'read': errno.EISDIR, 'write': errno.EBADF}[side]
