"""ie_job against the real local service, through real ansible-playbook runs."""
import json

from tests.integration.jobs_helpers import all_jobs, quiet_client, run_tasks
from tests.integration.service_fixtures import export_manifest, import_manifest

FOUR_STEPS = '''
- name: Check mode validates and creates nothing
  awsie.importexport.ie_job:
    manifest_src: "{{ manifest_path }}"
  check_mode: true
  register: r_check
- name: Create
  awsie.importexport.ie_job:
    manifest_src: "{{ manifest_path }}"
  register: r_create
- name: Again, the same job
  awsie.importexport.ie_job:
    manifest_src: "{{ manifest_path }}"
  register: r_again
- name: Again in check mode, not changed
  awsie.importexport.ie_job:
    manifest_src: "{{ manifest_path }}"
  check_mode: true
  register: r_again_check
- name: The same manifest with CRLF line ends and other spacing, given as content
  awsie.importexport.ie_job:
    manifest_content: "{{ manifest_crlf }}"
  register: r_crlf
- name: A second drive, with a lookup cache
  awsie.importexport.ie_job:
    manifest_content: "{{ manifest2 }}"
    lookup_cache: "{{ cache_path }}"
  register: r_cache1
- name: The second drive again, the cache spares the first drive's GetStatus
  awsie.importexport.ie_job:
    manifest_content: "{{ manifest2 }}"
    lookup_cache: "{{ cache_path }}"
  register: r_cache2
- name: The first drive again, with the cache
  awsie.importexport.ie_job:
    manifest_src: "{{ manifest_path }}"
    lookup_cache: "{{ cache_path }}"
  register: r_cache3
'''


def test_create_is_idempotent_and_check_mode_creates_nothing(playbook, ie_service, tmp_path):
    bucket = ie_service.new_bucket()
    manifest = import_manifest(ie_service.access_key, bucket, device_id='WD-1001')
    path = tmp_path / 'drive1.yml'
    path.write_text(manifest)
    crlf = manifest.replace('bucket: ', 'bucket:    ').replace('\n', '\r\n')
    manifest2 = import_manifest(ie_service.access_key, bucket, device_id='WD-1002')
    cache_path = tmp_path / 'lookup-cache.json'
    r = run_tasks(playbook, ie_service, FOUR_STEPS, dict(manifest_path=str(path), manifest_crlf=crlf,
                                                         manifest2=manifest2, cache_path=str(cache_path)))

    assert r['r_check']['changed'] and r['r_check']['action'] == 'validated' and r['r_check']['job_id'] is None
    assert 'erased' in r['r_check']['warning_message']
    created = r['r_create']
    assert created['changed'] and created['action'] == 'created' and len(created['job_id']) == 5
    assert created['signature_file_contents'] == ('version:2.0\nsigningMethod:HmacSHA1\njobId:%s\nsignature:%s\n'
                                                  % (created['job_id'], created['signature']))
    assert created['api_calls']['by_action']['CreateJob'] == 1
    for name in ('r_again', 'r_again_check', 'r_crlf'):
        assert r[name]['changed'] is False and r[name]['job_id'] == created['job_id'], name
        assert r[name]['signature'] == created['signature']
        assert 'CreateJob' not in r[name]['api_calls']['by_action']
    second = r['r_cache1']
    assert second['changed'] and second['api_calls']['by_action']['GetStatus'] == 1  # the first drive's job
    assert r['r_cache2']['changed'] is False and r['r_cache2']['job_id'] == second['job_id']
    assert r['r_cache2']['api_calls']['by_action']['GetStatus'] == 1  # only this drive's job, not both
    assert r['r_cache3']['changed'] is False and r['r_cache3']['job_id'] == created['job_id']
    assert r['r_cache3']['api_calls']['by_action']['GetStatus'] == 1
    cached = json.loads(cache_path.read_text())
    assert cached['owner']['access_key'] == ie_service.access_key and ie_service.secret_key not in cache_path.read_text()
    assert cached['jobs'] == {created['job_id']: {'device_id': 'WD-1001', 'job_type': 'Import'},
                              second['job_id']: {'device_id': 'WD-1002', 'job_type': 'Import'}}
    jobs = all_jobs(ie_service)
    assert sorted(j['job_id'] for j in jobs) == sorted([created['job_id'], second['job_id']])


UPDATE = '''
- name: Changed manifest for a known drive is an update
  awsie.importexport.ie_job:
    manifest_content: "{{ changed_manifest }}"
  register: r_update
- name: Update by job id in check mode is validated only
  awsie.importexport.ie_job:
    job_id: "{{ r_update.job_id | lower }}"
    manifest_content: "{{ original }}"
  check_mode: true
  register: r_update_check
'''

REFUSED = '''
- name: Changing the manifest after the drive arrived
  awsie.importexport.ie_job:
    manifest_content: "{{ original }}"
  register: r_refused
  ignore_errors: true
'''


def test_changed_manifest_updates_until_the_drive_arrives_then_fails_clearly(playbook, ie_service, tmp_path):
    bucket = ie_service.new_bucket()
    original = import_manifest(ie_service.access_key, bucket, device_id='WD-2002')
    changed = import_manifest(ie_service.access_key, bucket, extra='prefix: batch2/\n', device_id='WD-2002')
    job = quiet_client(ie_service).create_job('Import', original)
    r = run_tasks(playbook, ie_service, UPDATE, dict(changed_manifest=changed, original=original))
    update = r['r_update']
    assert update['changed'] and update['action'] == 'updated' and update['job_id'] == job['job_id']
    assert update['signature'] != job['signature']
    assert r['r_update_check']['changed'] and r['r_update_check']['action'] == 'validated'
    status = quiet_client(ie_service).get_status(job['job_id'])
    assert status['current_manifest'] == changed  # check mode did not update
    assert len(all_jobs(ie_service)) == 1

    drive = tmp_path / 'drive'
    drive.mkdir()
    (drive / 'SIGNATURE').write_text(update['signature_file_contents'])
    (drive / 'data.txt').write_text('hello\n')
    ie_service.receive(job['job_id'], str(drive))
    r = run_tasks(playbook, ie_service, REFUSED, dict(original=original))
    refused = r['r_refused']
    assert refused['failed'] and refused['job_id'] == job['job_id']
    assert 'can no longer be updated' in refused['msg'] and 'UnableToUpdateJobIdException' in refused['msg']
    assert len(all_jobs(ie_service)) == 1


CANCEL = '''
- name: Cancel in check mode
  awsie.importexport.ie_job:
    state: absent
    job_id: "{{ job_id }}"
  check_mode: true
  register: r_cancel_check
- name: Cancel
  awsie.importexport.ie_job:
    state: absent
    job_id: "{{ job_id }}"
  register: r_cancel
- name: Cancel again
  awsie.importexport.ie_job:
    state: absent
    job_id: "{{ job_id }}"
  register: r_cancel_again
- name: Cancel by manifest (the drive's live job)
  awsie.importexport.ie_job:
    state: absent
    manifest_content: "{{ other }}"
  register: r_cancel_by_manifest
- name: After cancelling, present creates a new job for the drive
  awsie.importexport.ie_job:
    manifest_content: "{{ other }}"
  register: r_recreate
'''


def test_absent_cancels_once_by_id_or_by_drive(playbook, ie_service):
    bucket = ie_service.new_bucket()
    client = quiet_client(ie_service)
    first = client.create_job('Import', import_manifest(ie_service.access_key, bucket, device_id='WD-3003'))
    other = import_manifest(ie_service.access_key, bucket, device_id='WD-3004')
    second = client.create_job('Import', other)
    r = run_tasks(playbook, ie_service, CANCEL, dict(job_id=first['job_id'], other=other))
    assert r['r_cancel_check']['changed'] and r['r_cancel_check']['action'] == 'cancel'
    assert r['r_cancel']['changed'] and r['r_cancel']['canceled'] == [first['job_id']]
    assert r['r_cancel_again']['changed'] is False
    assert r['r_cancel_by_manifest']['changed'] and r['r_cancel_by_manifest']['canceled'] == [second['job_id']]
    assert r['r_recreate']['changed'] and r['r_recreate']['job_id'] not in (first['job_id'], second['job_id'])
    listed = {j['job_id']: j['is_canceled'] for j in all_jobs(ie_service)}
    assert listed == {first['job_id']: True, second['job_id']: True, r['r_recreate']['job_id']: False}


SECRETS = '''
- name: Export job from a file
  awsie.importexport.ie_job:
    manifest_src: "{{ export_path }}"
    job_type: Export
  register: r_env
- name: Export job as content, with HmacSHA1 request signatures
  awsie.importexport.ie_job:
    manifest_content: "{{ lookup('ansible.builtin.file', export_path) }}"
    job_type: Export
    signature_method: HmacSHA1
  register: r_export
'''


def test_export_job_secrets_never_appear_even_at_vvvv_and_env_credentials_work(playbook, ie_service, tmp_path):
    log_bucket, data_bucket = ie_service.new_bucket(), ie_service.new_bucket()
    export = export_manifest(ie_service.access_key, [{'exportBucket': data_bucket}], log_bucket, device_id='EXP-77')
    assert 'secret-pass' in export
    path = tmp_path / 'export.yml'
    path.write_text(export)
    r = run_tasks(playbook, ie_service, SECRETS, dict(export_path=str(path)), verbosity=4)
    assert r['r_env']['changed'] and r['r_env']['job_type'] == 'Export' and r['r_env']['action'] == 'created'
    assert r['r_export']['changed'] is False and r['r_export']['job_id'] == r['r_env']['job_id']
    text = r['_proc'].stdout + r['_proc'].stderr
    if 'secret-pass' in text:
        at = text.index('secret-pass')
        raise AssertionError(text[at - 3000:at + 200])
    assert 'secret-pass' not in text and ie_service.secret_key not in text
    assert 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER' in text  # the invocation was shown, masked
    assert len(all_jobs(ie_service)) == 1


ERRORS = '''
- name: A job id that breaks the rule
  awsie.importexport.ie_job:
    state: absent
    job_id: 0O0O0
  register: r_bad_id
  ignore_errors: true
- name: A job that does not exist
  awsie.importexport.ie_job:
    state: absent
    job_id: ZZZZZ
  register: r_unknown
  ignore_errors: true
- name: Wrong secret key
  awsie.importexport.ie_job:
    manifest_content: "{{ manifest }}"
    secret_key: not-the-secret
  register: r_bad_secret
  ignore_errors: true
- name: Manifest file missing
  awsie.importexport.ie_job:
    manifest_src: /nonexistent/drive.yml
  register: r_missing
  ignore_errors: true
- name: Neither manifest nor job id
  awsie.importexport.ie_job:
    state: absent
  register: r_nothing
  ignore_errors: true
- name: Manifest for a bucket that does not exist
  awsie.importexport.ie_job:
    manifest_content: "{{ manifest | replace(bucket, 'no-such-bucket-here') }}"
  register: r_nobucket
  ignore_errors: true
'''


def test_errors_say_what_failed_and_how_to_fix_it(playbook, ie_service):
    bucket = ie_service.new_bucket()
    manifest = import_manifest(ie_service.access_key, bucket, device_id='WD-4004')
    r = run_tasks(playbook, ie_service, ERRORS, dict(manifest=manifest, bucket=bucket))
    assert r['r_bad_id']['failed'] and 'except the letter O' in r['r_bad_id']['msg']
    assert r['r_unknown']['failed'] and 'does not exist in this account' in r['r_unknown']['msg']
    bad = r['r_bad_secret']
    assert bad['failed'] and bad['error']['http_status'] == 403 and bad['error']['code'] == 'SignatureDoesNotMatch'
    assert 'not-the-secret' not in r['_proc'].stdout
    assert r['r_missing']['failed'] and 'manifest_src /nonexistent/drive.yml cannot be read' in r['r_missing']['msg']
    assert r['r_nothing']['failed'] and 'job_id' in r['r_nothing']['msg']
    assert r['r_nobucket']['failed'] and r['r_nobucket']['error']['code'] == 'NoSuchBucketException'
    assert all_jobs(ie_service) == []


ENV_PLAY = '''
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Credentials and endpoint from the controller's environment only
      awsie.importexport.ie_job:
        manifest_src: "{{ manifest_path }}"
      register: r_env
    - name: Save
      ansible.builtin.copy:
        content: "{{ r_env | to_json }}"
        dest: "{{ out }}"
'''


def test_credentials_and_endpoint_come_from_the_environment(playbook, ie_service, tmp_path):
    path = tmp_path / 'drive.yml'
    path.write_text(import_manifest(ie_service.access_key, ie_service.new_bucket(), device_id='ENV-1'))
    out = tmp_path / 'env.json'
    env = dict(AWS_ACCESS_KEY_ID=ie_service.access_key, AWS_SECRET_ACCESS_KEY=ie_service.secret_key,
               AWS_URL=ie_service.url)
    proc = playbook.run(ENV_PLAY, extra_vars=dict(manifest_path=str(path), out=str(out)), env=env, verbosity=3)
    result = json.loads(out.read_text())
    assert result['changed'] and result['action'] == 'created'
    assert [j['job_id'] for j in all_jobs(ie_service)] == [result['job_id']]
    assert ie_service.secret_key not in proc.stdout + proc.stderr
