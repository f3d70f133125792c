"""The e-mail workflow of 2009 over real SMTP and IMAP on loopback: the local service's mail front
(aiosmtpd + Dovecot, started by ``ie-service serve --smtp-port``) and the collection's mail
client, then ie_job/ie_job_status with ``transport: email`` in real ansible-playbook runs.

Needs root (Dovecot, loop drives) and Debian's dovecot-imapd (scripts/setup.sh installs it).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from ansible_collections.awsie.importexport.plugins.module_utils import mail as m
from ansible_collections.awsie.importexport.plugins.module_utils.mail_client import MailError, Mailbox, MailSettings
from ansible_collections.awsie.importexport.plugins.module_utils.mail_jobs import MailJobs, MailReplyError, NoReplyError
from ansible_collections.awsie.importexport.plugins.module_utils.signing import build_signature_file

from tests.support.playbooks import changed_tasks
from tests.support.service import DEMO_ACCESS_KEY as AK, DEMO_SECRET_KEY as SK, import_manifest

AK2, SK2 = 'AKIAI44QH8DHBEXAMPLE', 'je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY'
OPS, OPS_PASSWORD = 'ops@example.com', 'Ops-Pa55:word!'
OTHER, OTHER_PASSWORD = 'other@example.com', 'Other-Pa55word'
STRANGER, STRANGER_PASSWORD = 'stranger@example.com', 'Stranger-Pa55word'

pytestmark = [pytest.mark.root, pytest.mark.slow]


@pytest.fixture
def mail_service(ie_service_factory):
    """Factory: a running ie-service with its mail front; ``.mail`` is service.json's mail part.
    ops@ is registered to the demo account, other@ to a second one, stranger@ has a mailbox only."""
    if os.geteuid() != 0:
        pytest.skip('the mail front starts Dovecot, which needs root')
    started = []

    def make(**options):
        extra = ['--smtp-port', '0', '--mail-user', '%s:%s:%s' % (OPS, OPS_PASSWORD, AK),
                 '--mail-user', '%s:%s:%s' % (OTHER, OTHER_PASSWORD, AK2),
                 '--mail-user', '%s:%s:' % (STRANGER, STRANGER_PASSWORD)]
        service = ie_service_factory(accounts=[(AK, SK), (AK2, SK2)], extra_args=extra, **options)
        with open(os.path.join(service.state_dir, 'service.json'), encoding='utf-8') as handle:
            service.mail = json.load(handle)['mail']
        started.append(service)
        return service

    yield make
    for service in started:
        service.stop()
        if not service.mail['mail_dir'].startswith(service.state_dir + os.sep):
            shutil.rmtree(service.mail['mail_dir'], ignore_errors=True)


def settings(service, user=OPS, password=OPS_PASSWORD, **kwargs):
    base = dict(smtp_host='127.0.0.1', smtp_port=service.mail['smtp_port'], smtp_user=user, smtp_password=password,
                mail_from=user, imap_port=service.mail['imap_port'], imap_password=password,
                ca_bundle=service.mail['ca_bundle'], reply_timeout=20)
    base.update(kwargs)
    return MailSettings(**base)


def mail_jobs(service, secret=SK, **kwargs):
    return MailJobs(Mailbox(settings(service, **kwargs)), secret)


def mail_log(service):
    from ie_service.mailcmds import mail_log as read  # pylint: disable=import-outside-toplevel
    return read(service.state_dir)


def crlf(text):
    return text.replace('\n', '\r\n')


# ------------------------------------------------------------------ the service's mail front

def test_a_job_created_by_mail_is_the_job_the_query_api_sees(mail_service):
    service = mail_service()
    bucket = service.new_bucket()
    manifest = crlf(import_manifest(AK, bucket))
    result = mail_jobs(service).ensure_present('Import', manifest)
    assert result['action'] == 'created' and result['device_id'] == 'DEV001'
    status = service.client().get_status(JobId=result['job_id'])
    assert status['CurrentManifest'] == manifest  # the bytes as attached, CRLF and all
    assert status['ProgressCode'] == 'Pending' and status['LocationCode'] == 'NotReceived'
    log = mail_log(service)
    assert [(r['command'], r['sender'], r['status'], r['job_id'], r['delivered']) for r in log] == [
        (m.CREATE, OPS, m.SUCCESS, result['job_id'], 1)]


def test_status_by_mail_tells_what_the_api_tells(mail_service):
    service = mail_service()
    bucket = service.new_bucket()
    job_id = service.client().create_job(JobType='Import', Manifest=import_manifest(AK, bucket), ValidateOnly=False)['JobId']
    status = mail_jobs(service).status(job_id)
    api = service.client().get_status(JobId=job_id)
    assert (status['job_id'], status['progress_code'], status['location_code'], status['creation_date']) == (
        job_id, api['ProgressCode'], api['LocationCode'], api['CreationDate'].strftime('%Y-%m-%dT%H:%M:%SZ'))
    assert status['device_id'] == 'DEV001' and status['job_type'] == 'Import'


def send_raw(service, raw, user=OPS, password=OPS_PASSWORD):
    box = Mailbox(settings(service, user=user, password=password))
    box.send(raw)
    message_id = m.parse_command(raw).message_id
    return box.wait([message_id], 20).get(message_id)


ERROR_CASES = {
    'InvalidSender': dict(user=STRANGER),
    'MissingManifestAttachment': dict(attach=False),
    'InvalidManifestField': dict(extra='acl: nonsense\n'),
    'MissingManifestField': dict(drop='bucket: {bucket}\n'),
    'NoSuchBucket': dict(bucket='no-such-bucket-here'),
    'AccessDenied': dict(access_key=AK2),
    'InvalidJobId': dict(command=m.STATUS, job_id='QQQQ9'),
}


@pytest.mark.parametrize('code', sorted(ERROR_CASES))
def test_each_error_reply_carries_its_code(mail_service, code):
    case = ERROR_CASES[code]
    service = mail_service()
    bucket = case.get('bucket') or service.new_bucket()
    manifest = import_manifest(case.get('access_key', AK), bucket, extra=case.get('extra', ''))
    manifest = manifest.replace(case.get('drop', '').format(bucket=bucket) or '\0', '')
    user = case.get('user', OPS)
    command = case.get('command', m.CREATE)
    attachments = [('manifest.yml', manifest.encode())] if case.get('attach', True) and command == m.CREATE else []
    raw = m.as_bytes(m.command_message(command, user, m.SERVICE_ADDRESS, {'job_id': case.get('job_id')}, attachments))
    password = {OPS: OPS_PASSWORD, STRANGER: STRANGER_PASSWORD}[user]
    reply = send_raw(service, raw, user, password)
    assert reply is not None and reply.status == m.ERROR and reply.code == code
    assert reply.fields['description'] and reply.fields['recommended_action']
    assert reply.subject == 'RE: ' + command


def test_expired_and_canceled_jobs_answer_update_job_with_their_codes(mail_service):
    service = mail_service()
    bucket = service.new_bucket()
    manifest = import_manifest(AK, bucket)
    changed = manifest.replace('eraseDevice: yes', 'eraseDevice: no')
    canceled = mail_jobs(service).ensure_present('Import', manifest)['job_id']
    service.client().cancel_job(JobId=canceled)  # by the Query API: the same job store
    with pytest.raises(MailReplyError) as raised:
        mail_jobs(service).ensure_present('Import', changed, job_id=canceled)
    assert raised.value.code == 'CanceledJobId' and 'CODE CanceledJobId' in str(raised.value)
    expired = mail_jobs(service).ensure_present('Import', import_manifest(AK, bucket, device_id='DEV002'))['job_id']
    service.advance_clock(days=31)
    with pytest.raises(MailReplyError) as raised:
        mail_jobs(service).ensure_present('Import', changed.replace('DEV001', 'DEV002'), job_id=expired)
    assert raised.value.code == 'ExpiredJobId'
    assert service.client().get_status(JobId=expired)['ProgressCode'] == 'Expired'


def test_update_job_by_mail_needs_a_signature_that_matches_the_updated_manifest(mail_service):
    service = mail_service()
    bucket = service.new_bucket()
    manifest = import_manifest(AK, bucket)
    changed = crlf(manifest.replace('eraseDevice: yes', 'eraseDevice: no'))
    job_id = mail_jobs(service).ensure_present('Import', manifest)['job_id']
    result = mail_jobs(service).ensure_present('Import', changed, job_id=job_id)
    assert result['action'] == 'updated' and service.client().get_status(JobId=job_id)['CurrentManifest'] == changed
    stale = build_signature_file(SK, job_id, manifest.encode(), '1.0')
    raw = m.as_bytes(m.command_message(m.UPDATE, OPS, m.SERVICE_ADDRESS, {'job_id': job_id},
                                       [('m.yml', b'x' + changed.encode()), ('SIGNATURE', stale)]))
    assert send_raw(service, raw).code == 'InvalidSignature'


def test_one_job_per_device_a_new_create_job_replaces_the_drives_job(mail_service):
    service = mail_service()
    bucket = service.new_bucket()
    first = mail_jobs(service).ensure_present('Import', import_manifest(AK, bucket))
    second = mail_jobs(service).ensure_present('Import', import_manifest(AK, bucket, extra='acl: private\n'))
    assert second['replaced'] == [first['job_id']]
    assert service.client().get_status(JobId=first['job_id'])['ProgressCode'] == 'Canceled'
    assert service.client().get_status(JobId=second['job_id'])['ProgressCode'] == 'Pending'


def test_a_command_mail_sent_twice_is_answered_once(mail_service):
    service = mail_service()
    raw = m.as_bytes(m.command_message(m.CREATE, OPS, m.SERVICE_ADDRESS, {},
                                       [('m.yml', import_manifest(AK, service.new_bucket()).encode())]))
    first, second = send_raw(service, raw), send_raw(service, raw)
    assert first.message_id == second.message_id and first.fields['job_id'] == second.fields['job_id']
    log = mail_log(service)
    assert len(log) == 1 and log[0]['delivered'] == 2
    assert len(service.client().list_jobs()['Jobs']) == 1


def test_mail_for_another_address_is_refused_by_smtp(mail_service):
    service = mail_service()
    box = Mailbox(settings(service, mail_to='someone@amazon.com'))
    with pytest.raises(MailError, match='refused the recipient.s. someone@amazon.com'):
        box.send(m.as_bytes(m.command_message(m.STATUS, OPS, 'someone@amazon.com', {'job_id': 'X452D'})))


def test_mailbox_errors_name_the_server_and_never_the_password(mail_service):
    service = mail_service()
    wrong = OPS_PASSWORD + '-wrong'
    with pytest.raises(MailError) as raised:
        Mailbox(settings(service, imap_password=wrong)).sent_records()
    assert raised.value.code == 'AuthError' and 'IMAP server 127.0.0.1 port %d' % service.mail['imap_port'] in str(raised.value)
    assert wrong not in str(raised.value) and OPS_PASSWORD not in str(raised.value)
    with pytest.raises(MailError) as raised:
        Mailbox(settings(service, smtp_password=wrong)).send(b'Subject: x\r\n\r\n')
    assert raised.value.code == 'AuthError' and wrong not in str(raised.value)
    with pytest.raises(MailError, match='folder Elsewhere cannot be opened'):
        Mailbox(settings(service, imap_folder='Elsewhere')).replies('<1@example.com>')
    with pytest.raises(MailError) as raised:
        Mailbox(settings(service, ca_bundle=None)).sent_records()
    assert raised.value.code == 'TLSError'


def test_a_lost_reply_fails_cleanly_naming_the_mail(mail_service):
    from ie_service.mailfront import write_mail_faults  # pylint: disable=import-outside-toplevel
    service = mail_service()
    write_mail_faults(service.state_dir, drop_replies=1)
    jobs = mail_jobs(service, reply_timeout=2)
    started = time.monotonic()
    with pytest.raises(NoReplyError) as raised:
        jobs.ensure_present('Import', import_manifest(AK, service.new_bucket()))
    assert 2 <= time.monotonic() - started < 10
    sent = jobs.mailbox.sent[0]
    text = str(raised.value)
    assert 'no reply to CREATE JOB %s' % sent['message_id'] in text
    assert time.strftime('%Y-%m-%d %H:%M', time.gmtime(sent['date'])) in text and 'reply_timeout (2s)' in text
    assert [r['status'] for r in mail_log(service)] == [m.SUCCESS] and mail_log(service)[0]['delivered'] == 0


KILLED_RUN = """
import sys
sys.path[:0] = %(path)r
from ansible_collections.awsie.importexport.plugins.module_utils.mail_client import Mailbox, MailSettings
from ansible_collections.awsie.importexport.plugins.module_utils.mail_jobs import MailJobs
MailJobs(Mailbox(MailSettings(**%(settings)r)), %(secret)r).ensure_present('Import', %(manifest)r)
"""


def test_a_run_killed_after_sending_finds_its_reply_on_the_next_run_and_sends_nothing_new(mail_service):
    from ie_service.mailfront import write_mail_faults  # pylint: disable=import-outside-toplevel
    service = mail_service()
    manifest = import_manifest(AK, service.new_bucket())
    write_mail_faults(service.state_dir, reply_delay=6)
    given = dict(smtp_host='127.0.0.1', smtp_port=service.mail['smtp_port'], smtp_user=OPS, smtp_password=OPS_PASSWORD,
                 mail_from=OPS, imap_port=service.mail['imap_port'], imap_password=OPS_PASSWORD,
                 ca_bundle=service.mail['ca_bundle'], reply_timeout=60)
    code = KILLED_RUN % dict(path=sys.path, settings=given, secret=SK, manifest=manifest)
    proc = subprocess.Popen([sys.executable, '-c', code])  # pylint: disable=consider-using-with
    deadline = time.monotonic() + 30
    while not mail_log(service) and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    log = mail_log(service)
    assert len(log) == 1 and log[0]['delivered'] == 0  # the service has the mail; its reply is not there yet
    jobs = mail_jobs(service)
    result = jobs.ensure_present('Import', manifest)
    assert result['job_id'] == log[0]['job_id'] and result['recovered_from'] == log[0]['message_id']
    assert jobs.mailbox.sent == [] and len(mail_log(service)) == 1  # nothing new sent
    assert [r.message_id for r in jobs.mailbox.sent_records()] == [log[0]['message_id']]


# ------------------------------------------------------------------ ie_job / ie_job_status with transport: email

def mail_options(service, user=OPS, password=OPS_PASSWORD, **extra):
    options = dict(transport='email', smtp_host='127.0.0.1', smtp_port=service.mail['smtp_port'], smtp_user=user,
                   smtp_password=password, mail_from=user, imap_port=service.mail['imap_port'], imap_password=password,
                   ca_bundle=service.mail['ca_bundle'], reply_timeout=30, secret_key=SK)
    options.update(extra)
    return options


def play(tasks, options, result_file=None):
    """A playbook whose ie_job and ie_job_status tasks get ``options`` (module_defaults); ``tasks``: YAML text."""
    text = ('- hosts: localhost\n  gather_facts: false\n  module_defaults:\n'
            '    awsie.importexport.ie_job: &mail %s\n    awsie.importexport.ie_job_status: *mail\n  tasks:\n%s'
            % (json.dumps(options), tasks))
    if result_file:
        text += ('    - name: Save the results\n      ansible.builtin.copy:\n        dest: %s\n'
                 '        content: "{{ {\'job\': job | default(none), \'status\': status | default(none)} | to_json }}"\n'
                 % result_file)
    return text


def results(path):
    with open(path, encoding='utf-8') as handle:
        return json.load(handle)


def test_the_main_job_by_mail_create_sign_receive_complete_with_the_data_in_s3(mail_service, loop_drive, playbook, tmp_path):
    service = mail_service(step_seconds=1)
    bucket = service.new_bucket()
    manifest = tmp_path / 'drive1.yml'
    manifest.write_bytes(crlf(import_manifest(AK, bucket)).encode())  # CRLF, as a Windows editor saves it
    drive = loop_drive('ext4')
    os.makedirs(os.path.join(drive.mountpoint, 'photos'))
    with open(os.path.join(drive.mountpoint, 'photos', 'a.jpg'), 'wb') as handle:
        handle.write(b'\xff\xd8 picture')
    with open(os.path.join(drive.mountpoint, 'notes.txt'), 'wb') as handle:
        handle.write(b'hello\n')
    out = str(tmp_path / 'out.json')
    tasks = ('    - name: CREATE JOB by mail\n      awsie.importexport.ie_job:\n        manifest_src: %s\n      register: job\n'
             '    - name: Sign the drive (SIGNATURE 1.0, on the controller)\n      awsie.importexport.ie_signature:\n'
             '        dest: %s\n        job_id: "{{ job.job_id }}"\n        manifest_src: %s\n        secret_key: %s\n'
             % (manifest, drive.mountpoint, manifest, SK))
    proc = playbook.run(play(tasks, mail_options(service), out))
    job = results(out)['job']
    assert job['action'] == 'created' and job['changed'] and job['device_id'] == 'DEV001'
    assert [s['subject'] for s in job['mail']['sent']] == [m.CREATE]
    assert [(r['subject'], r['status']) for r in job['mail']['received']] == [('RE: CREATE JOB', m.SUCCESS)]
    with open(os.path.join(drive.mountpoint, 'SIGNATURE'), encoding='utf-8') as handle:
        signature = handle.read()
    assert signature == job['signature_file_contents'] and signature.startswith('version: 1.0\n')
    assert signature == build_signature_file(SK, job['job_id'], manifest.read_bytes(), '1.0').decode()

    received = service.receive(job['job_id'], drive.mountpoint)
    assert received['signature'].startswith('SIGNATURE 1.0 for job %s matches' % job['job_id'])
    wait = ('    - name: GET STATUS by mail until Complete\n      awsie.importexport.ie_job_status:\n'
            '        job_ids: ["%s"]\n        wait_for: [Complete]\n        wait_timeout: 60\n        poll_interval: 1\n'
            '      register: status\n' % job['job_id'])
    playbook.run(play(wait, mail_options(service), out))
    status = results(out)['status']
    entry = status['jobs'][0]
    assert entry['progress_code'] == 'Complete' and entry['device_id'] == 'DEV001' and entry['terminal']
    assert entry['log_bucket'] == bucket and entry['log_key'] == 'import-log-%s' % job['job_id']
    assert all(s['subject'] == m.STATUS for s in status['mail']['sent'])
    objects = service.s3_client().list_objects_v2(Bucket=bucket)['Contents']
    assert sorted(o['Key'] for o in objects) == ['import-log-%s' % job['job_id'], 'notes.txt', 'photos/a.jpg']
    body = service.s3_client().get_object(Bucket=bucket, Key='photos/a.jpg')['Body'].read()
    assert body == b'\xff\xd8 picture'
    proc = playbook.run(play(tasks, mail_options(service), out))  # a re-run: the same job, nothing sent
    again = results(out)['job']
    assert again['job_id'] == job['job_id'] and again['action'] == 'none' and again['mail']['sent'] == []
    assert [t for t, _host in changed_tasks(proc.stdout)] == ['Save the results']  # the job and the SIGNATURE as they were
    assert [r['command'] for r in mail_log(service)].count(m.CREATE) == 1


@pytest.mark.parametrize('case', ['NoSuchBucket', 'InvalidJobId', 'InvalidSender'])
def test_an_error_reply_fails_the_task_naming_its_code(mail_service, playbook, tmp_path, case):
    service = mail_service()
    manifest = tmp_path / 'm.yml'
    manifest.write_text(import_manifest(AK, 'no-such-bucket' if case == 'NoSuchBucket' else service.new_bucket()))
    options = mail_options(service, STRANGER, STRANGER_PASSWORD) if case == 'InvalidSender' else mail_options(service)
    if case == 'InvalidJobId':
        task = '    - awsie.importexport.ie_job_status:\n        job_ids: [QQQQ9]\n'
    else:
        task = '    - awsie.importexport.ie_job:\n        manifest_src: %s\n' % manifest
    proc = playbook.run(play(task, options), expect_rc=2)
    assert 'was answered ERROR, CODE %s' % case in proc.stdout


def test_no_reply_within_the_timeout_fails_saying_what_was_sent_when(mail_service, playbook, tmp_path):
    from ie_service.mailfront import write_mail_faults  # pylint: disable=import-outside-toplevel
    service = mail_service()
    write_mail_faults(service.state_dir, drop_replies=1)
    manifest = tmp_path / 'm.yml'
    manifest.write_text(import_manifest(AK, service.new_bucket()))
    proc = playbook.run(play('    - awsie.importexport.ie_job:\n        manifest_src: %s\n' % manifest,
                             mail_options(service, reply_timeout=2)), expect_rc=2)
    sent = mail_log(service)[0]
    assert 'no reply to CREATE JOB %s, sent to awsimportexport@amazon.com at' % sent['message_id'] in proc.stdout
    assert 'within reply_timeout (2s)' in proc.stdout


def test_a_playbook_killed_after_sending_is_run_again_and_finds_its_reply(mail_service, playbook, tmp_path):
    from ie_service.mailfront import write_mail_faults  # pylint: disable=import-outside-toplevel
    from tests.support.processes import end_group  # pylint: disable=import-outside-toplevel
    service = mail_service()
    write_mail_faults(service.state_dir, reply_delay=8)
    manifest = tmp_path / 'm.yml'
    manifest.write_text(import_manifest(AK, service.new_bucket()))
    out = str(tmp_path / 'out.json')
    text = play('    - awsie.importexport.ie_job:\n        manifest_src: %s\n      register: job\n' % manifest,
                mail_options(service), out)
    path = tmp_path / 'kill.yml'
    path.write_text(text)
    first = subprocess.Popen(['ansible-playbook', '-i', playbook.inventory, str(path)], env=playbook.env(),  # pylint: disable=consider-using-with
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while not mail_log(service) and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.1)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    end_group(first)
    log = mail_log(service)
    assert len(log) == 1 and log[0]['delivered'] == 0  # sent, not answered yet
    playbook.run(str(path))
    job = results(out)['job']
    assert job['job_id'] == log[0]['job_id'] and job['recovered_from'] == log[0]['message_id']
    assert job['mail']['sent'] == [] and len(mail_log(service)) == 1  # nothing new sent
    assert job['mail']['received'][0]['in_reply_to'] == log[0]['message_id']


def test_passwords_never_appear_even_at_vvvv(mail_service, playbook, tmp_path):
    service = mail_service()
    manifest = tmp_path / 'm.yml'
    manifest.write_text(import_manifest(AK, service.new_bucket()))
    tasks = ('    - awsie.importexport.ie_job:\n        manifest_src: %s\n      register: job\n'
             '    - awsie.importexport.ie_job_status:\n        job_ids: ["{{ job.job_id }}"]\n'
             '    - awsie.importexport.ie_job_status:\n        job_ids: ["{{ job.job_id }}"]\n        imap_password: %s\n'
             '      ignore_errors: true\n' % (manifest, OPS_PASSWORD + '-wrong'))
    proc = playbook.run(play(tasks, mail_options(service)), verbosity=4)
    output = proc.stdout + proc.stderr
    assert 'refused the login' in output and 'GET STATUS' in output  # the runs did what they should
    for secret in (OPS_PASSWORD, OPS_PASSWORD + '-wrong', SK):
        assert secret not in output


# ------------------------------------------------------------------ drive_prepare by mail

PREPARE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'playbooks',
                       'prepare_drives.yml')
RETURN_ADDRESS = {'name': 'Test Operator', 'street1': '1 Test St', 'city': 'Seattle', 'stateOrProvince': 'WA',
                  'postalCode': '98104', 'phoneNumber': '206-555-0100', 'country': 'USA'}


def test_drive_prepare_makes_the_job_by_mail_with_one_variable(mail_service, loop_drive, playbook, tmp_path):
    service = mail_service(step_seconds=1)
    bucket = service.new_bucket('bymail')
    drive = loop_drive('ext4', size_mb=24, mount=False)
    data = tmp_path / 'data'
    (data / 'sub').mkdir(parents=True)
    (data / 'a.txt').write_bytes(b'alpha\n')
    (data / 'sub' / 'b.txt').write_bytes(b'beta\n')
    mail = dict((k, v) for k, v in mail_options(service).items() if k not in ('transport', 'secret_key'))
    group_vars = dict(drive_prepare_manifest_defaults={'accessKeyId': AK, 'eraseDevice': True, 'returnAddress': RETURN_ADDRESS},
                      drive_prepare_endpoint_url=service.url, drive_prepare_access_key=AK, drive_prepare_secret_key=SK,
                      drive_prepare_progress_interval=2, drive_prepare_load_timeout=300, drive_prepare_transport='email',
                      drive_prepare_mail=mail)
    host = {'ansible_connection': 'local', 'ansible_python_interpreter': '{{ ansible_playbook_python }}',
            'drive_prepare_mount_root': str(tmp_path / 'mnt'),
            'drive_prepare_drives': [{'name': 'd1', 'device': drive.device, 'data_src': str(data),
                                      'manifest': {'bucket': bucket}}]}
    os.makedirs(str(tmp_path / 'inventory'))
    inventory = str(tmp_path / 'inventory' / 'hosts.yml')
    with open(inventory, 'w', encoding='utf-8') as handle:
        json.dump({'ie_drive_hosts': {'vars': group_vars, 'hosts': {'station1': host}}}, handle)

    playbook.run(PREPARE, inventory=inventory)
    log = mail_log(service)
    assert [(r['command'], r['status']) for r in log] == [(m.CREATE, m.SUCCESS)]
    job_id = log[0]['job_id']
    status = service.client().get_status(JobId=job_id)
    assert status['ProgressCode'] == 'Pending' and 'bucket: %s' % bucket in status['CurrentManifest']
    second = playbook.run(PREPARE, inventory=inventory)  # nothing sent again
    assert [r['command'] for r in mail_log(service)] == [m.CREATE]
    assert not [t for t, _h in changed_tasks(second.stdout) if 'mount' not in t.lower()], second.stdout[-3000:]

    received = service.receive(job_id, drive.device)  # the drive "ships": SIGNATURE 1.0 checked, data loaded
    assert received.get('signature', '').startswith('SIGNATURE 1.0 for job %s matches' % job_id), received
    deadline = time.monotonic() + 30
    while service.client().get_status(JobId=job_id)['ProgressCode'] != 'Complete' and time.monotonic() < deadline:
        time.sleep(0.5)
    keys = sorted(o['Key'] for o in service.s3_client().list_objects_v2(Bucket=bucket)['Contents'])
    assert keys == ['a.txt', 'import-log-%s' % job_id, 'sub/b.txt']
