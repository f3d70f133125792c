# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Job rules on top of the Query API client: idempotent create/update/cancel, fleet polling.

* Idempotency: a drive (``deviceId``) has at most one live job per account. Before a
  CreateJob, the account's live jobs are listed and their current manifests compared in
  canonical form; the same manifest means "already there", a different one means UpdateJob.
  The same look-up answers the question "did my CreateJob go through?" when the answer to
  a CreateJob was lost.
* Polling: GetStatus for many jobs concurrently (bounded), waiting for progress codes, and
  what moved since a previous result.

No Ansible imports.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import json
import re
import time

from ansible_collections.awsie.importexport.plugins.module_utils.api import ApiError, is_code
from ansible_collections.awsie.importexport.plugins.module_utils.fileio import (
    FileReadError, FileWriteError, atomic_write, read_regular_file)
from ansible_collections.awsie.importexport.plugins.module_utils.signing import normalize_job_id, signed_manifest_bytes


def _manifest_lib():
    # Imported on first use: the polling modules never need it, and it costs ~0.1 s to import.
    from ansible_collections.awsie.importexport.plugins.module_utils import manifest  # pylint: disable=import-outside-toplevel
    return manifest


RUNNING_CODES = ('Pending', 'InProgress')
DEAD_CODES = ('Canceled', 'Expired')
LOOKUP_CACHE_MAX_BYTES = 64 * 1024 * 1024
STATUS_FIELDS = ('job_id', 'job_type', 'location_code', 'location_message', 'progress_code', 'progress_message',
                 'carrier', 'tracking_number', 'log_bucket', 'log_key', 'error_count', 'creation_date')


class JobError(Exception):
    """A job request that cannot be carried out; the message says why and what to do."""

    def __init__(self, message, **facts):
        super().__init__(message)
        self.facts = facts


# The ProgressCodes the service documents (Success and Started are named in its docs too), and 'terminal'
PROGRESS_CODES = ('Canceled', 'Complete', 'DeviceError', 'Expired', 'InProgress', 'InvalidSignature', 'MissingDevice',
                  'MissingSignature', 'Pending', 'Started', 'Success', 'SuccessWithErrors', 'UnsupportedDeviceType',
                  'UnsupportedFileFormat', 'UnsupportedPowerSupply')


def check_wait_for(codes):
    """JobError naming ``wait_for`` for a code that is not a progress code (before any request: a typo
    would otherwise be polled for until wait_timeout)."""
    known = dict((code.lower(), code) for code in PROGRESS_CODES + ('terminal',))
    for code in codes or ():
        if code not in known.values():
            hint = ('did you mean %s? ' % known[str(code).lower()]) if str(code).lower() in known else ''
            raise JobError('wait_for: %r is not a progress code; %sgive terminal or some of %s (codes are case-sensitive); '
                           'no request was sent' % (str(code)[:60], hint, ', '.join(PROGRESS_CODES)))


def is_terminal(progress_code):
    """Terminal: every progress code except Pending and InProgress (unknown codes included)."""
    return progress_code is not None and progress_code not in RUNNING_CODES


def manifest_identity(text):
    """What makes two job manifests the same job: their canonical YAML (never what is signed)."""
    if text is None:
        return None
    lib = _manifest_lib()
    try:
        return lib.canonical_yaml(text)
    except (lib.ManifestError, ValueError, TypeError):
        return signed_manifest_bytes(text).decode('utf-8', 'replace')


def device_id_of(text):
    """The manifest's ``deviceId`` as text, or None when it has none or does not parse."""
    lib = _manifest_lib()
    try:
        value = lib.parse_manifest(text).get('deviceId')
    except lib.ManifestError:
        return None
    return None if value is None else str(value)


_DEVICE_ID_LINE = re.compile(r'^deviceId:[ \t]*(?P<value>[^\s#\'"\[{&*!|>%@`][^#\n]*?|"[^"\\\n]*"|\'[^\'\n]*\')[ \t]*$', re.M)


def quick_device_id(text):
    """The manifest's ``deviceId``: read from its top-level line when plain (as rendered), else parsed."""
    if not text:
        return None
    found = _DEVICE_ID_LINE.findall(text)
    if len(found) == 1:
        value = found[0]
        return value[1:-1] if value[:1] in ('"', "'") else value
    return device_id_of(text)


def summarize_status(job_id, status):
    """A GetStatus result as the per-job dict the modules return (no manifest: it may hold secrets; its deviceId only)."""
    out = {name: status.get(name) for name in STATUS_FIELDS}
    out['job_id'] = out['job_id'] or job_id
    out['terminal'] = is_terminal(out['progress_code'])
    out['device_id'] = status.get('device_id') or quick_device_id(status.get('current_manifest'))  # by mail: the reply's
    return out


def normalize_job_ids(raw_ids):
    """Job ids upper-cased, each once, in the order given; InvalidJobId names the rule."""
    return list(dict.fromkeys(normalize_job_id(j) for j in raw_ids))


def job_result(raw):
    """The signature and artifact part of a CreateJob/GetStatus result."""
    return dict(job_id=raw.get('job_id'), job_type=raw.get('job_type'), signature=raw.get('signature'),
                signature_file_contents=raw.get('signature_file_contents'),
                warning_message=raw.get('warning_message'), artifacts=raw.get('artifact_list') or [])


# ---------------------------------------------------------------- concurrency

def fetch_statuses(client, job_ids, concurrency=8):
    """GetStatus for every job id, at most ``concurrency`` at a time: ``{job_id: dict or ApiError}``."""
    def one(job_id):
        try:
            return job_id, client.get_status(job_id)
        except ApiError as exc:
            return job_id, exc
    if not job_ids:
        return {}
    workers = max(1, min(int(concurrency), len(job_ids)))
    if workers == 1:
        return dict(one(j) for j in job_ids)
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(pool.map(one, job_ids))


def wait_for_statuses(client, job_ids, wait_for=None, timeout=0, interval=30, concurrency=8,
                      clock=time.monotonic, sleep=time.sleep):
    """Poll until every job reached a code in ``wait_for`` (or a terminal one for ``['terminal']``).

    Only jobs not yet there are asked again. Returns ``(results, waited_out, rounds)``: results
    maps job id to status dict or ApiError; ``waited_out`` lists jobs that never got there.
    """
    targets = set(wait_for or ())

    def there(status):
        code = status.get('progress_code')
        return ('terminal' in targets and is_terminal(code)) or code in targets

    deadline = clock() + float(timeout)
    pending, results, rounds = list(job_ids), {}, 0
    while True:
        rounds += 1
        results.update(fetch_statuses(client, pending, concurrency))
        if not targets:
            return results, [], rounds
        pending = [j for j in pending if not isinstance(results[j], ApiError) and not there(results[j])]
        if not pending:
            return results, [], rounds
        if clock() + interval > deadline:
            return results, pending, rounds
        sleep(interval)


def previous_jobs(previous):
    """The jobs of ``since``: a registered ie_job_status result, its ``jobs`` list, or a dict of its
    jobs by id. JobError for anything else (a list of jobs is needed to tell what moved)."""
    if isinstance(previous, dict) and 'jobs' in previous:
        previous = previous['jobs']
    elif isinstance(previous, dict):
        previous = list(previous.values())
    if not isinstance(previous, list) or not all(isinstance(j, dict) and j.get('job_id') for j in previous):
        raise JobError('since must be the registered result of an earlier ie_job_status task or its jobs list '
                       '(entries with job_id), got %s; pass the registered variable itself, or leave since out'
                       % _describe(previous))
    return previous


def _describe(value):
    if isinstance(value, list):
        kinds = sorted(set(type(v).__name__ for v in value))
        return 'a list of %s' % (', '.join(kinds) or 'nothing') if value else 'an empty list'
    return 'a %s' % type(value).__name__


def moved_since(previous, current):
    """Jobs whose location or progress code differs from ``previous`` (see ``previous_jobs``)."""
    before = {str(job['job_id']).upper(): job for job in previous_jobs(previous)}
    moved = []
    for job in current:
        old = before.get(job['job_id'])
        keys = ('location_code', 'progress_code')
        if old is None or any(old.get(k) != job.get(k) for k in keys):
            moved.append(dict(job_id=job['job_id'], new=old is None,
                              before={k: (old or {}).get(k) for k in keys}, after={k: job.get(k) for k in keys}))
    return moved


# ---------------------------------------------------------------- the account's jobs

class JobIndex:
    """The account's live jobs and the drive each is for (ListJobs + GetStatus).

    ``cache`` (optional, a dict kept by the caller between runs) maps job id to
    ``{'device_id', 'job_type'}``: a listed job found there is not asked for its manifest again.
    Only the jobs of the drive in question are then fetched, and the cache is corrected from
    what they say (a manifest changed elsewhere). Canceled and expired jobs leave the cache.
    """

    def __init__(self, client, concurrency=8, cache=None):
        self.client = client
        self.concurrency = concurrency
        self.cache = cache if cache is not None else {}
        self.devices = {}  # job_id -> device id, for listed live jobs
        self.status = {}   # job_id -> fresh GetStatus result
        self.dead = set()  # canceled, expired, gone

    def _learn(self, statuses):
        for job_id, status in statuses.items():
            if isinstance(status, ApiError):
                if is_code(status, 'CanceledJobId', 'ExpiredJobId', 'InvalidJobId'):
                    self._forget(job_id)
                    continue
                raise status
            if status.get('progress_code') in DEAD_CODES:
                self._forget(job_id)
                continue
            self.status[job_id] = status
            self.devices[job_id] = device_id_of(status.get('current_manifest'))
            self.cache[job_id] = {'device_id': self.devices[job_id], 'job_type': status.get('job_type')}

    def _forget(self, job_id):
        self.dead.add(job_id)
        self.devices.pop(job_id, None)
        self.status.pop(job_id, None)
        self.cache.pop(job_id, None)

    def refresh(self):
        listed = list(self.client.iter_jobs())
        unknown = []
        for job in listed:
            job_id = job['job_id']
            if job.get('is_canceled'):
                self._forget(job_id)
            elif job_id in self.devices or job_id in self.dead:
                continue
            elif job_id in self.cache:
                self.devices[job_id] = self.cache[job_id].get('device_id')
            else:
                unknown.append(job_id)
        listed_ids = set(j['job_id'] for j in listed)
        for job_id in [j for j in self.cache if j not in listed_ids]:
            del self.cache[job_id]  # gone from the account's list
        self._learn(fetch_statuses(self.client, unknown, self.concurrency))
        return self

    def for_device(self, device_id):
        """Live jobs of this drive, newest first, each with a fresh GetStatus result."""
        stale = [j for j, d in self.devices.items() if d == device_id and j not in self.status]
        self._learn(fetch_statuses(self.client, stale, self.concurrency))
        found = [(j, self.status[j]) for j, d in self.devices.items() if d == device_id and j in self.status]
        return sorted(found, key=lambda item: item[1].get('creation_date') or '', reverse=True)

    def same(self, device_id, canonical, job_type):
        for job_id, status in self.for_device(device_id):
            if manifest_identity(status.get('current_manifest')) == canonical and status.get('job_type') == job_type:
                return job_id, status
        return None


class LookupCache:
    """ie_job's lookup cache: a JSON file on the controller that remembers, for one account and
    endpoint, the drive of each job (``jobs``: the ``cache`` of JobIndex). A missing, unreadable
    or foreign file is an empty cache; a directory or FIFO at the path is a JobError."""

    def __init__(self, path, endpoint_url, access_key):
        self.path = path
        self.owner = dict(endpoint_url=endpoint_url, access_key=access_key)
        self.jobs = {}
        self._before = None

    def load(self):
        try:
            data = read_regular_file(self.path, LOOKUP_CACHE_MAX_BYTES)
        except FileReadError as exc:
            raise JobError('lookup_cache: %s' % exc, lookup_cache=self.path)
        try:
            loaded = json.loads(data) if data else {}
        except ValueError:
            loaded = {}
        jobs = loaded.get('jobs') if isinstance(loaded, dict) and loaded.get('owner') == self.owner else None
        self.jobs = dict(jobs) if isinstance(jobs, dict) else {}
        self._before = json.dumps(self.jobs, sort_keys=True)
        return self.jobs

    def save(self):
        """Write the cache when it changed (atomically; a link at the path is replaced, not
        followed). A message when it could not be written, else None."""
        if json.dumps(self.jobs, sort_keys=True) == self._before:
            return None
        try:
            atomic_write(self.path, json.dumps(dict(owner=self.owner, jobs=self.jobs), sort_keys=True).encode())
        except FileWriteError as exc:
            return 'the lookup cache was not saved (the next run only asks more): %s' % exc
        return None


# ---------------------------------------------------------------- present / absent

def apply_job(client, state, job_type, manifest=None, job_id=None, check_mode=False, concurrency=8, cache=None):
    """What ie_job does: the drive's job exists with this manifest (``present``) or is canceled
    (``absent``), by ``job_id`` (normalised) or by the manifest's drive. A result dict with
    ``changed`` and ``action``."""
    if state == 'present':
        return ensure_present(client, job_type, manifest, job_id=job_id, check_mode=check_mode,
                              concurrency=concurrency, cache=cache)
    result = ensure_absent(client, job_id=job_id, manifest=manifest, job_type=job_type if job_id is None else None,
                           check_mode=check_mode, concurrency=concurrency, cache=cache)
    result['job_id'] = job_id or (result['canceled'][0] if len(result['canceled']) == 1 else None)
    result.pop('job_ids', None)
    return result


def ensure_present(client, job_type, manifest, job_id=None, check_mode=False, concurrency=8, cache=None):
    """Make the drive's job exist with this manifest. Returns a result dict with ``changed`` and ``action``."""
    canonical = manifest_identity(manifest)
    device_id = device_id_of(manifest)
    if job_id is None:
        if device_id is None:
            raise JobError('the manifest has no deviceId, so a re-run could not find its job: add deviceId '
                           '(the drive serial number or your own sticker id) to the manifest')
        index = JobIndex(client, concurrency, cache).refresh()
        found = index.same(device_id, canonical, job_type)
        if found:
            return dict(job_result(found[1]), job_id=found[0], changed=False, action='none', device_id=device_id)
        candidates = index.for_device(device_id)
        if len(candidates) > 1:
            raise JobError('drive %s has %d live jobs (%s) with other manifests; pass job_id to say which one to '
                           'update, or cancel the others' % (device_id, len(candidates), ', '.join(c[0] for c in candidates)),
                           job_ids=[c[0] for c in candidates], device_id=device_id)
        if not candidates:
            return _create(client, index, job_type, manifest, canonical, device_id, check_mode)
        job_id, status = candidates[0]
    else:
        status = _status_or_fail(client, job_id)
    return _update(client, job_id, status, job_type, manifest, canonical, device_id, check_mode)


def _create(client, index, job_type, manifest, canonical, device_id, check_mode):
    if check_mode:
        raw = client.create_job(job_type, manifest, validate_only=True)
        return dict(job_result(raw), job_id=None, job_type=raw.get('job_type') or job_type, changed=True,
                    action='validated', device_id=device_id)

    def look_up():
        # The answer to CreateJob was lost: the job may exist. Only new jobs are fetched.
        found = index.refresh().same(device_id, canonical, job_type)
        return dict(found[1], job_id=found[0]) if found else None

    raw = client.create_job(job_type, manifest, on_unknown=look_up)
    index.cache[raw['job_id']] = {'device_id': device_id, 'job_type': job_type}
    result = dict(job_result(raw), changed=True, action='created', device_id=device_id)
    if raw.get('recovered_from'):
        result['recovered_from'] = raw['recovered_from']
    return result


def _update(client, job_id, status, job_type, manifest, canonical, device_id, check_mode):
    if manifest_identity(status.get('current_manifest')) == canonical and status.get('job_type') == job_type:
        return dict(job_result(status), job_id=job_id, changed=False, action='none', device_id=device_id)
    code = status.get('progress_code')
    if code in DEAD_CODES:
        raise JobError('job %s is %s and cannot be updated: leave job_id out to create a new job for drive %s'
                       % (job_id, code, device_id), job_id=job_id, progress_code=code)
    try:
        raw = client.update_job(job_id, job_type, manifest, validate_only=check_mode)
    except ApiError as exc:
        if is_code(exc, 'UnableToUpdateJobId', 'CanceledJobId', 'ExpiredJobId'):
            raise JobError('job %s for drive %s can no longer be updated (progress %s): %s. Keep its manifest as it '
                           'was, or cancel it and create a new job' % (job_id, device_id, code, exc.code),
                           job_id=job_id, progress_code=code, error=exc.as_dict())
        raise
    result = dict(job_result(status), job_id=job_id, job_type=job_type, changed=True, device_id=device_id,
                  action='validated' if check_mode else 'updated', warning_message=raw.get('warning_message'))
    if not check_mode:
        result.update({k: v for k, v in job_result(client.get_status(job_id)).items() if k != 'warning_message'})
        result['artifacts'] = raw.get('artifact_list') or result['artifacts']
    return result


def _status_or_fail(client, job_id):
    try:
        return client.get_status(job_id)
    except ApiError as exc:
        if is_code(exc, 'InvalidJobId'):
            raise JobError('job %s does not exist in this account (%s); check job_id and the access key'
                           % (job_id, exc.code), job_id=job_id, error=exc.as_dict())
        raise


def ensure_absent(client, job_id=None, manifest=None, job_type=None, check_mode=False, concurrency=8, cache=None):
    """Cancel the job (by id, or every live job of the manifest's drive). Returns ``changed``, ``canceled``."""
    if job_id is not None:
        targets = [job_id]
        try:
            status = client.get_status(job_id)
        except ApiError as exc:
            if is_code(exc, 'CanceledJobId', 'ExpiredJobId'):
                return dict(changed=False, canceled=[], job_ids=[job_id], action='none')
            if is_code(exc, 'InvalidJobId'):
                raise JobError('job %s does not exist in this account (%s); check job_id and the access key'
                               % (job_id, exc.code), job_id=job_id, error=exc.as_dict())
            raise
        if status.get('progress_code') in DEAD_CODES:
            targets = []
    else:
        device_id = device_id_of(manifest)
        if device_id is None:
            raise JobError('the manifest has no deviceId: pass job_id to say which job to cancel')
        index = JobIndex(client, concurrency, cache).refresh()
        targets = [j for j, s in index.for_device(device_id) if job_type is None or s.get('job_type') == job_type]
    if check_mode or not targets:
        return dict(changed=bool(targets), canceled=targets, job_ids=targets, action='none' if not targets else 'cancel')
    for target in targets:
        try:
            client.cancel_job(target)
        except ApiError as exc:
            if is_code(exc, 'CanceledJobId') and exc.attempts > 1:
                continue  # our earlier attempt went through; its answer was lost
            if is_code(exc, 'UnableToCancelJobId'):
                raise JobError('job %s can no longer be canceled: its data transfer has started or finished (%s)'
                               % (target, exc.code), job_id=target, error=exc.as_dict())
            raise
    for target in targets:
        (cache if cache is not None else {}).pop(target, None)
    return dict(changed=True, canceled=targets, job_ids=targets, action='canceled')


# ---------------------------------------------------------------- listing

def parse_time(text):
    """ISO 8601 date or date-time (``Z``, offsets, fractions) as an aware UTC datetime; ValueError otherwise."""
    value = str(text).strip()
    if value.endswith(('Z', 'z')):
        value = value[:-1] + '+00:00'
    parsed = datetime.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed.astimezone(datetime.timezone.utc)


def list_jobs(client, max_jobs=None, job_type=None, canceled=None, created_since=None, page_size=None):
    """ListJobs over the pages needed, filtered. Newest first; paging stops at ``created_since``."""
    since = parse_time(created_since) if created_since is not None else None
    jobs = []
    for job in client.iter_jobs(page_size=page_size):
        created = job.get('creation_date')
        if since is not None and created:
            try:
                if parse_time(created) < since:
                    break  # the list is newest first: nothing older can match
            except ValueError:
                pass
        if job_type is not None and job.get('job_type') != job_type:
            continue
        if canceled is not None and bool(job.get('is_canceled')) != canceled:
            continue
        jobs.append(job)
        if max_jobs is not None and len(jobs) >= max_jobs:
            break
    return jobs
