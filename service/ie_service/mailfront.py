# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The service's mail front: SMTP in (aiosmtpd), replies into real mailboxes (Dovecot, IMAP).

``ie-service serve --smtp-port PORT --imap-port PORT --mail-user ADDRESS:PASSWORD:ACCESS_KEY``:

* SMTP on 127.0.0.1 (aiosmtpd), STARTTLS offered with the service's own certificate
  (``STATE_DIR/tls/cert.pem``, the one ``--tls`` serves HTTPS with); AUTH (PLAIN, LOGIN) with a
  mail user's address and password, after STARTTLS; mail is accepted for the service's address
  only (``--mail-address``, default the address of the 2009 guide).
* Every mail is answered (``mailcmds.MailDesk``) before the SMTP server says 250, and the reply
  is delivered with ``dovecot-lda`` into the sender's mailbox in a Dovecot the service runs
  (``dovecot.Dovecot``), readable over IMAP (STARTTLS) with the mail user's address and password.
* ``--mail-user`` (repeatable) registers an address to an account; with an empty ACCESS_KEY the
  address only gets a mailbox (a sender that is not registered: its commands get InvalidSender).

Faults for tests (``write_mail_faults``, ``STATE_DIR/mail-faults.json``): ``reply_delay``
seconds before a reply is delivered, ``drop_replies`` (rate 0..1) of replies never delivered,
``accept_delay`` seconds between answering a mail and saying 250 (the client does not know yet
that its mail arrived).
"""

import argparse
import asyncio
import json
import os
import random
import ssl
import sys
import threading
import warnings

from . import dovecot, tls
from .mailcmds import MailDesk, mail_log, maillib  # noqa: F401  pylint: disable=unused-import
from .state import write_json

FAULTS_FILE = 'mail-faults.json'
# aiosmtpd itself sets the attribute it deprecates, on every AUTH.
warnings.filterwarnings('ignore', message='Session.login_data is deprecated')


def parse_mail_user(text):
    """``ADDRESS:PASSWORD:ACCESS_KEY`` -> ``(address, password, access_key or None)`` (an argparse type).
    The password may hold colons: the address ends at the first, the access key starts after the last."""
    address, sep, rest = text.partition(':')
    password, sep2, access_key = rest.rpartition(':')
    if not sep or not sep2 or '@' not in address or not password:
        raise argparse.ArgumentTypeError('expected ADDRESS:PASSWORD:ACCESS_KEY (ACCESS_KEY may be empty for a mailbox '
                                         'not registered to an account), got %s' % (address or 'nothing'))
    return address.strip().lower(), password, access_key.strip() or None


def add_arguments(parser):
    """The mail front's options of ``ie-service serve``."""
    group = parser.add_argument_group('mail front (the e-mail workflow of 2009)')
    group.add_argument('--smtp-port', type=int, help='serve SMTP on 127.0.0.1:PORT (0: a free port) and start the mail '
                                                     'front; needs root and Dovecot (dovecot-imapd)')
    group.add_argument('--imap-port', type=int, default=0, help='IMAP port of the mailboxes (Dovecot); 0: a free port')
    group.add_argument('--mail-user', action='append', type=parse_mail_user, default=[],
                       metavar='ADDRESS:PASSWORD:ACCESS_KEY',
                       help='a mail user (repeatable): the address is registered to the account ACCESS_KEY, its mailbox '
                            'is read over IMAP with ADDRESS and PASSWORD; an empty ACCESS_KEY gives a mailbox only')
    group.add_argument('--mail-address', default=maillib.SERVICE_ADDRESS,
                       help='the service\'s own address, to send commands to (default %s)' % maillib.SERVICE_ADDRESS)


def write_mail_faults(state_dir, reply_delay=0.0, drop_replies=0.0, accept_delay=0.0):
    """Set the mail faults of a (running) service: delay or drop replies, delay the 250 to a mail."""
    write_json(os.path.join(state_dir, FAULTS_FILE), {'reply_delay': float(reply_delay),
                                                      'drop_replies': float(drop_replies),
                                                      'accept_delay': float(accept_delay)})


def read_mail_faults(state_dir, name=None):
    """``(reply_delay, drop_replies)``, or the one fault ``name``."""
    try:
        with open(os.path.join(state_dir, FAULTS_FILE), encoding='utf-8') as handle:
            data = json.load(handle)
        if name is not None:
            return float(data.get(name) or 0)
        return float(data.get('reply_delay') or 0), float(data.get('drop_replies') or 0)
    except (OSError, ValueError, AttributeError, TypeError):
        return 0.0 if name is not None else (0.0, 0.0)


class _Handler:
    def __init__(self, front):
        self.front = front

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # pylint: disable=invalid-name,unused-argument
        if maillib.address_of(address) != self.front.address:
            return '550 5.1.1 <%s>: not a mailbox here; send commands to %s' % (address, self.front.address)
        envelope.rcpt_tos.append(address)
        return '250 OK'

    async def handle_DATA(self, server, session, envelope):  # pylint: disable=invalid-name,unused-argument
        raw = envelope.original_content or envelope.content
        await server.loop.run_in_executor(None, self.front.process, raw, envelope.mail_from)
        delay = read_mail_faults(self.front.state_dir, 'accept_delay')
        if delay > 0:
            await asyncio.sleep(delay)
        return '250 Message accepted'


class MailFront:
    """SMTP server + Dovecot + the command desk; ``start()`` and ``stop()``."""

    def __init__(self, service, state_dir, smtp_port, imap_port, users, address=maillib.SERVICE_ADDRESS, verbose=False):
        self.service = service
        self.state_dir = state_dir
        self.address = address.lower()
        self.smtp_port = smtp_port or dovecot.free_port()
        self.imap_port = imap_port or dovecot.free_port()
        self.users = users  # [(address, password, access_key or None)]
        self.verbose = verbose
        self.cert, self.key = tls.ensure_certificate(state_dir)
        self.mail_dir, self.inside = dovecot.mail_directory(state_dir)
        self.dovecot = dovecot.Dovecot(self.mail_dir, self.imap_port, self.cert, self.key)
        accounts = service.store.accounts()
        for addr, _password, key in users:
            if key is not None and key not in accounts:
                raise dovecot.MailboxError('--mail-user %s: %s is not an account of this service (give it with --account)'
                                           % (addr, key))
        self.desk = MailDesk(service, dict((a, k) for a, _p, k in users), self.address)
        self.controller = None
        self._random = random.Random()
        self._timers = []

    def _log(self, text):
        if self.verbose:
            print('ie-service mail: %s' % text, file=sys.stderr, flush=True)

    def start(self):
        from aiosmtpd.controller import Controller  # pylint: disable=import-outside-toplevel
        from aiosmtpd.smtp import AuthResult  # pylint: disable=import-outside-toplevel
        passwords = dict((a, p) for a, p, _k in self.users)

        def authenticate(server, session, envelope, mechanism, auth_data):  # pylint: disable=unused-argument
            try:
                login = auth_data.login.decode('utf-8').lower()
                password = auth_data.password.decode('utf-8')
            except (AttributeError, UnicodeDecodeError):
                return AuthResult(success=False, handled=False)
            return AuthResult(success=passwords.get(login) == password, handled=False)

        self.dovecot.set_users(passwords)
        self.dovecot.start()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        self.controller = Controller(_Handler(self), hostname='127.0.0.1', port=self.smtp_port, tls_context=context,
                                     require_starttls=False, authenticator=authenticate, auth_require_tls=True,
                                     data_size_limit=maillib.MAX_MESSAGE_BYTES, ident='ie-service mail front')
        try:
            self.controller.start()
        except Exception:
            self.dovecot.stop()
            raise
        return self

    def info(self):
        return {'smtp_port': self.smtp_port, 'imap_port': self.imap_port, 'address': self.address,
                'mail_dir': self.mail_dir, 'ca_bundle': self.cert, 'host': '127.0.0.1'}

    def process(self, raw, envelope_from):
        """Answer one mail and deliver the reply (now, later or never: the mail faults)."""
        data, recipient, record = self.desk.handle(raw, envelope_from)
        if data is None:
            self._log('a mail without a usable sender was dropped')
            return
        self._log('%s from %s: %s %s' % (record['command'], recipient, record['status'], record['code'] or ''))
        delay, drop = read_mail_faults(self.state_dir)
        if drop and self._random.random() < drop:
            self._log('reply %s dropped (fault)' % record['reply_id'])
            return
        if delay > 0:
            timer = threading.Timer(delay, self._deliver, (data, recipient, record))
            timer.daemon = True
            self._timers.append(timer)
            timer.start()
            return
        self._deliver(data, recipient, record)

    def _deliver(self, data, recipient, record):
        try:
            if self.dovecot.deliver(recipient, data, self.address):
                self.desk.mark_delivered(record['seq'])
            else:
                self._log('no mailbox for %s: reply %s not delivered' % (recipient, record['reply_id']))
        except (dovecot.MailboxError, OSError) as exc:
            print('ie-service mail: %s' % exc, file=sys.stderr, flush=True)

    def stop(self):
        for timer in self._timers:
            timer.cancel()
        if self.controller is not None:
            try:
                self.controller.stop()
            except Exception:  # pylint: disable=broad-except
                pass
            self.controller = None
        self.dovecot.stop()


def start_from_args(args, service, state_dir, verbose=False):
    """For ``ie-service serve``: the running MailFront when ``--smtp-port`` was given, else None."""
    if args.smtp_port is None:
        if args.mail_user:
            raise SystemExit('ie-service: --mail-user needs --smtp-port (the mail front)')
        return None
    try:
        return MailFront(service, state_dir, args.smtp_port, args.imap_port, args.mail_user, args.mail_address,
                         verbose).start()
    except dovecot.MailboxError as exc:
        raise SystemExit('ie-service: the mail front cannot start: %s' % exc) from None
