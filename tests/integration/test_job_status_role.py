"""Role job_status through playbooks/poll_jobs.yml against the real local Import/Export service.

Real ansible-playbook runs; the jobs are created in the local service directly (no drives are
needed to poll them), drives "arrive" with ``ie-service receive``, time passes with the
service's clock.
"""
import json
import os
import sys

from tests.integration.fixtures import REPO
from tests.integration.jobs_helpers import quiet_client
from tests.support.service import import_manifest

POLL = os.path.join(REPO, 'playbooks', 'poll_jobs.yml')


def fleet_inventory(tmp_path, service, hosts=('station1', 'station2'), **group_vars):
    """A JSON inventory: group ie_drive_hosts of local hosts, the service's endpoint and keys as group vars."""
    group_vars.update(job_status_endpoint_url=service.url, job_status_access_key=service.access_key,
                      job_status_secret_key=service.secret_key)
    inv = {'all': {'children': {'ie_drive_hosts': {'vars': group_vars, 'hosts': {
        name: {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable} for name in hosts}}}}}
    directory = tmp_path / 'inventory'
    directory.mkdir(exist_ok=True)
    path = directory / 'hosts.json'
    path.write_text(json.dumps(inv))
    return str(path)


def create_jobs(service, count, stem='DEV'):
    bucket = service.new_bucket()
    client = quiet_client(service)
    return [client.create_job('Import', import_manifest(service.access_key, bucket, device_id='%s-%d' % (stem, n)))
            for n in range(count)]


def test_a_mistyped_job_id_fails_the_play_and_keeps_the_saved_state(playbook, ie_service, tmp_path):
    job = create_jobs(ie_service, 1)[0]
    state = tmp_path / 'out' / 'state.json'
    inv = fleet_inventory(tmp_path, ie_service, job_status_state_path=str(state),
                          job_status_report_path=str(tmp_path / 'out' / 'report.md'))
    playbook.run(POLL, inventory=inv, extra_vars={'job_status_jobs': [{'job_id': job['job_id']}]})
    saved = state.read_bytes()
    assert job['job_id'].encode() in saved

    proc = playbook.run(POLL, inventory=inv, expect_rc=2,
                        extra_vars={'job_status_jobs': [{'job_id': job['job_id']}, {'job_id': 'ZZZZZ'}]})
    assert 'ZZZZZ' in proc.stdout and 'InvalidJobId' in proc.stdout
    assert state.read_bytes() == saved


def drive_dir(tmp_path, name, signature, files=None):
    """A directory standing for a drive's file system (ie-service receive accepts one)."""
    root = tmp_path / 'drives' / name
    root.mkdir(parents=True)
    if signature is not None:
        (root / 'SIGNATURE').write_text(signature)
    for rel, content in (files or {'photo.jpg': 'jpeg'}).items():
        (root / rel).write_text(content)
    return str(root)


def html_refs(text):
    """Every URL-ish attribute and CSS url() of an HTML page: a self-contained page has none."""
    from html.parser import HTMLParser  # pylint: disable=import-outside-toplevel

    found = []

    class Refs(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.extend('%s %s=%s' % (tag, k, v) for k, v in attrs if k in ('src', 'href', 'action', 'data', 'srcset'))

    parser = Refs()
    parser.feed(text)
    parser.close()
    return found + [m for m in ('url(', '@import', 'http://', 'https://', '<script') if m in text]


def test_first_poll_then_what_moved_both_reports_and_the_state_file(playbook, ie_service, tmp_path):
    jobs = create_jobs(ie_service, 2)
    a, b = jobs[0]['job_id'], jobs[1]['job_id']
    out = tmp_path / 'out'
    inv = fleet_inventory(tmp_path, ie_service, job_status_output_dir=str(out))
    named = {'job_status_jobs': [{'job_id': a, 'host': 'station1', 'drive': 'usb1'},
                                 {'job_id': b.lower(), 'host': 'station2', 'drive': 'usb2'}]}
    playbook.run(POLL, inventory=inv, extra_vars=named)
    assert oct(os.stat(str(out)).st_mode & 0o777) == '0o700'
    assert oct(os.stat(str(out / 'ie-job-status.state.json')).st_mode & 0o777) == '0o600'
    report = (out / 'ie-job-report.md').read_text()
    assert '| station1 | usb1 | %s | DEV-0 | NotReceived | Pending | 20%% (created) |' % a in report
    assert '(first run: nothing to compare with)' in report and '- Pending: 2' in report
    html = (out / 'ie-job-report.html').read_text()
    assert html_refs(html) == []
    assert html.count('<tr') == 3 and 'station2' in html and b in html and 'width: 20%' in html
    assert html.count('<td class="num">29</td>') == 2  # whole days left before the 30-day expiry

    ie_service.receive(a, drive_dir(tmp_path, 'a', jobs[0]['signature_file_contents']))
    ie_service.advance_clock(hours=3)
    playbook.run(POLL, inventory=inv, extra_vars=named)
    report = (out / 'ie-job-report.md').read_text()
    assert '- %s (station1/usb1): NotReceived/Pending -> Returned/Complete' % a in report
    assert b not in report.split('## Moved since the previous poll')[1]
    row = [line for line in report.splitlines() if line.startswith('| station1 |')][0]
    assert '| Returned | Complete | 100% (returned) |' in row and row.split(' | ')[8] == '-'  # no expiry once received
    assert row.split(' | ')[9] not in ('-', '')  # the return shipment's tracking number
    state = json.loads((out / 'ie-job-status.state.json').read_text())
    assert [(j['job_id'], j['progress_code']) for j in state['jobs']] == [(a, 'Complete'), (b, 'Pending')]


def service_clock_back(service, days):
    """Jobs created from now on are ``days`` old (the service clock runs ``days`` behind real time)."""
    import time  # pylint: disable=import-outside-toplevel
    now = time.time()
    with open(os.path.join(service.state_dir, 'clock.json'), 'w') as handle:
        json.dump({'anchor_real': now, 'anchor_service': now - days * 86400, 'speed': 1.0}, handle)


def test_with_nothing_named_every_live_job_is_polled_and_named_from_job_sheets_and_device_ids(
        playbook, ie_service, tmp_path):
    client = quiet_client(ie_service)
    service_clock_back(ie_service, 31)
    expired = create_jobs(ie_service, 1, stem='OLD')[0]['job_id']
    ie_service.advance_clock(days=31)  # back to real time: that job is now 31 days old, never received
    a, b, c = [j['job_id'] for j in create_jobs(ie_service, 3)]
    client.cancel_job(c)
    sheets = tmp_path / 'manifests'
    sheets.mkdir()
    (sheets / 'station1-jobs.json').write_text(json.dumps([{'host': 'station1', 'drive': 'usb1', 'device_id': 'DEV-0',
                                                            'job_id': a}]))
    out = tmp_path / 'out'
    inv = fleet_inventory(tmp_path, ie_service, job_status_output_dir=str(out), drive_prepare_manifest_dir=str(sheets))
    proc = playbook.run(POLL, inventory=inv)
    assert "List the account's jobs (nobody named any)" in proc.stdout
    report = (out / 'ie-job-report.md').read_text()
    rows = [line for line in report.splitlines() if line.startswith('| ') and not line.startswith('| host')]
    assert [r.split(' | ')[:4] for r in rows] == [['| station1', 'usb1', a, 'DEV-0'], ['| -', '-', b, 'DEV-1']]
    assert c not in report and expired not in report  # canceled, and expired before anyone followed it


def test_alert_states_fail_the_play_once_with_one_message_after_the_reports_and_the_state(
        playbook, ie_service, tmp_path):
    service_clock_back(ie_service, 26)
    soon = create_jobs(ie_service, 1, stem='SOON')[0]['job_id']
    ie_service.advance_clock(days=26)
    bad, fine = create_jobs(ie_service, 2)
    ie_service.receive(bad['job_id'], drive_dir(tmp_path, 'bad', 'version:2.0\nsigningMethod:HmacSHA1\njobId:%s\n'
                                                'signature:AAAAAAAAAAAAAAAAAAAAAAAAAAA=\n' % bad['job_id']))
    ie_service.advance_clock(hours=1)  # the service checks the SIGNATURE one step after the drive arrived
    out = tmp_path / 'out'
    inv = fleet_inventory(tmp_path, ie_service, job_status_output_dir=str(out))
    named = {'job_status_jobs': [{'job_id': soon, 'host': 'station1', 'drive': 'usb1'},
                                 {'job_id': bad['job_id'], 'host': 'station2', 'drive': 'usb2'},
                                 {'job_id': fine['job_id'], 'host': 'station2', 'drive': 'usb3'}]}
    proc = playbook.run(POLL, inventory=inv, extra_vars=named, expect_rc=2)
    failures = [line for line in proc.stdout.splitlines() if line.startswith('fatal:')]
    assert len(failures) == 1, proc.stdout[-3000:]
    message = failures[0]
    assert '2 job(s) in an alert state: ' in message
    assert '%s (station2/usb2): InvalidSignature' % bad['job_id'] in message
    assert '%s (station1/usb1): ExpiringSoon (still NotReceived, 3 day(s) left' % soon in message
    assert fine['job_id'] not in message and str(out / 'ie-job-report.html') in message
    # written before failing: both reports, the state; the recap shows the summary was published first
    report = (out / 'ie-job-report.md').read_text()
    assert '- %s (station2/usb2): InvalidSignature [alert]' % bad['job_id'] in report
    assert 'class="alert"' in (out / 'ie-job-report.html').read_text()
    assert soon in (out / 'ie-job-status.state.json').read_text()

    # the user decides what is an alert
    playbook.run(POLL, inventory=inv, extra_vars=dict(named, job_status_alert_codes=['DeviceError']))
    playbook.run(POLL, inventory=inv, extra_vars=dict(named, job_status_expiry_warning_days=3,
                                                      job_status_alert_codes=['ExpiringSoon']))


def test_outputs_default_beside_the_inventory_and_check_mode_writes_nothing(playbook, ie_service, tmp_path):
    job = create_jobs(ie_service, 1)[0]['job_id']
    inv = fleet_inventory(tmp_path, ie_service)
    inventory_dir = os.path.dirname(inv)
    named = {'job_status_jobs': [{'job_id': job}]}
    out = os.path.join(inventory_dir, '.awsie-importexport')

    playbook.run(POLL, inventory=inv, extra_vars=named, check=True)
    assert not os.path.exists(out)

    # the inventory is the directory: the outputs beside it must not be read as inventory sources
    proc = playbook.run(POLL, inventory=inventory_dir, extra_vars=named)
    assert sorted(os.listdir(out)) == ['ie-job-report.html', 'ie-job-report.md', 'ie-job-status.state.json']
    assert oct(os.stat(out).st_mode & 0o777) == '0o700'
    before = {name: open(os.path.join(out, name), 'rb').read() for name in os.listdir(out)}
    proc = playbook.run(POLL, inventory=inventory_dir, extra_vars=named)
    assert 'Unable to parse' not in proc.stdout + proc.stderr
    # nothing new: nothing written, changed=0 (the reports still describe the poll that saw the fleet so)
    assert 'the reports are unchanged (nothing new since the poll of' in proc.stdout
    assert 'station1                   : ok=' in proc.stdout and 'changed=0' in proc.stdout.split('PLAY RECAP')[1]
    assert {name: open(os.path.join(out, name), 'rb').read() for name in os.listdir(out)} == before
    assert not [n for n in os.listdir(os.path.join(REPO, 'playbooks')) if n.startswith('ie-job')]


def test_missing_credentials_fail_before_any_request_and_say_what_to_set(playbook, ie_service, tmp_path):
    job = create_jobs(ie_service, 1)[0]['job_id']
    inv = fleet_inventory(tmp_path, ie_service, job_status_output_dir=str(tmp_path / 'out'))
    data = json.loads(open(inv).read())
    group = data['all']['children']['ie_drive_hosts']['vars']
    del group['job_status_access_key'], group['job_status_secret_key']
    open(inv, 'w').write(json.dumps(data))
    env = {'AWS_ACCESS_KEY_ID': '', 'AWS_SECRET_ACCESS_KEY': ''}
    proc = playbook.run(POLL, inventory=inv, extra_vars={'job_status_jobs': [{'job_id': job}]}, env=env, expect_rc=2)
    assert 'AWS_ACCESS_KEY_ID' in proc.stdout and ie_service.secret_key not in proc.stdout
    assert not (tmp_path / 'out').exists()

    # the wrong secret key: refused by the service, named as a credentials problem, nothing written
    group['job_status_access_key'], group['job_status_secret_key'] = ie_service.access_key, 'not-the-secret'
    open(inv, 'w').write(json.dumps(data))
    proc = playbook.run(POLL, inventory=inv, extra_vars={'job_status_jobs': [{'job_id': job}]}, expect_rc=2)
    assert 'the service refused the credentials' in proc.stdout and 'not-the-secret' not in proc.stdout
    assert not (tmp_path / 'out').exists()


LOAD = '''
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Load the drive, keeping the ledger on the controller
      awsie.importexport.ie_load:
        src: "{{ src }}"
        dest: "{{ dest }}"
        manifest: {prefix: imp/}
        ledger: "{{ ledger }}"
'''


def test_loaded_jobs_are_reconciled_once_and_both_reports_give_verified_and_missing_counts(
        playbook, ie_service, loop_drive, tmp_path):
    bucket = ie_service.new_bucket('rec')
    manifest = import_manifest(ie_service.access_key, bucket, 'prefix: imp/\n', device_id='WD-7')
    job = quiet_client(ie_service).create_job('Import', manifest)
    src = tmp_path / 'src'
    for index in range(12):
        (src / ('dir%d' % (index % 3))).mkdir(parents=True, exist_ok=True)
        (src / ('dir%d' % (index % 3)) / ('file%02d.txt' % index)).write_text('data %d\n' % index * (index + 1))
    manifests = tmp_path / 'manifests'
    ledger = manifests / 'station1-usb1.ledger.jsonl'
    drive = loop_drive('ext4', size_mb=24)
    playbook.run(LOAD, extra_vars={'src': str(src), 'dest': drive.mountpoint, 'ledger': str(ledger)})
    with open(os.path.join(drive.mountpoint, 'SIGNATURE'), 'w') as handle:
        handle.write(job['signature_file_contents'])
    os.sync()  # a mount namespace made meanwhile (a test bed) may hold the mount: get the data into the image now
    drive.umount()
    (manifests / 'station1-jobs.json').write_text(json.dumps([
        {'host': 'station1', 'drive': 'usb1', 'device_id': 'WD-7', 'job_id': job['job_id'],
         'manifest': str(manifests / 'station1-usb1.yml')}]))
    received = ie_service.receive(job['job_id'], drive.image)
    assert received['progress'] == 'Complete'
    ie_service.advance_clock(hours=2)  # GetStatus shows the service's steps: Pending -> InProgress -> Complete
    # One line of the service's import log goes missing: that file is not verified.
    s3 = ie_service.s3_client()
    log = s3.get_object(Bucket=received['log_bucket'], Key=received['log_key'])['Body'].read().decode()
    lines = log.splitlines(True)
    dropped = [line for line in lines if 'file05.txt' in line]
    assert len(dropped) == 1
    s3.put_object(Bucket=received['log_bucket'], Key=received['log_key'],
                  Body=''.join(line for line in lines if line not in dropped).encode())

    out = tmp_path / 'out'
    inv = fleet_inventory(tmp_path, ie_service, job_status_output_dir=str(out), drive_prepare_manifest_dir=str(manifests),
                          job_status_s3_endpoint_url=ie_service.s3_url)
    proc = playbook.run(POLL, inventory=inv)  # nothing named: the account's jobs, named from the job sheet
    assert ie_service.secret_key not in proc.stdout
    report = (out / 'ie-job-report.md').read_text()
    row = [line for line in report.splitlines() if line.startswith('| station1 | usb1 | %s |' % job['job_id'])][0]
    assert '| 11 / 1 |' in row
    assert '- 1 job(s): 11 file(s) verified, 1 not (missing 1, different 0, failed 0)' in report
    reship = manifests / 'station1-usb1.reship.jsonl'
    assert '- %s (station1/usb1): 1 file(s) to ship again, listed in %s' % (job['job_id'], reship) in report
    assert 'dir2/file05.txt' in reship.read_text()
    assert ('%s (station1/usb1): FilesMissing - 1 file(s) of the ledger not verified (missing 1, different 0, failed 0)'
            % job['job_id']) in report
    html = (out / 'ie-job-report.html').read_text()
    assert '11 / 1 <span class="stage">re-ship list: %s</span>' % reship in html

    # The next poll reuses the result (a loaded job's log does not change): no reconcile, nothing written.
    proc = playbook.run(POLL, inventory=inv)
    section = proc.stdout.split('TASK [awsie.importexport.job_status : Reconcile each')[1].split('TASK [')[0]
    assert '(item=' not in section and 'skipping' in section
    assert 'changed=0' in proc.stdout.split('PLAY RECAP')[1] and '| 11 / 1 |' in proc.stdout
    # FilesMissing alerts when the user asks for it
    proc = playbook.run(POLL, inventory=inv, extra_vars={'job_status_alert_codes': ['FilesMissing']}, expect_rc=2)
    assert '1 job(s) in an alert state: %s (station1/usb1): FilesMissing' % job['job_id'] in proc.stdout


PREPARED_THEN_POLL = '''
- name: What drive_prepare leaves on each host (same run)
  hosts: ie_drive_hosts
  gather_facts: false
  tasks:
    - name: Record the host's jobs
      ansible.builtin.set_fact:
        drive_prepare_jobs: "{{ prepared[inventory_hostname] }}"
        cacheable: true

- name: Poll
  ansible.builtin.import_playbook: awsie.importexport.poll_jobs
'''


def test_drive_prepare_jobs_facts_of_the_same_run_name_the_jobs(playbook, ie_service, tmp_path):
    a, b = [j['job_id'] for j in create_jobs(ie_service, 2)]
    out = tmp_path / 'out'
    inv = fleet_inventory(tmp_path, ie_service, job_status_output_dir=str(out), job_status_discover='never')
    prepared = {'station1': [{'host': 'station1', 'drive': 'usb1', 'device_id': 'DEV-0', 'job_id': a}],
                'station2': [{'host': 'station2', 'drive': 'usb2', 'device_id': 'DEV-1', 'job_id': b}]}
    playbook.run(PREPARED_THEN_POLL, inventory=inv, extra_vars={'prepared': prepared})
    report = (out / 'ie-job-report.md').read_text()
    assert '| station1 | usb1 | %s | DEV-0 |' % a in report and '| station2 | usb2 | %s | DEV-1 |' % b in report
