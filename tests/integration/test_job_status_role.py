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
from tests.integration.service_fixtures import import_manifest

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
    assert '<td class="num">29.9</td>' in html or '<td class="num">30</td>' in html  # days left before expiry

    ie_service.receive(a, drive_dir(tmp_path, 'a', jobs[0]['signature_file_contents']))
    ie_service.advance_clock(hours=3)
    playbook.run(POLL, inventory=inv, extra_vars=named)
    report = (out / 'ie-job-report.md').read_text()
    assert '- %s (station1/usb1): NotReceived/Pending -> Returned/Complete' % a in report
    assert b not in report.split('## Moved since the last run')[1]
    row = [line for line in report.splitlines() if line.startswith('| station1 |')][0]
    assert '| Returned | Complete | 100% (returned) |' in row and row.split(' | ')[8] == '-'  # no expiry once received
    assert row.split(' | ')[9] not in ('-', '')  # the return shipment's tracking number
    state = json.loads((out / 'ie-job-status.state.json').read_text())
    assert [(j['job_id'], j['progress_code']) for j in state['jobs']] == [(a, 'Complete'), (b, 'Pending')]
