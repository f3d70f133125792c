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
