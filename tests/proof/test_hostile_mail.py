"""Replies forged into the IMAP mailbox of the e-mail workflow (the 2009 transport), over the
service's real mail front (aiosmtpd + Dovecot, tests/integration/test_email_flow.py).

The adversary has seen the CREATE JOB mail leave (its Message-ID) and drops replies that name a
job of theirs into the operator's INBOX: each answers another Message-ID, though it sits in the
same thread (References), quotes ours in its body, or carries the expected subject; or it answers
ours exactly but comes from another sender than the service address the command went to. None may be
taken for the service's answer: with the real reply withheld the task fails clearly within
reply_timeout; with the real reply late, the real job is the result.
"""
import email.utils
import time
import tracemalloc

import pytest

from ansible_collections.awsie.importexport.plugins.module_utils import mail as m
from ansible_collections.awsie.importexport.plugins.module_utils.mail_client import Mailbox
from ansible_collections.awsie.importexport.plugins.module_utils.mail_jobs import MailJobs, NoReplyError
from tests.integration.test_email_flow import OPS, SK, mail_service, settings  # noqa: F401  pylint: disable=unused-import
from tests.support.service import DEMO_ACCESS_KEY as AK, import_manifest

pytestmark = [pytest.mark.root, pytest.mark.slow]
FORGED_JOB = 'FRG99'


def forged(ours, variant):
    """A SUCCESS reply naming FORGED_JOB that answers another mail than ``ours``."""
    other = '<other.%d@attacker.example>' % variant
    headers = {'From': m.SERVICE_ADDRESS, 'To': OPS, 'Subject': 'Re: CREATE JOB', 'Date': email.utils.formatdate(time.time() - 60),
               'Message-ID': '<forged.%d@attacker.example>' % variant}
    if variant == 0:    # in our thread, but answering another mail
        headers.update({'In-Reply-To': other, 'References': '%s %s' % (ours, other)})
    elif variant == 1:  # our id in the body only
        headers.update({'In-Reply-To': other})
    elif variant == 2:  # no In-Reply-To; the last of References is another mail
        headers.update({'References': '%s %s' % (ours, other)})
    elif variant == 3:  # an id that starts like ours
        headers.update({'In-Reply-To': ours[:-1] + '.x>'})
    elif variant == 4:  # answers ours exactly, but from another sender than the service address
        headers.update({'In-Reply-To': ours, 'References': ours, 'From': 'Import Export <awsimportexport@attacker.example>'})
    body = 'SUCCESS\n\nJOBID: %s\nSIGNATURE: forged\n\nIn reply to %s\n' % (FORGED_JOB, ours)
    lines = ['%s: %s' % item for item in headers.items()] + ['', body]
    return '\r\n'.join(lines).replace('\n', '\r\n').replace('\r\r\n', '\r\n').encode()


VARIANTS = 5


class ForgingMailbox(Mailbox):
    """The operator's mailbox; each command mail it sends is followed by the adversary's replies."""

    def send(self, raw, recipients=None):
        result = super().send(raw, recipients)
        ours = m.msg_ids(m.header(m.load_message(raw), 'Message-ID'))[0]
        conn = self.imap()
        for variant in range(VARIANTS):
            conn.append('INBOX', None, None, forged(ours, variant))
        return result


def jobs_with_forgery(service, **kwargs):
    return MailJobs(ForgingMailbox(settings(service, **kwargs)), SK)


def test_forged_replies_alone_are_not_believed_the_task_fails_within_reply_timeout(mail_service, proof_record):  # noqa: F811
    from ie_service.mailfront import write_mail_faults  # pylint: disable=import-outside-toplevel
    service = mail_service()
    write_mail_faults(service.state_dir, drop_replies=1)  # the service's own answer never comes
    jobs = jobs_with_forgery(service, reply_timeout=4)
    manifest = import_manifest(AK, service.new_bucket(), device_id='FORGE-1')  # boto3 kept out of the measure
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(NoReplyError) as raised:
            jobs.ensure_present('Import', manifest)
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    sent = jobs.mailbox.sent[0]['message_id']
    assert 'no reply to CREATE JOB %s' % sent in str(raised.value) and FORGED_JOB not in str(raised.value)
    assert 4 <= elapsed < 4 + 15, elapsed
    assert peak < 32 * 1024 * 1024, peak
    proof_record('forged replies ignored (reply withheld)', VARIANTS)
    proof_record('seconds to NoReplyError (reply_timeout 4 s)', round(elapsed, 1), 's')
    proof_record('mail client peak memory', round(peak / 1048576.0, 1), 'MiB')


def test_forged_replies_before_the_real_one_do_not_change_the_job(mail_service, proof_record):  # noqa: F811
    from ie_service.mailfront import write_mail_faults  # pylint: disable=import-outside-toplevel
    service = mail_service()
    write_mail_faults(service.state_dir, reply_delay=2)  # the forgeries arrive first
    jobs = jobs_with_forgery(service, reply_timeout=30)
    result = jobs.ensure_present('Import', import_manifest(AK, service.new_bucket(), device_id='FORGE-2'))
    assert result['action'] == 'created' and result['job_id'] != FORGED_JOB
    status = service.client().get_status(JobId=result['job_id'])
    assert status['JobId'] == result['job_id']
    box = Mailbox(settings(service))
    assert len(box.search('INBOX', 'ALL')) == VARIANTS + 1  # the forgeries were there to be read
    proof_record('forged replies ignored (real reply late)', VARIANTS)
