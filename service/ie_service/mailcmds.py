# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The e-mail commands of 2009 on the Query API's job store: a command mail in, a reply mail out.

``MailDesk.handle(raw)`` reads a command mail (``CREATE JOB`` with the manifest attached,
``GET STATUS``, ``UPDATE JOB`` with the updated manifest and SIGNATURE attached, ``CANCEL JOB``;
``JOBID:`` in the body) and answers it with a ``SUCCESS`` or ``ERROR`` reply mail (the format is
the collection's ``mail`` module). The work is done by the API's own actions (``api.Service``),
so a job created by mail is the job GetStatus sees, its manifest the bytes as attached. E-mail
rules on top: the sender address must be registered to an account (``InvalidSender``); one job
per device (a CREATE JOB for a drive that has a job whose device has not arrived replaces that
job, as the 2009 guide says to send a new CREATE JOB when the manifest changes); the API's error
codes become the e-mail era's (``NoSuchBucket``, ``AccessDenied``, ``InvalidManifestField`` ...).

A command mail is answered once: the same Message-ID from the same sender gets the same reply
again (re-delivered), never a second job.
"""

import os
import sqlite3
import threading

from .api import EXPIRY_SECONDS, job_view
from .collection import manifest as mlib
from .collection import signing
from .errors import ApiError
from .state import iso

# The mail format is the collection's (importing .collection above put it on sys.path).
from ansible_collections.awsie.importexport.plugins.module_utils import mail as maillib  # noqa: E402  pylint: disable=wrong-import-order

DB_FILE = 'mail.sqlite3'

# API error codes -> the e-mail era's codes (anything else: the API code without "Exception").
EMAIL_CODES = {
    'BucketPermissionException': 'AccessDenied',
    'InvalidAccessKeyIdException': 'AccessDenied',
    'NoSuchBucketException': 'NoSuchBucket',
}
ACTIONS = {
    'InvalidSender': 'Send commands from the e-mail address registered for your AWS account.',
    'MissingManifestAttachment': 'Attach your manifest file to the mail and send it again.',
    'MissingSignatureAttachment': 'Attach the updated SIGNATURE file to the UPDATE JOB mail and send it again.',
    'InvalidSignature': 'Sign the updated manifest and the JOBID with your secret access key and send UPDATE JOB again.',
    'InvalidManifestField': 'Correct the field in your manifest and send the command again.',
    'MissingManifestField': 'Add the field to your manifest and send the command again.',
    'MalformedManifest': 'Correct the manifest (YAML) and send the command again.',
    'InvalidJobId': 'Check the JOBID: it must be a job of your account.',
    'ExpiredJobId': 'Send a new CREATE JOB; the job expired 30 days after it was created.',
    'CanceledJobId': 'Send a new CREATE JOB; this job was canceled.',
    'NoSuchBucket': 'Create the bucket in Amazon S3, or name an existing one, and send the command again.',
    'AccessDenied': 'Use the access key of your own account in the manifest and make sure it may write to the bucket.',
    'UnknownCommand': 'Use the subject CREATE JOB, GET STATUS, UPDATE JOB or CANCEL JOB.',
    'UnableToUpdateJobId': 'The device has arrived: the job can no longer be updated.',
    'UnableToCancelJobId': 'The device has arrived: the job can no longer be canceled.',
}
SCHEMA = """
CREATE TABLE IF NOT EXISTS mails (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    command TEXT,
    received REAL NOT NULL,
    status TEXT NOT NULL,
    code TEXT,
    job_id TEXT,
    reply_id TEXT NOT NULL,
    reply BLOB NOT NULL,
    delivered INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS mails_message ON mails (message_id, sender);
"""


class Refused(Exception):
    def __init__(self, code, description, action=None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.action = action or ACTIONS.get(code)


def email_code(api_code):
    return EMAIL_CODES.get(api_code, api_code[:-len('Exception')] if api_code.endswith('Exception') else api_code)


class MailDesk:
    """Answers command mails. ``users``: ``{address: access_key or None}`` (None: a mailbox that is
    not registered to an account)."""

    def __init__(self, service, users, address=maillib.SERVICE_ADDRESS):
        self.service = service
        self.store = service.store
        self.clock = service.clock
        self.users = dict((a.lower(), k) for a, k in users.items())
        self.address = address.lower()
        self.path = os.path.join(service.state_dir, DB_FILE)
        self._local = threading.local()
        self.lock = threading.Lock()
        self.conn().executescript(SCHEMA)

    def conn(self):
        conn = getattr(self._local, 'conn', None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute('PRAGMA journal_mode=WAL')
            self._local.conn = conn
        return conn

    # ------------------------------------------------------------ entry point
    def handle(self, raw, envelope_from=''):
        """``(reply bytes, recipient, record)`` for a command mail, the reply possibly an earlier one."""
        try:
            cmd = maillib.parse_command(raw)
        except maillib.MailFormatError:
            return None, None, None
        recipient = cmd.sender or maillib.address_of(envelope_from)
        if not recipient:
            return None, None, None
        with self.lock:
            if cmd.message_id:
                row = self.conn().execute(
                    'SELECT reply, seq FROM mails WHERE message_id = ? AND sender = ? ORDER BY seq LIMIT 1',
                    (cmd.message_id, recipient)).fetchone()
                if row:
                    return bytes(row[0]), recipient, self.record(row[1])
            try:
                status, fields = maillib.SUCCESS, self._answer(cmd, recipient)
            except Refused as exc:
                status, fields = maillib.ERROR, dict(code=exc.code, description=exc.description,
                                                     recommended_action=exc.action)
            reply = maillib.reply_message(cmd, status, fields, self.address)
            data = maillib.as_bytes(reply)
            cur = self.conn().execute(
                'INSERT INTO mails (message_id, sender, command, received, status, code, job_id, reply_id, reply) '
                'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
                (cmd.message_id, recipient, cmd.command or cmd.subject[:100], self.clock.now(), status,
                 fields.get('code'), fields.get('job_id'), str(reply['Message-ID']), data))
            return data, recipient, self.record(cur.lastrowid)

    def mark_delivered(self, seq):
        self.conn().execute('UPDATE mails SET delivered = delivered + 1 WHERE seq = ?', (seq,))

    def record(self, seq):
        row = self.conn().execute('SELECT seq, message_id, sender, command, received, status, code, job_id, reply_id, '
                                  'delivered FROM mails WHERE seq = ?', (seq,)).fetchone()
        return dict(zip(('seq', 'message_id', 'sender', 'command', 'received', 'status', 'code', 'job_id', 'reply_id',
                         'delivered'), row)) if row else None

    # ------------------------------------------------------------ commands
    def _answer(self, cmd, sender):
        if sender not in self.users or not self.users[sender]:
            raise Refused('InvalidSender', 'The sender address %s is not registered with an AWS account.' % sender)
        account = self.users[sender]
        if cmd.command is None:
            raise Refused('UnknownCommand', 'The subject %r is not a command.' % cmd.subject[:100])
        handler = {maillib.CREATE: self.create, maillib.STATUS: self.status, maillib.UPDATE: self.update,
                   maillib.CANCEL: self.cancel}[cmd.command]
        try:
            return handler(cmd, account)
        except ApiError as exc:
            raise Refused(email_code(exc.code), exc.message) from None

    @staticmethod
    def _manifest(cmd):
        found = cmd.attachment()
        if found is None:
            raise Refused('MissingManifestAttachment', 'The %s mail has no manifest attached.' % cmd.command)
        try:
            return found[1].decode('utf-8')
        except UnicodeDecodeError:
            raise Refused('MalformedManifest', 'The attached manifest %s is not UTF-8 text.' % found[0]) from None

    @staticmethod
    def _job_type(cmd, text):
        given = ' '.join(str(cmd.fields.get('job_type') or '').split()).capitalize()
        if given in ('Import', 'Export'):
            return given
        try:
            return mlib.detect_job_type(mlib.parse_manifest(text))
        except mlib.ManifestError:
            return 'Import'

    def _job(self, cmd, account):
        raw = cmd.fields.get('job_id')
        if not raw:
            raise Refused('InvalidJobId', 'The mail has no JOBID: line.')
        return self.service._own_job({}, account, value=raw)  # pylint: disable=protected-access

    def create(self, cmd, account):
        text = self._manifest(cmd)
        job_type = self._job_type(cmd, text)
        result = dict(self.service.do_CreateJob({'JobType': job_type, 'Manifest': text}, account))
        job_id = result['JobId']
        replaced = self._one_job_per_device(account, job_id, text)
        fields = dict(job_id=job_id, job_type=job_type, device_id=_device_id(text),
                      description='Your job was created. Write the SIGNATURE file (version 1.0: this JOBID and the '
                                  'manifest as attached, signed with your secret access key) to the root of your '
                                  'device, write the JOBID on the device and the package, and ship it within %d days.'
                                  % maillib.EXPIRY_DAYS,
                      replaced_job_id=replaced, warning_message=result.get('WarningMessage'))
        return fields

    def _one_job_per_device(self, account, job_id, text):
        """Cancel the account's other jobs for this drive whose device has not arrived; the first one's id."""
        device = _device_id(text)
        if device is None:
            return None
        now = self.clock.now()
        replaced = []
        for job in self.store.list_jobs(account, limit=1000)[0]:
            if job['job_id'] == job_id or job['canceled'] is not None or job['received'] is not None:
                continue
            if now >= job['created'] + EXPIRY_SECONDS or _device_id(job['manifest']) != device:
                continue
            if self.store.update_fields(job['job_id'], 'received IS NULL AND canceled IS NULL', canceled=now):
                replaced.append(job['job_id'])
        return replaced[0] if replaced else None

    def status(self, cmd, account):
        job = self._job(cmd, account)
        view = job_view(job, self.clock.now())
        return dict(job_id=job['job_id'], job_type=job['job_type'], device_id=_device_id(job['manifest']),
                    location_code=view['location'], location_message=view['location_message'],
                    progress_code=view['progress'], progress_message=view['progress_message'],
                    carrier=view['carrier'], tracking_number=view['tracking'], log_bucket=view['log_bucket'],
                    log_key=view['log_key'], error_count=view['error_count'], creation_date=iso(job['created']))

    def update(self, cmd, account):
        job = self._job(cmd, account)
        self.service._usable_job(job, self.clock.now())  # pylint: disable=protected-access
        text = self._manifest(cmd)
        signature = cmd.attachment(signature=True)
        if signature is None:
            raise Refused('MissingSignatureAttachment', 'The UPDATE JOB mail has no SIGNATURE file attached.')
        secret = self.store.secret_of(account)
        ok, reason = signing.verify_signature_file(signature[1], secret, text.encode('utf-8'), job['job_id'])
        if not ok:
            raise Refused('InvalidSignature', 'The attached SIGNATURE does not match the updated manifest: %s.'
                          % reason.rstrip('.'))
        job_type = self._job_type(cmd, text)
        self.service.do_UpdateJob({'JobId': job['job_id'], 'JobType': job_type, 'Manifest': text}, account)
        return dict(job_id=job['job_id'], job_type=job_type, device_id=_device_id(text), progress_code='Updated',
                    progress_message='The job was updated.')

    def cancel(self, cmd, account):
        job = self._job(cmd, account)
        self.service.do_CancelJob({'JobId': job['job_id']}, account)
        return dict(job_id=job['job_id'], progress_code='Canceled', progress_message='The job was canceled.')


def _device_id(text):
    try:
        value = mlib.parse_manifest(text).get('deviceId')
    except mlib.ManifestError:
        return None
    return None if value is None else str(value)


def mail_log(state_dir):
    """Every command mail the service answered, oldest first (for tests and the demo's summary)."""
    path = os.path.join(state_dir, DB_FILE)
    if not os.path.exists(path):
        return []
    conn = sqlite3.connect(path, timeout=30)
    try:
        rows = conn.execute('SELECT seq, message_id, sender, command, received, status, code, job_id, reply_id, delivered '
                            'FROM mails ORDER BY seq').fetchall()
    finally:
        conn.close()
    names = ('seq', 'message_id', 'sender', 'command', 'received', 'status', 'code', 'job_id', 'reply_id', 'delivered')
    return [dict(zip(names, row)) for row in rows]
