"""Role drive_prepare as a fleet tool: real ansible-playbook runs of playbooks/prepare_drives.yml on
loop drives, against the local Import/Export service.

- hosts work at the same time (load phases overlap; ratio measured);
- cheap checks (manifest fields, credentials/ValidateOnly, room in the drive's blocks and inodes)
  fail before any mount or copy;
- check mode says what it cannot check, and fails a drive too small when the size is known;
- a second run on unchanged drives reports changed=0 on every host (ext4, FAT32, NTFS);
- controller outputs default beside the inventory, directory 0700, manifests 0600;
- export drives: proven blank, formatted only when allowed, refused with files or a partition table.
"""
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time

import pytest

from ansible_collections.awsie.importexport.plugins.module_utils import blank
from tests.integration.fixtures import REPO

PREPARE = os.path.join(REPO, 'playbooks', 'prepare_drives.yml')
# Where the controller outputs go by default, below the inventory's directory: a hidden directory, so an
# inventory that is a directory does not read the manifests, job sheets and ledgers as inventory sources.
OUTPUTS = os.path.join('.awsie-importexport', 'manifests')
RETURN_ADDRESS = {'name': 'Test Operator', 'street1': '1 Test St', 'city': 'Seattle', 'stateOrProvince': 'WA',
                  'postalCode': '98104', 'phoneNumber': '206-555-0100', 'country': 'USA'}
RECAP = re.compile(r'^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', re.M)

# A callback that logs when each task started and ended on each host (JSON lines).
TIMING_CALLBACK = '''
from __future__ import annotations
import json, os, time
from ansible.plugins.callback import CallbackBase
DOCUMENTATION = """
name: ie_timing
type: aggregate
short_description: task start and end per host, for tests
description: JSON lines in IE_TIMING_LOG
"""
class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'ie_timing'
    CALLBACK_NEEDS_ENABLED = True
    def __init__(self):
        super().__init__()
        self.starts = {}
    def v2_runner_on_start(self, host, task):
        self.starts[(host.get_name(), task._uuid)] = time.time()
    def _end(self, result, status):
        key = (result._host.get_name(), result._task._uuid)
        with open(os.environ['IE_TIMING_LOG'], 'a') as handle:
            handle.write(json.dumps(dict(host=key[0], task=result._task.get_name(), status=status,
                                         start=self.starts.pop(key, time.time()), end=time.time())) + '\\n')
    def v2_runner_on_ok(self, result):
        self._end(result, 'ok')
    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._end(result, 'failed')
    def v2_runner_on_skipped(self, result):
        self._end(result, 'skipped')
'''


def recap(stdout):
    return {m.group(1): dict(ok=int(m.group(2)), changed=int(m.group(3)), unreachable=int(m.group(4)),
                             failed=int(m.group(5))) for m in RECAP.finditer(stdout)}


def timing_env(tmp_path):
    directory = tmp_path / 'callbacks'
    directory.mkdir(exist_ok=True)
    (directory / 'ie_timing.py').write_text(TIMING_CALLBACK)
    log = tmp_path / 'timing.jsonl'
    if log.exists():
        log.unlink()
    return str(log), {'ANSIBLE_CALLBACK_PLUGINS': str(directory), 'ANSIBLE_CALLBACKS_ENABLED': 'ie_timing',
                      'IE_TIMING_LOG': str(log)}


def timings(log):
    with open(log) as handle:
        return [json.loads(line) for line in handle]


def inventory(tmp_path, hosts, service, directory=None, **group_vars):
    """hosts: {name: [drives]} -> a YAML-compatible JSON inventory file in ``directory``
    (default tmp_path/inventory); manifests default beside it unless group_vars say otherwise."""
    group_vars.setdefault('drive_prepare_manifest_defaults', {
        'accessKeyId': service.access_key, 'eraseDevice': True, 'returnAddress': RETURN_ADDRESS})
    group_vars.update(drive_prepare_endpoint_url=service.url, drive_prepare_access_key=service.access_key,
                      drive_prepare_progress_interval=2)
    group_vars.setdefault('drive_prepare_secret_key', service.secret_key)
    directory = directory or (tmp_path / 'inventory')
    os.makedirs(str(directory), exist_ok=True)
    inv = {'ie_drive_hosts': {'vars': group_vars, 'hosts': {
        name: {'ansible_connection': 'local', 'ansible_python_interpreter': '{{ ansible_playbook_python }}',
               'drive_prepare_mount_root': str(tmp_path / 'mnt' / name), 'drive_prepare_drives': drives}
        for name, drives in hosts.items()}}}
    path = os.path.join(str(directory), 'hosts.yml')
    with open(path, 'w') as handle:
        json.dump(inv, handle)
    return path


def make_tree(root, files):
    """files: {relative path: bytes or int size}."""
    for rel, content in files.items():
        path = os.path.join(str(root), rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as handle:
            if isinstance(content, int):
                handle.write(os.urandom(content))
            else:
                handle.write(content)
    return str(root)


def listing(drive):
    """Names in the root of the drive's file system, read without mounting it (a mount namespace made
    elsewhere meanwhile may still hold a copy of the role's mount, and a second mount would be busy)."""
    kind = (drive.fstype or '').replace('fat32', 'vfat')
    argv, parse = {'ext4': (['debugfs', '-R', 'ls -p /'], blank.parse_debugfs_ls),
                   'vfat': (['mdir', '-b', '-i'], blank.parse_mdir),
                   'ntfs': (['ntfsls', '-f'], blank.parse_ntfsls)}[kind]
    proc = subprocess.run(argv + [drive.device] + (['::/'] if kind == 'vfat' else []), capture_output=True,
                          text=True, check=True)
    return sorted(n for n in parse(proc.stdout) if n not in ('.', '..'))


def load_phase(records, host):
    """(start, end) of a host's load: from the first to the last task whose name says load."""
    loads = [r for r in records if r['host'] == host and re.search(r'\bload', r['task'], re.I)
             and r['status'] != 'skipped']
    return min(r['start'] for r in loads), max(r['end'] for r in loads)


def test_hosts_load_at_the_same_time_and_a_second_run_changes_nothing_on_ext4_fat32_ntfs(
        loop_drive, playbook, ie_service, tmp_path):
    """Three hosts, one drive each; outputs beside the inventory (0700/0600); parallel loads; re-run changed=0."""
    bucket = ie_service.new_bucket('fleet')
    hosts = {}
    drives = {}
    for number, fstype in enumerate(['ext4', 'fat32', 'ntfs'], 1):
        name = 'host%d' % number
        drives[name] = loop_drive(fstype, size_mb=64, mount=False, workdir=tmp_path / ('d-' + name))
        src = make_tree(tmp_path / 'data' / name, dict(('part%d.bin' % i, 4 * 1024 * 1024) for i in range(6)))
        hosts[name] = [{'name': 'd1', 'device': drives[name].device, 'data_src': src, 'manifest': {'bucket': bucket}}]
    inv = inventory(tmp_path, hosts, ie_service)
    log, env = timing_env(tmp_path)

    first = playbook.run(PREPARE, inventory=inv, env=env)
    records = timings(log)
    phases = dict((host, load_phase(records, host)) for host in hosts)
    wall = max(end for _start, end in phases.values()) - min(start for start, _end in phases.values())
    ratio = sum(end - start for start, end in phases.values()) / wall
    print('parallel_ratio=%.2f over %d hosts (load phase wall %.1f s)' % (ratio, len(hosts), wall))
    # Every host's load phase overlaps every other's: host B does not wait for host A's last task.
    for host, (start, end) in phases.items():
        for other, (ostart, oend) in phases.items():
            assert host == other or (start < oend and ostart < end), (host, other, phases)
    assert ratio >= 2.0, phases

    # Controller outputs beside the inventory: directory 0700, manifests and job sheets 0600.
    out_dir = os.path.join(os.path.dirname(inv), OUTPUTS)
    assert stat.S_IMODE(os.stat(out_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(os.path.dirname(out_dir)).st_mode) == 0o700
    for name in os.listdir(out_dir):
        if name.endswith(('.yml', '.json')):
            assert stat.S_IMODE(os.stat(os.path.join(out_dir, name)).st_mode) == 0o600, name
    assert not [n for n in ('ie-manifests', '.awsie-importexport') if os.path.exists(os.path.join(REPO, 'playbooks', n))]
    for host, drive in drives.items():
        assert listing(drive) == sorted(['SIGNATURE'] + ['part%d.bin' % i for i in range(6)]
                                        + (['lost+found'] if drive.fstype == 'ext4' else [])), host

    sheets = dict((n, open(os.path.join(out_dir, n)).read()) for n in os.listdir(out_dir) if n.endswith('-jobs.json'))
    second = playbook.run(PREPARE, inventory=inv)
    assert sheets == dict((n, open(os.path.join(out_dir, n)).read()) for n in sheets)
    assert all(r['changed'] == 0 and r['failed'] == 0 for r in recap(second.stdout).values()), second.stdout[-3000:]
    again_check = playbook.run(PREPARE, inventory=inv, check=True)
    assert all(r['changed'] == 0 for r in recap(again_check.stdout).values()), again_check.stdout[-3000:]
    assert 'changed=' in first.stdout


def test_a_wrong_key_a_typo_or_findings_in_the_data_fail_before_any_mount_or_copy(loop_drive, playbook, ie_service, tmp_path):
    bucket = ie_service.new_bucket('cheap')
    drive = loop_drive('ext4', size_mb=24, mount=False)
    src = make_tree(tmp_path / 'data', {'a.txt': b'alpha\n', 'sub/b.txt': b'beta\n'})
    drives = [{'name': 'd1', 'device': drive.device, 'data_src': src, 'manifest': {'bucket': bucket}}]
    log, env = timing_env(tmp_path)

    inv = inventory(tmp_path, {'host1': drives}, ie_service, drive_prepare_secret_key='wrong' * 8)
    proc = playbook.run(PREPARE, inventory=inv, env=env, expect_rc=2)
    assert 'SignatureDoesNotMatch' in proc.stdout or 'signature' in proc.stdout.lower()
    ran = [r['task'] for r in timings(log) if r['status'] != 'skipped']
    assert not [t for t in ran if re.search(r'mount the drive|load', t, re.I)], ran
    assert listing(drive) == ['lost+found']

    typo = [dict(drives[0], manifest={'bucket': bucket, 'returnAdress': RETURN_ADDRESS})]
    inv = inventory(tmp_path, {'host1': typo}, ie_service)
    os.unlink(log)
    proc = playbook.run(PREPARE, inventory=inv, env=env, expect_rc=2)
    assert 'returnAdress' in proc.stdout and 'returnAddress' in proc.stdout  # the did-you-mean
    ran = [r['task'] for r in timings(log) if r['status'] != 'skipped']
    assert not [t for t in ran if re.search(r'mount the drive|load', t, re.I)], ran
    assert listing(drive) == ['lost+found']

    # Data S3 cannot take as it is: listed, nothing copied; with drive_prepare_allow_findings the rest loads.
    os.symlink('/etc/hostname', os.path.join(src, 'link-out'))
    with open(os.path.join(os.fsencode(src), b'caf\xe9.txt'), 'wb') as handle:
        handle.write(b'latin-1 name\n')
    inv = inventory(tmp_path, {'host1': drives}, ie_service)
    proc = playbook.run(PREPARE, inventory=inv, expect_rc=2)
    assert 'link-out: symlink' in proc.stdout and 'name-not-utf8' in proc.stdout, proc.stdout[-3000:]
    assert 'drive_prepare_allow_findings: true' in proc.stdout
    assert listing(drive) == ['lost+found']
    inv = inventory(tmp_path, {'host1': drives}, ie_service, drive_prepare_allow_findings=True)
    playbook.run(PREPARE, inventory=inv)
    assert listing(drive) == ['SIGNATURE', 'a.txt', 'lost+found', 'sub']


def test_two_drives_with_one_deviceid_fail_before_any_mount_naming_both(loop_drive, playbook, ie_service, tmp_path):
    """Drives cloned from one image share their file system UUID, hence the deviceId derived from it: the
    role would find one drive's job for the other and flip its manifest (found on the test bed, whose NTFS
    images made in the same second had one serial). Two hosts here, as in a fleet."""
    bucket = ie_service.new_bucket('clone')
    first = loop_drive('ext4', size_mb=24, mount=False, workdir=tmp_path / 'a')
    clone = loop_drive('ext4', size_mb=24, mount=False, workdir=tmp_path / 'b')
    uuid = subprocess.run(['blkid', '-o', 'value', '-s', 'UUID', first.device], capture_output=True, text=True,
                          check=True).stdout.strip()
    subprocess.run(['tune2fs', '-U', uuid, clone.device], capture_output=True, check=True)
    src = make_tree(tmp_path / 'data', {'a.txt': b'alpha\n'})
    hosts = {'host1': [{'name': 'a', 'device': first.device, 'data_src': src, 'manifest': {'bucket': bucket}}],
             'host2': [{'name': 'b', 'device': clone.device, 'data_src': src, 'manifest': {'bucket': bucket}}]}
    log, env = timing_env(tmp_path)
    proc = playbook.run(PREPARE, inventory=inventory(tmp_path, hosts, ie_service), env=env, expect_rc=2)
    assert 'host1/a, host2/b' in proc.stdout and 'tune2fs -U random' in proc.stdout, proc.stdout[-3000:]
    assert all(r['failed'] == 1 for r in recap(proc.stdout).values()), proc.stdout[-3000:]
    ran = [r['task'] for r in timings(log) if r['status'] != 'skipped']
    assert not [t for t in ran if re.search(r'mount the drive|load|create the jobs', t, re.I)], ran
    assert listing(first) == listing(clone) == ['lost+found']
    # Its own device_id in the inventory settles it.
    hosts['host2'][0]['device_id'] = 'CLONE-B'
    playbook.run(PREPARE, inventory=inventory(tmp_path, hosts, ie_service), check=True)


def test_room_is_counted_in_the_drives_blocks_and_check_mode_says_what_it_cannot_check(
        loop_drive, playbook, ie_service, tmp_path):
    bucket = ie_service.new_bucket('room')
    small = loop_drive('ext4', size_mb=20, mount=False, workdir=tmp_path / 'small')
    many = make_tree(tmp_path / 'many', dict(('f/%05d.txt' % i, b'x' * 100) for i in range(6000)))
    inv = inventory(tmp_path, {'host1': [{'name': 'small', 'device': small.device, 'data_src': many,
                                          'manifest': {'bucket': bucket}}]}, ie_service)
    log, env = timing_env(tmp_path)
    # 6,000 files of 100 bytes are 600 kB as file sizes but 6,000 inodes: more than the drive has.
    for check in (True, False):
        proc = playbook.run(PREPARE, inventory=inv, env=env, check=check, expect_rc=2)
        assert 'inodes' in proc.stdout and 'use a larger drive' in proc.stdout
    ran = [r['task'] for r in timings(log) if r['status'] != 'skipped']
    assert not [t for t in ran if re.search(r'mount the drive|load', t, re.I)], ran
    assert listing(small) == ['lost+found']

    # An unmounted NTFS drive: its free space cannot be read without mounting; check mode says so.
    ntfs = loop_drive('ntfs', size_mb=16, mount=False, workdir=tmp_path / 'ntfs')
    fits = make_tree(tmp_path / 'fits', {'a.bin': 1024 * 1024})
    too_big = make_tree(tmp_path / 'too-big', {'a.bin': 12 * 1024 * 1024, 'b.bin': 6 * 1024 * 1024})
    for src, expect_rc, words in ((fits, 0, 'NOT CHECKED'), (too_big, 2, 'the whole drive holds')):
        inv = inventory(tmp_path, {'host1': [{'name': 'n1', 'device': ntfs.device, 'data_src': src,
                                              'manifest': {'bucket': bucket}}]}, ie_service)
        proc = playbook.run(PREPARE, inventory=inv, check=True, expect_rc=expect_rc)
        assert words in proc.stdout, proc.stdout[-3000:]
    assert listing(ntfs) == []


def _partition(device):
    subprocess.run(['sfdisk', '-q', device], input='label: dos\n,\n', text=True, check=True, capture_output=True)


def test_an_export_drive_must_be_blank_and_is_formatted_only_when_allowed(loop_drive, playbook, ie_service, tmp_path):
    bucket = ie_service.new_bucket('export')
    blank = loop_drive(None, size_mb=24, mount=False, workdir=tmp_path / 'blank')
    used = loop_drive('ext4', size_mb=24, mount=True, workdir=tmp_path / 'used')
    with open(os.path.join(used.mountpoint, 'family-photos.jpg'), 'wb') as handle:
        handle.write(b'precious')
    used.umount()
    parted = loop_drive(None, size_mb=24, mount=False, workdir=tmp_path / 'parted')
    _partition(parted.device)
    manifest = {'fileSystem': 'NTFS', 'pinCode': '4711', 'logBucket': bucket,
                'operations': [{'exportBucket': bucket}]}
    host = {'host1': [{'name': 'e1', 'device': blank.device, 'job_type': 'Export', 'manifest': manifest}]}
    inv = inventory(tmp_path, host, ie_service)

    proc = playbook.run(PREPARE, inventory=inv, expect_rc=2)
    assert 'is blank' in proc.stdout and 'drive_prepare_format: true' in proc.stdout
    assert subprocess.run(['blkid', '-p', blank.device], capture_output=True, check=False).returncode == 2

    inv = inventory(tmp_path, host, ie_service, drive_prepare_format=True)
    proc = playbook.run(PREPARE, inventory=inv)
    blank.fstype = 'ntfs'
    assert listing(blank) == ['SIGNATURE']
    sheet = json.loads(open(os.path.join(os.path.dirname(inv), OUTPUTS, 'host1-jobs.json')).read())
    assert sheet[0]['job_type'] == 'Export' and sheet[0]['fstype'] == 'ntfs' and sheet[0]['job_id']
    manifest_file = os.path.join(os.path.dirname(inv), OUTPUTS, 'host1-e1.yml')
    assert stat.S_IMODE(os.stat(manifest_file).st_mode) == 0o600  # it holds the pinCode
    assert '4711' not in proc.stdout
    again = playbook.run(PREPARE, inventory=inv)
    assert recap(again.stdout)['host1']['changed'] == 0, again.stdout[-3000:]

    for drive, words in ((used, 'family-photos.jpg'), (parted, 'partition table')):
        inv = inventory(tmp_path, {'host1': [{'name': 'e2', 'device': drive.device, 'job_type': 'Export',
                                              'manifest': manifest}]}, ie_service, drive_prepare_format=True)
        proc = playbook.run(PREPARE, inventory=inv, expect_rc=2)
        assert words in proc.stdout and 'drive_prepare_force: true' in proc.stdout
    assert listing(used) == ['family-photos.jpg', 'lost+found']


@pytest.mark.parametrize('fstype', ['fat32'])
def test_a_fat32_drive_takes_no_file_over_4_gib(fstype, loop_drive, playbook, ie_service, tmp_path):
    bucket = ie_service.new_bucket('fat')
    drive = loop_drive(fstype, size_mb=40, mount=False)
    src = tmp_path / 'big'
    src.mkdir()
    with open(str(src / 'video.mkv'), 'wb') as handle:
        handle.truncate(5 * 1024 ** 3)  # sparse: 5 GiB apparent, no blocks here
    inv = inventory(tmp_path, {'host1': [{'name': 'f1', 'device': drive.device, 'data_src': str(src),
                                          'manifest': {'bucket': bucket}}]}, ie_service)
    proc = playbook.run(PREPARE, inventory=inv, check=True, expect_rc=2)
    assert 'video.mkv: too-big-for-filesystem' in proc.stdout and 'Mount the drives' not in proc.stdout


def test_ctrl_c_during_a_load_then_a_rerun_waits_for_that_load_and_finishes(loop_drive, playbook, ie_service, tmp_path):
    """The operator's Ctrl-C stops ansible-playbook, not the load on the host (async). The next run
    must not start a second load beside it: it waits for it, then completes the drive."""
    bucket = ie_service.new_bucket('ctrlc')
    drive = loop_drive('fat32', size_mb=96, mount=False)  # fusefat: a few MB/s, slow enough to interrupt
    names = ['part%02d.bin' % i for i in range(40)]
    src = make_tree(tmp_path / 'data', dict((name, 1024 * 1024) for name in names))
    inv = inventory(tmp_path, {'host1': [{'name': 'f1', 'device': drive.device, 'data_src': src,
                                          'manifest': {'bucket': bucket}}]}, ie_service)
    state = tmp_path / 'mnt' / 'host1' / '.ie-state'
    progress, record = state / 'host1-f1.progress.json', state / 'host1-f1.job'
    out = open(str(tmp_path / 'interrupted.txt'), 'w')
    proc = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', inv, PREPARE],
                            cwd=REPO, env=playbook.env(), stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while not (progress.exists() and record.exists()) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert progress.exists() and record.exists() and proc.poll() is None, open(out.name).read()[-3000:]
        assert json.loads(progress.read_text())['phase'] == 'loading'
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        out.close()
    assert proc.returncode != 0
    assert json.loads(progress.read_text())['phase'] == 'loading'  # the load goes on without ansible-playbook

    rerun = playbook.run(PREPARE, inventory=inv)
    assert re.search(r'\[host1\] f1: (still running from an earlier run|the load an earlier run left done)',
                     rerun.stdout), rerun.stdout[-3000:]
    assert listing(drive) == sorted(names + ['SIGNATURE'])
    ledger = os.path.join(os.path.dirname(inv), OUTPUTS, 'host1-f1.ledger.jsonl')
    with open(ledger) as handle:
        paths = [json.loads(line).get('path') for line in handle if line.strip()]
    assert sorted(p for p in paths if p) == names
    assert not record.exists()
    assert str(tmp_path) not in open('/proc/mounts').read()
    again = playbook.run(PREPARE, inventory=inv)
    assert recap(again.stdout)['host1']['changed'] == 0, again.stdout[-3000:]
