# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""SMTP and IMAP for the e-mail workflow: send a command mail, keep its copy in the Sent folder,
find the reply that answers it.

* SMTP (smtplib): ``starttls`` (the server must offer STARTTLS), ``tls`` (TLS from the first
  byte) or ``none``; AUTH when a user is given.
* IMAP (imaplib): the same three kinds of security; the copy of every command mail is
  appended to the Sent folder as ``\\Draft`` before it is sent and the flag is taken off once
  the SMTP server accepted it, so a run killed in between knows the mail may not have left.
* Certificates are checked unless ``validate_certs`` is false; ``ca_bundle`` adds a CA file.
* Every socket operation has a timeout; waiting for replies has a deadline.
* Errors (MailError) say what failed, where (host, port, user, folder) and how to fix it; they
  never contain a password.

No Ansible imports.
"""

from __future__ import annotations

import imaplib
import re
import smtplib
import socket
import ssl
import time

from ansible_collections.awsie.importexport.plugins.module_utils import mail as maillib

SECURITY = ('starttls', 'tls', 'none')
SMTP_PORTS = {'starttls': 587, 'tls': 465, 'none': 25}
IMAP_PORTS = {'starttls': 143, 'tls': 993, 'none': 143}
DRAFT = '\\Draft'
_FETCH_META_RE = re.compile(rb'UID (\d+)')
_FLAGS_RE = re.compile(rb'FLAGS \(([^)]*)\)')
_RECORD_HEADERS = ('MESSAGE-ID', 'DATE', 'SUBJECT') + tuple(h.upper() for h in maillib.CLIENT_HEADERS)


MAX_REPLY_TIMEOUT = 7 * 86400


def argument_spec():
    """The mail options (doc fragment ``awsie.importexport.mail``), for a module's argument spec."""
    return dict(
        transport=dict(type='str', choices=['api', 'email'], default='api'),
        smtp_host=dict(type='str'),
        smtp_port=dict(type='int'),
        smtp_security=dict(type='str', choices=list(SECURITY), default='starttls'),
        smtp_user=dict(type='str'),
        smtp_password=dict(type='str', no_log=True),
        mail_from=dict(type='str'),
        mail_to=dict(type='str', default=maillib.SERVICE_ADDRESS),
        imap_host=dict(type='str'),
        imap_port=dict(type='int'),
        imap_security=dict(type='str', choices=list(SECURITY), default='starttls'),
        imap_user=dict(type='str'),
        imap_password=dict(type='str', no_log=True),
        imap_folder=dict(type='str', default='INBOX'),
        imap_sent_folder=dict(type='str', default='Sent'),
        reply_timeout=dict(type='float', default=600.0),
        validate_certs=dict(type='bool', default=True),
    )


# With transport=email these must be given (the module's required_if).
REQUIRED_IF = [('transport', 'email', ('smtp_host', 'mail_from', 'imap_password'))]


class MailError(Exception):
    """A mail server could not be used. ``code``: SMTPError, IMAPError, AuthError, TLSError,
    ConnectionError or Timeout; ``outcome_unknown``: a mail may have been accepted anyway."""

    def __init__(self, message, code='MailError', outcome_unknown=False):
        super().__init__(message)
        self.code = code
        self.outcome_unknown = outcome_unknown

    def as_dict(self):
        return dict(code=self.code, message=str(self), outcome_unknown=self.outcome_unknown)


class MailSettings:
    """The mail options of a task, checked: ports filled in from the security, IMAP defaults."""

    def __init__(self, smtp_host, mail_from, smtp_port=None, smtp_security='starttls', smtp_user=None,
                 smtp_password=None, mail_to=maillib.SERVICE_ADDRESS, imap_host=None, imap_port=None,
                 imap_security='starttls', imap_user=None, imap_password=None, imap_folder='INBOX',
                 imap_sent_folder='Sent', reply_timeout=600.0, validate_certs=True, ca_bundle=None, timeout=30.0):
        for name, value in (('smtp_security', smtp_security), ('imap_security', imap_security)):
            if value not in SECURITY:
                raise ValueError('%s must be one of %s, got %r' % (name, ', '.join(SECURITY), value))
        if not smtp_host:
            raise ValueError('smtp_host is required with transport=email: the SMTP server to send the command mails to')
        if not mail_from or '@' not in mail_from:
            raise ValueError('mail_from must be the address registered with the service (the sender of the command '
                             'mails), got %r' % (mail_from,))
        if smtp_user and smtp_password is None:
            raise ValueError('smtp_user is set but smtp_password is not: give both, or neither for a server without AUTH')
        for name in ('imap_folder', 'imap_sent_folder'):
            value = locals()[name]
            if not value or not all(32 <= ord(c) < 127 for c in value) or '"' in value or '\\' in value:
                raise ValueError('%s must be a folder name of printable ASCII without quotes or backslashes, got %r'
                                 % (name, value))
        self.smtp_host, self.smtp_security = smtp_host, smtp_security
        self.smtp_port = int(smtp_port or SMTP_PORTS[smtp_security])
        self.smtp_user, self.smtp_password = smtp_user, smtp_password
        self.mail_from, self.mail_to = mail_from, mail_to or maillib.SERVICE_ADDRESS
        self.imap_host, self.imap_security = imap_host or smtp_host, imap_security
        self.imap_port = int(imap_port or IMAP_PORTS[imap_security])
        self.imap_user = imap_user or maillib.address_of(mail_from) or mail_from
        self.imap_password = imap_password
        if self.imap_password is None:
            raise ValueError('imap_password is required with transport=email: the replies are read from the mailbox '
                             'of %s on %s' % (self.imap_user, self.imap_host))
        self.imap_folder, self.imap_sent_folder = imap_folder, imap_sent_folder
        self.reply_timeout = float(reply_timeout)
        if not 0 <= self.reply_timeout <= MAX_REPLY_TIMEOUT:  # also refuses NaN
            raise ValueError('reply_timeout must be a number from 0 to %d seconds, got %s' % (MAX_REPLY_TIMEOUT, reply_timeout))
        for name, port in (('smtp_port', self.smtp_port), ('imap_port', self.imap_port)):
            if not 0 < port < 65536:
                raise ValueError('%s must be a TCP port from 1 to 65535, got %s' % (name, port))
        self.validate_certs, self.ca_bundle = validate_certs, ca_bundle
        self.timeout = float(timeout)

    @classmethod
    def from_params(cls, params, timeout=30.0):
        names = ('smtp_host', 'mail_from', 'smtp_port', 'smtp_security', 'smtp_user', 'smtp_password', 'mail_to',
                 'imap_host', 'imap_port', 'imap_security', 'imap_user', 'imap_password', 'imap_folder',
                 'imap_sent_folder', 'reply_timeout', 'validate_certs', 'ca_bundle')
        given = dict((n, params[n]) for n in names if params.get(n) is not None)
        return cls(timeout=timeout, **given)

    @property
    def secrets(self):
        return [s for s in (self.smtp_password, self.imap_password) if s]

    def ssl_context(self):
        if not self.validate_certs:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        try:
            return ssl.create_default_context(cafile=self.ca_bundle)
        except (OSError, ssl.SSLError) as exc:
            raise MailError('ca_bundle %s cannot be read as PEM CA certificates: %s' % (self.ca_bundle, exc),
                            'TLSError')


def _scrub(text, secrets):
    text = str(text)
    for secret in secrets:
        text = text.replace(secret, '********')
    return text


def _server_text(exc):
    """What an smtplib/imaplib error says, as one line of text."""
    if isinstance(exc, smtplib.SMTPResponseException):
        message = exc.smtp_error.decode('utf-8', 'replace') if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        return '%s %s' % (exc.smtp_code, ' '.join(str(message).split()))
    if isinstance(exc, socket.timeout):
        return 'timed out'
    return ' '.join(str(exc).split()) or type(exc).__name__


def _quote(text):
    if any(c in text for c in '\r\n\x00'):
        raise MailError('cannot search for %r: it has line breaks' % text, 'IMAPError')
    return '"%s"' % text.replace('\\', '\\\\').replace('"', '\\"')


class SentRecord:
    """A command mail found in the Sent folder."""

    def __init__(self, uid, flags, raw_headers):
        msg = maillib.load_message(raw_headers)
        self.uid = uid
        self.draft = DRAFT.lower() in flags.lower()
        self.message_id = (maillib.msg_ids(maillib.header(msg, 'Message-ID')) or [''])[0]
        self.command = ' '.join(maillib.header(msg, 'Subject').upper().split())
        self.date = maillib.parse_date(maillib.header(msg, 'Date'))
        self.digest = maillib.header(msg, maillib.HEADER_DIGEST) or None
        self.device_id = maillib.header(msg, maillib.HEADER_DEVICE) or None
        self.job_id = maillib.header(msg, maillib.HEADER_JOB).upper() or None
        self.job_type = maillib.header(msg, maillib.HEADER_JOB_TYPE) or None

    def describe(self):
        when = time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(self.date)) if self.date else 'an unknown time'
        return '%s %s sent at %s' % (self.command, self.message_id, when)


class Mailbox:
    """One task's mail: SMTP to send, one IMAP connection to read. ``sent``/``received`` list
    what passed (Message-IDs, subjects, dates) for the task's result."""

    def __init__(self, settings, clock=time.time, monotonic=time.monotonic, sleep=time.sleep):
        self.settings = settings
        self.clock, self.monotonic, self.sleep = clock, monotonic, sleep
        self._imap = None
        self._selected = None
        self.sent, self.received = [], []

    # ------------------------------------------------------------ errors
    def _error(self, what, exc, code=None, outcome_unknown=False):
        if code is None:
            cause = exc.__cause__ or exc.__context__
            if isinstance(exc, (socket.timeout, TimeoutError)) or isinstance(cause, (socket.timeout, TimeoutError)):
                code = 'Timeout'
            elif isinstance(exc, ssl.SSLError):
                code = 'TLSError'
            elif isinstance(exc, (smtplib.SMTPAuthenticationError,)):
                code = 'AuthError'
            elif isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException):
                code = 'ConnectionError'
            else:
                code = 'SMTPError' if isinstance(exc, smtplib.SMTPException) else 'IMAPError'
        return MailError(_scrub('%s: %s' % (what, _server_text(exc)), self.settings.secrets), code, outcome_unknown)

    # ------------------------------------------------------------ SMTP
    def send(self, raw, recipients=None):
        """Hand the mail to the SMTP server. MailError with ``outcome_unknown`` when the server may have
        taken it although the exchange did not finish."""
        s = self.settings
        where = 'SMTP server %s port %d (%s)' % (s.smtp_host, s.smtp_port, s.smtp_security)
        envelope_from = maillib.address_of(s.mail_from) or s.mail_from
        recipients = recipients or [maillib.address_of(s.mail_to) or s.mail_to]
        stage = 'connecting to'
        conn = None
        try:
            if s.smtp_security == 'tls':
                conn = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.timeout, context=s.ssl_context())
            else:
                conn = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.timeout)
            conn.ehlo()
            if s.smtp_security == 'starttls':
                if not conn.has_extn('starttls'):
                    raise MailError('%s does not offer STARTTLS; use smtp_security=tls for a TLS port (465), or none '
                                    'only on a trusted network' % where, 'TLSError')
                stage = 'starting TLS with'
                conn.starttls(context=s.ssl_context())
                conn.ehlo()
            if s.smtp_user:
                stage = 'logging in as %s to' % s.smtp_user
                conn.login(s.smtp_user, s.smtp_password)
            stage = 'sending the mail through'
            refused = conn.sendmail(envelope_from, recipients, raw)
            if refused:
                raise MailError('%s refused the recipient(s) %s' % (where, ', '.join(sorted(refused))), 'SMTPError')
        except MailError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise self._error('%s refused the login of %s (check smtp_user and smtp_password)' % (where, s.smtp_user),
                              exc, 'AuthError')
        except smtplib.SMTPNotSupportedError as exc:
            raise self._error('%s: %s is not supported there (AUTH may need smtp_security=starttls or tls)'
                              % (where, stage), exc, 'SMTPError')
        except smtplib.SMTPRecipientsRefused as exc:
            raise MailError('%s refused the recipient(s) %s' % (where, ', '.join(sorted(exc.recipients))), 'SMTPError')
        except smtplib.SMTPSenderRefused as exc:
            raise self._error('%s refused the sender %s' % (where, envelope_from), exc, 'SMTPError')
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            unknown = stage == 'sending the mail through' and not isinstance(exc, smtplib.SMTPResponseException)
            raise self._error('%s %s' % (stage, where), exc, outcome_unknown=unknown)
        finally:
            if conn is not None:
                try:
                    conn.quit()
                except (smtplib.SMTPException, OSError, ssl.SSLError):
                    conn.close()

    # ------------------------------------------------------------ IMAP
    def _where(self):
        s = self.settings
        return 'IMAP server %s port %d (%s) as %s' % (s.imap_host, s.imap_port, s.imap_security, s.imap_user)

    def imap(self):
        if self._imap is not None:
            return self._imap
        s = self.settings
        stage = 'connecting to'
        try:
            if s.imap_security == 'tls':
                conn = imaplib.IMAP4_SSL(s.imap_host, s.imap_port, ssl_context=s.ssl_context(), timeout=s.timeout)
            else:
                conn = imaplib.IMAP4(s.imap_host, s.imap_port, timeout=s.timeout)
            if s.imap_security == 'starttls':
                stage = 'starting TLS with'
                conn.starttls(ssl_context=s.ssl_context())
            stage = 'logging in to'
            conn.login(s.imap_user, s.imap_password)
        except imaplib.IMAP4.error as exc:
            if stage == 'logging in to':
                raise self._error('%s refused the login (check imap_user and imap_password)' % self._where(), exc,
                                  'AuthError')
            raise self._error('%s %s' % (stage, self._where()), exc)
        except (OSError, ssl.SSLError) as exc:
            raise self._error('%s %s' % (stage, self._where()), exc)
        self._imap = conn
        return conn

    def _call(self, what, func, *args):
        try:
            typ, data = func(*args)
        except (imaplib.IMAP4.error, OSError, ssl.SSLError) as exc:
            self._drop()
            raise self._error('%s on %s' % (what, self._where()), exc)
        if typ != 'OK':
            text = b' '.join(d for d in data if isinstance(d, bytes)).decode('utf-8', 'replace')
            raise MailError(_scrub('%s on %s failed: %s %s' % (what, self._where(), typ, text), self.settings.secrets),
                            'IMAPError')
        return data

    def _drop(self):
        conn, self._imap, self._selected = self._imap, None, None
        if conn is not None:
            try:
                conn.logout()
            except (imaplib.IMAP4.error, OSError, ssl.SSLError):
                pass

    def select(self, folder, readonly=True, create=False):
        conn = self.imap()
        if self._selected == (folder, readonly):
            self._call('checking folder %s' % folder, conn.noop)
            return conn
        try:
            typ, data = conn.select(_quote(folder), readonly=readonly)
        except (imaplib.IMAP4.error, OSError, ssl.SSLError) as exc:
            self._drop()
            raise self._error('opening folder %s on %s' % (folder, self._where()), exc)
        if typ != 'OK' and create:
            conn.create(_quote(folder))
            typ, data = conn.select(_quote(folder), readonly=readonly)
        if typ != 'OK':
            raise MailError('folder %s cannot be opened on %s: %s; check imap_folder/imap_sent_folder'
                            % (folder, self._where(), b' '.join(d for d in data if isinstance(d, bytes))
                               .decode('utf-8', 'replace')), 'IMAPError')
        self._selected = (folder, readonly)
        return conn

    def search(self, folder, *criteria):
        """UIDs of the messages in ``folder`` matching the IMAP search ``criteria`` (already quoted)."""
        conn = self.select(folder)
        data = self._call('searching folder %s' % folder, conn.uid, 'SEARCH', *criteria)
        return [int(n) for n in b' '.join(d for d in data if d).split()]

    def fetch(self, folder, uids, what):
        """``[(uid, flags, bytes)]`` for ``what`` (an IMAP fetch item such as ``BODY.PEEK[]``)."""
        if not uids:
            return []
        conn = self.select(folder)
        data = self._call('reading folder %s' % folder, conn.uid, 'FETCH', ','.join(str(u) for u in uids),
                          '(UID FLAGS %s)' % what)
        found = []
        for item in data:
            if not isinstance(item, tuple) or len(item) < 2:
                continue
            uid = _FETCH_META_RE.search(item[0])
            flags = _FLAGS_RE.search(item[0])
            if uid:
                found.append((int(uid.group(1)), (flags.group(1) if flags else b'').decode('ascii', 'replace'), item[1]))
        return found

    # ------------------------------------------------------------ the Sent folder
    def sent_records(self):
        """Every command mail this client put in the Sent folder (oldest first)."""
        folder = self.settings.imap_sent_folder
        try:
            uids = self.search(folder, 'HEADER', maillib.HEADER_CLIENT, '""')
        except MailError:
            if self._folder_missing(folder):
                return []
            raise
        items = self.fetch(folder, uids, 'BODY.PEEK[HEADER.FIELDS (%s)]' % ' '.join(_RECORD_HEADERS))
        records = [SentRecord(uid, flags, raw) for uid, flags, raw in items]
        return sorted((r for r in records if r.message_id), key=lambda r: (r.date or 0, r.uid))

    def _folder_missing(self, folder):
        conn = self.imap()
        typ, data = conn.list('""', _quote(folder))
        return typ == 'OK' and not [d for d in data if d]

    def sent_message(self, record):
        """The full bytes of a Sent copy (to send a mail again exactly as it was)."""
        items = self.fetch(self.settings.imap_sent_folder, [record.uid], 'BODY.PEEK[]')
        if not items:
            raise MailError('the copy of %s vanished from folder %s' % (record.describe(), self.settings.imap_sent_folder),
                            'IMAPError')
        return items[0][2]

    def save_draft(self, raw):
        """Append the mail to the Sent folder flagged \\Draft (created when missing)."""
        folder = self.settings.imap_sent_folder
        conn = self.imap()
        try:
            conn.create(_quote(folder))  # NO when it exists
        except (imaplib.IMAP4.error, OSError, ssl.SSLError) as exc:
            self._drop()
            raise self._error('creating folder %s on %s' % (folder, self._where()), exc)
        self._call('saving a copy in folder %s' % folder, conn.append, _quote(folder), '(%s \\Seen)' % DRAFT, None, raw)
        self._selected = None

    def mark_sent(self, message_id):
        """Take \\Draft off the Sent copy of ``message_id``: the SMTP server accepted it."""
        folder = self.settings.imap_sent_folder
        self._selected = None
        conn = self.select(folder, readonly=False)
        uids = self._call('searching folder %s' % folder, conn.uid, 'SEARCH', 'HEADER', 'Message-ID',
                          _quote(message_id))
        numbers = b' '.join(d for d in uids if d).split()
        if numbers:
            self._call('flagging the copy in folder %s' % folder, conn.uid, 'STORE', b','.join(numbers).decode(),
                       '-FLAGS', '(%s)' % DRAFT)
        self._selected = None

    # ------------------------------------------------------------ replies
    def replies(self, message_id):
        """Parsed replies in imap_folder that answer ``message_id`` (In-Reply-To/References), oldest first."""
        if not maillib.is_safe_id(message_id):
            return []
        folder = self.settings.imap_folder
        quoted = _quote(message_id)
        uids = self.search(folder, 'OR', 'HEADER', 'In-Reply-To', quoted, 'HEADER', 'References', quoted)
        found = []
        for _uid, _flags, raw in self.fetch(folder, uids, 'BODY.PEEK[]'):
            try:
                reply = maillib.parse_reply(raw)
            except maillib.MailFormatError:
                continue  # an out-of-office or a bounce: not the service's answer
            if reply.answers(message_id) and reply.from_service(self.settings.mail_to):
                found.append(reply)
        return sorted(found, key=lambda r: r.date or 0)

    def replies_for(self, message_ids):
        """``{message_id: first Reply}`` for many sent mails at once (two IMAP round trips: the
        threading headers of every reply in imap_folder, then the bodies of those that match)."""
        wanted = set(m for m in message_ids if m)
        if not wanted:
            return {}
        folder = self.settings.imap_folder
        uids = self.search(folder, 'OR', 'HEADER', 'In-Reply-To', '""', 'HEADER', 'References', '""')
        heads = self.fetch(folder, uids, 'BODY.PEEK[HEADER.FIELDS (IN-REPLY-TO REFERENCES)]')
        matching = [uid for uid, _flags, raw in heads
                    if wanted.intersection(maillib.msg_ids(raw.decode('ascii', 'replace')))]
        found = {}
        for _uid, _flags, raw in self.fetch(folder, matching, 'BODY.PEEK[]'):
            try:
                reply = maillib.parse_reply(raw)
            except maillib.MailFormatError:
                continue
            if not reply.from_service(self.settings.mail_to):
                continue  # answers our mail, but not from the address it went to: forged
            for message_id in wanted.intersection(reply.parents):
                if message_id not in found or (reply.date or 0) < (found[message_id].date or 0):
                    found[message_id] = reply
        return found

    def wait(self, message_ids, timeout):
        """``{message_id: Reply}`` for those answered within ``timeout`` seconds (polling the folder)."""
        deadline = self.monotonic() + max(0.0, float(timeout))
        answered, delay = {}, 0.25
        while True:
            for message_id in [m for m in message_ids if m not in answered]:
                found = self.replies(message_id)
                if found:
                    answered[message_id] = found[0]
                    self.received.append(dict(message_id=found[0].message_id, subject=found[0].subject,
                                              in_reply_to=message_id, status=found[0].status,
                                              code=found[0].code))
            left = deadline - self.monotonic()
            if len(answered) == len(message_ids) or left <= 0:
                return answered
            self.sleep(min(delay, left))
            delay = min(delay * 1.5, 5.0)

    def close(self):
        self._drop()
