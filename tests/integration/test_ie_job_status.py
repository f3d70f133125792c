"""ie_job_status against the real local service: many jobs in one task, waiting, what moved, errors."""
import os
import sys

from tests.integration.jobs_helpers import quiet_client, run_tasks
from tests.integration.service_fixtures import import_manifest

IE_SERVICE = os.path.join(os.path.dirname(sys.executable), 'ie-service')

STATUS = '''
- name: Three jobs in one call (ids in any case, duplicates asked once)
  awsie.importexport.ie_job_status:
    job_ids: "{{ [a, b, c | lower, a] }}"
    concurrency: 2
  register: r_first
- name: The same in check mode
  awsie.importexport.ie_job_status:
    job_ids: "{{ [a, b, c] }}"
  check_mode: true
  register: r_check
- name: The drive of job A arrives
  ansible.builtin.command:
    argv: ["{{ ie_service_bin }}", receive, "{{ a }}", "{{ drive }}", --state-dir, "{{ state_dir }}"]
  changed_when: true
- name: A day passes at AWS
  ansible.builtin.command:
    argv: ["{{ ie_service_bin }}", clock, advance, --days, "1", --state-dir, "{{ state_dir }}"]
  changed_when: true
- name: What moved since the first poll
  awsie.importexport.ie_job_status:
    job_ids: "{{ [a, b, c] }}"
    concurrency: 1
    since: "{{ r_first }}"
  register: r_moved
- name: Waiting for a terminal code returns at once for a finished job
  awsie.importexport.ie_job_status:
    job_ids: ["{{ a }}"]
    wait_for: [terminal]
    wait_timeout: 30
    poll_interval: 5
  register: r_wait
- name: Waiting for Complete on a job whose drive never comes times out
  awsie.importexport.ie_job_status:
    job_ids: ["{{ a }}", "{{ b }}"]
    wait_for: [Complete]
    wait_timeout: 1
    poll_interval: 0.4
  register: r_waitout
  ignore_errors: true
- name: A job id of nobody fails the task
  awsie.importexport.ie_job_status:
    job_ids: ["{{ a }}", ZZZZZ]
  register: r_bad
  ignore_errors: true
- name: Unless told to report it per job
  awsie.importexport.ie_job_status:
    job_ids: ["{{ a }}", ZZZZZ]
    fail_on_job_error: false
  register: r_bad_ok
'''


def test_status_of_many_jobs_waiting_and_what_moved(playbook, ie_service_factory, tmp_path):
    service = ie_service_factory(step_seconds=60)
    bucket = service.new_bucket()
    client = quiet_client(service)
    created = [client.create_job('Import', import_manifest(service.access_key, bucket, device_id='ST-%d' % n))
               for n in range(3)]
    a, b, c = [j['job_id'] for j in created]
    drive = tmp_path / 'drive'
    drive.mkdir()
    (drive / 'SIGNATURE').write_text(created[0]['signature_file_contents'])
    (drive / 'photo.jpg').write_bytes(b'\xff\xd8jpeg')
    r = run_tasks(playbook, service, STATUS, dict(a=a, b=b, c=c, drive=str(drive), state_dir=service.state_dir,
                                                  ie_service_bin=IE_SERVICE))

    first = r['r_first']
    assert first['changed'] is False and [j['job_id'] for j in first['jobs']] == [a, b, c]
    assert first['api_calls']['by_action'] == {'GetStatus': 3}
    for job in first['jobs']:
        assert (job['location_code'], job['progress_code'], job['terminal']) == ('NotReceived', 'Pending', False)
        assert job['job_type'] == 'Import' and job['creation_date'] and job['error_count'] == 0
        assert 'current_manifest' not in job
    assert first['counts'] == {'Pending': 3}
    assert [j['progress_code'] for j in r['r_check']['jobs']] == ['Pending'] * 3

    moved = r['r_moved']
    assert [m['job_id'] for m in moved['moved']] == [a]
    assert moved['moved'][0]['before'] == {'location_code': 'NotReceived', 'progress_code': 'Pending'}
    job_a = moved['jobs'][0]
    assert job_a['location_code'] == 'Returned' and job_a['progress_code'] == 'Complete' and job_a['terminal']
    assert job_a['carrier'] and job_a['tracking_number'] and job_a['log_bucket'] and job_a['log_key']
    assert job_a['error_count'] == 0

    assert r['r_wait']['waited_out'] == [] and r['r_wait']['rounds'] == 1
    out = r['r_waitout']
    assert out['failed'] and out['waited_out'] == [b] and 'timed out' in out['msg'] and b in out['msg']
    assert out['rounds'] >= 2 and out['api_calls']['by_action']['GetStatus'] == 1 + out['rounds']

    bad = r['r_bad']
    assert bad['failed'] and 'InvalidJobIdException' in bad['msg'] and 'fail_on_job_error' in bad['msg']
    ok = r['r_bad_ok']
    assert not ok.get('failed') and ok['jobs'][1]['error']['code'] == 'InvalidJobIdException'
    assert ok['jobs'][0]['progress_code'] == 'Complete'
