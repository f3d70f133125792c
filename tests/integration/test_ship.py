"""playbooks/ship.yml (awsie.importexport.ship): prepare every drive, create or find the jobs,
SIGNATUREs, one shipping label for the batch, a packing slip PDF per drive and the fleet job
sheet, on loop drives against the local service. The PDFs are read back with pdftotext."""
import csv
import json
import os
import shutil
import subprocess

from tests.integration.fixtures import REPO
from tests.integration.test_drive_prepare import inventory, listing, make_tree, recap

SHIP = os.path.join(REPO, 'playbooks', 'ship.yml')


def pdf_text(path):
    tool = shutil.which('pdftotext')
    assert tool, 'pdftotext (Debian poppler-utils, installed by scripts/setup.sh) is needed to read the slips back'
    return subprocess.run([tool, '-layout', path, '-'], capture_output=True, text=True, check=True).stdout


def test_ship_prepares_the_drives_then_writes_one_label_a_slip_per_drive_and_the_fleet_sheet(
        loop_drive, playbook, ie_service, tmp_path):
    bucket = ie_service.new_bucket('ship')
    hosts, drives = {}, {}
    for name, fstype in (('loader1', 'ext4'), ('loader2', 'fat32')):
        drives[name] = loop_drive(fstype, size_mb=40, mount=False, workdir=tmp_path / name)
        src = make_tree(tmp_path / 'data' / name, {'%s/photo.jpg' % name: 200000, 'notes.txt': b'hello\n'})
        hosts[name] = [{'name': 'd1', 'device': drives[name].device, 'data_src': src, 'manifest': {'bucket': bucket}}]
    inv = inventory(tmp_path, hosts, ie_service)
    out_dir = os.path.join(os.path.dirname(inv), 'ie-manifests')

    checked = playbook.run(SHIP, inventory=inv, check=True)
    assert 'nothing to ship' in checked.stdout.lower() or not os.path.exists(os.path.join(out_dir, 'fleet-jobs.csv'))
    assert not os.path.exists(os.path.join(out_dir, 'fleet-jobs.csv'))

    first = playbook.run(SHIP, inventory=inv)
    assert first.stdout.count('Get the shipping label for all the jobs') == 1
    labels = [n for n in os.listdir(out_dir) if n.startswith('shipping-label-')]
    assert len(labels) == 1 and open(os.path.join(out_dir, labels[0]), 'rb').read(5) == b'%PDF-'

    with open(os.path.join(out_dir, 'fleet-jobs.json')) as handle:
        sheet = json.load(handle)['jobs']
    with open(os.path.join(out_dir, 'fleet-jobs.csv')) as handle:
        rows = list(csv.DictReader(handle))
    assert [(r['host'], r['drive']) for r in rows] == [('loader1', 'd1'), ('loader2', 'd1')]
    assert [r['job_id'] for r in rows] == [j['job_id'] for j in sheet]
    for row in rows:
        host_sheet = json.loads(open(os.path.join(out_dir, '%s-jobs.json' % row['host'])).read())
        assert host_sheet[0]['job_id'] == row['job_id'] and host_sheet[0]['device_id'] == row['device_id']
        assert row['shipping_label'] == labels[0]
        text = pdf_text(os.path.join(out_dir, row['packing_slip']))
        for words in ('JOB ID ' + row['job_id'], row['device_id'], row['host'], row['signature'], 'Test Operator',
                      'Seattle WA 98104', 'Write on the box', labels[0]):
            assert words in text, (words, text)
        # The slip's job and signature are the ones on the drive.
        drive = drives[row['host']]
        assert 'SIGNATURE' in listing(drive)
        signature = _signature_on(drive)
        assert ('jobId:%s' % row['job_id']) in signature and ('signature:%s' % row['signature']) in signature
    modes = dict((n, os.stat(os.path.join(out_dir, n)).st_mode & 0o777) for n in os.listdir(out_dir))
    assert all(mode == 0o600 for name, mode in modes.items() if name.endswith(('.yml', '.json', '.csv', '.pdf'))
               and not name.startswith('shipping-label-')), modes

    again = playbook.run(SHIP, inventory=inv)
    assert all(r['changed'] == 0 and r['failed'] == 0 for r in recap(again.stdout).values()), again.stdout[-3000:]
    assert sorted(n for n in os.listdir(out_dir) if n.startswith('shipping-label-')) == labels


def _signature_on(drive):
    if drive.fstype == 'fat32':
        return subprocess.run(['mtype', '-i', drive.device, '::/SIGNATURE'], capture_output=True, text=True,
                              check=True).stdout
    return subprocess.run(['debugfs', '-R', 'cat /SIGNATURE', drive.device], capture_output=True, text=True,
                          check=True).stdout
