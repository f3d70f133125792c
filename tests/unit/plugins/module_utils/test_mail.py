"""The mail format of the e-mail workflow: command mails (attachments as their exact bytes),
reply bodies (SUCCESS/ERROR and their fields, read leniently), which reply answers which mail."""
import base64
import email
import email.policy
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.awsie.importexport.plugins.module_utils import mail as m

FROM = 'Ops Team <ops@example.com>'


def create_mail(manifest=b'manifestVersion: 2.0\r\nbucket: b\r\n', **kwargs):
    return m.command_message(m.CREATE, FROM, m.SERVICE_ADDRESS, {'job_type': 'Import'}, [('manifest.yml', manifest)],
                             {m.HEADER_DIGEST: 'sha256:ab', m.HEADER_DEVICE: 'DEV 1'}, **kwargs)


# ------------------------------------------------------------------ command mails

@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_an_attachment_arrives_as_exactly_its_bytes(data):
    raw = m.as_bytes(create_mail(data))
    command = m.parse_command(raw)
    assert command.attachment() == ('manifest.yml', data)


def test_the_manifest_travels_base64_so_no_server_rewrites_its_line_ends():
    manifest = b'manifestVersion: 2.0\r\nbucket: b\rlone\n'
    raw = m.as_bytes(create_mail(manifest))
    assert b'Content-Transfer-Encoding: base64' in raw
    assert base64.b64encode(manifest) in raw
    assert b'bucket: b' not in raw  # never as text a server could re-encode
    assert all(line.endswith(b'\r') for line in raw.split(b'\n')[:-1])  # CRLF throughout, as SMTP wants


def test_a_command_mail_has_its_subject_fields_headers_and_a_message_id_in_the_senders_domain():
    msg = create_mail()
    raw = m.as_bytes(msg)
    command = m.parse_command(raw)
    assert command.command == m.CREATE and command.sender == 'ops@example.com'
    assert command.fields == {'job_type': 'Import'}
    assert command.headers[m.HEADER_DIGEST] == 'sha256:ab' and command.headers[m.HEADER_DEVICE] == 'DEV 1'
    assert re.match(r'^<create\.\d+\.[0-9a-f]{16}@example\.com>$', command.message_id)
    assert m.is_safe_id(command.message_id)


def test_every_mail_gets_its_own_message_id():
    ids = set(str(create_mail()['Message-ID']) for dummy in range(200))
    assert len(ids) == 200


def test_the_signature_attachment_is_told_from_the_manifest():
    msg = m.command_message(m.UPDATE, FROM, m.SERVICE_ADDRESS, {'job_id': 'X452D'},
                            [('drive1.yml', b'manifest'), ('SIGNATURE', b'version: 1.0\n')])
    command = m.parse_command(m.as_bytes(msg))
    assert command.attachment() == ('drive1.yml', b'manifest')
    assert command.attachment(signature=True) == ('SIGNATURE', b'version: 1.0\n')
    assert command.fields == {'job_id': 'X452D'}


def test_an_unknown_command_is_refused_when_composing():
    with pytest.raises(ValueError, match='unknown command'):
        m.command_message('DELETE JOB', FROM, m.SERVICE_ADDRESS)


@pytest.mark.parametrize('subject, command', [('CREATE JOB', m.CREATE), ('create job', m.CREATE), (' Get  Status ', m.STATUS),
                                              ('Re: CREATE JOB', None), ('CANCEL JOB', m.CANCEL), ('', None)])
def test_the_command_is_the_subject_in_any_case_and_spacing(subject, command):
    raw = ('From: ops@example.com\r\nSubject: %s\r\nMessage-ID: <a@b>\r\n\r\nJOBID: X452D\r\n' % subject).encode()
    assert m.parse_command(raw).command == command


# ------------------------------------------------------------------ replies

def reply_to(msg, status, fields):
    return m.as_bytes(m.reply_message(m.parse_command(m.as_bytes(msg)), status, fields))


def test_a_success_reply_answers_its_mail_and_carries_the_jobid():
    msg = create_mail()
    reply = m.parse_reply(reply_to(msg, m.SUCCESS, {'job_id': 'X452D', 'description': 'Your job was created.'}))
    assert reply.ok and reply.fields == {'job_id': 'X452D', 'description': 'Your job was created.'}
    assert reply.subject == 'RE: CREATE JOB' and reply.command == m.CREATE
    assert reply.answers(str(msg['Message-ID']))
    assert reply.sender == m.SERVICE_ADDRESS
    assert reply.date is not None


def test_an_error_reply_has_its_code_description_and_recommended_action():
    raw = reply_to(create_mail(), m.ERROR, {'code': 'NoSuchBucket', 'description': 'The bucket b does not exist.',
                                            'recommended_action': 'Create it.'})
    assert b'\r\nERROR\r\nCODE: NoSuchBucket\r\nDESCRIPTION: The bucket b does not exist.\r\nRECOMMENDED ACTION: Create it.\r\n' in raw
    reply = m.parse_reply(raw)
    assert not reply.ok and reply.code == 'NoSuchBucket' and reply.fields['recommended_action'] == 'Create it.'


def test_a_reply_to_another_mail_does_not_answer_this_one():
    mine, other = create_mail(), create_mail()
    reply = m.parse_reply(reply_to(other, m.SUCCESS, {'job_id': 'X452D'}))
    assert not reply.answers(str(mine['Message-ID']))
    assert not reply.answers('')


def test_only_the_parent_counts_not_a_mail_further_up_the_thread():
    raw = (b'From: a@b\r\nSubject: RE: GET STATUS\r\nIn-Reply-To: <2@x>\r\nReferences: <1@x> <2@x>\r\n\r\nSUCCESS\r\n')
    reply = m.parse_reply(raw)
    assert reply.answers('<2@x>') and not reply.answers('<1@x>')
    raw = b'From: a@b\r\nSubject: RE: GET STATUS\r\nReferences: <1@x> <2@x>\r\n\r\nSUCCESS\r\n'
    assert m.parse_reply(raw).answers('<2@x>') and not m.parse_reply(raw).answers('<1@x>')


STATUS_BODY = """Hello,

thank you for your request.

SUCCESS
JOBID: x452d
Device Code: AtAWS
DEVICE DESCRIPTION: Your device is at AWS.
job code:InProgress
JOB DESCRIPTION: The data transfer
   is in progress.

LOG BUCKET: logs
Extra Note: not a field

--
AWS Import/Export
JOB CODE: Complete
"""


def test_a_reply_body_is_read_leniently():
    status, fields = m.parse_fields(STATUS_BODY, need_status=True)
    assert status == m.SUCCESS
    assert fields == {'job_id': 'x452d', 'location_code': 'AtAWS', 'location_message': 'Your device is at AWS.',
                      'progress_code': 'InProgress', 'progress_message': 'The data transfer is in progress.',
                      'log_bucket': 'logs'}


def test_a_long_value_is_wrapped_into_indented_lines_and_read_back_whole():
    value = ('The field bucket: is not valid; see JOB CODE: Complete and >= 5 -- words ' * 4).strip()
    body = m.render_fields({'description': value, 'job_id': 'X452D'}, m.ERROR)
    assert all(len(line) <= 76 for line in body.splitlines())
    assert m.parse_fields(body, need_status=True) == (m.ERROR, {'job_id': 'X452D', 'description': value})
    raw = reply_to(create_mail(), m.ERROR, {'description': value})
    assert b'Content-Transfer-Encoding: 7bit' in raw  # plain text, readable as it is


def test_quoted_text_below_the_answer_is_not_read():
    body = 'ERROR\nCODE: InvalidJobId\n\nOn Mon, 1 Jun 2009, ops@example.com wrote:\n> JOBID: X452D\n> SUCCESS\n'
    assert m.parse_fields(body, need_status=True) == ('ERROR', {'code': 'InvalidJobId'})
    body = 'SUCCESS\nJOBID: X452D\n> CODE: InvalidJobId\nJOB CODE: Pending\n'
    assert m.parse_fields(body, need_status=True) == ('SUCCESS', {'job_id': 'X452D'})


@pytest.mark.parametrize('line', ['SUCCESS', 'success', ' Success. ', 'STATUS: SUCCESS', 'SUCCESS!'])
def test_the_status_line_in_its_forms(line):
    assert m.parse_fields('%s\nJob ID: X452D\n' % line, need_status=True) == ('SUCCESS', {'job_id': 'X452D'})


def test_a_mail_without_a_status_line_is_not_a_reply():
    with pytest.raises(m.MailFormatError, match='no SUCCESS or ERROR line'):
        m.parse_reply(b'From: a@b\r\nSubject: Out of office\r\n\r\nI am away. SUCCESS is near.\r\n')


def test_an_html_only_reply_is_read():
    raw = (b'From: a@b\r\nSubject: RE: CREATE JOB\r\nIn-Reply-To: <1@x>\r\nContent-Type: text/html\r\n\r\n'
           b'<html><body><p>SUCCESS</p><p>JOBID: X452D<br>DESCRIPTION: created &amp; stored</p></body></html>\r\n')
    reply = m.parse_reply(raw)
    assert reply.ok and reply.fields == {'job_id': 'X452D', 'description': 'created & stored'}


def test_a_quoted_printable_latin1_reply_is_read():
    raw = (b'From: a@b\r\nSubject: RE: CREATE JOB\r\nContent-Type: text/plain; charset=iso-8859-1\r\n'
           b'Content-Transfer-Encoding: quoted-printable\r\n\r\nERROR\r\nCODE: InvalidManifestField\r\n'
           b'DESCRIPTION: returnAddress.city: caf=E9=\r\n is not valid\r\n')
    reply = m.parse_reply(raw)
    assert reply.code == 'InvalidManifestField' and reply.fields['description'] == 'returnAddress.city: caf\xe9 is not valid'


field_values = st.text(alphabet=st.characters(blacklist_categories=('Cs', 'Cc', 'Zl', 'Zp')), max_size=80).filter(
    lambda t: t.strip() and not t.lstrip().startswith('>'))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([m.SUCCESS, m.ERROR]), st.dictionaries(st.sampled_from([k for _l, k in m.FIELDS]), field_values))
def test_every_reply_the_service_writes_reads_back_the_same(status, fields):
    reply = m.parse_reply(reply_to(create_mail(), status, fields))
    assert reply.status == status
    assert reply.fields == dict((k, ' '.join(v.split())) for k, v in fields.items())


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_any_bytes_are_a_reply_or_a_mail_format_error(data):
    try:
        reply = m.parse_reply(data)
    except m.MailFormatError:
        return
    assert reply.status in (m.SUCCESS, m.ERROR)


lines = st.sampled_from(['SUCCESS', 'ERROR', 'JOBID: X452D', 'CODE: InvalidJobId', 'DESCRIPTION: d: e', '> SUCCESS', '',
                         '--', 'Content-Type: text/html', 'Content-Transfer-Encoding: base64', 'MIME-Version: 1.0',
                         'Content-Type: multipart/mixed; boundary="b"', '--b', '--b--', 'In-Reply-To: <1@x>',
                         'References: <<<>', 'Date: Mon, 99 Foo 2009', 'From: =?utf-8?q?=E9?= <', 'Subject: =?x?b?%%?=',
                         '<p>ERROR</p>', 'job code: Complete', '\u00e9\u4e2d', 'x' * 200])


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(lines, max_size=30))
def test_mail_shaped_nonsense_is_a_reply_or_a_mail_format_error(parts):
    data = '\r\n'.join(parts).encode('utf-8')
    try:
        reply = m.parse_reply(data)
    except m.MailFormatError:
        return
    assert reply.status in (m.SUCCESS, m.ERROR) and isinstance(reply.fields, dict)
    reply.answers('<1@x>')


def test_a_mail_over_the_size_limit_is_refused_without_parsing():
    with pytest.raises(m.MailFormatError, match='more than'):
        m.parse_reply(b'x' * (m.MAX_MESSAGE_BYTES + 1))


# ------------------------------------------------------------------ identities

def test_the_manifest_digest_covers_the_job_type_and_the_canonical_text():
    assert m.manifest_digest('a: 1\n', 'Import') == m.manifest_digest('a: 1\n', 'Import')
    assert m.manifest_digest('a: 1\n', 'Import') != m.manifest_digest('a: 1\n', 'Export')
    assert m.manifest_digest('a: 1\n', 'Import') != m.manifest_digest('a: 2\n', 'Import')
    assert re.match(r'^sha256:[0-9a-f]{64}$', m.manifest_digest('a', 'Import'))


@pytest.mark.parametrize('value, expected', [('Ops <OPS@Example.com>', 'ops@example.com'), ('ops@example.com', 'ops@example.com'),
                                             ('nobody', ''), ('', ''), (None, '')])
def test_addresses_are_bare_and_lower_case(value, expected):
    assert m.address_of(value) == expected


def test_message_ids_that_cannot_be_searched_for_safely_are_not_trusted():
    assert m.is_safe_id('<a.1@example.com>')
    for bad in ('<a"b@x>', '<a\\b@x>', '<a b@x>', 'a@x', '<>', '<%s@x>' % ('a' * 300)):
        assert not m.is_safe_id(bad)


def test_a_reply_date_is_read_as_epoch_seconds():
    assert m.parse_date('Mon, 01 Jun 2009 10:00:00 +0000') == 1243850400.0
    assert m.parse_date('not a date') is None and m.parse_date('') is None


def test_the_reply_message_keeps_the_thread():
    raw = (b'From: ops@example.com\r\nSubject: GET STATUS\r\nMessage-ID: <2@x>\r\nReferences: <1@x>\r\n\r\nJOBID: X452D\r\n')
    reply = email.message_from_bytes(m.as_bytes(m.reply_message(m.parse_command(raw), m.SUCCESS, {})),
                                     policy=email.policy.default)
    assert reply['In-Reply-To'] == '<2@x>' and reply['References'] == '<1@x> <2@x>'
    assert reply['To'] == 'ops@example.com' and reply['Subject'] == 'RE: GET STATUS'
