"""ie_load through ansible-playbook onto real loop drives: ext4 (kernel), FAT32 (fusefat), NTFS (ntfs-3g).

The ledger is kept on the controller (the action plugin); runs are killed with SIGKILL at random
moments and re-run until the ledger equals the source.
"""
import json
import os
import random
import signal
import subprocess
import time

import pytest

from ansible_collections.awsie.importexport.plugins.module_utils import ledger, load, s3keys
from tests.support.playbooks import BIN, REPO
from tests.unit.plugins.module_utils.test_load import drive_files, expected_ledger, write

pytestmark = pytest.mark.root
RULE = s3keys.KeyRule('imp/', {}, [r'\.swp$'])

PLAY = '''
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Load
      awsie.importexport.ie_load:
        src: "{{ src }}"
        dest: "{{ dest }}"
        manifest: {prefix: imp/, ignore: ['\\.swp$']}
        ledger: "{{ ledger }}"
        progress_path: "{{ progress | default(omit) }}"
      register: loaded
    - name: Keep the result
      ansible.builtin.copy:
        content: "{{ loaded | to_json }}"
        dest: "{{ out }}"
      check_mode: false
'''


def source_tree(root, rng, small=300, big=3, big_mb=3):
    for index in range(small):
        write(root, 'd%d/s%d/f%03d.dat' % (index % 5, index % 3, index), os.urandom(rng.randint(0, 30000)))
    for index in range(big):
        write(root, 'big/%d.bin' % index, os.urandom(big_mb * 1024 * 1024))
    write(root, 'empty', b'')
    write(root, 'notes.swp', b'ignored')
    os.symlink('/etc/passwd', os.path.join(root, 'outside'))


def run_load(playbook, tmp_path, src, dest, ledger_path, check=False, expect_rc=0):
    out = str(tmp_path / 'result.json')
    if os.path.exists(out):
        os.unlink(out)
    playbook.run(PLAY, extra_vars={'src': src, 'dest': dest, 'ledger': ledger_path, 'out': out}, check=check,
                 expect_rc=expect_rc)
    with open(out) as handle:
        return json.load(handle)


def test_check_real_again_and_again_in_check_mode_on_ext4(loop_drive, playbook, tmp_path):
    drive = loop_drive('ext4', size_mb=128)
    src, ledger_path = str(tmp_path / 'src'), str(tmp_path / 'manifests' / 'drive1.ledger.jsonl')
    source_tree(src, random.Random(1), small=60, big=1)
    write(drive.mountpoint, 'SIGNATURE', b'signature')
    write(drive.mountpoint, 'mine.txt', b'user file')
    checked = run_load(playbook, tmp_path, src, drive.mountpoint, ledger_path, check=True)
    assert checked['changed'] and checked['copied'] == 62 and not os.path.exists(ledger_path)
    assert sorted(drive_files(drive.mountpoint)) == ['SIGNATURE', 'mine.txt']
    real = run_load(playbook, tmp_path, src, drive.mountpoint, ledger_path)
    assert real['changed'] and real['copied'] == 62 and real['ledger_changed'] and real['ledger'] == ledger_path
    assert real['excluded'] == {'ignored': 1, 'symlink': 1}
    assert ledger.read(ledger_path).records == expected_ledger(src, RULE)
    again = run_load(playbook, tmp_path, src, drive.mountpoint, ledger_path)
    assert not again['changed'] and (again['copied'], again['skipped_files'], again['bytes']) == (0, 62, 0)
    assert not again['ledger_changed']
    again_check = run_load(playbook, tmp_path, src, drive.mountpoint, ledger_path, check=True)
    assert not again_check['changed'] and again_check['copied'] == 0
    files = drive_files(drive.mountpoint)
    assert files['SIGNATURE'] == b'signature' and files['mine.txt'] == b'user file' and 'lost+found' in os.listdir(drive.mountpoint)


def parents():
    """{pid: parent pid} of every process."""
    found = {}
    for pid in os.listdir('/proc'):
        try:
            with open('/proc/%s/stat' % pid, 'rb') as handle:
                found[int(pid)] = int(handle.read().rsplit(b')', 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return found


def descendants(roots):
    """The processes under ``roots`` (never those of other runs on this machine: tests, demos)."""
    tree = parents()
    found = set()
    for pid in tree:
        chain, seen = pid, set()
        while chain > 1 and chain not in seen:
            if chain in roots:
                found.add(pid)
                break
            seen.add(chain)
            chain = tree.get(chain, 0)
    return found - set(roots)


def module_pids(root):
    """ie_load module processes started by the ansible-playbook process ``root``."""
    pids = []
    for pid in descendants({root}):
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as handle:
                cmdline = handle.read()
        except OSError:
            continue
        if b'AnsiballZ_ie_load' in cmdline:
            pids.append(pid)
    return pids


@pytest.mark.parametrize('fstype', ['ext4', 'fat32', 'ntfs'])
def test_loads_killed_at_random_points_converge_with_the_ledger_equal_to_the_source(fstype, loop_drive, playbook, tmp_path):
    rng = random.Random('kill-%s' % fstype)
    drive = loop_drive(fstype, size_mb=160)
    src, ledger_path = str(tmp_path / 'src'), str(tmp_path / 'manifests' / 'drive.ledger.jsonl')
    source_tree(src, rng, small=250, big=4, big_mb=4)
    out = str(tmp_path / 'result.json')
    cmd = [os.path.join(BIN, 'ansible-playbook'), '-i', playbook.inventory, str(tmp_path / 'play.yml'),
           '-e', json.dumps({'src': src, 'dest': drive.mountpoint, 'ledger': ledger_path, 'out': out})]
    with open(tmp_path / 'play.yml', 'w') as handle:
        handle.write(PLAY)
    killed = 0
    for _attempt in range(4):
        proc = subprocess.Popen(cmd, cwd=REPO, env=playbook.env(), stdout=subprocess.PIPE,  # pylint: disable=consider-using-with
                                stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        pids = []
        while not pids and proc.poll() is None and time.monotonic() < deadline:
            pids = module_pids(proc.pid)
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 1.5))
        for pid in module_pids(proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass  # it ended between the look and the kill
        output = proc.communicate(timeout=120)[0].decode(errors='replace')
        # Whatever the moment: every file under its real name on the drive is complete.
        for rel, data in drive_files(drive.mountpoint).items():
            if rel.split('/')[0] != 'lost+found' and not load.is_temp_name(rel.rsplit('/', 1)[-1]):
                with open(os.path.join(src, rel), 'rb') as handle:
                    assert data == handle.read(), (rel, output[-3000:])
    assert killed, 'no run was killed while it loaded; the test proved nothing'
    known = len(ledger.read(ledger_path).records) if os.path.exists(ledger_path) else 0
    final = run_load(playbook, tmp_path, src, drive.mountpoint, ledger_path)
    # What the killed runs recorded (merged on the controller) is not copied again.
    assert final['skipped_files'] == known and final['copied'] == 255 - known and not final['failed_files']
    expected = expected_ledger(src, RULE)
    assert ledger.read(ledger_path).records == expected
    on_drive = drive_files(drive.mountpoint)
    assert not [n for n in on_drive if load.is_temp_name(n.rsplit('/', 1)[-1])]
    assert sorted(n for n in on_drive if not n.startswith('lost+found/')) == sorted(expected)
    again = run_load(playbook, tmp_path, src, drive.mountpoint, ledger_path)
    assert (again['changed'], again['copied'], again['skipped_files']) == (False, 0, 255)


ASYNC_PLAY = '''
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Load in the background, the previous ledger sent from the controller
      awsie.importexport.ie_load:
        src: "{{ src }}"
        dest: "{{ dest }}"
        prefix: imp/
        ledger: "{{ ledger }}"
        ledger_dest: "{{ host_ledger }}"
        progress_path: "{{ progress }}"
      async: 600
      poll: 1
      register: loaded
    - name: Bring the new ledger back beside the manifest
      ansible.builtin.fetch:
        src: "{{ host_ledger }}"
        dest: "{{ ledger }}"
        flat: true
    - name: Keep the result
      ansible.builtin.copy:
        content: "{{ loaded | to_json }}"
        dest: "{{ out }}"
      check_mode: false
'''


def test_async_load_keeps_the_ledger_on_the_host_for_fetch(loop_drive, playbook, tmp_path):
    drive = loop_drive('ext4', size_mb=64)
    src = str(tmp_path / 'src')
    source_tree(src, random.Random(2), small=30, big=1, big_mb=1)
    names = {'src': src, 'dest': drive.mountpoint, 'ledger': str(tmp_path / 'c' / 'drive.ledger.jsonl'),
             'host_ledger': str(tmp_path / 'host.ledger.jsonl'), 'progress': str(tmp_path / 'progress.json'),
             'out': str(tmp_path / 'out.json')}
    playbook.run(ASYNC_PLAY, extra_vars=names)
    first = json.load(open(names['out']))
    assert first['copied'] == 33 and first['finished']  # notes.swp too: no ignore here
    assert ledger.read(names['ledger']).records == expected_ledger(src, s3keys.KeyRule('imp/'))
    progress = json.load(open(names['progress']))
    assert progress['phase'] == 'done' and progress['files_done'] == 33
    os.unlink(names['host_ledger'])  # the host forgot: the controller's copy is sent again
    playbook.run(ASYNC_PLAY, extra_vars=names)
    second = json.load(open(names['out']))
    assert (second['copied'], second['skipped_files']) == (0, 33)


def test_async_without_a_host_ledger_path_is_refused(loop_drive, playbook, tmp_path):
    drive = loop_drive('ext4', size_mb=32)
    proc = playbook.run(ASYNC_PLAY.replace('ledger_dest: "{{ host_ledger }}"', ''), expect_rc=2, extra_vars={
        'src': str(tmp_path), 'dest': drive.mountpoint, 'ledger': str(tmp_path / 'l.jsonl'),
        'host_ledger': str(tmp_path / 'h'), 'progress': str(tmp_path / 'p'), 'out': str(tmp_path / 'o')})
    assert 'with async, set ledger_dest' in proc.stdout


def test_not_a_mount_point_is_refused(playbook, tmp_path):
    os.makedirs(tmp_path / 'src')
    os.makedirs(tmp_path / 'empty-mountpoint')
    proc = playbook.run(PLAY, expect_rc=2, extra_vars={'src': str(tmp_path / 'src'), 'dest': str(tmp_path / 'empty-mountpoint'),
                                                       'ledger': str(tmp_path / 'l'), 'out': str(tmp_path / 'o')})
    assert 'is not a mount point' in proc.stdout and not os.path.exists(tmp_path / 'l')


START_PLAY = '''
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Load in the background
      awsie.importexport.ie_load:
        src: "{{ src }}"
        dest: "{{ dest }}"
        prefix: imp/
        ledger: "{{ ledger }}"
        ledger_dest: "{{ host_ledger }}"
        progress_path: "{{ progress }}"
      async: 600
      poll: 0
      register: started
    - name: Keep the job id
      ansible.builtin.copy:
        content: "{{ started.ansible_job_id }}"
        dest: "{{ out }}"
'''

WAIT_PLAY = '''
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Wait for the load
      awsie.importexport.ie_wait:
        jobs: [{jid: "{{ jid }}", name: drive1, progress_path: "{{ progress }}"}]
        interval: 5
        timeout: 90
'''


def job_pids(jid):
    """Processes of an async job: async_wrapper's two (its job id's head is one of their arguments)
    and the module they run, with its children - none of other runs."""
    head = jid.rpartition('.')[0].encode()
    wrappers = []
    for pid in os.listdir('/proc'):
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as handle:
                if head in handle.read().split(b'\0'):
                    wrappers.append(int(pid))
        except (OSError, ValueError):
            continue
    return wrappers + sorted(descendants(set(wrappers)))


def test_ie_wait_reports_a_killed_async_load_instead_of_waiting_for_ever(loop_drive, playbook, tmp_path):
    """kill -9 of a background load (what a host restart does to it): ie_wait says the job stopped
    without a result, at once, and a re-run of the load completes the drive."""
    drive = loop_drive('fat32', size_mb=96)  # fusefat: a few MB/s, slow enough to kill half-way
    src = str(tmp_path / 'src')
    names = ['part%02d.bin' % i for i in range(40)]
    for name in names:
        write(src, name, os.urandom(1024 * 1024))
    given = {'src': src, 'dest': drive.mountpoint, 'ledger': str(tmp_path / 'c' / 'drive.ledger.jsonl'),
             'host_ledger': str(tmp_path / 'host.ledger.jsonl'), 'progress': str(tmp_path / 'progress.json'),
             'out': str(tmp_path / 'jid.txt')}
    playbook.run(START_PLAY, extra_vars=given)
    jid = open(given['out']).read().strip()
    deadline = time.monotonic() + 120
    while not os.path.exists(given['progress']) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert json.load(open(given['progress']))['phase'] == 'loading'
    pids = job_pids(jid)
    assert len(pids) >= 3, pids  # watcher, runner, module: the load is still going
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    status = json.load(open(os.path.expanduser('~/.ansible_async/%s' % jid)))
    assert status.get('started') and not status.get('finished')  # nobody will ever finish it
    started = time.monotonic()
    waited = playbook.run(WAIT_PLAY, extra_vars={'jid': jid, 'progress': given['progress']}, expect_rc=2)
    assert 'stopped without a result' in waited.stdout, waited.stdout[-3000:]
    assert time.monotonic() - started < 60  # not the 90 s timeout
    assert not os.path.exists(os.path.expanduser('~/.ansible_async/%s' % jid))
    rerun = run_load(playbook, tmp_path, src, drive.mountpoint, given['ledger'])
    assert not rerun['failed_files'] and rerun['files'] == 40
    assert sorted(n for n in drive_files(drive.mountpoint) if not load.is_temp_name(n)) == names


def test_ie_wait_finds_the_job_where_async_wrapper_put_it_when_home_is_not_the_passwd_home(loop_drive, playbook, tmp_path):
    """async_wrapper expands ~/.ansible_async with HOME; ie_wait must look in the same place and not
    in the passwd home (sudo without -H, AWX's own HOME). It said 'the status file is gone' before."""
    drive = loop_drive('ext4', size_mb=64)
    src = str(tmp_path / 'src')
    for index in range(5):
        write(src, 'part%d.bin' % index, os.urandom(256 * 1024))
    home = tmp_path / 'home'
    home.mkdir()
    given = {'src': src, 'dest': drive.mountpoint, 'ledger': str(tmp_path / 'c' / 'drive.ledger.jsonl'),
             'host_ledger': str(tmp_path / 'host.ledger.jsonl'), 'progress': str(tmp_path / 'progress.json'),
             'out': str(tmp_path / 'jid.txt')}
    env = {'HOME': str(home)}
    playbook.run(START_PLAY, extra_vars=given, env=env)
    jid = open(given['out']).read().strip()
    assert os.path.exists(str(home / '.ansible_async' / jid))
    waited = playbook.run(WAIT_PLAY, extra_vars={'jid': jid, 'progress': given['progress']}, env=env)
    assert 'is gone' not in waited.stdout
    assert sorted(drive_files(drive.mountpoint)) == ['part%d.bin' % index for index in range(5)]
