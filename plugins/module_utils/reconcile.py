# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Did every byte land? A drive's ledger against the service's log, and optionally S3 itself.

Import: each ledger record is ``verified`` (the log says Loaded under the same key, MD5 and size;
and, when objects are checked, the object exists with that size and, for a single-part upload,
an ETag equal to the MD5), ``missing`` (not in the log, or no such object), ``different`` (a key,
MD5 or size that does not match), ``failed`` (the log says Error; counted by code) or ``ignored``
(the service skipped it). Missing, different and failed records make the re-ship list.

Export: each log entry is checked against the file read back from the returned drive (MD5 and
size) and, optionally, the object's ETag. Standard library only; ``head`` is given by the caller.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
import re

from ansible_collections.awsie.importexport.plugins.module_utils import ledger

VERIFIED, MISSING, DIFFERENT, FAILED, IGNORED = 'verified', 'missing', 'different', 'failed', 'ignored'
STATES = (VERIFIED, MISSING, DIFFERENT, FAILED, IGNORED)
RESHIP = (MISSING, DIFFERENT, FAILED)
_SINGLE_PART_ETAG = re.compile(r'^[0-9a-f]{32}$')
DRIVE_OWN = ('SIGNATURE', 'lost+found')


class NotFound(Exception):
    """``head`` raises it for an object that does not exist."""


def etag_md5(etag):
    """The MD5 an ETag states (a single-part upload), or None (multipart, encrypted, unknown)."""
    value = (etag or '').strip('"').lower()
    return value if _SINGLE_PART_ETAG.match(value) else None


def head_all(keys, head, workers=16):
    """{key: (size, etag) or None when missing or Exception}; ``head(key)`` -> (size, etag)."""
    def one(key):
        try:
            return key, head(key)
        except NotFound:
            return key, None
        except Exception as exc:  # pylint: disable=broad-except
            return key, exc
    keys = sorted(set(keys))
    if not keys:
        return {}
    with concurrent.futures.ThreadPoolExecutor(max(1, min(workers, len(keys)))) as pool:
        return dict(pool.map(one, keys))


class Outcome:
    """Counts, per-file states and the re-ship records of one reconciliation."""

    def __init__(self):
        self.counts = {s: 0 for s in STATES}
        self.counts['unexpected'] = 0
        self.failed_by_code = {}
        self.entries = []
        self.reship = []
        self.unexpected = []
        self.etag_not_md5 = 0
        self.head_errors = []
        self._reshipped = set()

    def add(self, state, record, reason, code=None):
        self.counts[state] += 1
        item = {'path': record['path'], 'key': record.get('key'), 'state': state, 'reason': reason}
        if code:
            item['code'] = code
            self.failed_by_code[code] = self.failed_by_code.get(code, 0) + 1
        self.entries.append(item)
        if state in RESHIP and record['path'] not in self._reshipped:
            self._reshipped.add(record['path'])
            reship = {k: record[k] for k in ('path', 'key', 'size', 'mtime_ns', 'md5') if record.get(k) is not None}
            reship.update(reason=state, detail=reason)
            if code:
                reship['code'] = code
            self.reship.append(reship)

    def as_dict(self, max_listed=100):
        problems = [e for e in self.entries if e['state'] != VERIFIED]
        return {'counts': dict(self.counts, total=len(self.entries)), 'failed_by_code': dict(self.failed_by_code),
                'not_verified': problems[:max_listed], 'unexpected': self.unexpected[:max_listed],
                'reship_count': len(self.reship), 'etag_not_md5': self.etag_not_md5,
                'head_errors': self.head_errors[:max_listed]}

    def reship_bytes(self, meta=None):
        return ledger.dumps(self.reship, kind='reship', meta=meta)


def _check_object(outcome, record, expected_md5, expected_size, heads):
    """None when the object agrees, else (state, reason)."""
    found = heads.get(record['key'])
    if found is None:
        return MISSING, 'no object %s in the bucket' % record['key']
    if isinstance(found, Exception):
        outcome.head_errors.append({'key': record['key'], 'error': str(found)})
        return None  # not known; the log's word stands
    size, etag = found
    if expected_size is not None and size != expected_size:
        return DIFFERENT, 'the object has %d bytes, %d were loaded' % (size, expected_size)
    md5 = etag_md5(etag)
    if md5 is None:
        outcome.etag_not_md5 += 1
    elif expected_md5 and md5 != expected_md5:
        return DIFFERENT, 'the object\'s ETag %s is not the MD5 %s of the file (overwritten since?)' % (md5, expected_md5)
    return None


def reconcile_import(records, log, heads=None):
    """``records``: path -> ledger record; ``log``: importlog.Log (import); ``heads``: key ->
    (size, etag) | None | Exception, or None to trust the log."""
    outcome = Outcome()
    logged = log.by('File')
    for path in sorted(records, key=ledger.sort_key):
        record = records[path]
        entry = logged.pop(path, None)
        if entry is None:
            outcome.add(MISSING, record, 'not in the import log')
            continue
        status = (entry.get('Status') or '').strip().lower()
        if status == 'ignored':
            outcome.add(IGNORED, record, 'the service skipped it (%s)' % (entry.get('Code') or 'ignore'))
            continue
        if status != 'loaded':
            outcome.add(FAILED, record, 'the service failed it: %s' % (entry.get('Code') or entry.get('Status')),
                        code=entry.get('Code') or entry.get('Status'))
            continue
        reason = _compare_log(record, entry)
        if reason is None and heads is not None:
            found = _check_object(outcome, record, record.get('md5'), record.get('size'), heads)
            if found is not None:
                outcome.add(found[0], record, found[1])
                continue
        if reason is not None:
            outcome.add(DIFFERENT, record, reason)
        else:
            outcome.add(VERIFIED, record, 'loaded as logged' + ('' if heads is None else ', object checked'))
    for path, entry in sorted(logged.items()):
        if (entry.get('Status') or '').strip().lower() != 'ignored':  # SIGNATURE and ignore matches are
            outcome.counts['unexpected'] += 1                         # skipped on purpose
            outcome.unexpected.append({'path': path, 'status': entry.get('Status'), 'key': entry.get('Key'),
                                       'line': entry['line']})
    return outcome


def _compare_log(record, entry):
    if entry.get('Key') and record.get('key') and entry['Key'] != record['key']:
        return 'loaded under key %s, the ledger says %s' % (entry['Key'], record['key'])
    if entry.get('MD5') and record.get('md5') and entry['MD5'] != record['md5']:
        return 'the log\'s MD5 %s is not the ledger\'s %s (the drive\'s copy differs)' % (entry['MD5'], record['md5'])
    if entry.get('Bytes') is not None and record.get('size') is not None and entry['Bytes'] != record['size']:
        return 'the log says %d bytes, the ledger %d' % (entry['Bytes'], record['size'])
    return None


def file_md5(path, chunk=1024 * 1024):
    md5 = hashlib.md5()
    size = 0
    with open(path, 'rb') as handle:
        while True:
            data = handle.read(chunk)
            if not data:
                break
            md5.update(data)
            size += len(data)
    return md5.hexdigest(), size


def reconcile_export(log, drive_root, heads=None):
    """``log``: importlog.Log (export); ``drive_root``: the returned drive, mounted; each logged
    file is read back and hashed."""
    outcome = Outcome()
    seen = set()
    for entry in log.entries:
        status = (entry.get('Status') or '').strip().lower()
        rel = (entry.get('File') or '').strip('/')
        record = {'path': rel or entry.get('Key') or '?', 'key': entry.get('Key'), 'md5': entry.get('MD5'),
                  'size': entry.get('Bytes')}
        if status not in ('exported', 'recovered'):
            outcome.add(FAILED, record, 'the service failed it: %s' % (entry.get('Code') or entry.get('Status')),
                        code=entry.get('Code') or entry.get('Status'))
            continue
        seen.add(rel)
        full = os.path.join(drive_root, *rel.split('/'))
        if not rel or not os.path.isfile(full) or os.path.islink(full):
            outcome.add(MISSING, record, 'not on the drive')
            continue
        md5, size = file_md5(full)
        if (entry.get('MD5') and md5 != entry['MD5']) or (entry.get('Bytes') is not None and size != entry['Bytes']):
            outcome.add(DIFFERENT, record, 'the drive\'s copy (%d bytes, MD5 %s) is not what the log says' % (size, md5))
            continue
        if heads is not None:
            found = _check_object(outcome, record, md5, size, heads)
            if found is not None:
                outcome.add(found[0], record, found[1])
                continue
        outcome.add(VERIFIED, record, 'on the drive as logged' + ('' if heads is None else ', object checked'))
    for dirpath, dirs, names in os.walk(drive_root):
        dirs.sort()
        for name in sorted(names):
            rel = os.path.relpath(os.path.join(dirpath, name), drive_root).replace(os.sep, '/')
            if rel not in seen and rel.split('/', maxsplit=1)[0] not in DRIVE_OWN and not name.startswith('export-log-'):
                outcome.counts['unexpected'] += 1
                outcome.unexpected.append({'path': rel, 'status': 'not in the export log'})
    return outcome


def module_kwargs():
    """The AnsibleModule keyword arguments of ie_reconcile (its action plugin validates with them)."""
    return dict(
        argument_spec=dict(
            job_type=dict(type='str', choices=['Import', 'Export'], default='Import'),
            ledger=dict(type='path'),
            drive_path=dict(type='path'),
            log_src=dict(type='path'),
            log_bucket=dict(type='str'),
            log_key=dict(type='str', no_log=False),
            skip_bad_lines=dict(type='bool', default=False),
            verify_objects=dict(type='bool', default=False),
            bucket=dict(type='str'),
            reship_dest=dict(type='path'),
            s3_endpoint_url=dict(type='str', aliases=['aws_endpoint_url']),
            access_key=dict(type='str', aliases=['aws_access_key_id', 'aws_access_key'], no_log=False),
            secret_key=dict(type='str', aliases=['aws_secret_access_key', 'aws_secret_key'], no_log=True),
            session_token=dict(type='str', aliases=['aws_session_token'], no_log=True),
            region=dict(type='str', default='us-east-1'),
            validate_certs=dict(type='bool', default=True),
            head_workers=dict(type='int', default=16),
            max_listed=dict(type='int', default=100),
        ),
        mutually_exclusive=[('log_src', 'log_bucket')],
        required_together=[('log_bucket', 'log_key')],
        required_one_of=[('log_src', 'log_bucket')],
        required_if=[('job_type', 'Import', ('ledger',)), ('job_type', 'Export', ('drive_path',)),
                     ('verify_objects', True, ('bucket',))],
        supports_check_mode=True,
    )
