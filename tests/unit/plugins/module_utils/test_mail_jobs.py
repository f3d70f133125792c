"""The job rules over e-mail (mail_jobs) on an in-memory mailbox: what is sent when, what a re-run
finds in the Sent folder and the replies, kills at each step, ERROR replies and silence.
The real SMTP/IMAP round trip is tests/integration/test_email_flow.py."""
import itertools

import pytest

from ansible_collections.awsie.importexport.plugins.module_utils import mail as m
from ansible_collections.awsie.importexport.plugins.module_utils.jobs import JobError
from ansible_collections.awsie.importexport.plugins.module_utils.mail_client import MailError, MailSettings, SentRecord
from ansible_collections.awsie.importexport.plugins.module_utils.mail_jobs import (
    MailBook, MailJobs, MailReplyError, NoReplyError)
from ansible_collections.awsie.importexport.plugins.module_utils.signing import build_signature_file, verify_signature_file

SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
MANIFEST = ('manifestVersion: 2.0\r\naccessKeyId: AKIAIOSFODNN7EXAMPLE\r\ndeviceId: DEV001\r\nbucket: b1\r\n'
            'returnAddress:\r\n    name: Joe\r\n    street1: 1 Main St\r\n    city: Seattle\r\n    stateOrProvince: WA\r\n'
            '    postalCode: "98104"\r\n    phoneNumber: 206-555-0100\r\n    country: USA\r\n')
SAME_MEANING = MANIFEST.replace('\r\n', '\n').replace('bucket: b1', 'bucket:   b1')
CHANGED = MANIFEST.replace('bucket: b1', 'bucket: b2')
DAY = 86400.0


class Service:
    """Answers command mails as the local service does (just enough of it)."""

    def __init__(self, clock):
        self.clock = clock
        self.jobs = {}
        self.ids = (('J%04d' % n).replace('0', 'Z') for n in itertools.count(1))
        self.errors = {}  # command -> (code, description)
        self.silent = False

    def answer(self, raw):
        cmd = m.parse_command(raw)
        if self.silent:
            return None
        if cmd.command in self.errors:
            code, text = self.errors[cmd.command]
            return self._reply(cmd, m.ERROR, {'code': code, 'description': text, 'recommended_action': 'Fix it.'})
        if cmd.command == m.CREATE:
            device = [line for line in cmd.attachment()[1].decode().splitlines() if line.startswith('deviceId')][0]
            replaced = [j for j, v in self.jobs.items() if v['device'] == device and v['state'] == 'Pending']
            for job_id in replaced:
                self.jobs[job_id]['state'] = 'Canceled'
            job_id = next(self.ids)
            self.jobs[job_id] = dict(device=device, state='Pending', created=self.clock(), manifest=cmd.attachment()[1])
            return self._reply(cmd, m.SUCCESS, {'job_id': job_id, 'replaced_job_id': replaced[0] if replaced else None})
        job = self.jobs.get(cmd.fields.get('job_id'))
        if job is None:
            return self._reply(cmd, m.ERROR, {'code': 'InvalidJobId', 'description': 'No such job'})
        if cmd.command == m.STATUS:
            expired = job['state'] == 'Pending' and self.clock() - job['created'] > 30 * DAY
            return self._reply(cmd, m.SUCCESS, {'job_id': cmd.fields['job_id'], 'location_code': 'NotReceived',
                                                'progress_code': 'Expired' if expired else job['state'], 'error_count': '0',
                                                'device_id': 'DEV001'})
        if job['state'] == 'Canceled':
            return self._reply(cmd, m.ERROR, {'code': 'CanceledJobId', 'description': 'canceled'})
        if cmd.command == m.CANCEL:
            job['state'] = 'Canceled'
            return self._reply(cmd, m.SUCCESS, {'job_id': cmd.fields['job_id'], 'progress_code': 'Canceled'})
        job['manifest'] = cmd.attachment()[1]
        job['signature'] = cmd.attachment(signature=True)[1]
        return self._reply(cmd, m.SUCCESS, {'job_id': cmd.fields['job_id'], 'progress_code': 'Updated'})

    def _reply(self, cmd, status, fields):
        return m.as_bytes(m.reply_message(cmd, status, fields, date=self.clock()))


class Mailbox:
    """mail_client.Mailbox in memory: a Sent folder, an inbox, an SMTP log; replies arrive at once
    unless the service is silent; ``kill_at`` raises KeyboardInterrupt at a step (a killed run)."""

    def __init__(self, service, clock):
        self.settings = MailSettings('smtp.example.com', 'ops@example.com', imap_password='pw', reply_timeout=5)
        self.service = service
        self.clock = clock
        self.copies, self.inbox, self.smtp = [], [], []
        self.sent, self.received = [], []
        self.kill_at = None
        self.waited = []
        self.late = []  # replies that arrive while a run waits

    def _step(self, name):
        if self.kill_at == name:
            self.kill_at = None
            raise KeyboardInterrupt(name)

    def sent_records(self):
        return [SentRecord(n, '\\Draft' if c['draft'] else '\\Seen', c['raw']) for n, c in enumerate(self.copies)]

    def sent_message(self, record):
        return self.copies[record.uid]['raw']

    def save_draft(self, raw):
        self.copies.append(dict(raw=raw, draft=True))
        self._step('after_draft')

    def send(self, raw):
        self.smtp.append(raw)
        reply = self.service.answer(raw)
        if reply is not None:
            self.inbox.append(reply)
        self._step('after_send')

    def mark_sent(self, message_id):
        for copy in self.copies:
            if m.parse_command(copy['raw']).message_id == message_id:
                copy['draft'] = False

    def replies_for(self, message_ids):
        found = {}
        for raw in self.inbox:
            reply = m.parse_reply(raw)
            for message_id in set(message_ids).intersection(reply.parents):
                found.setdefault(message_id, reply)
        return found

    def wait(self, message_ids, timeout):
        self.waited.append((list(message_ids), timeout))
        self.inbox.extend(self.late)
        del self.late[:]
        return self.replies_for(message_ids)


class World:
    def __init__(self):
        self.now = 1243850400.0
        self.service = Service(self.clock)
        self.box = Mailbox(self.service, self.clock)

    def clock(self):
        return self.now

    def jobs(self, secret=SECRET):
        return MailJobs(self.box, secret, clock=self.clock)

    def commands(self):
        return [m.parse_command(raw).command for raw in self.box.smtp]


@pytest.fixture
def world():
    return World()


def test_create_sends_one_create_job_with_the_manifest_as_its_bytes(world):
    result = world.jobs().ensure_present('Import', MANIFEST)
    assert world.commands() == [m.CREATE]
    sent = m.parse_command(world.box.smtp[0])
    assert sent.attachment()[1] == MANIFEST.encode() and sent.fields == {'job_type': 'Import'}
    assert sent.headers[m.HEADER_DEVICE] == 'DEV001' and sent.headers[m.HEADER_DIGEST].startswith('sha256:')
    assert result['action'] == 'created' and result['changed'] and result['job_id'] == 'JZZZ1'
    assert result['signature_file_contents'] == build_signature_file(SECRET, 'JZZZ1', MANIFEST.encode(), '1.0').decode()
    assert not world.box.copies[0]['draft']  # accepted by SMTP: no longer a draft


def test_a_rerun_with_the_same_manifest_sends_nothing(world):
    first = world.jobs().ensure_present('Import', MANIFEST)
    again = world.jobs().ensure_present('Import', SAME_MEANING)
    assert world.commands() == [m.CREATE]
    assert again['action'] == 'none' and not again['changed'] and again['job_id'] == first['job_id']
    assert again['signature_file_contents'] == build_signature_file(SECRET, 'JZZZ1', SAME_MEANING.encode(), '1.0').decode()


def test_the_same_manifest_as_another_job_type_is_another_job(world):
    world.jobs().ensure_present('Import', MANIFEST)
    world.jobs().ensure_present('Export', MANIFEST)
    assert world.commands() == [m.CREATE, m.CREATE]


def test_a_changed_manifest_is_a_new_create_job_that_replaces_the_drives_job(world):
    world.jobs().ensure_present('Import', MANIFEST)
    result = world.jobs().ensure_present('Import', CHANGED)
    assert world.commands() == [m.CREATE, m.CREATE]
    assert result['job_id'] == 'JZZZ2' and result['replaced'] == ['JZZZ1']
    book = world.jobs().book()
    assert book.jobs['JZZZ1']['state'] == 'Canceled' and [j['job_id'] for j in book.live('DEV001')] == ['JZZZ2']
    back = world.jobs().ensure_present('Import', MANIFEST)  # JZZZ1 is gone: the old manifest needs a new job
    assert back['job_id'] == 'JZZZ3' and back['action'] == 'created'


def test_a_run_killed_after_sending_is_picked_up_by_the_rerun_without_sending_again(world):
    world.service.silent = True  # the reply comes later
    with pytest.raises(NoReplyError) as raised:
        world.jobs().ensure_present('Import', MANIFEST)
    message_id = m.parse_command(world.box.smtp[0]).message_id
    text = str(raised.value)
    assert message_id in text and 'CREATE JOB' in text and '2009-06-01 10:00:00 UTC' in text
    assert 'reply_timeout (5s)' in text and 'sends no new CREATE JOB' in text and 'folder Sent' in text
    world.box.late.append(m.as_bytes(m.reply_message(m.parse_command(world.box.smtp[0]), m.SUCCESS, {'job_id': 'X452D'})))
    result = world.jobs().ensure_present('Import', MANIFEST)  # the reply arrives while the re-run waits
    assert world.commands() == [m.CREATE]  # nothing new sent
    assert result['job_id'] == 'X452D' and result['action'] == 'created' and result['recovered_from'] == message_id
    assert world.box.waited[-1][0] == [message_id]
    again = world.jobs().ensure_present('Import', MANIFEST)  # answered now: the job, as it is
    assert again['job_id'] == 'X452D' and again['action'] == 'none' and world.commands() == [m.CREATE]


def test_a_run_killed_after_smtp_took_the_mail_waits_for_its_reply_on_the_rerun(world):
    world.service.silent = True
    world.box.kill_at = 'after_send'
    with pytest.raises(KeyboardInterrupt):
        world.jobs().ensure_present('Import', MANIFEST)
    assert world.box.copies[0]['draft']  # killed before the copy was marked sent
    world.service.silent = False
    world.box.inbox.append(world.service.answer(world.box.smtp[0]))
    result = world.jobs().ensure_present('Import', MANIFEST)
    assert world.commands() == [m.CREATE]
    assert result['job_id'] == 'JZZZ1'


def test_a_run_killed_before_smtp_sends_the_same_mail_again(world):
    world.box.kill_at = 'after_draft'
    with pytest.raises(KeyboardInterrupt):
        world.jobs().ensure_present('Import', MANIFEST)
    assert world.box.smtp == [] and world.box.copies[0]['draft']
    result = world.jobs().ensure_present('Import', MANIFEST)
    assert world.box.smtp == [world.box.copies[0]['raw']]  # the same bytes, the same Message-ID
    assert len(world.box.copies) == 1 and not world.box.copies[0]['draft']
    assert result['job_id'] == 'JZZZ1'


def test_an_error_reply_fails_naming_its_code_and_a_rerun_sends_anew(world):
    world.service.errors[m.CREATE] = ('NoSuchBucket', 'The bucket b1 does not exist.')
    with pytest.raises(MailReplyError) as raised:
        world.jobs().ensure_present('Import', MANIFEST)
    assert raised.value.code == 'NoSuchBucket'
    assert 'answered ERROR, CODE NoSuchBucket: The bucket b1 does not exist. Recommended action: Fix it.' in str(raised.value)
    assert raised.value.as_dict()['code'] == 'NoSuchBucket'
    del world.service.errors[m.CREATE]
    result = world.jobs().ensure_present('Import', MANIFEST)
    assert world.commands() == [m.CREATE, m.CREATE] and result['action'] == 'created'


def test_update_job_carries_the_updated_manifest_and_its_signature(world):
    world.jobs().ensure_present('Import', MANIFEST)
    result = world.jobs().ensure_present('Import', CHANGED, job_id='JZZZ1')
    assert world.commands() == [m.CREATE, m.UPDATE] and result['action'] == 'updated'
    job = world.service.jobs['JZZZ1']
    assert job['manifest'] == CHANGED.encode()
    assert verify_signature_file(job['signature'], SECRET, CHANGED.encode(), 'JZZZ1')[0]
    again = world.jobs().ensure_present('Import', CHANGED, job_id='JZZZ1')
    assert again['action'] == 'none' and world.commands() == [m.CREATE, m.UPDATE]


def test_update_job_without_the_secret_key_is_refused_before_sending(world):
    world.jobs().ensure_present('Import', MANIFEST)
    with pytest.raises(JobError, match='needs the updated SIGNATURE'):
        world.jobs(secret=None).ensure_present('Import', CHANGED, job_id='JZZZ1')
    assert world.commands() == [m.CREATE]


def test_a_canceled_job_is_not_updated(world):
    world.jobs().ensure_present('Import', MANIFEST)
    world.jobs().ensure_absent(job_id='JZZZ1')
    with pytest.raises(JobError, match='JZZZ1 is Canceled and cannot be updated'):
        world.jobs().ensure_present('Import', CHANGED, job_id='JZZZ1')


def test_cancel_by_id_then_again_is_no_change(world):
    world.jobs().ensure_present('Import', MANIFEST)
    result = world.jobs().ensure_absent(job_id='JZZZ1')
    assert result == dict(changed=True, canceled=['JZZZ1'], action='canceled', job_id='JZZZ1')
    again = world.jobs().ensure_absent(job_id='JZZZ1')
    assert not again['changed'] and world.commands() == [m.CREATE, m.CANCEL]


def test_cancel_answered_canceled_job_id_is_no_change(world):
    world.service.jobs['JZZZ9'] = dict(device='x', state='Canceled', created=world.now, manifest=b'')
    result = world.jobs().ensure_absent(job_id='JZZZ9')
    assert not result['changed'] and result['canceled'] == [] and world.commands() == [m.CANCEL]


def test_cancel_by_manifest_cancels_the_drives_live_job(world):
    world.jobs().ensure_present('Import', MANIFEST)
    result = world.jobs().ensure_absent(manifest=MANIFEST)
    assert result['canceled'] == ['JZZZ1'] and world.service.jobs['JZZZ1']['state'] == 'Canceled'
    assert not world.jobs().ensure_absent(manifest=MANIFEST)['changed']


def test_check_mode_sends_nothing(world):
    assert world.jobs().ensure_present('Import', MANIFEST, check_mode=True)['action'] == 'create'
    world.jobs().ensure_present('Import', MANIFEST)
    assert world.jobs().ensure_present('Import', CHANGED, job_id='JZZZ1', check_mode=True)['action'] == 'update'
    assert world.jobs().ensure_absent(job_id='JZZZ1', check_mode=True)['action'] == 'cancel'
    assert world.commands() == [m.CREATE]


def test_a_job_older_than_30_days_is_checked_with_get_status_and_recreated_when_expired(world):
    world.jobs().ensure_present('Import', MANIFEST)
    world.now += 29 * DAY
    assert world.jobs().ensure_present('Import', MANIFEST)['action'] == 'none'
    world.now += 2 * DAY
    result = world.jobs().ensure_present('Import', MANIFEST)
    assert world.commands() == [m.CREATE, m.STATUS, m.CREATE] and result['job_id'] == 'JZZZ2'


def test_a_manifest_without_device_id_is_refused(world):
    with pytest.raises(JobError, match='no deviceId'):
        world.jobs().ensure_present('Import', MANIFEST.replace('deviceId: DEV001\r\n', ''))
    assert world.box.smtp == []


def test_statuses_send_one_get_status_per_job_and_wait_for_them_together(world):
    world.jobs().ensure_present('Import', MANIFEST)
    results, waited_out, rounds = world.jobs().wait_for_statuses(['JZZZ1', 'QQQQ9'])
    assert world.commands() == [m.CREATE, m.STATUS, m.STATUS] and rounds == 1 and waited_out == []
    assert len(world.box.waited[-1][0]) == 2  # one wait for both
    assert results['JZZZ1']['progress_code'] == 'Pending' and results['JZZZ1']['device_id'] == 'DEV001'
    assert results['JZZZ1']['error_count'] == 0
    assert isinstance(results['QQQQ9'], MailReplyError) and results['QQQQ9'].code == 'InvalidJobId'


def test_a_status_without_reply_is_a_no_reply_error(world):
    world.jobs().ensure_present('Import', MANIFEST)
    world.service.silent = True
    results = world.jobs().wait_for_statuses(['JZZZ1'])[0]
    assert isinstance(results['JZZZ1'], NoReplyError) and results['JZZZ1'].code == 'NoReply'


def test_waiting_for_a_code_asks_again_each_interval(world):
    world.jobs().ensure_present('Import', MANIFEST)
    naps = []

    def sleep(seconds):
        naps.append(seconds)
        world.service.jobs['JZZZ1']['state'] = 'Complete'

    results, waited_out, rounds = world.jobs().wait_for_statuses(['JZZZ1'], wait_for=['Complete'], timeout=100,
                                                                 interval=10, sleep=sleep)
    assert rounds == 2 and naps == [10] and waited_out == [] and results['JZZZ1']['progress_code'] == 'Complete'


def test_smtp_refusing_the_mail_leaves_a_draft_the_rerun_sends(world):
    def refuse(raw):
        raise MailError('SMTP server smtp.example.com port 587 (starttls): 451 try later', 'SMTPError')
    world.box.send, real = refuse, world.box.send
    with pytest.raises(MailError):
        world.jobs().ensure_present('Import', MANIFEST)
    world.box.send = real
    assert world.jobs().ensure_present('Import', MANIFEST)['job_id'] == 'JZZZ1'
    assert len(world.box.copies) == 1


def test_the_book_reads_replies_in_order():
    world = World()
    world.jobs().ensure_present('Import', MANIFEST)
    world.jobs().ensure_absent(job_id='JZZZ1')
    records = world.box.sent_records()
    book = MailBook(records, world.box.replies_for([r.message_id for r in records]))
    assert book.jobs['JZZZ1']['state'] == 'Canceled' and book.pending == []
