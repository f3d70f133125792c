# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading the CSV logs the service leaves after a job (LogBucket/LogKey of GetStatus).

Import log columns: ``DateTime, File, Status, Code, Key, MD5, Bytes, Content-Type``; export log
columns: ``DateTime, Key, Status, Code, File, MD5, Bytes``. The header line names them; they
are matched without regard to case, spaces or dashes, in any order, and columns this code does
not know are kept in ``extra``. Fields may be quoted (RFC 4180: commas, quotes and line breaks
inside quotes). A line that cannot be read is an error naming its line number, or, when
``strict`` is off, a problem listed while the rest is read. Standard library only.
"""

from __future__ import annotations

import csv
import io
import re

IMPORT_COLUMNS = ('DateTime', 'File', 'Status', 'Code', 'Key', 'MD5', 'Bytes', 'Content-Type')
EXPORT_COLUMNS = ('DateTime', 'Key', 'Status', 'Code', 'File', 'MD5', 'Bytes')
REQUIRED = {'import': ('File', 'Status'), 'export': ('Key', 'Status')}
_MD5_RE = re.compile(r'^[0-9a-fA-F]{32}$')


class ImportLogError(ValueError):
    """A log that cannot be read; the message names the log, the line and what is wrong."""


def _norm(name):
    return re.sub(r'[\s_-]+', '', name).lower()


_KNOWN = {_norm(c): c for c in set(IMPORT_COLUMNS) | set(EXPORT_COLUMNS)}


class Log:
    """``kind`` (import/export), ``columns`` (as in the header), ``entries`` (dicts with the
    known columns under their canonical names, ``Bytes`` as int or None, ``line``, ``extra``),
    ``problems`` (text, for lines left out when not strict)."""

    def __init__(self, kind, columns):
        self.kind = kind
        self.columns = columns
        self.entries = []
        self.problems = []
        self.duplicates = 0

    def by(self, column):
        """{value of ``column``: the last entry with it} (a file logged twice counts once)."""
        found = {}
        for entry in self.entries:
            value = entry.get(column)
            if value:
                if value in found:
                    self.duplicates += 1
                found[value] = entry
        return found


def _decode(data, name):
    if isinstance(data, str):
        text = data
    else:
        try:
            text = data.decode('utf-8')
        except UnicodeDecodeError as exc:
            line = data[:exc.start].count(b'\n') + 1
            raise ImportLogError('%s line %d: byte 0x%02X is not UTF-8; is this the service\'s log?'
                                 % (name, line, data[exc.start]))
    return text[1:] if text.startswith('\ufeff') else text


def parse(data, name='log', kind=None, strict=True):
    """Parse a log (bytes or text). ``kind``: ``import``, ``export`` or None (from the header)."""
    text = _decode(data, name)
    reader = csv.reader(io.StringIO(text, newline=''), strict=True)
    header = None
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                header = row
                break
    except csv.Error as exc:
        raise ImportLogError('%s line %d: %s' % (name, reader.line_num, exc))
    if header is None:
        raise ImportLogError('%s is empty; a log starts with a header line (%s)' % (name, ','.join(IMPORT_COLUMNS)))
    names = [_KNOWN.get(_norm(cell)) for cell in header]
    found = {n for n in names if n}
    if kind is None:
        kind = 'import' if 'Content-Type' in found or names[1:2] == ['File'] else 'export'
    missing = [c for c in REQUIRED[kind] if c not in found]
    if missing:
        raise ImportLogError('%s line %d: the header has no %s column (it reads %r); an %s log has %s'
                             % (name, reader.line_num, ', '.join(missing), ','.join(header), kind,
                                ','.join(IMPORT_COLUMNS if kind == 'import' else EXPORT_COLUMNS)))
    log = Log(kind, header)
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            _problem(log, strict, '%s line %d: %s' % (name, reader.line_num, exc))
            break  # the reader cannot resynchronise after a broken quote
        if not any(cell.strip() for cell in row):
            continue
        problem, entry = _entry(row, header, names, start)
        if problem:
            _problem(log, strict, '%s line %d: %s' % (name, start, problem))
            continue
        log.entries.append(entry)
    return log


def _problem(log, strict, text):
    if strict:
        raise ImportLogError(text + '; fix or remove the line, or read the log with bad lines skipped')
    log.problems.append(text)


def _entry(row, header, names, line):
    if len(row) != len(header):
        return '%d fields where the header has %d' % (len(row), len(header)), None
    entry = {'line': line, 'extra': {}}
    for cell, column, name in zip(row, header, names):
        if name:
            entry[name] = cell
        else:
            entry['extra'][column] = cell
    size = entry.get('Bytes', '').strip()
    if size:
        if not (size.isascii() and size.isdigit()):  # '\u00b2'.isdigit() is true, and int() refuses it
            return 'Bytes %r is not a whole number' % size, None
        entry['Bytes'] = int(size)
    else:
        entry['Bytes'] = None
    md5 = entry.get('MD5', '').strip().lower()
    if md5 and not _MD5_RE.match(md5):
        return 'MD5 %r is not 32 hex digits' % md5, None
    entry['MD5'] = md5 or None
    if not entry.get('Status'):
        return 'no Status', None
    return None, entry
