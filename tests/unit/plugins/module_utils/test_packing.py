"""Packing slips and the fleet job sheet: content, determinism, and the PDF writer's structure."""
import csv
import io
import json
import re
import shutil
import subprocess

import pytest

from ansible_collections.awsie.importexport.plugins.module_utils import packing, pdf

DRIVE = dict(host='loader1', drive='d1', job_id='53tx4', job_type='Import', device_id='FS-7K2QM-9XD4T',
             serial=None, device='/dev/sdb', fstype='ntfs', signature='jLbLVp54vBa/vuh/XW1MOMdZUxw=', extra='ignored')
ADDRESS = {'name': 'Ops (Team)', 'street1': '1 Main St', 'city': 'Seattle', 'stateOrProvince': 'WA',
           'postalCode': '02134', 'country': 'USA', 'phoneNumber': '206-555-0100'}


def test_a_slip_names_the_job_drive_signature_address_and_what_to_write_on_the_box():
    row = packing.normalise_drive(DRIVE)
    other = packing.normalise_drive(dict(DRIVE, drive='d2', job_id='796CK'))
    files = packing.slips([row, other], ADDRESS, 'shipping-label-1.pdf')
    assert sorted(files) == ['loader1-d1-53TX4-packing-slip.pdf', 'loader1-d2-796CK-packing-slip.pdf']
    text = pdf.pdf_text(files['loader1-d1-53TX4-packing-slip.pdf'])
    for words in ('JOB ID  53TX4', 'FS-7K2QM-9XD4T', 'loader1', 'jLbLVp54vBa/vuh/XW1MOMdZUxw=', 'Ops (Team)',
                  'Seattle WA 02134', 'JOB ID 53TX4, 796CK', 'Write on the box', 'none'):
        assert any(words in line for line in text), (words, text)
    assert packing.slips([row], ADDRESS) == packing.slips([row], ADDRESS)  # deterministic


def test_a_drive_without_a_job_is_refused_with_its_name():
    with pytest.raises(packing.PackingError, match='drive d9 of host h'):
        packing.normalise_drive(dict(host='h', drive='d9'))


def test_the_sheet_is_sorted_and_has_the_same_jobs_as_csv_and_json():
    rows = [packing.normalise_drive(dict(DRIVE, host=h, drive=d, job_id=j))
            for h, d, j in (('b', 'd1', 'AAAAB'), ('a', 'd2', 'AAAAC'), ('a', 'd1', 'AAAAD'))]
    table = list(csv.DictReader(io.StringIO(packing.sheet_csv(rows).decode())))
    assert [(r['host'], r['drive']) for r in table] == [('a', 'd1'), ('a', 'd2'), ('b', 'd1')]
    data = json.loads(packing.sheet_json(rows))
    assert data['version'] == 1 and [j['job_id'] for j in data['jobs']] == [r['job_id'] for r in table]
    assert data['jobs'][0]['serial'] is None


def test_the_pdf_has_correct_offsets_and_escapes_text():
    data = pdf.document([[pdf.Line('a (b) \\ c', 12, bold=True, rule=True), 'second'], ['page two']], title='T')
    assert data.startswith(b'%PDF-1.4') and data.rstrip().endswith(b'%%EOF')
    xref = int(re.search(rb'startxref\n(\d+)', data).group(1))
    assert data[xref:xref + 4] == b'xref'
    count = int(re.search(rb'xref\n0 (\d+)', data).group(1))
    offsets = re.findall(rb'(\d{10}) 00000 n ', data)
    assert len(offsets) == count - 1
    for number, offset in enumerate(offsets, 1):
        assert data[int(offset):].startswith(b'%d 0 obj' % number)
    assert pdf.pdf_text(data) == ['a (b) \\ c', 'second', 'page two']
    assert b'/Count 2' in data


def test_pdftotext_reads_the_slip_when_poppler_is_there(tmp_path):
    tool = shutil.which('pdftotext')
    if not tool:
        pytest.skip('pdftotext (poppler-utils) is not installed')
    path = tmp_path / 'slip.pdf'
    path.write_bytes(packing.slips([packing.normalise_drive(DRIVE)], ADDRESS)['loader1-d1-53TX4-packing-slip.pdf'])
    text = subprocess.run([tool, str(path), '-'], capture_output=True, text=True, check=True).stdout
    assert 'JOB ID 53TX4' in text.replace('  ', ' ') and 'FS-7K2QM-9XD4T' in text
