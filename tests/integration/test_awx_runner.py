"""poll_jobs.yml the way AWX runs it: ansible-runner on a private data dir, results read from artifacts/<ident>/.

Each run gets a fresh private data dir (AWX throws the job's directory away); only the fact cache
is carried from one run to the next, as AWX does: after a job it keeps the facts of the
inventory's hosts (artifacts/<ident>/fact_cache/<host>) and writes them back before the next
job. The preparing run's drive_prepare_jobs facts are seeded the same way.
"""
import glob
import json
import os
import shutil
import subprocess
import sys

import yaml

from tests.integration.jobs_helpers import quiet_client
from tests.support.service import import_manifest

BIN = os.path.dirname(sys.executable)
HOSTS = ('station1', 'station2')


def private_data_dir(root, service, extravars=None):
    """A private data dir as docs/awx.md describes it: env/ (extravars, envvars), inventory/, project/."""
    os.makedirs(os.path.join(root, 'env'))
    os.makedirs(os.path.join(root, 'inventory'))
    os.makedirs(os.path.join(root, 'project'))
    with open(os.path.join(root, 'inventory', 'hosts'), 'w') as handle:
        handle.write('[ie_drive_hosts]\n')
        for host in HOSTS:
            handle.write('%s ansible_connection=local ansible_python_interpreter=%s\n' % (host, sys.executable))
    with open(os.path.join(root, 'project', 'poll.yml'), 'w') as handle:
        handle.write('---\n- name: Poll the jobs of the fleet\n  ansible.builtin.import_playbook: awsie.importexport.poll_jobs\n')
    # What an AWS credential and the execution environment put in the job's environment.
    envvars = {'AWS_ACCESS_KEY_ID': service.access_key, 'AWS_SECRET_ACCESS_KEY': service.secret_key,
               'AWS_URL': service.url, 'ANSIBLE_COLLECTIONS_PATH': os.environ['ANSIBLE_COLLECTIONS_PATH'],
               'PATH': BIN + os.pathsep + os.environ.get('PATH', ''), 'ANSIBLE_NOCOLOR': '1'}
    with open(os.path.join(root, 'env', 'envvars'), 'w') as handle:
        yaml.safe_dump(envvars, handle)
    with open(os.path.join(root, 'env', 'extravars'), 'w') as handle:
        yaml.safe_dump(extravars or {'job_status_poll_interval': 1}, handle)
    return root


def seed_facts(root, ident, facts):
    """What AWX does before a job with fact caching on: the saved facts of each inventory host."""
    cache = os.path.join(root, 'artifacts', ident, 'fact_cache')
    os.makedirs(cache, exist_ok=True)
    for host, data in facts.items():
        with open(os.path.join(cache, host), 'w') as handle:
            json.dump(data, handle)


def kept_facts(root, ident):
    """What AWX keeps after a job: the fact cache files of the inventory's hosts only."""
    cache = os.path.join(root, 'artifacts', ident, 'fact_cache')
    kept = {}
    for host in HOSTS:
        path = os.path.join(cache, host)
        if os.path.exists(path):
            with open(path) as handle:
                kept[host] = json.load(handle)
    return kept


class RunnerResult:
    def __init__(self, root, ident, proc):
        self.dir = os.path.join(root, 'artifacts', ident)
        self.proc = proc
        self.status = open(os.path.join(self.dir, 'status')).read().strip()
        self.rc = int(open(os.path.join(self.dir, 'rc')).read().strip())
        self.stdout = open(os.path.join(self.dir, 'stdout')).read()
        self.events = []
        for path in sorted(glob.glob(os.path.join(self.dir, 'job_events', '*.json')),
                           key=lambda p: int(os.path.basename(p).split('-')[0])):
            with open(path) as handle:
                self.events.append(json.load(handle))

    def of(self, kind):
        return [e for e in self.events if e.get('event') == kind]

    @property
    def artifact_data(self):
        stats = self.of('playbook_on_stats')
        assert len(stats) == 1, [e.get('event') for e in self.events]
        return stats[0]['event_data'].get('artifact_data') or {}


def runner(root, ident, playbook='poll.yml'):
    """``ansible-runner run ROOT -p poll.yml --ident IDENT``, as AWX starts a job (without a container)."""
    proc = subprocess.run([os.path.join(BIN, 'ansible-runner'), 'run', root, '-p', playbook, '--ident', ident],
                          capture_output=True, text=True, check=False, timeout=600,
                          env=dict(os.environ, PATH=BIN + os.pathsep + os.environ.get('PATH', '')))
    return RunnerResult(root, ident, proc)


def drive(tmp_path, name, signature):
    root = tmp_path / 'drives' / name
    root.mkdir(parents=True)
    (root / 'SIGNATURE').write_text(signature)
    (root / 'data.txt').write_text('data\n')
    return str(root)


def test_poll_jobs_under_ansible_runner_publishes_the_summary_keeps_state_in_facts_and_alerts(ie_service, tmp_path):
    bucket = ie_service.new_bucket()
    client = quiet_client(ie_service)
    jobs = [client.create_job('Import', import_manifest(ie_service.access_key, bucket, device_id='WD-%d' % n))
            for n in range(2)]
    a, b = [j['job_id'] for j in jobs]
    # The preparing job template left each host's drive_prepare_jobs in AWX's fact store.
    prepared = {host: {'drive_prepare_jobs': [{'host': host, 'drive': 'usb%d' % n, 'device_id': 'WD-%d' % n,
                                               'job_id': job}]}
                for n, (host, job) in enumerate(zip(HOSTS, (a, b)))}

    first_dir = private_data_dir(str(tmp_path / 'job1'), ie_service)
    seed_facts(first_dir, '1', prepared)
    first = runner(first_dir, '1')
    assert (first.status, first.rc) == ('successful', 0), first.stdout[-4000:] + first.proc.stderr[-2000:]
    summary = first.artifact_data['job_status_summary']
    assert summary['counts'] == {'Pending': 2} and summary['jobs'] == 2 and summary['alerts'] == 0
    assert summary['previous_polled_at'] is None and summary['needing_action'] == []
    assert 'first run: nothing to compare with' in first.stdout
    facts = kept_facts(first_dir, '1')
    # no localhost in this inventory: the poll is kept on the first host of the play (an inventory host)
    saved = facts['station1']['job_status_last_poll']
    assert [j['job_id'] for j in saved['jobs']] == [a, b] and 'job_status_last_poll' not in facts['station2']
    assert facts['station1']['drive_prepare_jobs'] == prepared['station1']['drive_prepare_jobs']

    ie_service.receive(a, drive(tmp_path, 'a', jobs[0]['signature_file_contents']))
    ie_service.advance_clock(hours=1)

    # The next scheduled job: a fresh private data dir, the facts AWX kept, no state file.
    second_dir = private_data_dir(str(tmp_path / 'job2'), ie_service)
    seed_facts(second_dir, '2', facts)
    second = runner(second_dir, '2')
    assert (second.status, second.rc) == ('successful', 0), second.stdout[-4000:]
    summary = second.artifact_data['job_status_summary']
    assert summary['previous_polled_at'] == saved['polled_at'] and summary['moved'] == 1
    assert '- %s (station1/usb0): NotReceived/Pending -> ' % a in second.stdout
    report = open(os.path.join(second_dir, 'inventory', '.awsie-importexport', 'ie-job-report.md')).read()
    assert '- %s (station1/usb0): NotReceived/Pending -> ' % a in report and b not in report.split('## Moved')[1]

    # The next job finds nothing new; its reports go to a kept directory (a volume mounted into the execution
    # environment): nothing is written, not even AWX's fact file (same poll, however AWX serialised it): changed=0.
    kept = os.path.join(second_dir, 'inventory', '.awsie-importexport')
    again_dir = private_data_dir(str(tmp_path / 'job2b'), ie_service,
                                 extravars={'job_status_poll_interval': 1, 'job_status_output_dir': kept})
    seed_facts(again_dir, '2b', kept_facts(second_dir, '2'))
    again = runner(again_dir, '2b')
    assert (again.status, again.rc) == ('successful', 0), again.stdout[-4000:]
    recap = again.of('playbook_on_stats')[0]['event_data']['changed']
    assert recap == {}, recap  # no host changed anything
    assert 'the reports are unchanged (nothing new since the poll of %s)' % summary['polled_at'] in again.stdout

    # A drive with a wrong SIGNATURE: the job fails with ONE message (the notification's text).
    ie_service.receive(b, drive(tmp_path, 'b', jobs[0]['signature_file_contents']))
    ie_service.advance_clock(hours=1)
    third_dir = private_data_dir(str(tmp_path / 'job3'), ie_service)
    seed_facts(third_dir, '3', kept_facts(second_dir, '2'))
    third = runner(third_dir, '3')
    assert (third.status, third.rc) == ('failed', 2)
    failed = third.of('runner_on_failed')
    assert len(failed) == 1
    message = failed[0]['event_data']['res']['msg']
    assert message.startswith('1 job(s) in an alert state: %s (station2/usb1): InvalidSignature' % b), message
    assert ie_service.secret_key not in third.stdout
    summary = third.artifact_data['job_status_summary']
    assert summary['alerts'] == 1 and summary['alert_codes'] == ['InvalidSignature']
    assert summary['needing_action'] == [{'job_id': b, 'host': 'station2', 'drive': 'usb1', 'code': 'InvalidSignature'}]
    shutil.rmtree(str(tmp_path / 'drives'))


def test_the_preparing_job_leaves_drive_prepare_jobs_where_awx_keeps_facts_for_the_poll(loop_drive, ie_service, tmp_path):
    """prepare_drives.yml under ansible-runner: AWX keeps the plain fact_cache/<host> files a job leaves, and
    ansible-core 2.19's jsonfile cache writes other ones (ansible/ansible#85874), so without the role writing
    drive_prepare_jobs there itself the polling job never saw the preparing job's jobs."""
    bucket = ie_service.new_bucket('awx')
    device = loop_drive('ext4', size_mb=24, mount=False)
    data = tmp_path / 'data'
    data.mkdir()
    (data / 'a.txt').write_text('alpha\n')
    prep = private_data_dir(str(tmp_path / 'prep'), ie_service)
    with open(os.path.join(prep, 'project', 'prepare.yml'), 'w') as handle:
        handle.write('---\n- name: Prepare the drives\n  ansible.builtin.import_playbook: awsie.importexport.prepare_drives\n')
    os.makedirs(os.path.join(prep, 'inventory', 'group_vars'))
    os.makedirs(os.path.join(prep, 'inventory', 'host_vars'))
    address = {'name': 'AWX Operator', 'street1': '1 Main St', 'city': 'Seattle', 'stateOrProvince': 'WA',
               'postalCode': '98104', 'phoneNumber': '206-555-0100', 'country': 'USA'}
    group_vars = {'drive_prepare_progress_interval': 2, 'drive_prepare_manifest_defaults': {
        'accessKeyId': ie_service.access_key, 'bucket': bucket, 'eraseDevice': True, 'returnAddress': address}}
    with open(os.path.join(prep, 'inventory', 'group_vars', 'ie_drive_hosts.yml'), 'w') as handle:
        yaml.safe_dump(group_vars, handle)
    for host in HOSTS:
        with open(os.path.join(prep, 'inventory', 'host_vars', host + '.yml'), 'w') as handle:
            yaml.safe_dump({'drive_prepare_mount_root': str(tmp_path / 'mnt' / host), 'drive_prepare_drives': [
                {'name': 'usb1', 'device': device.device, 'data_src': str(data)}] if host == 'station1' else []}, handle)
    prepared = runner(prep, 'p1', playbook='prepare.yml')
    assert (prepared.status, prepared.rc) == ('successful', 0), prepared.stdout[-4000:] + prepared.proc.stderr[-2000:]
    kept = kept_facts(prep, 'p1')
    jobs = kept['station1']['drive_prepare_jobs']
    assert [(j['host'], j['drive']) for j in jobs] == [('station1', 'usb1')] and jobs[0]['job_id'], kept
    assert kept['station2']['drive_prepare_jobs'] == []

    # The polling job: a fresh private data dir with the facts AWX kept; no listing of the account.
    poll = private_data_dir(str(tmp_path / 'poll'), ie_service,
                            extravars={'job_status_poll_interval': 1, 'job_status_discover': 'never'})
    seed_facts(poll, 'q1', kept)
    polled = runner(poll, 'q1')
    assert (polled.status, polled.rc) == ('successful', 0), polled.stdout[-4000:]
    summary = polled.artifact_data['job_status_summary']
    assert summary['jobs'] == 1 and summary['counts'] == {'Pending': 1}, summary
    report = open(os.path.join(poll, 'inventory', '.awsie-importexport', 'ie-job-report.md')).read()
    assert '| station1 | usb1 | %s |' % jobs[0]['job_id'] in report, report
