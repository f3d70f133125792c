"""mail_client: the options checked up front, and SMTP against a real SMTP server in this process
(aiosmtpd on 127.0.0.1: STARTTLS, AUTH, refusals, a server that never answers). IMAP is tested
against Dovecot in tests/integration/test_email_flow.py."""
import socket
import threading

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from ansible_collections.awsie.importexport.plugins.module_utils import mail as m
from ansible_collections.awsie.importexport.plugins.module_utils.mail_client import (
    MailError, Mailbox, MailSettings, argument_spec)

PASSWORD = 'S3cr3t-Pa55:word'


def settings(**kwargs):
    base = dict(smtp_host='127.0.0.1', mail_from='ops@example.com', imap_password=PASSWORD)
    base.update(kwargs)
    return MailSettings(**base)


# ------------------------------------------------------------------ options

def test_ports_follow_the_security():
    s = settings()
    assert (s.smtp_port, s.imap_port, s.imap_host, s.imap_user) == (587, 143, '127.0.0.1', 'ops@example.com')
    s = settings(smtp_security='tls', imap_security='tls', smtp_port=None, imap_host='imap.example.com')
    assert (s.smtp_port, s.imap_port, s.imap_host) == (465, 993, 'imap.example.com')
    assert settings(smtp_security='none').smtp_port == 25
    assert settings(mail_from='Ops <OPS@example.com>').imap_user == 'ops@example.com'


@pytest.mark.parametrize('kwargs, message', [
    (dict(smtp_host=None), 'smtp_host is required'),
    (dict(mail_from='ops'), 'mail_from must be the address registered'),
    (dict(smtp_user='ops'), 'smtp_user is set but smtp_password is not'),
    (dict(imap_password=None), 'imap_password is required with transport=email'),
    (dict(smtp_security='ssl'), 'smtp_security must be one of starttls, tls, none'),
    (dict(reply_timeout=float('nan')), 'reply_timeout must be a number from 0 to 604800'),
    (dict(reply_timeout=-1), 'reply_timeout must be'),
    (dict(reply_timeout=10 ** 9), 'reply_timeout must be'),
    (dict(smtp_port=70000), 'smtp_port must be a TCP port'),
    (dict(imap_folder='My "box"'), 'imap_folder must be a folder name'),
    (dict(imap_sent_folder='Gesendete Objekte\u00e4'), 'imap_sent_folder must be a folder name'),
])
def test_bad_options_are_refused_naming_the_option(kwargs, message):
    with pytest.raises(ValueError, match=message):
        settings(**kwargs)


def test_the_argument_spec_never_logs_a_password_and_knows_every_option_of_the_settings():
    spec = argument_spec()
    assert spec['smtp_password']['no_log'] and spec['imap_password']['no_log']
    assert spec['transport'] == dict(type='str', choices=['api', 'email'], default='api')
    params = dict((name, option.get('default')) for name, option in spec.items())
    params.update(smtp_host='h', mail_from='a@b', imap_password='x', ca_bundle=None)
    assert MailSettings.from_params(params).mail_to == m.SERVICE_ADDRESS


# ------------------------------------------------------------------ SMTP

class Handler:
    def __init__(self):
        self.mails = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # pylint: disable=invalid-name,unused-argument
        if address != m.SERVICE_ADDRESS:
            return '550 5.1.1 no such mailbox'
        envelope.rcpt_tos.append(address)
        return '250 OK'

    async def handle_DATA(self, server, session, envelope):  # pylint: disable=invalid-name,unused-argument
        self.mails.append((envelope.mail_from, envelope.rcpt_tos, envelope.original_content))
        return '250 OK'


@pytest.fixture(scope='module')
def cert(tmp_path_factory):
    from ie_service import tls  # pylint: disable=import-outside-toplevel
    return tls.ensure_certificate(str(tmp_path_factory.mktemp('tls')))


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(cert):
    import ssl  # pylint: disable=import-outside-toplevel
    started = []

    def start(starttls=True):
        handler = Handler()
        context = None
        if starttls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*cert)

        def auth(server, session, envelope, mechanism, data):  # pylint: disable=unused-argument
            return AuthResult(success=(data.login, data.password) == (b'ops@example.com', PASSWORD.encode()), handled=False)

        controller = Controller(handler, hostname='127.0.0.1', port=free_port(), tls_context=context, authenticator=auth,
                                auth_require_tls=True)
        controller.start()
        started.append(controller)
        return controller.port, handler

    yield start
    for controller in started:
        controller.stop()


def raw_mail():
    return m.as_bytes(m.command_message(m.STATUS, 'ops@example.com', m.SERVICE_ADDRESS, {'job_id': 'X452D'}))


def test_a_mail_goes_out_over_starttls_with_auth_byte_for_byte(smtp_server, cert):
    port, handler = smtp_server()
    raw = raw_mail()
    Mailbox(settings(smtp_port=port, smtp_user='ops@example.com', smtp_password=PASSWORD, ca_bundle=cert[0])).send(raw)
    assert handler.mails == [('ops@example.com', [m.SERVICE_ADDRESS], raw)]


def test_an_untrusted_certificate_fails_as_a_tls_error(smtp_server):
    port, handler = smtp_server()
    with pytest.raises(MailError) as raised:
        Mailbox(settings(smtp_port=port, smtp_user='ops@example.com', smtp_password=PASSWORD)).send(raw_mail())
    assert raised.value.code == 'TLSError' and 'starting TLS with SMTP server 127.0.0.1 port %d' % port in str(raised.value)
    assert PASSWORD not in str(raised.value) and handler.mails == []


def test_validate_certs_false_accepts_a_test_servers_certificate(smtp_server):
    port, handler = smtp_server()
    Mailbox(settings(smtp_port=port, validate_certs=False)).send(raw_mail())
    assert len(handler.mails) == 1


def test_a_server_without_starttls_is_refused_before_anything_is_sent(smtp_server):
    port, handler = smtp_server(starttls=False)
    with pytest.raises(MailError, match='does not offer STARTTLS; use smtp_security=tls') as raised:
        Mailbox(settings(smtp_port=port)).send(raw_mail())
    assert raised.value.code == 'TLSError' and handler.mails == []


def test_a_wrong_password_is_an_auth_error_that_never_shows_the_password(smtp_server, cert):
    port, handler = smtp_server()
    wrong = PASSWORD + 'x'
    with pytest.raises(MailError) as raised:
        Mailbox(settings(smtp_port=port, smtp_user='ops@example.com', smtp_password=wrong, ca_bundle=cert[0])).send(raw_mail())
    text = str(raised.value)
    assert raised.value.code == 'AuthError' and 'refused the login of ops@example.com' in text and '535' in text
    assert PASSWORD not in text and handler.mails == []


def test_auth_in_clear_text_is_refused_by_the_server_and_says_why(smtp_server):
    port, _handler = smtp_server()
    with pytest.raises(MailError, match='AUTH may need smtp_security=starttls or tls') as raised:
        Mailbox(settings(smtp_port=port, smtp_security='none', smtp_user='ops@example.com', smtp_password=PASSWORD)).send(raw_mail())
    assert PASSWORD not in str(raised.value)


def test_a_refused_recipient_is_named(smtp_server):
    port, _handler = smtp_server()
    with pytest.raises(MailError, match='refused the recipient.s. nobody@example.com') as raised:
        Mailbox(settings(smtp_port=port, validate_certs=False, mail_to='nobody@example.com')).send(raw_mail())
    assert raised.value.code == 'SMTPError'


def test_nothing_listening_is_a_connection_error():
    port = free_port()
    with pytest.raises(MailError) as raised:
        Mailbox(settings(smtp_port=port)).send(raw_mail())
    assert raised.value.code == 'ConnectionError'
    assert 'connecting to SMTP server 127.0.0.1 port %d' % port in str(raised.value)


def test_a_server_that_never_greets_times_out():
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(1)
    held = []
    thread = threading.Thread(target=lambda: held.append(listener.accept()), daemon=True)
    thread.start()
    try:
        with pytest.raises(MailError) as raised:
            Mailbox(settings(smtp_port=listener.getsockname()[1], timeout=0.5)).send(raw_mail())
        assert raised.value.code == 'Timeout' and 'timed out' in str(raised.value)
    finally:
        for conn, _addr in held:
            conn.close()
        listener.close()
