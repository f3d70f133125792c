# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The e-mail workflow of AWS Import/Export (2009), as mails: one place for its format.

* Command mails: subject ``CREATE JOB`` (manifest attached), ``GET STATUS``, ``UPDATE JOB``
  (updated manifest and SIGNATURE attached), ``CANCEL JOB``; fields in the body as
  ``KEY: value`` lines (``JOBID: X452D``). Attachments are sent exactly as their bytes:
  base64 transfer encoding, so no mail server rewrites line ends (the SIGNATURE covers them).
* Reply mails: subject ``RE: <command>``, ``In-Reply-To``/``References`` naming the command's
  ``Message-ID``, and a body ``SUCCESS`` or ``ERROR`` followed by ``KEY: value`` lines
  (``JOBID:``, ``CODE:``, ``DESCRIPTION:``, ``RECOMMENDED ACTION:``, ``DEVICE CODE:``,
  ``JOB CODE:`` ...). ``parse_reply`` reads them leniently (quoted text, HTML-only mails,
  odd spacing, unknown fields) and fails only with MailFormatError.
* Matching: a reply answers a command when the command's Message-ID is in its
  ``In-Reply-To`` or ``References`` (never "the newest mail").
* The client's own headers on command mails: ``X-IE-Manifest-Digest`` (the canonical
  manifest's digest, with the job type), ``X-IE-Device-Id``, ``X-IE-Job-Id``; a re-run finds
  its earlier mails by them in the mailbox's Sent folder.

Both the collection (the ``transport: email`` path of ie_job and ie_job_status) and the
local service (its mail front) use this file. Standard library only, no Ansible imports.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import hashlib
import html
import re
import secrets
import textwrap
import time
from email.header import decode_header, make_header
from email.message import EmailMessage

SERVICE_ADDRESS = 'awsimportexport@amazon.com'
CREATE, STATUS, UPDATE, CANCEL = 'CREATE JOB', 'GET STATUS', 'UPDATE JOB', 'CANCEL JOB'
COMMANDS = (CREATE, STATUS, UPDATE, CANCEL)
SUCCESS, ERROR = 'SUCCESS', 'ERROR'
REPLY_PREFIX = 'RE: '
EXPIRY_DAYS = 30
SIGNATURE_NAME = 'SIGNATURE'
MANIFEST_NAME = 'manifest.txt'
MAX_MESSAGE_BYTES = 8 * 1024 * 1024

HEADER_CLIENT = 'X-IE-Client'
HEADER_DIGEST = 'X-IE-Manifest-Digest'
HEADER_DEVICE = 'X-IE-Device-Id'
HEADER_JOB = 'X-IE-Job-Id'
HEADER_JOB_TYPE = 'X-IE-Job-Type'
CLIENT_HEADERS = (HEADER_DIGEST, HEADER_DEVICE, HEADER_JOB, HEADER_JOB_TYPE)

# The codes of the e-mail era's ERROR replies (any other code is passed on as it is).
ERROR_CODES = ('InvalidSender', 'MissingManifestAttachment', 'InvalidManifestField', 'MissingManifestField',
               'InvalidJobId', 'ExpiredJobId', 'CanceledJobId', 'NoSuchBucket', 'AccessDenied')

# Body fields: the label in the mail -> the result key. Order = the order replies are written in.
FIELDS = (
    ('JOBID', 'job_id'),
    ('JOB TYPE', 'job_type'),
    ('DEVICE ID', 'device_id'),
    ('CODE', 'code'),
    ('DESCRIPTION', 'description'),
    ('RECOMMENDED ACTION', 'recommended_action'),
    ('DEVICE CODE', 'location_code'),
    ('DEVICE DESCRIPTION', 'location_message'),
    ('JOB CODE', 'progress_code'),
    ('JOB DESCRIPTION', 'progress_message'),
    ('CARRIER', 'carrier'),
    ('TRACKING NUMBER', 'tracking_number'),
    ('LOG BUCKET', 'log_bucket'),
    ('LOG KEY', 'log_key'),
    ('ERROR COUNT', 'error_count'),
    ('CREATION DATE', 'creation_date'),
    ('REPLACED JOBID', 'replaced_job_id'),
    ('WARNING', 'warning_message'),
)
LABELS = dict((key, label) for label, key in FIELDS)
KEYS = dict(FIELDS)
ALIASES = {'JOB ID': 'JOBID', 'JOB-ID': 'JOBID', 'ERROR CODE': 'CODE', 'RECOMMENDEDACTION': 'RECOMMENDED ACTION',
           'REPLACED JOB ID': 'REPLACED JOBID', 'JOBTYPE': 'JOB TYPE', 'DEVICEID': 'DEVICE ID'}

_LABEL_RE = re.compile(r'^([A-Za-z][A-Za-z _-]{0,40}?)\s*:(.*)$')
_STATUS_RE = re.compile(r'^(?:STATUS\s*:\s*)?(SUCCESS|ERROR)\b[\s.!:]*$', re.I)
_END_RE = re.compile(r'^(--$|-{3,}\s*original message|_{5,}$|on .{0,200} wrote:$)', re.I)
_MSGID_RE = re.compile(r'<[^<>\s]+>')
_SAFE_ID_RE = re.compile(r'^<[!#-;=?-\[\]-~]{1,250}>$')  # printable ASCII without space, <, >, " and \
_TAG_RE = re.compile(r'<[^>]*>')


class MailFormatError(ValueError):
    """A mail that cannot be read as a command or a reply; the message says why (never its text)."""


# ---------------------------------------------------------------- identities

def manifest_digest(canonical, job_type):
    """``sha256:<hex>`` of the job type and the canonical manifest (what makes two CREATE JOBs the same)."""
    data = ('%s\n%s' % (job_type or '', canonical or '')).encode('utf-8')
    return 'sha256:' + hashlib.sha256(data).hexdigest()


def new_message_id(mail_from, tag='ie'):
    """A fresh Message-ID in the sender's domain (never the controller's host name)."""
    domain = mail_from.rpartition('@')[2].strip().strip('>') or 'localhost'
    domain = re.sub(r'[^A-Za-z0-9.-]', '-', domain)[:200] or 'localhost'
    return '<%s.%d.%s@%s>' % (re.sub(r'[^a-z0-9]', '', tag.lower())[:20] or 'ie', time.time_ns(), secrets.token_hex(8),
                              domain)


def msg_ids(value):
    """The ``<id>`` tokens of a Message-ID, In-Reply-To or References header, in order."""
    return _MSGID_RE.findall(value or '')


def is_safe_id(message_id):
    """True for a Message-ID that can be searched for over IMAP as a quoted string."""
    return bool(_SAFE_ID_RE.match(message_id or ''))


# ---------------------------------------------------------------- composing

def _one_line(value):
    return ' '.join(str(value).split())


def render_fields(fields, status=None):
    """The body: ``status`` (SUCCESS/ERROR) then ``LABEL: value`` lines; ``fields`` maps result keys
    (or labels) to values; None values are left out; a long value goes on over indented lines
    (at most 76 characters each, so a plain-text body needs no transfer encoding)."""
    lines = [status] if status else []
    given = dict(fields)
    order = [key for _label, key in FIELDS] + [k for k in given if k not in LABELS]
    for key in order:
        if key not in given or given[key] is None:
            continue
        text = '%s: %s' % (LABELS.get(key, str(key).upper()), _one_line(given[key]))
        lines.extend(textwrap.wrap(text, 76, subsequent_indent='    ', break_long_words=False, break_on_hyphens=False)
                     or [text])
    return '\n'.join(lines) + '\n'


def command_message(command, mail_from, mail_to, fields=None, attachments=(), headers=None, message_id=None,
                    date=None):
    """A command mail (EmailMessage). ``attachments``: ``(filename, bytes)``, sent as base64 so the
    receiver gets the bytes exactly; ``headers``: extra headers (None values left out)."""
    if command not in COMMANDS:
        raise ValueError('unknown command %r: use one of %s' % (command, ', '.join(COMMANDS)))
    msg = EmailMessage(policy=email.policy.SMTP)
    msg['From'] = mail_from
    msg['To'] = mail_to
    msg['Subject'] = command
    msg['Date'] = email.utils.formatdate(date, usegmt=True)
    msg['Message-ID'] = message_id or new_message_id(mail_from, command.split()[0])
    msg[HEADER_CLIENT] = 'awsie.importexport'
    for name, value in (headers or {}).items():
        if value is not None:
            msg[name] = _one_line(value)
    msg.set_content(render_fields(fields or {}), charset='utf-8')
    for filename, data in attachments:
        msg.add_attachment(bytes(data), maintype='text', subtype='plain', filename=filename, cte='base64')
    return msg


def reply_message(request, status, fields, service_address=SERVICE_ADDRESS, message_id=None, date=None):
    """The service's reply to a parsed command mail ``request`` (a Command)."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg['From'] = 'AWS Import/Export <%s>' % service_address
    msg['To'] = request.sender or 'undisclosed-recipients:;'
    msg['Subject'] = REPLY_PREFIX + (request.command or _one_line(request.subject or '')[:200] or 'YOUR MESSAGE')
    msg['Date'] = email.utils.formatdate(date, usegmt=True)
    msg['Message-ID'] = message_id or new_message_id(service_address, 'reply')
    if request.message_id:
        msg['In-Reply-To'] = request.message_id
        msg['References'] = ' '.join(request.references + [request.message_id])
    msg.set_content(render_fields(fields, status), charset='utf-8')
    return msg


def as_bytes(msg):
    """The mail as sent: CRLF line ends."""
    return msg.as_bytes(policy=email.policy.SMTP)


# ---------------------------------------------------------------- reading

def load_message(raw):
    """The mail as an email.message.Message (compat32: never raises on odd headers); MailFormatError
    for what is not a mail or is too big."""
    if isinstance(raw, str):
        raw = raw.encode('utf-8', 'surrogateescape')
    if not isinstance(raw, (bytes, bytearray)):
        raise MailFormatError('a mail must be bytes, got %s' % type(raw).__name__)
    if len(raw) > MAX_MESSAGE_BYTES:
        raise MailFormatError('the mail is %d bytes, more than %d' % (len(raw), MAX_MESSAGE_BYTES))
    try:
        return email.message_from_bytes(bytes(raw), policy=email.policy.compat32)
    except Exception as exc:  # pylint: disable=broad-except
        raise MailFormatError('the mail cannot be parsed (%s)' % type(exc).__name__)


def header(msg, name):
    """A header's text, encoded words decoded; '' when absent or unreadable."""
    try:
        value = msg.get(name)
        if value is None:
            return ''
        return _one_line(str(make_header(decode_header(str(value)))))
    except Exception:  # pylint: disable=broad-except
        try:
            return _one_line(str(msg.get(name, '')))
        except Exception:  # pylint: disable=broad-except
            return ''


def address_of(value):
    """The bare address of a From/To header value, lower-cased; '' when there is none."""
    try:
        addr = email.utils.parseaddr(value or '')[1]
    except Exception:  # pylint: disable=broad-except
        return ''
    return addr.strip().lower() if '@' in addr else ''


def parse_date(value):
    """Epoch seconds of a Date header, or None."""
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except Exception:  # pylint: disable=broad-except
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.timestamp()


def _decode(part):
    try:
        data = part.get_payload(decode=True)
    except Exception:  # pylint: disable=broad-except
        return None
    if not isinstance(data, bytes):
        return None
    try:
        return data.decode(part.get_content_charset() or 'utf-8', 'replace')
    except Exception:  # pylint: disable=broad-except
        return data.decode('utf-8', 'replace')


def _is_attachment(part):
    try:
        disposition = str(part.get('Content-Disposition', '')).split(';', maxsplit=1)[0].strip().lower()
        return disposition == 'attachment' or part.get_filename() is not None
    except Exception:  # pylint: disable=broad-except
        return True


def body_text(msg):
    """The first text/plain part that is not an attachment (else text/html made text); '' if none."""
    html_text = None
    try:
        parts = list(msg.walk())
    except Exception:  # pylint: disable=broad-except
        parts = [msg]
    for part in parts[:200]:
        try:
            if part.is_multipart() or _is_attachment(part):
                continue
            ctype = part.get_content_type()
        except Exception:  # pylint: disable=broad-except
            continue
        if ctype == 'text/plain':
            text = _decode(part)
            if text is not None:
                return text
        elif ctype == 'text/html' and html_text is None:
            text = _decode(part)
            if text is not None:
                html_text = html.unescape(_TAG_RE.sub('\n', re.sub(r'(?i)<br\s*/?>', '\n', text)))
    return html_text or ''


def attachments(msg):
    """``[(filename, bytes)]`` of the mail's attachments, decoded from their transfer encoding."""
    found = []
    try:
        parts = list(msg.walk())
    except Exception:  # pylint: disable=broad-except
        return found
    for part in parts[:200]:
        try:
            if part.is_multipart() or not _is_attachment(part):
                continue
            name = part.get_filename()
            data = part.get_payload(decode=True)
        except Exception:  # pylint: disable=broad-except
            continue
        if isinstance(data, bytes):
            found.append((_one_line(str(make_header(decode_header(name)))) if name else '', data))
    return found


def normalize_label(text):
    label = ' '.join(re.sub(r'[_-]', ' ', text).upper().split())
    label = ALIASES.get(label, label)
    return ALIASES.get(label.replace(' ', ''), label) if label not in KEYS else label


def parse_fields(text, need_status=False):
    """``(status, fields)`` from a body: status SUCCESS/ERROR (or None), fields by result key.

    Lines before the status line (when ``need_status``) are skipped; ``LABEL: value`` lines with a
    known label start a field, other text continues the field before it until a blank line or
    an unknown ``Label:`` line;
    quoted text (``>``), a signature (``-- ``) or a quoted original ends the body. Labels not
    known but written in capitals are kept under their label.
    """
    status, fields, last = None, {}, None
    started = not need_status
    for raw_line in text.replace('\r\n', '\n').replace('\r', '\n').split('\n')[:5000]:
        line = raw_line.strip()
        if not started:
            found = _STATUS_RE.match(line)
            if found:
                status, started = found.group(1).upper(), True
            continue
        if line and last is not None and raw_line[:1].isspace():
            fields[last] = ('%s %s' % (fields[last], line)).strip()  # an indented line goes on with the field
            continue
        if line.startswith('>') or _END_RE.match(line):
            break
        if not line:
            last = None
            continue
        match = _LABEL_RE.match(line)
        if match:
            label = normalize_label(match.group(1))
            if label in KEYS:
                last = KEYS[label]
                if not fields.get(last):
                    fields[last] = match.group(2).strip()
                continue
            if not raw_line[:1].isspace():
                if match.group(1).strip() == match.group(1).strip().upper() and last is None:
                    fields.setdefault(label, match.group(2).strip())
                last = None  # another label: not the continuation of a field
                continue
        if last is not None:
            fields[last] = ('%s %s' % (fields[last], line)).strip()
    return status, fields


class Reply:
    """A parsed reply: ``status``, ``fields`` (by result key), ``code``, ``message_id``,
    ``in_reply_to``, ``references``, ``date`` (epoch or None), ``subject``, ``sender``."""

    def __init__(self, status, fields, message_id='', in_reply_to=(), references=(), date=None, subject='', sender=''):
        self.status = status
        self.fields = fields
        self.message_id = message_id
        self.in_reply_to = list(in_reply_to)
        self.references = list(references)
        self.date = date
        self.subject = subject
        self.sender = sender

    @property
    def ok(self):
        return self.status == SUCCESS

    @property
    def code(self):
        return self.fields.get('code') or None

    @property
    def command(self):
        subject = self.subject.upper()
        while subject[:3] in ('RE:', 'RE '):
            subject = subject[3:].strip()
        return subject if subject in COMMANDS else None

    @property
    def parents(self):
        """The mail(s) this one answers: In-Reply-To, else the last of References (RFC 5322 3.6.4)."""
        return list(self.in_reply_to) or self.references[-1:]

    def answers(self, message_id):
        """True when this reply answers ``message_id`` (never a mail only named further up the thread)."""
        return bool(message_id) and message_id in self.parents

    def from_service(self, service_address):
        """True when the reply's From is the address the command was sent to (a reply that answers
        our Message-ID from any other sender is a forgery and is not believed)."""
        return bool(self.sender) and self.sender == address_of(service_address)

    def as_dict(self):
        return dict(status=self.status, message_id=self.message_id, date=self.date, subject=self.subject,
                    fields=dict(self.fields))


def parse_reply(raw):
    """A Reply from the bytes of a mail; MailFormatError when it has no SUCCESS or ERROR line."""
    msg = load_message(raw)
    status, fields = parse_fields(body_text(msg), need_status=True)
    if status is None:
        raise MailFormatError('the mail has no SUCCESS or ERROR line')
    return Reply(status, fields, message_id=(msg_ids(header(msg, 'Message-ID')) or [''])[0],
                 in_reply_to=msg_ids(header(msg, 'In-Reply-To')), references=msg_ids(header(msg, 'References')),
                 date=parse_date(header(msg, 'Date')), subject=header(msg, 'Subject'),
                 sender=address_of(header(msg, 'From')))


class Command:
    """A parsed command mail (the service's view): ``command`` (one of COMMANDS or None),
    ``subject``, ``sender``, ``message_id``, ``references``, ``fields``, ``attachments``, ``headers``."""

    def __init__(self, msg):
        self.subject = header(msg, 'Subject')
        wanted = ' '.join(self.subject.upper().split())
        self.command = wanted if wanted in COMMANDS else None
        self.sender = address_of(header(msg, 'Reply-To')) or address_of(header(msg, 'From'))
        self.from_address = address_of(header(msg, 'From'))
        ids = msg_ids(header(msg, 'Message-ID'))
        self.message_id = ids[0] if ids and is_safe_id(ids[0]) else ''
        self.references = [i for i in msg_ids(header(msg, 'References')) if is_safe_id(i)][-20:]
        self.fields = parse_fields(body_text(msg))[1]
        self.attachments = attachments(msg)
        self.headers = dict((name, header(msg, name)) for name in CLIENT_HEADERS if header(msg, name))

    def attachment(self, signature=False):
        """The SIGNATURE attachment (``signature``) or the manifest (the first other one): (name, bytes) or None."""
        for name, data in self.attachments:
            is_signature = name.rsplit('/', 1)[-1].split('.')[0].upper() == SIGNATURE_NAME
            if is_signature == signature:
                return name, data
        return None


def parse_command(raw):
    return Command(load_message(raw))
