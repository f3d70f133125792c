"""Secrets, part two: ``playbooks/poll_jobs.yml`` (over the Query API and by e-mail) and the e-mail flow
(CREATE JOB and GET STATUS by mail with ``ie_job``/``ie_job_status``) on the SSH test bed, at ``-vvvv``
with ``ANSIBLE_KEEP_REMOTE_FILES=1`` and ``--diff``, in runs that succeed and runs that fail half-way
(a job the service does not know; a mailbox that refuses the password). Then the secret key, the
mail password (SMTP and IMAP), a wrong mail password, the ``pinCode`` and the ``trueCryptPassword``
are searched for (as written, UTF-16, base64) with the helpers of tests/integration/test_secrets_ssh.py:

- every output (stdout, stderr: the diffs and the error messages are there) and every process's
  command line and environment while the runs went on (sampled);
- on each managed host: its /mnt and its kept remote files;
- in the trees shared by the hosts and the controller, every file changed since the start (kept
  controller files, the role's reports and state, ANSIBLE_HOME, the bed's run directory);
- in the local service's state and mail directories: its logs (service.stderr, dovecot's log) and
  every other file. The service's own job store, mail store and mail password database are AWS's
  side (they must hold the manifests it was sent and the password it checks); every other file
  there must hold no secret.

Allowed elsewhere: the user's inventory and manifest (where the test put the secrets), and, only
because ANSIBLE_KEEP_REMOTE_FILES is set, the kept arguments of controller-side modules. Places,
files and bytes searched are recorded as figures.
"""
import json
import os
import shutil
import time
from urllib.parse import urlsplit

import pytest

from tests.integration.test_secrets_ssh import (
    CONTROLLER_MODULES, ProcSampler, RETURN_ADDRESS, forms, kept_controller_module, random_secret,
    remove_kept_controller_files, search)

POLL = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'playbooks', 'poll_jobs.yml')
ACCESS_KEY = 'AKIASECRETSPOLL00001'
OPS = 'ops@example.com'
# Files of the service's directories that are AWS's side: its job store, its mail store, the mail users it checks.
SERVICE_SIDE = ('jobs.sqlite', 'mail.sqlite', 'ie.sqlite', 'passwd', 'users')


def service_side(path, service):
    """True for the service's own stores (databases, mailboxes, password file), not its logs."""
    name = os.path.basename(path)
    if name.endswith(('.log', '.stderr', '.json', '.pem', '.conf')):
        return False
    under_mail = path.startswith(os.path.join(service.mail['mail_dir'], ''))
    return name.endswith(('.sqlite', '.sqlite3', '.db', '-wal', '-shm', '-journal')) or name in SERVICE_SIDE or (
        under_mail and ('/cur/' in path or '/new/' in path or '/tmp/' in path or 'dovecot.' in name and 'log' not in name))


def mail_service(factory, secret_key, password):
    extra = ['--smtp-port', '0', '--mail-user', '%s:%s:%s' % (OPS, password, ACCESS_KEY)]
    service = factory(accounts=[(ACCESS_KEY, secret_key)], extra_args=extra)
    with open(os.path.join(service.state_dir, 'service.json'), encoding='utf-8') as handle:
        service.mail = json.load(handle)['mail']
    return service


def manifest_text(bucket, pin, password):
    return ('manifestVersion: 2.0\naccessKeyId: %s\ndeviceId: SECRETS01\nbucket: %s\neraseDevice: yes\npinCode: "%s"\n'
            'returnAddress:\n%s' % (ACCESS_KEY, bucket, pin, ''.join('    %s: "%s"\n' % kv for kv in RETURN_ADDRESS.items())))


@pytest.mark.proof_full
@pytest.mark.root
def test_poll_jobs_and_the_mail_flow_leak_no_secret(testbed_factory, ie_service_factory, tmp_path, proof_record):
    started = time.time() - 2
    secret_key, mail_password, wrong_password = random_secret(40), random_secret(20), random_secret(20)
    pin, truecrypt, canary = random_secret(12), random_secret(24), random_secret(20)
    needles = {'secret key': forms(secret_key), 'mail password': forms(mail_password), 'wrong mail password': forms(wrong_password),
               'pinCode': forms(pin), 'trueCryptPassword': forms(truecrypt)}
    service = mail_service(ie_service_factory, secret_key, mail_password)
    try:
        _run_and_search(testbed_factory, service, tmp_path, proof_record, started, needles, canary,
                        (secret_key, mail_password, wrong_password, pin, truecrypt))
    finally:
        service.stop()
        if not service.mail['mail_dir'].startswith(service.state_dir + os.sep):
            shutil.rmtree(service.mail['mail_dir'], ignore_errors=True)


def _run_and_search(testbed_factory, service, tmp_path, proof_record, started, needles, canary, values):
    secret_key, mail_password, wrong_password, pin, truecrypt = values
    bucket = service.new_bucket('secrets-poll')
    api = service.client()
    jobs = [api.create_job(JobType='Import', ValidateOnly=False,
                           Manifest=manifest_text(bucket, pin, truecrypt).replace('SECRETS01', 'POLL%02d' % n))['JobId'] for n in (1, 2)]
    bed = testbed_factory(hosts=2, drives_per_host=1, drive_size_mb=16, fstypes=['ext4'], groups=['ie_drive_hosts'])
    for port in (urlsplit(service.url).port, service.mail['smtp_port'], service.mail['imap_port']):
        bed.forward_port(port)
    mail = {'smtp_host': '127.0.0.1', 'smtp_port': service.mail['smtp_port'], 'smtp_user': OPS, 'smtp_password': mail_password,
            'mail_from': OPS, 'imap_host': '127.0.0.1', 'imap_port': service.mail['imap_port'], 'imap_password': mail_password,
            'ca_bundle': service.mail['ca_bundle'], 'reply_timeout': 30}
    reports = str(tmp_path / 'inventory' / 'reports')
    inventory = str(tmp_path / 'inventory' / 'hosts.json')
    os.makedirs(os.path.dirname(inventory))
    env = {'ANSIBLE_KEEP_REMOTE_FILES': '1'}
    args = ['-vvvv', '--diff']

    def inventory_with(**changes):
        group_vars = {'job_status_endpoint_url': service.url, 'job_status_access_key': ACCESS_KEY, 'job_status_secret_key': secret_key,
                      'job_status_jobs': [{'job_id': j, 'host': 'host01', 'drive': 'd%d' % n} for n, j in enumerate(jobs)],
                      'job_status_discover': 'never', 'job_status_output_dir': reports, 'job_status_mail': mail}
        group_vars.update(changes)
        return bed.write_inventory(inventory, group_vars=group_vars)

    manifest = str(tmp_path / 'inventory' / 'drive1.yml')
    with open(manifest, 'w', encoding='utf-8') as handle:
        handle.write(manifest_text(bucket, pin, truecrypt))
    by_mail = ('- hosts: localhost\n  connection: local\n  gather_facts: false\n  module_defaults:\n'
               '    awsie.importexport.ie_job: &mail %s\n    awsie.importexport.ie_job_status: *mail\n  tasks:\n'
               '    - name: CREATE JOB by mail\n      awsie.importexport.ie_job:\n        manifest_src: %s\n      register: job\n'
               '    - name: GET STATUS by mail\n      awsie.importexport.ie_job_status:\n        job_ids: ["{{ job.job_id }}"]\n'
               '    - name: GET STATUS by mail with a wrong password (fails)\n      awsie.importexport.ie_job_status:\n'
               '        job_ids: ["{{ job.job_id }}"]\n        imap_password: %s\n        smtp_password: %s\n'
               '      ignore_errors: true\n'
               % (json.dumps(dict(mail, transport='email', secret_key=secret_key, endpoint_url=service.url)), manifest,
                  wrong_password, wrong_password))
    by_mail_path = str(tmp_path / 'inventory' / 'by-mail.yml')  # the user's playbook: it holds the secrets
    with open(by_mail_path, 'w', encoding='utf-8') as handle:
        handle.write(by_mail)
    runs = {}
    with ProcSampler(needles, spare_group=service.proc.pid) as sampler:
        inventory_with()
        runs['poll_jobs.yml over the API'] = bed.run_playbook(POLL, inventory=inventory, extra_args=args, env=env, expect_rc=None)
        inventory_with(job_status_transport='email')
        runs['poll_jobs.yml by mail'] = bed.run_playbook(POLL, inventory=inventory, extra_args=args, env=env, expect_rc=None)
        inventory_with(job_status_jobs=[{'job_id': jobs[0]}, {'job_id': 'QQQQ9'}])
        runs['poll_jobs.yml, a job the service does not know (fails)'] = bed.run_playbook(
            POLL, inventory=inventory, extra_args=args, env=env, expect_rc=None)
        inventory_with(job_status_transport='email', job_status_mail=dict(mail, imap_password=wrong_password, smtp_password=wrong_password))
        runs['poll_jobs.yml by mail, a wrong password (fails)'] = bed.run_playbook(
            POLL, inventory=inventory, extra_args=args, env=env, expect_rc=None)
        runs['CREATE JOB and GET STATUS by mail'] = bed.run_playbook(by_mail_path, inventory=inventory, extra_args=args, env=env,
                                                                     expect_rc=None)
    names = list(runs)
    assert runs[names[0]].returncode == 0, runs[names[0]].stdout[-5000:]
    assert runs[names[1]].returncode == 0, runs[names[1]].stdout[-5000:]
    assert runs[names[2]].returncode != 0 and 'QQQQ9' in runs[names[2]].stdout
    assert runs[names[3]].returncode != 0 and 'refused the login' in runs[names[3]].stdout, runs[names[3]].stdout[-3000:]
    assert runs[names[4]].returncode == 0 and 'refused the login' in runs[names[4]].stdout, runs[names[4]].stdout[-5000:]
    assert '"action": "created"' in runs[names[4]].stdout

    leaks, places, found_allowed = [], [], []
    output_bytes = 0
    for label, run in runs.items():
        for stream in ('stdout', 'stderr'):
            text = getattr(run, stream).encode()
            output_bytes += len(text)
            places.append(('%s: %s' % (label, stream), 1, len(text)))
            leaks += [('%s %s' % (label, stream), name) for name, hexes in needles.items() if any(bytes.fromhex(h) in text for h in hexes)]
    assert sampler.samples >= 2
    leaks += sorted(set(('process %s %s' % (pid, part), name) for pid, part, name, unused in sampler.hits))

    # The hosts: /mnt and the kept remote files (a canary in each proves the search reaches them).
    needles['canary'] = forms(canary)
    for host in bed.hosts:
        bed.exec_on(host.name, 'mkdir -p /mnt/canary && cat > /mnt/canary/c', input=canary)
        with open(os.path.join(host.remote_tmp, 'canary'), 'w', encoding='ascii') as handle:
            handle.write(canary)
        found = search([{'path': '/mnt'}, {'path': host.remote_tmp}], needles,
                       runner=lambda argv, spec, h=host.name: bed.exec_on(h, argv, input=spec))
        for root, (count, size) in found['roots'].items():
            places.append(('%s: %s' % (host.name, root), count, size))
        hits = [hit for hit in found['hits'] if hit['secret'] != 'canary']
        leaks += [('%s:%s' % (host.name, hit['path']), hit['secret']) for hit in hits]
        assert len([hit for hit in found['hits'] if hit['secret'] == 'canary']) == 2, found['hits']

    # The service: its state and mail directories, all of it.
    service_roots = [{'path': service.state_dir}]
    if not service.mail['mail_dir'].startswith(service.state_dir + os.sep):
        service_roots.append({'path': service.mail['mail_dir']})
    found = search(service_roots, needles)
    log_files = 0
    for root, (count, size) in found['roots'].items():
        places.append(('local service: %s' % root, count, size))
    for top, unused, files in [w for r in service_roots for w in os.walk(r['path'])]:
        log_files += sum(1 for name in files if name.endswith(('.log', '.stderr')))
    assert log_files >= 2, 'the service wrote no log to search'
    for hit in found['hits']:
        if service_side(hit['path'], service):
            found_allowed.append(('the service\'s own store', hit['path'], hit['secret']))
        else:
            leaks.append(('local service: %s' % hit['path'], hit['secret']))

    # Shared trees (controller files, reports, ANSIBLE_HOME, the bed's run directory), changed since the start.
    shared = [{'path': p, 'since': started, 'skip': [service.state_dir, service.mail['mail_dir']]}
              for p in ('/tmp', '/var/tmp', '/dev/shm', os.path.expanduser('~'))]
    try:
        found = search(shared, needles)
        modules = {hit['path']: kept_controller_module(hit['path'], bed) for hit in found['hits']}
    finally:
        remove_kept_controller_files(started, [str(tmp_path), bed.rundir])
    for root, (count, size) in found['roots'].items():
        places.append(('shared: %s, changed since the start' % root, count, size))
    for hit in found['hits']:
        path = hit['path']
        if hit['secret'] == 'canary':
            continue
        if path in (inventory, manifest, by_mail_path):
            found_allowed.append(('the user\'s own files', path, hit['secret']))
        elif modules[path] in CONTROLLER_MODULES:
            found_allowed.append(('kept input of %s (ANSIBLE_KEEP_REMOTE_FILES)' % modules[path], path, hit['secret']))
        else:
            leaks.append((path, hit['secret']))
    assert os.path.exists(os.path.join(reports, 'ie-job-report.md'))

    files_searched = sum(p[1] for p in places)
    bytes_searched = sum(p[2] for p in places)
    for where, count, size in places:
        print('  %-100s %7d files %12d bytes' % (where, count, size))
    print('Allowed:', sorted(set((why, name) for why, unused, name in found_allowed)))
    print('Leaks:', leaks or 'none')
    proof_record('poll_jobs.yml and mail runs searched (2 failing half-way)', len(runs), 'runs')
    proof_record('places searched (poll_jobs.yml, mail flow)', len(places), 'places')
    proof_record('files searched (poll_jobs.yml, mail flow)', files_searched, 'files')
    proof_record('bytes searched (poll_jobs.yml, mail flow)', bytes_searched, 'bytes')
    proof_record('output bytes searched at -vvvv --diff', output_bytes, 'bytes')
    proof_record('process command lines and environments read', sampler.reads, 'reads')
    proof_record('secrets found outside the allowed places', len(leaks), 'leaks')
    assert not leaks, leaks
    assert any(why == "the user's own files" for why, unused, name in found_allowed), 'the search did not find the secrets it planted'
