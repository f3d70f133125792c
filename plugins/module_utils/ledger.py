# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Ledgers and file lists: JSON lines, versioned, deterministic (docs/data.md has the format).

One UTF-8 JSON object per line, keys sorted, no spaces, ``\\n`` after every line::

    {"format":"awsie.importexport.ledger","kind":"ledger","meta":{...},"version":1}
    {"key":"imp/a.txt","md5":"...","mtime_ns":1700000000000000000,"path":"a.txt","size":6}
    ...
    {"bytes":6,"end":true,"files":1}

Kinds: ``ledger`` (what ie_load put on a drive: path, key, size, mtime_ns, md5), ``plan`` (one
drive's share of an ie_plan: path, key, size) and ``reship`` (ie_reconcile's files to send again:
path, key, size, md5 when known, reason, code). Records come in walk order (a directory's
files by name, then its subdirectories by name, recursively), each path once. The last line says how many
records came before it: a file without it was cut short (a killed writer); ``read`` rejects it
unless asked to be ``tolerant``, which also drops a torn last line.
"""

from __future__ import annotations

import json
import os
import re

FORMAT = 'awsie.importexport.ledger'
VERSION = 1
KINDS = ('ledger', 'plan', 'reship')
PARTIAL_SUFFIX = '.partial'
_MD5_RE = re.compile(r'^[0-9a-f]{32}$')
_INT = (int,)
_FIELDS = {
    'ledger': {'path': str, 'key': str, 'size': _INT, 'mtime_ns': _INT, 'md5': str},
    'plan': {'path': str, 'key': str, 'size': _INT},
    'reship': {'path': str, 'reason': str},
}


class LedgerError(ValueError):
    """A ledger that cannot be read; the message names the file, the line and the rule."""


def sort_key(path):
    """Ledger order: a directory's files by name, then its subdirectories by name, recursively
    (the order of ``dataset.scan``)."""
    parts = path.split('/')
    return [(1, p) for p in parts[:-1]] + [(0, parts[-1])]


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(',', ':'), ensure_ascii=False)
_TEXT = json.encoder.encode_basestring  # what the encoder above uses for text (C when available)
_LEDGER_FIELDS = frozenset(('key', 'md5', 'mtime_ns', 'path', 'size'))


def _plain_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def dumps_line(obj):
    if obj.keys() == _LEDGER_FIELDS and _plain_int(obj['size']) and _plain_int(obj['mtime_ns']):
        # A ledger record: the same bytes as the encoder gives, a few times faster (loads run it per file).
        return ('{"key":%s,"md5":%s,"mtime_ns":%d,"path":%s,"size":%d}\n' % (
            _TEXT(obj['key']), _TEXT(obj['md5']), obj['mtime_ns'], _TEXT(obj['path']), obj['size'])).encode('utf-8')
    return (_ENCODER.encode(obj) + '\n').encode('utf-8')


def header(kind, meta=None):
    if kind not in KINDS:
        raise ValueError('unknown ledger kind %r (one of %s)' % (kind, ', '.join(KINDS)))
    return {'format': FORMAT, 'version': VERSION, 'kind': kind, 'meta': dict(meta or {})}


def trailer(files, size):
    return {'end': True, 'files': files, 'bytes': size}


def dumps(records, kind='ledger', meta=None):
    """The whole file as bytes; ``records`` is an iterable of dicts (sorted here)."""
    ordered = sorted(records, key=lambda r: sort_key(r['path']))
    out = [dumps_line(header(kind, meta))]
    total = 0
    previous = None
    for record in ordered:
        check_record(record, kind, '(record %s)' % record.get('path'))
        if record['path'] == previous:
            raise LedgerError('path %s appears twice; a ledger lists each path once' % record['path'])
        previous = record['path']
        total += record.get('size') or 0
        out.append(dumps_line(record))
    out.append(dumps_line(trailer(len(ordered), total)))
    return b''.join(out)


def check_record(record, kind, where):
    if not isinstance(record, dict):
        raise LedgerError('%s: a record must be a JSON object' % where)
    for name, types in _FIELDS[kind].items():
        value = record.get(name)
        if not isinstance(value, types) or isinstance(value, bool):
            raise LedgerError('%s: field %r is missing or not %s' % (where, name, 'an integer' if types is _INT else 'text'))
    path = record['path']
    if not path or kind != 'reship' and (path.startswith('/') or any(p in ('', '.', '..') for p in path.split('/'))):
        raise LedgerError('%s: path %r is not a relative path inside the tree' % (where, path))
    if 'size' in record and record['size'] is not None and (not isinstance(record['size'], int) or record['size'] < 0):
        raise LedgerError('%s: size must be a whole number of bytes' % where)
    md5 = record.get('md5')
    if (kind == 'ledger' or md5 is not None) and not (isinstance(md5, str) and _MD5_RE.match(md5)):
        raise LedgerError('%s: md5 must be 32 lower-case hex digits' % where)


class Ledger:
    """A read ledger: ``kind``, ``meta``, ``records`` (path -> dict, in file order), ``complete``."""

    def __init__(self, kind, meta, records, complete):
        self.kind = kind
        self.meta = meta
        self.records = records
        self.complete = complete

    def paths(self):
        return set(self.records)


def loads(data, name='ledger', tolerant=False, kinds=KINDS):
    """Parse bytes; ``name`` is used in errors. ``tolerant``: accept a missing end line and drop
    a torn last line (the file of a writer that was killed)."""
    lines = data.split(b'\n')
    torn = lines.pop() if lines else b''
    if torn and not tolerant:
        raise LedgerError('%s: the last line has no newline; the file was cut short' % name)
    if not lines:
        if tolerant:
            return Ledger(kinds[0], {}, {}, False)  # killed before its header was written
        raise LedgerError('%s: empty; a ledger starts with a header line' % name)
    try:
        head = json.loads(lines[0].decode('utf-8'))
    except ValueError:
        raise LedgerError('%s line 1: not a ledger header (JSON with "format": "%s")' % (name, FORMAT))
    if not isinstance(head, dict) or head.get('format') != FORMAT:
        raise LedgerError('%s line 1: not a ledger header (JSON with "format": "%s")' % (name, FORMAT))
    if head.get('version') != VERSION:
        raise LedgerError('%s: ledger version %r; this collection reads version %d' % (name, head.get('version'), VERSION))
    kind = head.get('kind')
    if kind not in kinds:
        raise LedgerError('%s: a %r list where one of %s was expected' % (name, kind, ', '.join(kinds)))
    records, end, total = {}, None, 0
    last = None
    for number, raw in enumerate(lines[1:], start=2):
        where = '%s line %d' % (name, number)
        if end is not None:
            raise LedgerError('%s: text after the end line' % where)
        try:
            obj = json.loads(raw.decode('utf-8'))
        except ValueError:
            if tolerant and number == len(lines):
                break
            raise LedgerError('%s: not a JSON object' % where)
        if isinstance(obj, dict) and obj.get('end') is True:
            end = obj
            continue
        check_record(obj, kind, where)
        if obj['path'] in records:
            raise LedgerError('%s: path %s appears twice' % (where, obj['path']))
        if last is not None and sort_key(obj['path']) < sort_key(last):
            raise LedgerError('%s: path %s is out of order (records are sorted by path)' % (where, obj['path']))
        last = obj['path']
        records[obj['path']] = obj
        total += obj.get('size') or 0
    if end is None and not tolerant:
        raise LedgerError('%s: no end line; the file was cut short (a killed run?)' % name)
    if end is not None and (end.get('files') != len(records) or end.get('bytes') != total):
        raise LedgerError('%s: the end line counts %r files and %r bytes, the file holds %d and %d'
                          % (name, end.get('files'), end.get('bytes'), len(records), total))
    return Ledger(kind, head.get('meta') or {}, records, end is not None)


def read(path, tolerant=False, kinds=KINDS):
    with open(path, 'rb') as handle:
        return loads(handle.read(), name=path, tolerant=tolerant, kinds=kinds)


def read_latest(path):
    """The records of ``path`` updated by those of ``path.partial`` (a run killed while it wrote
    its next version); {} when neither exists."""
    records = {}
    if os.path.exists(path):
        records.update(read(path).records)
    partial = path + PARTIAL_SUFFIX
    if os.path.exists(partial):
        records.update(read(partial, tolerant=True).records)
    return records


def merge(older, newer):
    """Records of ``older`` updated by ``newer`` (both path -> record)."""
    merged = dict(older)
    merged.update(newer)
    return merged


class Writer:
    """Streams records to ``path.partial`` (flushed on ``flush``), then renames it to ``path``
    on ``close``. Records must come in ledger order."""

    def __init__(self, path, kind='ledger', meta=None):
        self.path = path
        self.kind = kind
        self.files = 0
        self.bytes = 0
        self._last = None
        self._handle = open(path + PARTIAL_SUFFIX, 'wb')  # pylint: disable=consider-using-with
        self._handle.write(dumps_line(header(kind, meta)))

    def add(self, record, check=True):
        if check:
            check_record(record, self.kind, '(record %s)' % record.get('path'))
        key = sort_key(record['path'])
        if self._last is not None and key <= self._last:
            raise LedgerError('record %s written out of order or twice' % record['path'])
        self._last = key
        self.files += 1
        self.bytes += record.get('size') or 0
        self._handle.write(dumps_line(record))

    def flush(self):
        self._handle.flush()

    def close(self):
        self._handle.write(dumps_line(trailer(self.files, self.bytes)))
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        os.replace(self.path + PARTIAL_SUFFIX, self.path)

    def abandon(self):
        """Stop writing and keep the partial file (what was done so far)."""
        if not self._handle.closed:
            self._handle.flush()
            self._handle.close()


def compare(expected, actual, fields=('key', 'size', 'mtime_ns', 'md5')):
    """{'missing': [...], 'extra': [...], 'different': [...], 'same': n} between two path -> record maps."""
    missing = sorted((p for p in expected if p not in actual), key=sort_key)
    extra = sorted((p for p in actual if p not in expected), key=sort_key)
    different = sorted((p for p in expected if p in actual
                        and any(expected[p].get(f) != actual[p].get(f) for f in fields)), key=sort_key)
    return {'missing': missing, 'extra': extra, 'different': different,
            'same': len(expected) - len(missing) - len(different)}


def source_filter(path):
    """The set of paths listed in a ledger, plan list or re-ship list (a source filter)."""
    return read(path).paths()
