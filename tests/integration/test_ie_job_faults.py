"""Every API module under throttling, 5xx and dropped connections; exhausted retries name the last code."""
from tests.integration.jobs_helpers import all_jobs, quiet_client, run_tasks
from tests.integration.service_fixtures import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, import_manifest

FLEET = '''
- name: Create a job per drive while the service throttles, fails and drops connections
  awsie.importexport.ie_job:
    manifest_content: "{{ item }}"
    max_attempts: 20
  loop: "{{ manifests }}"
  register: r_create
- name: Re-run, nothing new
  awsie.importexport.ie_job:
    manifest_content: "{{ item }}"
    max_attempts: 20
  loop: "{{ manifests }}"
  register: r_again
- name: Poll them all in one task
  awsie.importexport.ie_job_status:
    job_ids: "{{ r_create.results | map(attribute='job_id') | list }}"
    max_attempts: 20
  register: r_status
- name: List them
  awsie.importexport.ie_job_info:
    page_size: 2
    include_status: true
    max_attempts: 20
  register: r_info
- name: Label for one
  awsie.importexport.ie_shipping_label:
    job_ids: ["{{ r_create.results[0].job_id }}"]
    max_attempts: 20
  register: r_label
- name: Cancel one
  awsie.importexport.ie_job:
    state: absent
    job_id: "{{ r_create.results[-1].job_id }}"
    max_attempts: 20
  register: r_cancel
'''

EXHAUSTED = '''
- name: GetStatus always throttled, three attempts
  awsie.importexport.ie_job_status:
    job_ids: ["{{ job_id }}"]
    max_attempts: 3
  register: r_status
  ignore_errors: true
- name: CreateJob always failing with 5xx (second account, which has no jobs to look at)
  awsie.importexport.ie_job:
    manifest_content: "{{ manifest }}"
    access_key: "{{ ak2 }}"
    secret_key: "{{ lookup('ansible.builtin.env', 'IE_TEST_SK2') }}"
    max_attempts: 4
  register: r_create
  ignore_errors: true
'''


def test_every_module_succeeds_under_faults_and_creates_exactly_one_job_per_drive(playbook, ie_service):
    bucket = ie_service.new_bucket()
    manifests = [import_manifest(ie_service.access_key, bucket, device_id='FLT-%d' % n) for n in range(6)]
    ie_service.set_faults('throttle=0.3', 'error5xx=0.1', 'drop=0.1')
    r = run_tasks(playbook, ie_service, FLEET, dict(manifests=manifests))
    ie_service.clear_faults()

    created = [x['job_id'] for x in r['r_create']['results']]
    assert all(x['changed'] and x['action'] == 'created' for x in r['r_create']['results'])
    assert len(set(created)) == 6
    assert [x['job_id'] for x in r['r_again']['results']] == created
    assert not any(x['changed'] for x in r['r_again']['results'])
    assert [j['progress_code'] for j in r['r_status']['jobs']] == ['Pending'] * 6
    assert sorted(r['r_info']['job_ids']) == sorted(created)
    assert all(j['status']['progress_code'] == 'Pending' for j in r['r_info']['jobs'])
    assert r['r_label']['shipping_label_url']
    assert r['r_cancel']['changed']
    retries = sum(x['api_calls']['retries'] for x in r['r_create']['results'] + r['r_again']['results'])
    retries += sum(r[k]['api_calls']['retries'] for k in ('r_status', 'r_info', 'r_label', 'r_cancel'))
    assert retries > 10  # the faults were really in force
    jobs = all_jobs(ie_service)
    assert sorted(j['job_id'] for j in jobs) == sorted(created)  # exactly one job per drive
    assert [j['job_id'] for j in jobs if j['is_canceled']] == [created[-1]]


def test_exhausted_retries_fail_clearly_naming_the_last_code(playbook, ie_service_factory):
    ak2, sk2 = 'AKIAI44QH8DHBEXAMPLE', 'je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY'
    ie_service = ie_service_factory(accounts=[(DEMO_ACCESS_KEY, DEMO_SECRET_KEY), (ak2, sk2)])
    bucket = ie_service.new_bucket()
    job = quiet_client(ie_service).create_job('Import', import_manifest(ie_service.access_key, bucket, device_id='EX-1'))
    ie_service.set_faults('GetStatus:throttle=1', 'CreateJob:error5xx=1')
    r = run_tasks(playbook, ie_service, EXHAUSTED, dict(
        job_id=job['job_id'], ak2=ak2, manifest=import_manifest(ak2, bucket, device_id='EX-2')), env=dict(IE_TEST_SK2=sk2))
    ie_service.clear_faults()
    status = r['r_status']
    assert status['failed'] and 'Throttling' in status['msg'] and 'Gave up after 3 attempt(s)' in status['msg']
    assert status['jobs'][0]['error']['code'] == 'Throttling' and status['api_calls']['requests'] == 3
    create = r['r_create']
    assert create['failed'] and create['error']['code'] in ('InternalError', 'ServiceUnavailable')
    assert 'CreateJob failed' in create['msg'] and 'max_attempts' in create['msg']
    assert create['api_calls']['by_action']['CreateJob'] == 4
    assert [j['job_id'] for j in all_jobs(ie_service)] == [job['job_id']]
    assert list(quiet_client(ie_service, access_key=ak2, secret_key=sk2).iter_jobs()) == []


SLOW_CREATE = '''
- name: CreateJob answers after read_timeout, but the service creates the job
  awsie.importexport.ie_job:
    manifest_content: "{{ manifest }}"
    read_timeout: 1.5
  register: r_slow
'''


def test_a_createjob_answered_too_late_is_found_not_created_twice(playbook, ie_service):
    manifest = import_manifest(ie_service.access_key, ie_service.new_bucket(), device_id='SLOW-1')
    # Warm-up: a fresh service's first manifest check loads its manifest library, which on a busy
    # machine takes longer than the look-up window; the test is about the window, not that load.
    quiet_client(ie_service).create_job('Import', manifest, validate_only=True)
    ie_service.set_faults('CreateJob:latency=2')
    r = run_tasks(playbook, ie_service, SLOW_CREATE, dict(manifest=manifest))
    ie_service.clear_faults()
    slow = r['r_slow']
    assert slow['changed'] and slow['action'] == 'created' and slow['recovered_from'] == 'Timeout'
    assert slow['api_calls']['by_action']['CreateJob'] == 1 and slow['api_calls']['by_action']['ListJobs'] >= 2
    assert [j['job_id'] for j in all_jobs(ie_service)] == [slow['job_id']]
    assert slow['signature_file_contents'].startswith('version:2.0\n')
