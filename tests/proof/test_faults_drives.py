"""Drive faults during the load (ie_load) and the SIGNATURE write (ie_signature), on real loop drives
through real ansible-playbook runs: the drive fills up, is remounted read-only, or is detached
(lazily unmounted: the mount point falls back to the root file system's empty directory).

Each: the task fails naming the problem; no file under a real name on the drive differs from the
source; no ledger record names a file the drive does not hold with that MD5; nothing lands on the
root file system; no partial SIGNATURE. Then the fault is repaired and a re-run converges (the
ledger equals the source, every file on the drive is the source's).
"""
import hashlib
import json
import os
import errno
import subprocess
import time

import pytest

from ansible_collections.awsie.importexport.plugins.module_utils import ledger, load, s3keys, signing
from tests.integration.test_ie_load import PLAY
from tests.integration.test_ie_signature import MANIFEST_LF, SECRET, signature_task
from tests.support.playbooks import BIN, REPO
from tests.unit.plugins.module_utils.test_load import drive_files, expected_ledger, write

pytestmark = pytest.mark.root
RULE = s3keys.KeyRule('imp/', {}, [r'\.swp$'])
FAULTS = ['full', 'readonly', 'detached']
FAST = ('detached',)


def params(faults, fast):
    return [pytest.param(f, marks=() if f in fast else pytest.mark.proof_full) for f in faults]


def md5(data):
    return hashlib.md5(data).hexdigest()


def source(root, files=240, size=256 * 1024):
    for index in range(files):
        write(root, 'd%d/f%03d.bin' % (index % 4, index), os.urandom(size))
    write(root, 'notes.swp', b'ignored')
    return root


def drive_state(drive, src, ledger_path):
    """(files under real names that differ from the source, ledger records the drive contradicts, temp files)."""
    files = dict((rel, data) for rel, data in drive_files(drive.mountpoint).items()
                 if rel.split('/')[0] not in ('lost+found', 'filler'))
    temps = [rel for rel in files if load.is_temp_name(rel.rsplit('/', 1)[-1])]
    differ = []
    for rel, data in files.items():
        if rel in temps:
            continue
        with open(os.path.join(src, rel), 'rb') as handle:
            if handle.read() != data:
                differ.append(rel)
    records = ledger.read_latest(ledger_path)
    contradicted = [rel for rel, record in records.items() if rel not in files or md5(files[rel]) != record['md5']]
    return differ, contradicted, temps


def apply_fault(fault, drive):
    if fault == 'full':
        # Every block, the ones kept for root too (the modules run as root): write until ENOSPC.
        with open(os.path.join(drive.mountpoint, 'filler'), 'wb', buffering=0) as handle:
            for chunk in (b'\0' * 1024 * 1024, b'\0' * 4096, b'\0' * 512):
                try:
                    while True:
                        handle.write(chunk)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC, exc
            try:
                os.fsync(handle.fileno())
            except OSError:
                pass
        return
    if fault == 'readonly':
        # Linux refuses remount,ro while a file is open for writing: try between two files.
        deadline = time.monotonic() + 30
        while subprocess.run(['mount', '-o', 'remount,ro', drive.mountpoint], capture_output=True, check=False).returncode != 0:
            assert time.monotonic() < deadline, 'the drive could not be remounted read-only'
            time.sleep(0.005)
        return
    subprocess.run(['umount', '-l', drive.mountpoint], check=True)
    drive.mounted = False


def repair(fault, drive):
    if fault == 'full':
        os.unlink(os.path.join(drive.mountpoint, 'filler'))
    elif fault == 'readonly':
        subprocess.run(['mount', '-o', 'remount,rw', drive.mountpoint], check=True)
    else:
        deadline = time.monotonic() + 30
        while True:  # the lazily detached file system lets go of the device when its last file closes
            try:
                drive.mount()
                break
            except Exception:  # pylint: disable=broad-except
                assert time.monotonic() < deadline
                time.sleep(0.5)


@pytest.mark.parametrize('fault', params(FAULTS, FAST))
def test_a_drive_fault_during_the_load_fails_clearly_and_a_rerun_converges(fault, loop_drive, playbook, tmp_path, proof_record):
    drive = loop_drive('ext4', size_mb=128)
    src = source(str(tmp_path / 'src'))
    ledger_path = str(tmp_path / 'manifests' / 'drive.ledger.jsonl')
    out = str(tmp_path / 'result.json')
    (tmp_path / 'play.yml').write_text(PLAY)
    cmd = [os.path.join(BIN, 'ansible-playbook'), '-i', playbook.inventory, str(tmp_path / 'play.yml'),
           '-e', json.dumps({'src': src, 'dest': drive.mountpoint, 'ledger': ledger_path, 'out': out})]
    with open(tmp_path / 'run.log', 'wb') as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=playbook.env(), stdout=log, stderr=subprocess.STDOUT)  # pylint: disable=consider-using-with
        try:
            deadline = time.monotonic() + 120
            while proc.poll() is None and time.monotonic() < deadline:  # a few files loaded, most to come
                if sum(len(n) for unused, unused2, n in os.walk(drive.mountpoint)) >= 4:
                    break
                time.sleep(0.01)
            assert proc.poll() is None, 'the load ended before the fault: %s' % (tmp_path / 'run.log').read_text()[-3000:]
            apply_fault(fault, drive)
            proc.wait(timeout=300)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    output = (tmp_path / 'run.log').read_text()
    assert proc.returncode == 2, output[-3000:]
    expected_message = {'full': 'is full', 'readonly': 'cannot write to the drive', 'detached': 'no longer the drive'}[fault]
    assert expected_message in output, output[-3000:]
    if fault == 'detached':
        # Nothing landed in the root file system's directory under the mount point.
        assert os.listdir(drive.mountpoint) == [], os.listdir(drive.mountpoint)
    repair(fault, drive)
    differ, contradicted, unused = drive_state(drive, src, ledger_path)
    assert differ == [] and contradicted == [], (differ, contradicted)

    proc = playbook.run(PLAY, extra_vars={'src': src, 'dest': drive.mountpoint, 'ledger': ledger_path, 'out': out})
    final = json.loads(open(out).read())
    assert not final['failed_files']
    expected = expected_ledger(src, RULE)
    assert ledger.read(ledger_path).records == expected
    differ, contradicted, temps = drive_state(drive, src, ledger_path)
    assert (differ, contradicted, temps) == ([], [], [])
    on_drive = sorted(n for n in drive_files(drive.mountpoint) if n.split('/')[0] != 'lost+found')
    assert on_drive == sorted(expected)
    proof_record('load fault %s: runs that converged' % fault, 1)
    proof_record('load fault %s: files on the drive that differ from the ledger' % fault, len(differ) + len(contradicted))


SIGNATURE_FAULTS = ['full', 'readonly', 'detached']


@pytest.mark.parametrize('fault', params(SIGNATURE_FAULTS, ('full',)))
def test_a_drive_fault_at_the_signature_write_keeps_the_old_file_and_a_rerun_writes_it(fault, loop_drive, playbook,
                                                                                       proof_record):
    drive = loop_drive('ext4', size_mb=16)
    path = os.path.join(drive.mountpoint, 'SIGNATURE')
    old = b'version: 1.0\nsigningMethod: HmacSHA1\njobId: ABCDE\nsignature: old=\n'
    with open(path, 'wb') as handle:
        handle.write(old)
    apply_fault(fault, drive)
    task = signature_task(drive.mountpoint, job_id='ABCDE', manifest_src=MANIFEST_LF, secret_key=SECRET)
    proc = playbook.run(task, expect_rc=2)
    expected_message = {'full': 'no space left', 'readonly': 'read-only', 'detached': 'is not a mount point'}[fault]
    assert expected_message in proc.stdout.lower(), proc.stdout[-3000:]
    if fault == 'detached':
        assert os.listdir(drive.mountpoint) == []  # not written to the root file system
    repair(fault, drive)
    with open(path, 'rb') as handle:
        assert handle.read() == old  # the old file whole: no partial SIGNATURE
    assert [n for n in os.listdir(drive.mountpoint) if n not in ('lost+found', 'SIGNATURE', 'filler')] == []
    playbook.run(task)
    with open(MANIFEST_LF, 'rb') as handle:
        manifest = handle.read()
    with open(path, 'rb') as handle:
        assert signing.verify_signature_file(handle.read(), SECRET, manifest, 'ABCDE')[0]
    proof_record('SIGNATURE fault %s: SIGNATURE files partial' % fault, 0)
    proof_record('SIGNATURE fault %s: runs that converged' % fault, 1)
