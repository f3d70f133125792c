"""ie_reconcile after the local service received a drive loaded by ie_load (ext4 loop drive, moto S3).

One clean job reconciles all verified; another has one file the service fails (its extent broken
with debugfs, so the service's read gets EUCLEAN), one object overwritten in S3 afterwards and one
line removed from a local copy of the log: the re-ship list holds exactly those three files.
"""
import json
import os
import random
import subprocess

import pytest

from ansible_collections.awsie.importexport.plugins.module_utils import ledger
from tests.support.service import import_manifest
from tests.unit.plugins.module_utils.test_load import write

pytestmark = pytest.mark.root

LOAD_PLAY = '''
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Load the drive
      awsie.importexport.ie_load:
        src: "{{ src }}"
        dest: "{{ dest }}"
        manifest: {prefix: imp/}
        ledger: "{{ ledger }}"
'''

RECONCILE_PLAY = '''
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Reconcile
      awsie.importexport.ie_reconcile:
        ledger: "{{ ledger }}"
        log_bucket: "{{ log_bucket | default(omit) }}"
        log_key: "{{ log_key | default(omit) }}"
        log_src: "{{ log_src | default(omit) }}"
        verify_objects: true
        bucket: "{{ bucket }}"
        reship_dest: "{{ reship }}"
        s3_endpoint_url: "{{ s3 }}"
        access_key: "{{ access_key }}"
        secret_key: "{{ secret_key }}"
      register: landed
    - name: Keep the result
      ansible.builtin.copy:
        content: "{{ landed | to_json }}"
        dest: "{{ out }}"
      check_mode: false
'''


def loaded_drive(svc, loop_drive, playbook, tmp_path, files=25):
    """A job, a drive loaded by ie_load with its SIGNATURE, unmounted; (job_id, bucket, drive, ledger path)."""
    bucket = svc.new_bucket('rec')
    created = svc.client().create_job(JobType='Import', Manifest=import_manifest(svc.access_key, bucket, 'prefix: imp/\n'),
                                      ValidateOnly=False)
    src = str(tmp_path / 'src')
    rng = random.Random(7)
    for index in range(files):
        write(src, 'dir%d/file%02d.bin' % (index % 3, index), os.urandom(rng.randint(1, 9000)))
    drive = loop_drive('ext4', size_mb=64)
    ledger_path = str(tmp_path / 'manifests' / 'drive1.ledger.jsonl')
    playbook.run(LOAD_PLAY, extra_vars={'src': src, 'dest': drive.mountpoint, 'ledger': ledger_path})
    write(drive.mountpoint, 'SIGNATURE', created['SignatureFileContents'].encode())
    drive.umount()
    return created['JobId'], bucket, drive, ledger_path


def reconcile(svc, playbook, tmp_path, bucket, ledger_path, **log):
    out = str(tmp_path / 'reconciled.json')
    names = dict(log, ledger=ledger_path, bucket=bucket, reship=str(tmp_path / 'drive1.reship.jsonl'), s3=svc.s3_url,
                 access_key=svc.access_key, secret_key=svc.secret_key, out=out)
    proc = playbook.run(RECONCILE_PLAY, extra_vars=names)
    assert svc.secret_key not in proc.stdout
    with open(out) as handle:
        return json.load(handle), ledger.read(names['reship'])


def test_after_the_service_loads_a_drive_reconcile_says_all_verified(ie_service, loop_drive, playbook, tmp_path):
    job_id, bucket, drive, ledger_path = loaded_drive(ie_service, loop_drive, playbook, tmp_path)
    summary = ie_service.receive(job_id, drive.image)
    assert summary['progress'] == 'Complete'
    result, reship = reconcile(ie_service, playbook, tmp_path, bucket, ledger_path,
                               log_bucket=summary['log_bucket'], log_key=summary['log_key'])
    assert result['all_verified'] and result['objects_checked'] and result['reship_count'] == 0
    assert result['counts'] == {'verified': 25, 'missing': 0, 'different': 0, 'failed': 0, 'ignored': 0,
                                'unexpected': 0, 'total': 25}
    assert result['log'] == 's3://%s/%s' % (summary['log_bucket'], summary['log_key']) and reship.records == {}


def test_overwritten_object_removed_log_line_and_failed_file_are_exactly_the_reship_list(
        ie_service, loop_drive, playbook, tmp_path):
    job_id, bucket, drive, ledger_path = loaded_drive(ie_service, loop_drive, playbook, tmp_path)
    records = ledger.read(ledger_path).records
    broken, overwritten, unlogged = 'dir0/file03.bin', 'dir1/file04.bin', 'dir2/file05.bin'
    # The service will fail to read this one: its extent points outside the file system.
    subprocess.run(['debugfs', '-w', '-R', 'sif /%s block[5] 0x7ffffff' % broken, drive.image], check=True,
                   capture_output=True)
    summary = ie_service.receive(job_id, drive.image)
    assert summary['progress'] == 'SuccessWithErrors' and summary['error_count'] == 1
    s3 = ie_service.s3_client()
    s3.put_object(Bucket=bucket, Key=records[overwritten]['key'], Body=b'someone else wrote this')
    log = s3.get_object(Bucket=summary['log_bucket'], Key=summary['log_key'])['Body'].read().decode()
    kept = [line for line in log.splitlines(True) if not line.split(',')[1:2] == [unlogged]]
    assert len(kept) == len(log.splitlines()) - 1
    local = tmp_path / 'import-log-copy.csv'
    local.write_text(''.join(kept))
    result, reship = reconcile(ie_service, playbook, tmp_path, bucket, ledger_path, log_src=str(local))
    assert not result['all_verified']
    assert result['counts'] == {'verified': 22, 'missing': 1, 'different': 1, 'failed': 1, 'ignored': 0,
                                'unexpected': 0, 'total': 25}
    assert list(result['failed_by_code']) == ['DeviceError Structure needs cleaning']
    assert {p: r['reason'] for p, r in reship.records.items()} == {broken: 'failed', overwritten: 'different',
                                                                   unlogged: 'missing'}
    assert reship.records[overwritten]['md5'] == records[overwritten]['md5']
    # The re-ship list is a source filter: ie_plan plans exactly those files for a new drive.
    plan = playbook.run('''
- hosts: localhost
  gather_facts: false
  tasks:
    - awsie.importexport.ie_plan:
        src: "{{ src }}"
        files_from: "{{ reship }}"
        drive_size: 100000000
      register: plan
    - ansible.builtin.copy: {content: "{{ plan | to_json }}", dest: "{{ out }}"}
''', extra_vars={'src': str(tmp_path / 'src'), 'reship': str(tmp_path / 'drive1.reship.jsonl'),
                 'out': str(tmp_path / 'plan.json')})
    assert plan.returncode == 0
    planned = json.load(open(tmp_path / 'plan.json'))
    assert planned['files'] == 3 and planned['drives_needed'] == 1


def test_reading_the_log_needs_boto3_or_a_local_copy(playbook, tmp_path):
    proc = playbook.run('''
- hosts: localhost
  gather_facts: false
  tasks:
    - awsie.importexport.ie_reconcile:
        ledger: /nonexistent
''', expect_rc=2)
    assert 'one of the following is required: log_src, log_bucket' in proc.stdout


LOCAL_PLAY = '''
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Reconcile a local log, writing the re-ship list
      awsie.importexport.ie_reconcile:
        ledger: "{{ ledger }}"
        log_src: "{{ log_src }}"
        reship_dest: "{{ reship }}"
      register: landed
      ignore_errors: true
    - name: Keep the result
      ansible.builtin.copy:
        content: "{{ landed | to_json }}"
        dest: "{{ out }}"
'''


def test_reship_list_written_once_never_through_a_link_and_a_directory_there_is_a_clear_error(playbook, tmp_path):
    """The re-ship list goes through fileio.sync_file: unchanged on a re-run, a symbolic link at
    reship_dest replaced (its target untouched), a directory there a message naming it (before:
    'ie_reconcile failed unexpectedly: IsADirectoryError')."""
    ledger_path = str(tmp_path / 'drive1.ledger.jsonl')
    records = [{'path': p, 'key': 'imp/' + p, 'size': 5, 'mtime_ns': 1, 'md5': 'a' * 32} for p in ('a.txt', 'b.txt')]
    with open(ledger_path, 'wb') as handle:
        handle.write(ledger.dumps(records))
    log_src = tmp_path / 'import-log.csv'
    log_src.write_text('DateTime,File,Status,Code,Key,MD5,Bytes,Content-Type\n'
                       'T,a.txt,Loaded,200,imp/a.txt,%s,5,text/plain\n' % ('a' * 32))

    def run(reship):
        out = str(tmp_path / 'result.json')
        playbook.run(LOCAL_PLAY, extra_vars=dict(ledger=ledger_path, log_src=str(log_src), reship=reship, out=out))
        with open(out) as handle:
            return json.load(handle)

    reship = str(tmp_path / 'drive1.reship.jsonl')
    first = run(reship)
    assert not first.get('failed') and first['changed'], first
    assert sorted(ledger.read(reship).records) == ['b.txt']
    assert not run(reship)['changed']

    target = tmp_path / 'elsewhere.txt'
    target.write_text('not a re-ship list')
    link = tmp_path / 'link.reship.jsonl'
    link.symlink_to(target)
    assert run(str(link))['changed']
    assert not link.is_symlink() and sorted(ledger.read(str(link)).records) == ['b.txt']
    assert target.read_text() == 'not a re-ship list'

    directory = tmp_path / 'a-directory'
    directory.mkdir()
    failed = run(str(directory))
    assert failed['failed'] and 'unexpectedly' not in failed['msg'], failed['msg']
    assert str(directory) in failed['msg'] and 'directory' in failed['msg'], failed['msg']
