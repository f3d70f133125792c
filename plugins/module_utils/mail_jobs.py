# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ie_job and ie_job_status with ``transport: email``: the job rules of the e-mail era, kept in the mailbox.

What the account's jobs are is read from the mailbox, not asked of the service: every command
mail this client sends is kept in the Sent folder with the canonical manifest's digest, the
drive's deviceId and the job id in headers, and the service's replies name the mail they answer.
So (``MailBook``):

* A CREATE JOB answered SUCCESS for the same drive, job type and canonical manifest is the job;
  it is reused, nothing is sent (changed=false). A job older than the 30 days a CREATE JOB is
  honoured for is checked with one GET STATUS first (Expired: a new job is created).
* A CREATE JOB sent for the same manifest but not answered yet (a run killed after sending) is
  waited for, not sent again; one whose sending was interrupted (its Sent copy is still a
  draft) is sent again with the same Message-ID, which the service answers only once.
* An ERROR reply ends the task with its CODE; a later run sends anew.
* A changed manifest for a drive is a new CREATE JOB (the service replaces the drive's older
  job: one job per device), or with ``job_id`` an UPDATE JOB with the updated manifest and its
  SIGNATURE attached. ``state: absent`` sends CANCEL JOB for the job (by id or by drive).

The SIGNATURE of a job made by mail is version 1.0, computed on the controller with the secret key.
No Ansible imports.
"""

from __future__ import annotations

import time

from ansible_collections.awsie.importexport.plugins.module_utils import mail as maillib
from ansible_collections.awsie.importexport.plugins.module_utils import manifest as mlib
from ansible_collections.awsie.importexport.plugins.module_utils.api_errors import ApiError
from ansible_collections.awsie.importexport.plugins.module_utils.jobs import (
    STATUS_FIELDS, JobError, device_id_of, is_terminal, manifest_identity)
from ansible_collections.awsie.importexport.plugins.module_utils.signing import (
    InvalidJobId, SigningError, compute_signature, normalize_job_id, render_signature_file)

DAY = 86400.0
DEAD_REPLY_CODES = ('CanceledJobId', 'ExpiredJobId')


class MailReplyError(ApiError):
    """The service answered a command mail with ERROR: ``code`` is the reply's CODE."""

    def __init__(self, command, sent_id, reply):
        fields = reply.fields
        super().__init__(fields.get('description') or '', code=reply.code or 'Unknown', action=command,
                         request_id=reply.message_id)
        self.sent_id = sent_id
        self.recommended_action = fields.get('recommended_action')

    def __str__(self):
        text = '%s %s was answered ERROR, CODE %s' % (self.action, self.sent_id, self.code)
        if self.message:
            text += ': %s' % self.message.rstrip('.')
        if self.recommended_action:
            text += '. Recommended action: %s' % self.recommended_action.rstrip('.')
        return text + '.'

    def as_dict(self):
        return dict(code=self.code, message=self.message, recommended_action=self.recommended_action,
                    action=self.action, message_id=self.sent_id, reply_message_id=self.request_id)


class NoReplyError(ApiError):
    """No reply to a command mail within reply_timeout."""

    def __init__(self, command, sent_id, sent_at, mail_to, timeout, folder, sent_folder, again=False):
        when = time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(sent_at)) if sent_at else 'an unknown time'
        message = ('no reply to %s %s, %s to %s at %s, within reply_timeout (%ss) in folder %s. A re-run waits for this '
                   'reply again and sends no new %s; if the service will never answer it, delete its copy from folder '
                   '%s so that a re-run sends anew' % (command, sent_id, 'sent again' if again else 'sent', mail_to,
                                                       when, _number(timeout), folder, command, sent_folder))
        super().__init__(message, code='NoReply', action=command, outcome_unknown=True)
        self.sent_id = sent_id
        self.sent_at = when

    def __str__(self):
        return self.message

    def as_dict(self):
        return dict(code=self.code, message=self.message, action=self.action, message_id=self.sent_id,
                    sent_at=self.sent_at)


def _number(value):
    return ('%d' % value) if float(value).is_integer() else ('%s' % value)


def _job_id(value):
    try:
        return normalize_job_id(value) if value else None
    except InvalidJobId:
        return None


class MailBook:
    """What the mailbox says about the account's jobs: ``jobs`` (job id -> facts) and ``pending``
    (command mails without a reply), from the Sent copies and the replies answering them."""

    def __init__(self, records, replies):
        self.jobs, self.pending, self.answered = {}, [], {}
        for rec in records:
            reply = replies.get(rec.message_id)
            if reply is None:
                self.pending.append(rec)
                continue
            self.answered[rec.message_id] = reply
            self._learn(rec, reply)

    def _learn(self, rec, reply):
        job_id = _job_id(reply.fields.get('job_id')) or _job_id(rec.job_id)
        job = self.jobs.get(job_id)
        if rec.command == maillib.CREATE and reply.ok and job_id:
            replaced = _job_id(reply.fields.get('replaced_job_id'))
            if replaced in self.jobs:
                self.jobs[replaced]['state'] = 'Canceled'
            self.jobs[job_id] = dict(job_id=job_id, device_id=rec.device_id or reply.fields.get('device_id'),
                                     digest=rec.digest, job_type=rec.job_type or reply.fields.get('job_type'),
                                     created=reply.date or rec.date, state='live', message_id=rec.message_id)
        elif job is None:
            return
        elif rec.command == maillib.UPDATE and reply.ok:
            job.update(digest=rec.digest, job_type=rec.job_type or job['job_type'], message_id=rec.message_id)
        elif rec.command == maillib.CANCEL and (reply.ok or reply.code == 'CanceledJobId'):
            job['state'] = 'Canceled'
        elif reply.code in DEAD_REPLY_CODES:
            job['state'] = reply.code[:-len('JobId')]

    def live(self, device_id=None, job_type=None):
        """Live jobs (of a drive, of a job type), newest first."""
        found = [j for j in self.jobs.values() if j['state'] == 'live' and (device_id is None or j['device_id'] == device_id)
                 and (job_type is None or j['job_type'] == job_type)]
        return sorted(found, key=lambda j: j['created'] or 0, reverse=True)

    def pending_for(self, command, **match):
        """The newest unanswered command mail of this kind with these header values, or None."""
        found = [r for r in self.pending if r.command == command and all(getattr(r, k) == v for k, v in match.items())]
        return found[-1] if found else None


class MailJobs:
    """The job rules over a Mailbox (mail_client.Mailbox or a stand-in with the same methods)."""

    def __init__(self, mailbox, secret_key=None, clock=time.time):
        self.mailbox = mailbox
        self.settings = mailbox.settings
        self.secret_key = secret_key
        self.clock = clock

    # ------------------------------------------------------------ mail
    def book(self):
        # GET STATUS mails say nothing the book needs (and are the most): their replies are not read.
        records = [r for r in self.mailbox.sent_records() if r.command != maillib.STATUS]
        return MailBook(records, self.mailbox.replies_for([r.message_id for r in records]))

    def _send(self, command, fields=None, attachments=(), headers=None):
        s = self.settings
        msg = maillib.command_message(command, s.mail_from, s.mail_to, fields, attachments, headers)
        raw = maillib.as_bytes(msg)
        message_id = str(msg['Message-ID'])
        self.mailbox.save_draft(raw)
        self.mailbox.send(raw)
        self.mailbox.mark_sent(message_id)
        sent_at = self.clock()
        self.mailbox.sent.append(dict(message_id=message_id, subject=command, to=s.mail_to, date=sent_at))
        return message_id, sent_at

    def _resend(self, record):
        """Send a Sent copy left as a draft (its first sending was interrupted) again, unchanged."""
        raw = self.mailbox.sent_message(record)
        self.mailbox.send(raw)
        self.mailbox.mark_sent(record.message_id)
        self.mailbox.sent.append(dict(message_id=record.message_id, subject=record.command, to=self.settings.mail_to,
                                      date=self.clock(), again=True))

    def _reply(self, command, message_id, sent_at, again=False):
        """The reply to ``message_id`` within reply_timeout; MailReplyError for ERROR, NoReplyError for none."""
        s = self.settings
        answered = self.mailbox.wait([message_id], s.reply_timeout)
        reply = answered.get(message_id)
        if reply is None:
            raise NoReplyError(command, message_id, sent_at, s.mail_to, s.reply_timeout, s.imap_folder,
                               s.imap_sent_folder, again)
        if not reply.ok:
            raise MailReplyError(command, message_id, reply)
        return reply

    def _command(self, book, command, match, build):
        """Pick up the reply to an unanswered mail of this kind (sending it again if it may never
        have left), or send a new one built by ``build()``; returns ``(reply, recovered_from)``."""
        pending = book.pending_for(command, **match)
        if pending is not None:
            if pending.draft:
                self._resend(pending)
            return self._reply(command, pending.message_id, pending.date, pending.draft), pending.message_id
        fields, attachments, headers = build()
        message_id, sent_at = self._send(command, fields, attachments, headers)
        return self._reply(command, message_id, sent_at), None

    # ------------------------------------------------------------ results
    def _signature(self, job_id, manifest):
        """The 1.0 SIGNATURE of an S3 job, ``(signature, file contents)``, or Nones (no key, no job, EBS/Glacier)."""
        if not (self.secret_key and job_id and manifest):
            return None, None
        try:
            mlib.check_signable(mlib.parse_manifest(manifest))
            signature = compute_signature(self.secret_key, job_id, manifest.encode('utf-8'))
        except (mlib.ManifestError, SigningError):
            return None, None
        return signature, render_signature_file(job_id, signature, '1.0').decode('utf-8')

    def _result(self, job_id, job_type, device_id, manifest, action, changed, reply=None, **extra):
        signature, contents = self._signature(job_id, manifest)
        fields = reply.fields if reply is not None else {}
        result = dict(job_id=job_id, job_type=job_type, device_id=device_id, action=action, changed=changed,
                      signature=signature, signature_file_contents=contents,
                      warning_message=fields.get('warning_message'), artifacts=[])
        if fields.get('replaced_job_id'):
            result['replaced'] = [_job_id(fields['replaced_job_id']) or fields['replaced_job_id']]
        result.update(extra)
        return result

    # ------------------------------------------------------------ present / absent
    def ensure_present(self, job_type, manifest, job_id=None, check_mode=False, manifest_name=maillib.MANIFEST_NAME):
        canonical = manifest_identity(manifest)
        device_id = device_id_of(manifest)
        if device_id is None:
            raise JobError('the manifest has no deviceId, so a re-run could not find its job in the mailbox: add deviceId '
                           '(the drive serial number or your own sticker id) to the manifest')
        digest = maillib.manifest_digest(canonical, job_type)
        book = self.book()
        attachment = (manifest_name, manifest.encode('utf-8'))
        headers = {maillib.HEADER_DIGEST: digest, maillib.HEADER_DEVICE: device_id, maillib.HEADER_JOB_TYPE: job_type}
        if job_id is None:
            for job in book.live(device_id, job_type):
                if job['digest'] == digest and self._still_live(job, check_mode):
                    return self._result(job['job_id'], job_type, device_id, manifest, 'none', False)
            if check_mode:
                return self._result(None, job_type, device_id, manifest, 'create', True)
            reply, recovered = self._command(book, maillib.CREATE, dict(digest=digest, device_id=device_id),
                                             lambda: ({'job_type': job_type}, [attachment], headers))
            new_id = _job_id(reply.fields.get('job_id'))
            if new_id is None:
                raise JobError('the reply %s to CREATE JOB says SUCCESS but names no valid JOBID (%r); ask the service'
                               % (reply.message_id, reply.fields.get('job_id')), reply=reply.as_dict())
            extra = dict(recovered_from=recovered) if recovered else {}
            return self._result(new_id, job_type, device_id, manifest, 'created', True, reply, **extra)
        job = book.jobs.get(job_id)
        if job is not None and job['state'] != 'live':
            raise JobError('job %s is %s and cannot be updated: leave job_id out to create a new job for drive %s'
                           % (job_id, job['state'], device_id), job_id=job_id, progress_code=job['state'])
        if job is not None and job['digest'] == digest:
            return self._result(job_id, job_type, device_id, manifest, 'none', False)
        if check_mode:
            return self._result(job_id, job_type, device_id, manifest, 'update', True)
        signature = self._signature(job_id, manifest)[1]
        if signature is None:
            raise JobError('UPDATE JOB needs the updated SIGNATURE attached, computed with the secret key: give secret_key '
                           '(or AWS_SECRET_ACCESS_KEY) for job %s' % job_id, job_id=job_id)
        reply, recovered = self._command(
            book, maillib.UPDATE, dict(digest=digest, job_id=job_id),
            lambda: ({'job_id': job_id, 'job_type': job_type},
                     [attachment, (maillib.SIGNATURE_NAME, signature.encode('utf-8'))],
                     dict(headers, **{maillib.HEADER_JOB: job_id})))
        extra = dict(recovered_from=recovered) if recovered else {}
        return self._result(job_id, job_type, device_id, manifest, 'updated', True, reply, **extra)

    def _still_live(self, job, check_mode):
        """A job older than 30 days may have expired: one GET STATUS says (not in check mode: then assume live)."""
        if check_mode or not job['created'] or self.clock() - job['created'] < maillib.EXPIRY_DAYS * DAY:
            return True
        try:
            status = self.status(job['job_id'])
        except MailReplyError as exc:
            if exc.code in DEAD_REPLY_CODES + ('InvalidJobId',):
                return False
            raise
        return status.get('progress_code') not in ('Canceled', 'Expired')

    def ensure_absent(self, job_id=None, manifest=None, job_type=None, check_mode=False):
        book = self.book()
        if job_id is not None:
            job = book.jobs.get(job_id)
            targets = [] if job is not None and job['state'] != 'live' else [job_id]
        else:
            device_id = device_id_of(manifest)
            if device_id is None:
                raise JobError('the manifest has no deviceId: pass job_id to say which job to cancel')
            targets = [j['job_id'] for j in book.live(device_id, job_type)]
        if check_mode or not targets:
            return dict(changed=bool(targets), canceled=targets, action='cancel' if targets else 'none',
                        job_id=job_id or (targets[0] if len(targets) == 1 else None))
        canceled = []
        for target in targets:
            try:
                self._command(book, maillib.CANCEL, dict(job_id=target),
                              lambda t=target: ({'job_id': t}, [], {maillib.HEADER_JOB: t}))
            except MailReplyError as exc:
                if exc.code in DEAD_REPLY_CODES:
                    continue  # already canceled or expired: nothing to do
                raise
            canceled.append(target)
        return dict(changed=bool(canceled), canceled=canceled, action='canceled' if canceled else 'none',
                    job_id=job_id or (targets[0] if len(targets) == 1 else None))

    # ------------------------------------------------------------ status
    def status(self, job_id):
        """GET STATUS for one job: the status dict (as the Query API client's get_status), or MailReplyError."""
        return self.statuses([job_id])[job_id]._raise_or_value()

    def statuses(self, job_ids):
        """GET STATUS for every job (all mails sent first, then the replies waited for together):
        ``{job_id: _Outcome}``."""
        sent = {}
        for job_id in job_ids:
            sent[job_id] = self._send(maillib.STATUS, {'job_id': job_id}, (), {maillib.HEADER_JOB: job_id})
        answered = self.mailbox.wait([m for m, _at in sent.values()], self.settings.reply_timeout)
        s = self.settings
        out = {}
        for job_id, (message_id, sent_at) in sent.items():
            reply = answered.get(message_id)
            if reply is None:
                out[job_id] = _Outcome(error=NoReplyError(maillib.STATUS, message_id, sent_at, s.mail_to, s.reply_timeout,
                                                          s.imap_folder, s.imap_sent_folder))
            elif not reply.ok:
                out[job_id] = _Outcome(error=MailReplyError(maillib.STATUS, message_id, reply))
            else:
                out[job_id] = _Outcome(value=status_of(job_id, reply))
        return out

    def wait_for_statuses(self, job_ids, wait_for=None, timeout=0, interval=30, sleep=time.sleep,
                          monotonic=time.monotonic):
        """As jobs.wait_for_statuses, by mail: ``(results, waited_out, rounds)``; results maps job id
        to a status dict or an ApiError (MailReplyError, NoReplyError)."""
        targets = set(wait_for or ())

        def there(status):
            code = status.get('progress_code')
            return ('terminal' in targets and is_terminal(code)) or code in targets

        deadline = monotonic() + float(timeout)
        pending, results, rounds = list(job_ids), {}, 0
        while True:
            rounds += 1
            results.update((j, o.error or o.value) for j, o in self.statuses(pending).items())
            if not targets:
                return results, [], rounds
            pending = [j for j in pending if not isinstance(results[j], ApiError) and not there(results[j])]
            if not pending:
                return results, [], rounds
            if monotonic() + interval > deadline:
                return results, pending, rounds
            sleep(interval)


class _Outcome:
    def __init__(self, value=None, error=None):
        self.value, self.error = value, error

    def _raise_or_value(self):
        if self.error is not None:
            raise self.error
        return self.value


def status_of(job_id, reply):
    """A GET STATUS reply as the status dict of the Query API client (and the reply's DEVICE ID)."""
    fields = reply.fields
    status = dict((name, fields.get(name) or None) for name in STATUS_FIELDS)
    status['job_id'] = _job_id(fields.get('job_id')) or job_id
    try:
        status['error_count'] = int(fields.get('error_count') or 0)
    except ValueError:
        status['error_count'] = None
    status['device_id'] = fields.get('device_id') or None
    status['current_manifest'] = None
    return status
