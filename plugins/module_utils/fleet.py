# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fleet view of Import/Export jobs: what the role job_status reports, keeps and alerts on.

Pure functions on the results of ie_job_status / ie_job_info (and ie_reconcile): which jobs to
poll when nobody listed them, the name (host, drive) of each job, where it stands (stage,
progress, days left before the 30-day expiry), what moved since the previous poll and since
when each job has been where it is, which jobs need action, the alerts, and the summary that
goes to ``set_stats``. The only I/O is reading job sheets (JSON) the caller names.

No Ansible imports.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import os

from ansible_collections.awsie.importexport.plugins.module_utils.jobs import DEAD_CODES, is_terminal, parse_time

EXPIRY_DAYS = 30
STATE_VERSION = 1
EXPIRING_SOON = 'ExpiringSoon'
FILES_MISSING = 'FilesMissing'
RECONCILE_ERROR = 'ReconcileError'
DEFAULT_ALERTS = ('InvalidSignature', 'MissingSignature', 'DeviceError', 'Expired', EXPIRING_SOON)
DONE_CODES = ('Complete', 'SuccessWithErrors')
# GetStatus errors that say where a job stands (the real service may answer so instead of a code).
ERROR_CODES_AS_PROGRESS = {'ExpiredJobIdException': 'Expired', 'CanceledJobIdException': 'Canceled'}
# Stages of a job's life, in order, for the progress bar.
STAGES = ('created', 'received', 'loading', 'loaded', 'returned')
STATE_JOB_KEYS = ('job_id', 'location_code', 'progress_code', 'changed_at', 'changed_at_exact', 'host', 'drive',
                  'device_id', 'reconcile')
ROW_STATUS_KEYS = ('job_id', 'job_type', 'location_code', 'location_message', 'progress_code', 'progress_message',
                   'carrier', 'tracking_number', 'creation_date', 'error_count', 'log_bucket', 'log_key')
RECONCILE_COUNTS = ('verified', 'missing', 'different', 'failed', 'ignored', 'total')


class FleetError(Exception):
    """Input the fleet view cannot use; the message says which and how to fix it."""


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def iso(moment):
    return moment.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def _time_or_none(text):
    if not text:
        return None
    try:
        return parse_time(text)
    except (ValueError, TypeError):
        return None


def _jobs_of(poll):
    """The per-job list of an ie_job_status / ie_job_info result, or the list itself."""
    if isinstance(poll, dict):
        poll = poll.get('jobs')
    if poll is None:
        return []
    if not isinstance(poll, list):
        raise FleetError('expected the registered result of ie_job_status (or its jobs list), got %s'
                         % type(poll).__name__)
    return [job for job in poll if isinstance(job, dict) and job.get('job_id')]


def _error_name(code):
    return code[:-len('Exception')] if code and code.endswith('Exception') else (code or 'Error')


# ---------------------------------------------------------------- the poll

def split_poll(poll):
    """``(statuses, problems)`` of an ie_job_status result run with ``fail_on_job_error: false``.

    A job whose GetStatus says it expired or was canceled is a status (progress code ``Expired`` /
    ``Canceled``); any other error (a job id the service does not know, credentials refused) is
    a problem: ``{job_id, code, message}``.
    """
    statuses, problems = [], []
    for job in _jobs_of(poll):
        error = job.get('error')
        if not error:
            statuses.append(dict(job))
            continue
        code = error.get('code') or 'Error'
        if code in ERROR_CODES_AS_PROGRESS:
            progress = ERROR_CODES_AS_PROGRESS[code]
            statuses.append(dict(job_id=job['job_id'], progress_code=progress, progress_message=error.get('message'),
                                 location_code=None, terminal=True))
        else:
            problems.append(dict(job_id=job['job_id'], code=code, message=error.get('message') or ''))
    return statuses, problems


def problem_message(problems, names=None):
    """One message for the jobs GetStatus failed for, grouped by error code, with what to do."""
    if not problems:
        return ''
    names = names or {}
    by_code = {}
    for problem in problems:
        by_code.setdefault(problem['code'], []).append(problem)
    parts = []
    for code, items in sorted(by_code.items()):
        ids = ', '.join('%s%s' % (p['job_id'], _where(names.get(p['job_id']))) for p in items)
        if code in ('InvalidJobIdException', 'InvalidParameterException'):
            hint = ('the service does not know these job ids in this account: correct or remove them in '
                    'job_status_jobs, the job sheets or the drive_prepare_jobs facts that named them')
        elif code in ('InvalidAccessKeyId', 'InvalidAccessKeyIdException', 'InvalidClientTokenId',
                      'SignatureDoesNotMatch', 'AccessDenied', 'RequestExpired'):
            hint = ('the service refused the credentials: check job_status_access_key/job_status_secret_key '
                    '(or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and the controller\'s clock')
        else:
            hint = 'see the error and retry'
        first = items[0]['message']
        quoted = (': "%s"' % first) if first else ''
        parts.append('%s for %d job(s): %s (%s%s)' % (code, len(items), ids, hint, quoted))
    return ('GetStatus failed: %s. Nothing was written: the reports and the saved poll are as they were.'
            % '; '.join(parts))


def _where(name):
    if not name or not (name.get('host') or name.get('drive')):
        return ''
    return ' (%s/%s)' % (name.get('host') or '-', name.get('drive') or '-')


# ---------------------------------------------------------------- which jobs

def discover(info, previous=None):
    """Job ids to poll when nobody listed them, from ie_job_info run with ``include_status: true``.

    Every listed job that is alive (progress not Canceled/Expired), and every job that was alive in
    the previous poll (so a job that expired or was canceled since is reported once, and a long job
    created before the listing window is still followed). Listing order, then the previous poll's.
    """
    ids = []
    for job in _jobs_of(info):
        status = job.get('status') or {}
        code = 'Canceled' if job.get('is_canceled') else status.get('progress_code')
        if 'error' not in status and code not in DEAD_CODES and job['job_id'] not in ids:
            ids.append(job['job_id'])
    for job in state_jobs(previous):
        job_id = str(job['job_id']).upper()
        if job.get('progress_code') not in DEAD_CODES and job_id not in ids:
            ids.append(job_id)
    return ids


def read_job_sheets(paths):
    """Rows of the job sheets (JSON: a list of rows, or ``{"jobs": [...]}``) and warnings for files not read."""
    rows, warnings = [], []
    for path in paths or ():
        path = os.path.expanduser(str(path))
        try:
            with open(path, encoding='utf-8') as handle:
                data = json.load(handle)
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else 'not JSON'
            warnings.append('job sheet %s was not read (%s)' % (path, reason))
            continue
        if isinstance(data, dict):
            data = data.get('jobs')
        if not isinstance(data, list):
            warnings.append('job sheet %s was not read (not a list of jobs)' % path)
            continue
        rows.extend(row for row in data if isinstance(row, dict))
    return rows, warnings


def names(statuses, known=(), sheet_rows=()):
    """``{job_id: {host, drive, device_id}}``: from the listed jobs, else the job sheets (by job id, then by
    deviceId), else the deviceId in the job's manifest alone."""
    by_job, by_device = {}, {}
    for row in list(sheet_rows or ()):
        entry = _name_entry(row)
        if row.get('job_id'):
            by_job.setdefault(str(row['job_id']).upper(), entry)
        if entry['device_id']:
            by_device.setdefault(entry['device_id'], entry)
    for row in list(known or ()):
        if row.get('job_id'):
            by_job[str(row['job_id']).upper()] = _merge(_name_entry(row), by_job.get(str(row['job_id']).upper()))
    out = {}
    for job in statuses:
        job_id = job['job_id']
        entry = by_job.get(job_id)
        device_id = job.get('device_id')
        if entry is None and device_id and device_id in by_device:
            entry = by_device[device_id]
        entry = _merge(entry or {}, dict(host=None, drive=None, device_id=device_id))
        if device_id:
            entry['device_id'] = device_id  # what the service has now wins
        out[job_id] = entry
    return out


def _name_entry(row):
    device_id = row.get('device_id', row.get('deviceId'))
    entry = dict(host=row.get('host'), drive=row.get('drive', row.get('name')),
                 device_id=None if device_id is None else str(device_id))
    for key in ('ledger', 'manifest'):  # where the drive's load ledger is, for reconcile
        if row.get(key):
            entry[key] = str(row[key])
    return entry


def _merge(first, second):
    out = dict(second or {})
    out.update({k: v for k, v in (first or {}).items() if v not in (None, '')})
    return out


# ---------------------------------------------------------------- where a job stands

def stage(job):
    """``(stage, percent, failed)``: how far along a job is, for the progress bar."""
    code, location = job.get('progress_code'), job.get('location_code')
    if code in DEAD_CODES:
        return 'created', 0, True
    if location == 'Returned':
        index = len(STAGES) - 1
    elif code in DONE_CODES:
        index = 3
    elif code == 'InProgress':
        index = 2
    elif location == 'AtAWS':
        index = 1
    else:
        index = 0
    failed = is_terminal(code) and code not in DONE_CODES
    return STAGES[index], (index + 1) * 100 // len(STAGES), failed


def expiry(job, now, expiry_days=EXPIRY_DAYS):
    """``(expires_at, days_left)`` while the job waits for its device (NotReceived, not terminal), else ``(None, None)``.

    Days left are exact (a float, never below 0); reports show them rounded down to whole days.
    """
    if job.get('location_code') != 'NotReceived' or is_terminal(job.get('progress_code')):
        return None, None
    created = _time_or_none(job.get('creation_date'))
    if created is None:
        return None, None
    expires = created + datetime.timedelta(days=expiry_days)
    left = (expires - now).total_seconds() / 86400.0
    return iso(expires), max(0.0, left)


# ---------------------------------------------------------------- the state kept between runs

def load_state(value):
    """A saved poll in any form it was kept: this module's state, its JSON text, an ie_job_status result or its
    jobs list. Returns the state dict, or None when there is none; FleetError when it cannot be read."""
    if value is None or value == '' or value == {}:
        return None
    if isinstance(value, (bytes, str)):
        try:
            value = json.loads(value)
        except ValueError:
            raise FleetError('the saved poll is not JSON; remove it (job_status_state_path) to start over')
    if isinstance(value, list):
        return dict(version=0, polled_at=None, jobs=[j for j in value if isinstance(j, dict) and j.get('job_id')])
    if isinstance(value, dict) and isinstance(value.get('jobs'), list):
        state = dict(value)
        state['jobs'] = [j for j in value['jobs'] if isinstance(j, dict) and j.get('job_id')]
        state.setdefault('polled_at', None)
        return state
    raise FleetError('the saved poll is neither a job_status state nor an ie_job_status result; remove it '
                     '(job_status_state_path) to start over')


def newest_state(*candidates):
    """The most recent of several saved polls (fact cache, state file): the latest ``polled_at`` wins; a state
    without one is older than any with one. Candidates that cannot be read are skipped."""
    best, best_time = None, None
    for candidate in candidates:
        try:
            state = load_state(candidate)
        except FleetError:
            continue
        if state is None:
            continue
        moment = _time_or_none(state.get('polled_at'))
        if best is None or (moment is not None and (best_time is None or moment > best_time)):
            best, best_time = state, moment
    return best


def state_jobs(previous):
    """The jobs of a saved poll (any form ``load_state`` reads); none when it cannot be read."""
    try:
        return (load_state(previous) or {}).get('jobs') or []
    except FleetError:
        return []


# ---------------------------------------------------------------- reconcile

def ledger_path(entry, ledger_dirs=()):
    """The drive's load ledger on the controller, if one exists: the entry's ``ledger``, else beside its manifest
    (``<manifest minus .yml>.ledger.jsonl``), else ``<host>-<drive>.ledger.jsonl`` in one of ``ledger_dirs``."""
    candidates = []
    if entry.get('ledger'):
        candidates.append(entry['ledger'])
    if entry.get('manifest'):
        candidates.append(os.path.splitext(entry['manifest'])[0] + '.ledger.jsonl')
    if entry.get('host') and entry.get('drive'):
        candidates += [os.path.join(d, '%s-%s.ledger.jsonl' % (entry['host'], entry['drive'])) for d in ledger_dirs or ()]
    for candidate in candidates:
        path = os.path.expanduser(str(candidate))
        if os.path.isfile(path):
            return path
    return None


def reconcile_summary(result):
    """The counts job_status keeps of an ie_reconcile result (or an error, when it failed)."""
    if not isinstance(result, dict):
        return None
    if result.get('failed') or result.get('error'):
        return dict(error=str(result.get('error') or result.get('msg') or 'ie_reconcile failed'))
    counts = result.get('counts') if isinstance(result.get('counts'), dict) else result
    out = {key: int(counts.get(key) or 0) for key in RECONCILE_COUNTS}
    out['not_verified'] = out['missing'] + out['different'] + out['failed']
    for key in ('reship_count', 'reship_dest', 'log'):
        if result.get(key) is not None:
            out[key] = result[key]
    return out


# ---------------------------------------------------------------- the report

def fleet_report(poll, known=(), sheet_rows=(), previous=None, now=None, alert_codes=DEFAULT_ALERTS,
                 expiry_warning_days=5, expiry_days=EXPIRY_DAYS, reconciled=None, ledger_dirs=()):
    """Everything the reports, the saved state, set_stats and the alert need, from one poll.

    Returns ``dict(rows, moved, alerts, needing_action, summary, state, changed, view, problems,
    problem_message, alert_message, first_run, previous_polled_at)``. When the fleet looks as in the
    saved poll (same rows, days left, alerts), ``changed`` is false and ``state`` is the saved poll
    itself: the reports, rendered from ``view`` (the poll that last saw a change, and what moved
    then), come out byte for byte as they are, so a re-run with nothing new reports ``changed=0``.
    """
    now = now or utc_now()
    if isinstance(now, str):
        now = parse_time(now)
    alert_codes = list(alert_codes if alert_codes is not None else DEFAULT_ALERTS)
    statuses, problems = split_poll(poll)
    previous = load_state(previous)
    before = {str(job['job_id']).upper(): job for job in (previous or {}).get('jobs', [])}
    naming = names(statuses + [dict(job_id=p['job_id']) for p in problems], known, sheet_rows)
    reconciled = reconciled or {}
    rows, moved, targets = [], [], []
    for job in statuses:
        job_id = job['job_id']
        row = dict(naming.get(job_id) or {})
        row.update({k: job.get(k) for k in ROW_STATUS_KEYS})
        row['stage'], row['progress_percent'], row['failed'] = stage(job)
        row['bar'] = 'failed' if row['failed'] else ('done' if row['stage'] in ('loaded', 'returned') else 'running')
        row['expires_at'], left = expiry(job, now, expiry_days)
        # whole days in the rows (a report then changes once a day, not at each poll); the warning on the exact time
        row['days_left'] = None if left is None else int(math.floor(left))
        row['expiring_soon'] = left is not None and left <= expiry_warning_days
        old = before.get(job_id)
        same = old is not None and all(old.get(k) == job.get(k) for k in ('location_code', 'progress_code'))
        if same:
            row['changed_at'] = old.get('changed_at')
            row['changed_at_exact'] = bool(old.get('changed_at_exact')) and bool(old.get('changed_at'))
        elif old is not None:  # moved since the previous poll: seen within one polling interval
            row['changed_at'], row['changed_at_exact'] = iso(now), True
        elif job.get('progress_code') == 'Pending' and job.get('location_code') == 'NotReceived':
            row['changed_at'], row['changed_at_exact'] = job.get('creation_date'), True  # nothing since creation
        else:  # first seen already on its way: the change was before now
            row['changed_at'], row['changed_at_exact'] = iso(now), False
        if previous is not None and not same:
            moved.append(dict(job_id=job_id, host=row.get('host'), drive=row.get('drive'), new=old is None,
                              before={k: (old or {}).get(k) for k in ('location_code', 'progress_code')},
                              after={k: job.get(k) for k in ('location_code', 'progress_code')}))
        if reconcile_summary(reconciled.get(job_id)):
            row['reconcile'] = reconcile_summary(reconciled[job_id])
        elif same and old.get('reconcile') and 'error' not in old['reconcile']:
            row['reconcile'] = old['reconcile']  # a loaded job's log does not change: reconciled once
        if job.get('progress_code') in DONE_CODES and not row.get('reconcile'):
            ledger = ledger_path(row, ledger_dirs)
            if ledger and job.get('log_key'):
                targets.append(dict(job_id=job_id, host=row.get('host'), drive=row.get('drive'), ledger=ledger,
                                    log_bucket=job.get('log_bucket'), log_key=job.get('log_key')))
        for key in ('ledger', 'manifest'):
            row.pop(key, None)
        rows.append(row)
    rows.sort(key=lambda r: (r.get('host') is None, r.get('host') or '', r.get('drive') or '', r['job_id']))
    alerts, needing = _attention(rows, alert_codes)
    digest = hashlib.sha256(json.dumps([rows, needing, alerts], sort_keys=True, default=str).encode()).hexdigest()
    changed = previous is None or previous.get('digest') != digest
    if changed:
        state = dict(version=STATE_VERSION, polled_at=iso(now), previous_polled_at=(previous or {}).get('polled_at'),
                     first=previous is None, digest=digest, moved=moved,
                     jobs=[{k: row.get(k) for k in STATE_JOB_KEYS if k in row or k != 'reconcile'} for row in rows])
    else:
        state = previous  # nothing to tell: the reports and the saved poll stay as they are
    summary = _summary(rows, moved, alerts, needing, now, previous, state)
    view = dict(polled_at=state['polled_at'], previous_polled_at=state.get('previous_polled_at'),
                first_run=bool(state.get('first')), moved=state.get('moved') or [])
    return dict(rows=rows, moved=moved, alerts=alerts, needing_action=needing, summary=summary, state=state,
                changed=changed, view=view, reconcile_targets=targets,
                problems=problems, problem_message=problem_message(problems, naming),
                alert_message=alert_message(alerts), first_run=previous is None,
                previous_polled_at=(previous or {}).get('polled_at'))


def _attention(rows, alert_codes):
    """Jobs needing action (failed codes but Canceled, SuccessWithErrors, expiring soon, files missing after
    reconcile, any code the user made an alert) and, among them, the alerts (codes in ``alert_codes``)."""
    alerts, needing = [], []
    for row in rows:
        reasons = []
        code = row.get('progress_code')
        if code in alert_codes or (row['failed'] and code != 'Canceled') or code == 'SuccessWithErrors':
            reasons.append((code, row.get('progress_message') or code))
        if row.get('expiring_soon'):
            reasons.append((EXPIRING_SOON, 'still NotReceived, %s day(s) left before it expires at %s'
                            % (row['days_left'], row['expires_at'])))
        checked = row.get('reconcile') or {}
        if checked.get('not_verified'):
            reasons.append((FILES_MISSING, '%d file(s) of the ledger not verified (missing %d, different %d, failed %d)'
                            % (checked['not_verified'], checked['missing'], checked['different'], checked['failed'])))
        if checked.get('error'):
            reasons.append((RECONCILE_ERROR, 'reconcile failed: %s' % checked['error']))
        for reason_code, text in reasons:
            item = dict(job_id=row['job_id'], host=row.get('host'), drive=row.get('drive'), code=reason_code,
                        reason=text)
            needing.append(item)
            if reason_code in alert_codes:
                alerts.append(item)
    return alerts, needing


def alert_message(alerts):
    """ONE message listing every alert, for the failed task an AWX notification reports."""
    if not alerts:
        return ''
    items = ['%s%s: %s (%s)' % (a['job_id'], _where(a), a['code'], a['reason']) for a in alerts]
    return '%d job(s) in an alert state: %s' % (len(alerts), '; '.join(items))


def _summary(rows, moved, alerts, needing, now, previous, state):
    counts, locations = {}, {}
    for row in rows:
        counts[row.get('progress_code')] = counts.get(row.get('progress_code'), 0) + 1
        if row.get('location_code'):
            locations[row['location_code']] = locations.get(row['location_code'], 0) + 1
    out = dict(polled_at=iso(now), previous_polled_at=(previous or {}).get('polled_at'), jobs=len(rows),
               counts=counts, locations=locations, moved=len(moved), alerts=len(alerts),
               alert_codes=sorted({a['code'] for a in alerts}), last_change_at=state['polled_at'],
               needing_action=[dict(job_id=n['job_id'], host=n.get('host'), drive=n.get('drive'), code=n['code'])
                               for n in needing])
    checked = [row['reconcile'] for row in rows if row.get('reconcile') and 'error' not in row['reconcile']]
    if checked:
        out['reconciled'] = dict(jobs=len(checked), **{key: sum(r.get(key) or 0 for r in checked)
                                                       for key in ('verified', 'missing', 'different', 'failed',
                                                                   'not_verified')})
    return out
