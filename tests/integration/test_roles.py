"""Roles drive_prepare and job_status through the collection's playbooks, on real loop drives,
against the real local Import/Export service; and ``make demo`` (scripts/demo.py) end to end."""
import hashlib
import json
import os
import subprocess
import sys

from tests.integration.fixtures import REPO

PREPARE = os.path.join(REPO, 'playbooks', 'prepare_drives.yml')
POLL = os.path.join(REPO, 'playbooks', 'poll_jobs.yml')
RETURN_ADDRESS = {'name': 'Test Operator', 'street1': '1 Test St', 'city': 'Seattle', 'stateOrProvince': 'WA',
                  'postalCode': '98104', 'phoneNumber': '206-555-0100', 'country': 'USA'}


def fstab_digest():
    try:
        return hashlib.sha256(open('/etc/fstab', 'rb').read()).hexdigest()
    except OSError:
        return None


def inventory(tmp_path, hosts, service=None, **group_vars):
    """hosts: {name: [drive dicts]} -> path of a JSON inventory of group ie_drive_hosts."""
    group_vars.setdefault('drive_prepare_manifest_dir', str(tmp_path / 'manifests'))
    group_vars.setdefault('drive_prepare_manifest_defaults', {
        'accessKeyId': service.access_key if service else 'AKIAIOSFODNN7EXAMPLE', 'eraseDevice': True,
        'returnAddress': RETURN_ADDRESS})
    group_vars.setdefault('job_status_report_path', str(tmp_path / 'report.md'))
    if service:
        group_vars.update(drive_prepare_endpoint_url=service.url, drive_prepare_access_key=service.access_key,
                          drive_prepare_secret_key=service.secret_key, job_status_endpoint_url=service.url,
                          job_status_access_key=service.access_key, job_status_secret_key=service.secret_key)
    inv = {'all': {'children': {'ie_drive_hosts': {'vars': group_vars, 'hosts': {
        name: {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
               'drive_prepare_mount_root': str(tmp_path / 'mnt' / name), 'drive_prepare_drives': drives}
        for name, drives in hosts.items()}}}}}
    path = tmp_path / 'inventory.json'
    path.write_text(json.dumps(inv))
    return str(path)


def data_dir(tmp_path, name, files):
    root = tmp_path / 'data' / name
    for rel, content in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(content)
    return str(root)


def test_check_mode_changes_nothing_then_the_real_run_signs_the_drive_and_the_service_loads_it(
        loop_drive, playbook, ie_service, tmp_path):
    drive = loop_drive('ext4', size_mb=24, mount=False, workdir=tmp_path / 'd1')
    bucket = 'roles-test-bucket'
    _create_bucket(ie_service, bucket)
    src = data_dir(tmp_path, 'd1', {'a.txt': 'alpha\n', 'sub/b.txt': 'beta\n'})
    inv = inventory(tmp_path, {'host1': [{'name': 'd1', 'device': drive.device, 'data_src': src,
                                          'manifest': {'bucket': bucket}}]}, service=ie_service)
    mountpoint = str(tmp_path / 'mnt' / 'host1' / 'd1')
    before = fstab_digest()

    proc = playbook.run(PREPARE, inventory=inv, check=True)
    assert 'failed=0' in proc.stdout
    assert not os.path.ismount(mountpoint)
    assert not os.path.exists(os.path.join(str(tmp_path), 'manifests', 'host1-d1.yml'))
    drive.mount(readonly=True)
    assert sorted(os.listdir(drive.mountpoint)) == ['lost+found']  # check mode wrote nothing
    drive.umount()

    playbook.run(PREPARE, inventory=inv)
    sheet = json.loads((tmp_path / 'manifests' / 'host1-jobs.json').read_text())
    assert [(j['host'], j['drive'], j['fstype']) for j in sheet] == [('host1', 'd1', 'ext4')]
    job_id = sheet[0]['job_id']
    assert job_id and sheet[0]['device_id'].startswith('FS-')
    assert not os.path.ismount(mountpoint)
    assert fstab_digest() == before
    drive.mount(readonly=True)
    names = sorted(os.listdir(drive.mountpoint))
    signature = open(os.path.join(drive.mountpoint, 'SIGNATURE')).read()
    drive.umount()
    assert names == ['SIGNATURE', 'a.txt', 'lost+found', 'sub']
    assert signature.startswith('version:2.0\n') and ('jobId:%s\n' % job_id) in signature

    received = ie_service.receive(job_id, drive.device)
    assert 'matches' in received['signature'] and received['progress'] == 'Complete'
    ie_service.advance_clock(hours=3)  # the service's steps: Pending -> InProgress -> Complete
    proc = playbook.run(POLL, inventory=inv, extra_vars={
        'job_status_jobs': [{'job_id': job_id, 'host': 'host1', 'drive': 'd1'}],
        'job_status_wait': True, 'job_status_poll_interval': 0.5, 'job_status_wait_timeout': 60})
    report = (tmp_path / 'report.md').read_text()
    assert '| host1 | d1 | %s |' % job_id in report
    assert '- Complete: 1' in report
    assert '(first run: nothing to compare with)' in report


def _create_bucket(service, bucket):
    import boto3  # pylint: disable=import-outside-toplevel
    boto3.client('s3', endpoint_url=service.s3_url, region_name='us-east-1', aws_access_key_id=service.access_key,
                 aws_secret_access_key=service.secret_key).create_bucket(Bucket=bucket)


def test_a_drive_too_small_and_a_blank_drive_fail_with_their_names_and_stay_unmounted(loop_drive, playbook, ie_service,
                                                                                      tmp_path):
    small = loop_drive('fat32', size_mb=34, mount=False, workdir=tmp_path / 'small')
    blank = loop_drive(None, size_mb=8, mount=False, workdir=tmp_path / 'blank')
    big = tmp_path / 'data' / 'big'
    big.mkdir(parents=True)
    with open(str(big / 'huge.bin'), 'wb') as handle:
        handle.truncate(40 * 1024 * 1024)  # larger than the drive (apparent size counts)
    bucket = ie_service.new_bucket('small')
    inv = inventory(tmp_path, {
        'hosta': [{'name': 'small', 'device': small.device, 'data_src': str(big), 'manifest': {'bucket': bucket}}],
        'hostb': [{'name': 'blank', 'device': blank.device, 'data_src': str(big), 'manifest': {'bucket': bucket}}]},
        service=ie_service)
    before = fstab_digest()
    proc = playbook.run(PREPARE, inventory=inv, expect_rc=2)
    out = proc.stdout
    assert 'hosta' in out and 'use a larger drive or split the data' in out
    assert 'blank (%s)' % blank.device in out and 'Format it with a file system the service reads' in out
    # Both fail in the cheap checks, before any mount; nothing is mounted, fstab is untouched.
    assert not os.path.ismount(str(tmp_path / 'mnt' / 'hosta' / 'small'))
    assert 'Mount the drives' not in out
    assert fstab_digest() == before
    assert '%s' % small.device not in subprocess.run(['findmnt', '-rn', '-o', 'SOURCE'], capture_output=True,
                                                     text=True, check=False).stdout.split()


def test_make_demo_runs_end_to_end_and_cleans_up(tmp_path):
    env = dict(os.environ, TMPDIR=str(tmp_path))
    proc = subprocess.run([sys.executable, os.path.join(REPO, 'scripts', 'demo.py')], cwd=REPO, env=env,
                          capture_output=True, text=True, check=False, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert '[demo] PASSED' in out
    assert '- Complete: 3' in out
    assert out.count('SIGNATURE 2.0 for job') == 3
    assert 's3://demo-photos/ (3)' in out and 'photos/2025/harbour.jpg' in out
    # The reconcile of each loaded job reads its import log from the service's own S3 (job_status_s3_endpoint_url):
    # without it, boto3 went to AWS and every row said "reconcile failed".
    assert 'reconcile failed' not in out and '| 3 / 0 |' in out, out[-6000:]
    # Everything it made is gone: work dir, mounts, loop devices on its images.
    assert [n for n in os.listdir(str(tmp_path)) if n.startswith('ie-demo-')] == []
    assert str(tmp_path) not in subprocess.run(['losetup', '-a'], capture_output=True, text=True, check=False).stdout
    assert str(tmp_path) not in open('/proc/mounts').read()
