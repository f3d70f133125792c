# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Packing slips (one PDF page per drive) and the fleet job sheet (CSV and JSON).

No Ansible imports. Everything here is deterministic - no dates, sorted rows - so a re-run with
the same jobs writes the same bytes and changes nothing.
"""

from __future__ import annotations

import csv
import io
import json
import re

from ansible_collections.awsie.importexport.plugins.module_utils.fileio import octal_mode
from ansible_collections.awsie.importexport.plugins.module_utils.pdf import Line, document

SHEET_COLUMNS = ('host', 'drive', 'job_id', 'job_type', 'device_id', 'serial', 'device', 'fstype', 'signature',
                 'packing_slip', 'shipping_label')
ADDRESS_KEYS = ('name', 'company', 'street1', 'street2', 'street3', 'city', 'stateOrProvince', 'postalCode',
                'country', 'phoneNumber')
_SNAKE = {'state_or_province': 'stateOrProvince', 'postal_code': 'postalCode', 'phone_number': 'phoneNumber'}


class PackingError(Exception):
    """Input the slips cannot be made from; the message says which drive and what is missing."""


SYMBOLIC_MODE = re.compile(r'^[ugoa]*[-+=](?:[rwxXst]*|[ugo])(?:[-+=](?:[rwxXst]*|[ugo]))*$')


def check_file_mode(mode):
    """``mode`` as the files are given it: an octal number (int or text, at most 07777) or symbolic
    (``u=rw,g=r``). PackingError naming ``mode`` otherwise, checked before anything is written."""
    if isinstance(mode, str) and not mode.strip().isdigit() and all(SYMBOLIC_MODE.match(part) for part in mode.strip().split(',')):
        return mode
    try:
        octal_mode(mode)
        return mode
    except ValueError:
        pass
    raise PackingError('mode %r is not a file mode; give an octal mode such as \'0600\' (quoted) or a symbolic one '
                       'such as u=rw,g=r; nothing was written' % (str(mode)[:60],))


def normalise_drive(drive):
    """The fields a slip and the sheet use, as text (missing ones empty); a job id is required."""
    row = dict((key, '' if drive.get(key) is None else str(drive.get(key))) for key in SHEET_COLUMNS)
    if not row['job_id']:
        raise PackingError('drive %s of host %s has no job id; run the drive_prepare role (or ie_job) first'
                           % (row['drive'] or '?', row['host'] or '?'))
    row['job_id'] = row['job_id'].upper()
    return row


def slip_name(row):
    """File name of a drive's packing slip: host, drive and job id, safe for any file system."""
    stem = '-'.join(part for part in (row['host'], row['drive'], row['job_id']) if part)
    return re.sub(r'[^A-Za-z0-9._-]+', '_', stem) + '-packing-slip.pdf'


def address_lines(address):
    """A manifest-style return address (camelCase or snake_case keys) as printable lines."""
    address = dict((_SNAKE.get(k, k), v) for k, v in (address or {}).items() if v not in (None, ''))
    lines = [str(address[k]) for k in ('name', 'company', 'street1', 'street2', 'street3') if k in address]
    city = ' '.join(str(address[k]) for k in ('city', 'stateOrProvince', 'postalCode') if k in address)
    if city:
        lines.append(city)
    lines += [str(address[k]) for k in ('country',) if k in address]
    if 'phoneNumber' in address:
        lines.append('Phone: %s' % address['phoneNumber'])
    return lines


def slip_page(row, return_address=None, batch=None, label=None):
    """The lines of one drive's packing slip."""
    batch = sorted(set(batch or [row['job_id']]))
    others = [job for job in batch if job != row['job_id']]
    lines = [Line('AWS Import/Export - packing slip', 18, bold=True, rule=True),
             Line('JOB ID  %s' % row['job_id'], 30, bold=True, gap=44),
             Line('%s job' % (row['job_type'] or 'Import'), 12, gap=22)]
    facts = (('Device ID (manifest deviceId)', row['device_id']), ('Drive serial number', row['serial'] or 'none'),
             ('Host', row['host']), ('Drive', '%s  %s' % (row['drive'], row['device']) if row['device'] else row['drive']),
             ('File system', row['fstype']), ('SIGNATURE digest (HMAC-SHA1)', row['signature'] or 'not written'))
    lines.append(Line('The drive', 13, bold=True, rule=True, gap=30))
    lines += [Line(label_text, 11, value=value or '-') for label_text, value in facts]
    lines.append(Line('Return address (from the manifest)', 13, bold=True, rule=True, gap=30))
    lines += [Line(text, 11) for text in (address_lines(return_address) or ['(see the manifest)'])]
    lines.append(Line('Write on the box', 13, bold=True, rule=True, gap=30))
    lines.append(Line('JOB ID %s%s' % (row['job_id'], ''.join(', %s' % job for job in others)), 16, bold=True, gap=24))
    steps = ['Write the job ID above on the outside of the box, next to the shipping label;',
             'a package without a valid job ID is refused. One box may hold several drives:',
             'then write every job ID of the drives inside.',
             'Stick a label with the job ID and the device ID on the drive itself.',
             'Pack the drive with its power supply and cables, and put this slip in the box.']
    if label:
        steps.append('Shipping label: %s (one label for jobs %s).' % (label, ', '.join(batch)))
    lines += [Line(text, 11) for text in steps]
    return lines


def slips(rows, return_address=None, label=None):
    """{file name: PDF bytes}, one single-page PDF per drive; the batch is every job in ``rows``."""
    batch = [row['job_id'] for row in rows]
    return dict((slip_name(row), document([slip_page(row, return_address, batch, label)],
                                          title='Packing slip %s' % row['job_id'])) for row in rows)


def sheet_rows(rows):
    """The rows of the fleet job sheet, sorted by host, drive and job id."""
    return sorted(rows, key=lambda r: (r['host'], r['drive'], r['job_id']))


def sheet_csv(rows):
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=SHEET_COLUMNS, lineterminator='\n', extrasaction='ignore')
    writer.writeheader()
    for row in sheet_rows(rows):
        writer.writerow(row)
    return buf.getvalue().encode('utf-8')


def sheet_json(rows):
    data = dict(version=1, jobs=[dict((k, row[k] or None) for k in SHEET_COLUMNS) for row in sheet_rows(rows)])
    return (json.dumps(data, indent=2, sort_keys=True) + '\n').encode('utf-8')
