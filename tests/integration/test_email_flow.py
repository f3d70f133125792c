"""The e-mail workflow of 2009 over real SMTP and IMAP on loopback: the local service's mail front
(aiosmtpd + Dovecot, started by ``ie-service serve --smtp-port``) and the collection's mail
client, then ie_job/ie_job_status with ``transport: email`` in real ansible-playbook runs.

Needs root (Dovecot, loop drives) and Debian's dovecot-imapd (scripts/setup.sh installs it).
"""
import base64
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


CLIENT_ERROR_CASES = ['InvalidSender', 'MissingManifestAttachment', 'InvalidManifestField', 'MissingManifestField',
                      'InvalidJobId', 'ExpiredJobId', 'CanceledJobId', 'NoSuchBucket', 'AccessDenied']


@pytest.mark.parametrize('code', CLIENT_ERROR_CASES)
def test_each_error_code_surfaces_through_the_client_as_a_failure_naming_it(mail_service, code):
    """The service's real ERROR reply, read back over IMAP by the client, fails the command with its CODE,
    the Message-ID of the mail it answers, the description and the recommended action."""
    service = mail_service()
    bucket = service.new_bucket()
    manifest = import_manifest(AK, bucket)
    changed = manifest.replace('eraseDevice: yes', 'eraseDevice: no')
    jobs = mail_jobs(service, **(dict(user=STRANGER, password=STRANGER_PASSWORD) if code == 'InvalidSender' else {}))
    with pytest.raises(MailReplyError) as raised:
        if code == 'MissingManifestAttachment':  # the client always attaches: a CREATE JOB without, by hand
            message_id, sent_at = jobs._send(m.CREATE, {'job_type': 'Import'})  # pylint: disable=protected-access
            jobs._reply(m.CREATE, message_id, sent_at)  # pylint: disable=protected-access
        elif code == 'InvalidJobId':
            jobs.status('QQQQ9')
        elif code in ('ExpiredJobId', 'CanceledJobId'):
            job_id = jobs.ensure_present('Import', manifest)['job_id']
            if code == 'CanceledJobId':
                service.client().cancel_job(JobId=job_id)
            else:
                service.advance_clock(days=31)
            mail_jobs(service).ensure_present('Import', changed, job_id=job_id)  # UPDATE JOB
        else:
            jobs.ensure_present('Import', {
                'InvalidManifestField': import_manifest(AK, bucket, extra='acl: nonsense\n'),
                'MissingManifestField': manifest.replace('bucket: %s\n' % bucket, ''),
                'NoSuchBucket': import_manifest(AK, 'no-such-bucket-here'),
                'AccessDenied': import_manifest(AK2, bucket),
                'InvalidSender': manifest}[code])
    error = raised.value
    sent = [s for s in jobs.mailbox.sent if s['message_id'] == error.sent_id] or \
        [{'message_id': r['message_id']} for r in mail_log(service) if r['message_id'] == error.sent_id]
    assert error.code == code and sent, (error.code, str(error))
    assert ' %s was answered ERROR, CODE %s: ' % (error.sent_id, code) in str(error)
    assert error.message and error.recommended_action and 'Recommended action: ' in str(error)
    assert error.as_dict()['code'] == code and error.as_dict()['reply_message_id']


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


def sent_copies(service):
    """The Sent folder of ops@ as ``[(command, Message-ID, still a draft)]``."""
    box = Mailbox(settings(service))
    try:
        return [(r.command, r.message_id, r.draft) for r in box.sent_records()]
    finally:
        box.close()


def accepted(service):
    """The client knows its CREATE JOB was accepted: its Sent copy is no longer a draft."""
    return [draft for command, unused, draft in sent_copies(service) if command == m.CREATE] == [False]


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
    write_mail_faults(service.state_dir, reply_delay=10)
    given = dict(smtp_host='127.0.0.1', smtp_port=service.mail['smtp_port'], smtp_user=OPS, smtp_password=OPS_PASSWORD,
                 mail_from=OPS, imap_port=service.mail['imap_port'], imap_password=OPS_PASSWORD,
                 ca_bundle=service.mail['ca_bundle'], reply_timeout=60)
    code = KILLED_RUN % dict(path=sys.path, settings=given, secret=SK, manifest=manifest)
    proc = subprocess.Popen([sys.executable, '-c', code])  # pylint: disable=consider-using-with
    deadline = time.monotonic() + 30
    while not accepted(service) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    log = mail_log(service)
    assert len(log) == 1 and log[0]['delivered'] == 0  # the service has the mail; its reply is not there yet
    assert sent_copies(service) == [(m.CREATE, log[0]['message_id'], False)]
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


@pytest.mark.parametrize('moment', ['after_the_server_said_250', 'before_the_server_said_250'])
def test_a_playbook_killed_after_sending_is_run_again_and_finds_its_reply(mail_service, playbook, tmp_path, moment):
    """SIGKILL of ansible-playbook after its CREATE JOB reached the service and before the reply is read;
    the re-run finds the reply: one CREATE JOB mail at the service, one job, the same JOBID. Killed once
    the client knows the mail was accepted (its Sent copy is no longer a draft), the re-run sends nothing;
    killed while the server had the mail but had not said 250 yet (accept_delay), the client cannot know
    the mail arrived: the re-run sends the same mail again (same Message-ID), which the service answers once."""
    from ie_service.mailfront import write_mail_faults  # pylint: disable=import-outside-toplevel
    from tests.support.processes import end_group  # pylint: disable=import-outside-toplevel
    service = mail_service()
    early = moment == 'before_the_server_said_250'
    write_mail_faults(service.state_dir, reply_delay=20, accept_delay=8 if early else 0)
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
    while not (mail_log(service) if early else accepted(service)) and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.1)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    end_group(first)
    log = mail_log(service)
    assert len(log) == 1 and log[0]['delivered'] == 0  # the service has the mail; its reply is not there yet
    assert sent_copies(service) == [(m.CREATE, log[0]['message_id'], early)]
    write_mail_faults(service.state_dir, reply_delay=20)
    playbook.run(str(path))
    job = results(out)['job']
    assert job['job_id'] == log[0]['job_id'] and job['recovered_from'] == log[0]['message_id']
    assert job['mail']['received'][0]['in_reply_to'] == log[0]['message_id']
    log = mail_log(service)
    assert [(r['command'], r['message_id'], r['job_id']) for r in log] == [(m.CREATE, job['recovered_from'], job['job_id'])]
    assert [j['JobId'] for j in service.client().list_jobs()['Jobs']] == [job['job_id']]
    assert [(s['message_id'], s.get('again')) for s in job['mail']['sent']] == ([(log[0]['message_id'], True)] if early else [])
    assert sent_copies(service) == [(m.CREATE, log[0]['message_id'], False)]


def secret_forms(value):
    """The byte strings that would give a secret away: as written, UTF-16-LE, base64 at each alignment
    (SMTP AUTH sends passwords base64)."""
    raw = value.encode()
    found = [raw, value.encode('utf-16-le')]
    for pad in range(3):
        encoded = base64.b64encode(b'\0' * pad + raw)
        found.append(encoded[-(-8 * pad // 6):(8 * (pad + len(raw)) - 6) // 6 + 1])
    return found


def files_holding(roots, needles, since, skip=()):
    """``(hits, files searched)``: every file under ``roots`` changed since ``since`` (not in ``skip``)
    that holds one of ``needles`` (name -> byte strings), as ``(name, path)``."""
    hits, searched = [], []
    for root in roots:
        for folder, unused, names in os.walk(root):
            for name in names:
                path = os.path.join(folder, name)
                try:
                    if path in skip or not os.path.isfile(path) or os.lstat(path).st_mtime < since:
                        continue
                    with open(path, 'rb') as handle:
                        data = handle.read(64 << 20)
                except OSError:
                    continue
                searched.append(path)
                hits += [(secret, path) for secret, forms in needles.items() if any(f in data for f in forms)]
    return hits, searched


def test_passwords_never_appear_even_at_vvvv(mail_service, playbook, tmp_path):
    """smtp_password and imap_password at -vvvv with ANSIBLE_KEEP_REMOTE_FILES=1, in a good run and in
    failing tasks (IMAP and SMTP logins refused, an ERROR reply): not in the output, not in any file the
    run left (kept remote files, local tmp, ANSIBLE_HOME, ~/.ansible), not in the mails (Sent copies,
    replies). Allowed: the user's own vars file and the service's state directory (the server side).
    A marker in a kept module's arguments proves the search reaches the kept files."""
    started = time.time() - 2
    service = mail_service()
    manifest = tmp_path / 'm.yml'
    manifest.write_text(import_manifest(AK, service.new_bucket()))
    bad_manifest = tmp_path / 'bad.yml'
    bad_manifest.write_text(import_manifest(AK, 'no-such-bucket', device_id='DEV404'))
    marker = 'kept-marker-%d' % os.getpid()
    wrong = OPS_PASSWORD + '-wrong'
    tasks = ('    - awsie.importexport.ie_job:\n        manifest_src: %s\n      register: job\n'
             '    - awsie.importexport.ie_job_status:\n        job_ids: ["{{ job.job_id }}"]\n'
             '    - ansible.builtin.command: echo %s\n      changed_when: false\n'
             '    - awsie.importexport.ie_job_status:\n        job_ids: ["{{ job.job_id }}"]\n'
             '        imap_password: "{{ wrong_password }}"\n      ignore_errors: true\n'
             '    - awsie.importexport.ie_job:\n        manifest_src: %s\n        smtp_password: "{{ wrong_password }}"\n'
             '      ignore_errors: true\n'
             '    - awsie.importexport.ie_job:\n        manifest_src: %s\n      ignore_errors: true\n'
             % (manifest, marker, bad_manifest, bad_manifest))
    # The passwords as users keep them (a vault or vars file): ansible-core quotes the source lines of a
    # failing task in its error (Origin:), so a password written into a task would be shown by Ansible itself.
    secrets_file = tmp_path / 'mail-secrets.yml'
    secrets_file.write_text(json.dumps({'mail_password': OPS_PASSWORD, 'wrong_password': wrong, 'aws_secret_key': SK}))
    options = mail_options(service, smtp_password='{{ mail_password }}', imap_password='{{ mail_password }}',
                           secret_key='{{ aws_secret_key }}')
    path = tmp_path / 'secrets.yml'
    path.write_text(play(tasks, options).replace('  gather_facts: false\n', '  gather_facts: false\n  vars_files: [%s]\n'
                                                 % secrets_file, 1))
    proc = playbook.run(str(path), verbosity=4, env={'ANSIBLE_KEEP_REMOTE_FILES': '1'})
    output = proc.stdout + proc.stderr
    assert 'IMAP server 127.0.0.1 port %d (starttls) as %s refused the login' % (service.mail['imap_port'], OPS) in output
    assert 'SMTP server 127.0.0.1 port %d (starttls) refused the login' % service.mail['smtp_port'] in output
    assert 'CODE NoSuchBucket' in output
    assert 'GET STATUS' in output and 'ignored=3' in output  # the runs did what they should
    needles = {'smtp/imap password': secret_forms(OPS_PASSWORD), 'wrong password': secret_forms(wrong),
               'secret key': secret_forms(SK)}
    for secret, forms in needles.items():
        assert not [f for f in forms if f in output.encode()], '%s in the -vvvv output' % secret
    roots = [str(tmp_path), service.mail['mail_dir'], os.path.expanduser('~/.ansible'),
             playbook.env()['ANSIBLE_HOME']]
    skip = set([str(path), str(secrets_file)])
    skip.update(os.path.join(folder, name) for folder, unused, names in os.walk(service.state_dir) for name in names)
    hits, searched = files_holding(roots, dict(needles, marker=[marker.encode()]), started, skip)
    kept = [p for p in searched if os.sep + 'remote-tmp' + os.sep in p]
    mails = [p for p in searched if p.startswith(service.mail['mail_dir'] + os.sep)]
    print('searched %d files (%d kept remote files, %d in the mailboxes)' % (len(searched), len(kept), len(mails)))
    assert [p for secret, p in hits if secret == 'marker' and p in kept], 'the search did not reach the kept files'
    assert [secret_path for secret_path in hits if secret_path[0] != 'marker'] == []


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


# ------------------------------------------------------------------ job_status (poll_jobs.yml) by mail

POLL = os.path.join(os.path.dirname(PREPARE), 'poll_jobs.yml')


def report_rows(path):
    """The job rows of a job_status markdown report, without the 'last change' column (the time of each poll)."""
    with open(path, encoding='utf-8') as handle:
        rows = [line.split(' | ') for line in handle.read().splitlines() if line.startswith('| ') and not line.startswith('| host')]
    return [row[:7] + row[8:] for row in rows if not set(row[0]) <= set('|- ')]


def test_poll_jobs_by_mail_reports_the_states_the_query_api_reports(mail_service, playbook, tmp_path):
    """poll_jobs.yml with drive_prepare_transport=email (job_status_transport follows it): one GET STATUS
    mail per job, and the reports, the saved poll and the alerts are those of a poll over the Query API."""
    service = mail_service()
    bucket = service.new_bucket()
    client = service.client()
    made = [client.create_job(JobType='Import', Manifest=import_manifest(AK, bucket, device_id='DEV-%d' % n),
                              ValidateOnly=False) for n in range(3)]
    done, pending, canceled = [j['JobId'] for j in made]
    drive = tmp_path / 'drive'
    drive.mkdir()
    (drive / 'SIGNATURE').write_text(made[0]['SignatureFileContents'])
    (drive / 'photo.jpg').write_text('jpeg')
    service.receive(done, str(drive))
    service.advance_clock(hours=3)
    client.cancel_job(JobId=canceled)
    mail = dict((k, v) for k, v in mail_options(service).items() if k not in ('transport', 'secret_key'))
    group_vars = dict(job_status_endpoint_url=service.url, job_status_access_key=AK, job_status_secret_key=SK,
                      job_status_alert_codes=['Canceled'], drive_prepare_transport='email', drive_prepare_mail=mail)
    os.makedirs(str(tmp_path / 'inventory'))
    inventory = str(tmp_path / 'inventory' / 'hosts.json')
    with open(inventory, 'w', encoding='utf-8') as handle:
        json.dump({'ie_drive_hosts': {'vars': group_vars, 'hosts': {'station1': {
            'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}}}}, handle)
    named = [{'job_id': done, 'host': 'station1', 'drive': 'usb1'}, {'job_id': pending, 'host': 'station1', 'drive': 'usb2'},
             {'job_id': canceled, 'host': 'station1', 'drive': 'usb3'}]
    runs = {}
    for transport in ('email', 'api'):
        out = tmp_path / transport
        extra = dict(job_status_jobs=named, job_status_output_dir=str(out), job_status_state_fact=False)
        if transport == 'api':
            extra['job_status_transport'] = 'api'
        before = len(mail_log(service))
        proc = playbook.run(POLL, inventory=inventory, extra_vars=extra, expect_rc=2)  # Canceled is an alert here
        runs[transport] = dict(proc=proc, out=out, mails=mail_log(service)[before:])
    by_mail, by_api = runs['email'], runs['api']
    assert sorted((r['command'], r['job_id'], r['status']) for r in by_mail['mails']) == sorted(
        (m.STATUS, j, m.SUCCESS) for j in (done, pending, canceled))
    assert by_api['mails'] == []  # over the Query API: no mail
    rows = report_rows(str(by_mail['out'] / 'ie-job-report.md'))
    assert rows == report_rows(str(by_api['out'] / 'ie-job-report.md'))
    assert [(r[2], r[4], r[5]) for r in rows] == [
        (done, 'Returned', 'Complete'), (pending, 'NotReceived', 'Pending'), (canceled, 'NotReceived', 'Canceled')]

    def states(run):
        with open(str(run['out'] / 'ie-job-status.state.json'), encoding='utf-8') as handle:
            return [dict((k, v) for k, v in job.items() if k != 'changed_at') for job in json.load(handle)['jobs']]

    assert states(by_mail) == states(by_api)

    def alert(run):
        return [line.split('Reports:')[0] for line in run['proc'].stdout.splitlines() if line.startswith('fatal:')]

    assert alert(by_mail) == alert(by_api) and '%s (station1/usb3): Canceled' % canceled in alert(by_mail)[0]
