"""playbooks/ship.yml (awsie.importexport.ship) over SSH on the multi-host test bed: prepare every
drive, create or find the jobs, SIGNATUREs, one shipping label for the batch, a packing slip PDF per
drive and the fleet job sheet, against the local service; a second run changes nothing on ext4,
FAT32 and NTFS. The PDFs are read back with pdftotext."""
import csv
import json
import os
import shutil
import subprocess
from urllib.parse import urlsplit

from tests.integration.fixtures import REPO
from tests.integration.test_drive_prepare import OUTPUTS, RETURN_ADDRESS, listing, load_phase, make_tree, recap, timing_env, timings
from tests.support.playbooks import BIN

SHIP = os.path.join(REPO, 'playbooks', 'ship.yml')


def pdf_text(path):
    tool = shutil.which('pdftotext')
    assert tool, 'pdftotext (Debian poppler-utils, installed by scripts/setup.sh) is needed to read the slips back'
    return subprocess.run([tool, '-layout', path, '-'], capture_output=True, text=True, check=True).stdout


def test_ship_over_ssh_prepares_the_drives_then_writes_one_label_a_slip_per_drive_and_the_fleet_sheet(
        testbed_factory, ie_service, tmp_path):
    """Three SSH hosts of the test bed, one drive each (ext4, FAT32, NTFS)."""
    bucket = ie_service.new_bucket('ship')
    bed = testbed_factory(hosts=3, drives_per_host=1, drive_size_mb=48, fstypes=['ext4', 'fat32', 'ntfs'])
    for url in (ie_service.url, ie_service.s3_url):
        bed.forward_port(urlsplit(url).port)
    drives = dict((host.name, host.drives[0]) for host in bed.hosts)
    sources = dict((name, make_tree(tmp_path / 'data' / name, {'%s/photo.jpg' % name: 200000, 'notes.txt': b'hello\n'}))
                   for name in drives)
    group_vars = {'drive_prepare_manifest_defaults': {'accessKeyId': ie_service.access_key, 'eraseDevice': True,
                                                      'returnAddress': RETURN_ADDRESS},
                  'drive_prepare_endpoint_url': ie_service.url, 'drive_prepare_access_key': ie_service.access_key,
                  'drive_prepare_secret_key': ie_service.secret_key, 'drive_prepare_progress_interval': 5}
    os.makedirs(str(tmp_path / 'inventory'))
    inv = bed.write_inventory(str(tmp_path / 'inventory' / 'hosts.json'), groups=['ie_drive_hosts'], group_vars=group_vars,
                              host_vars=lambda host: {'drive_prepare_drives': [
                                  {'name': 'd1', 'device': drives[host.name].device, 'data_src': sources[host.name],
                                   'manifest': {'bucket': bucket}}]})
    # The inventory is a directory, as operators keep it (hosts, group_vars): the outputs written beside
    # the hosts file must not be read back as inventory sources on the next run.
    inv_dir = os.path.dirname(inv)
    out_dir = os.path.join(inv_dir, OUTPUTS)

    checked = bed.run_playbook(SHIP, inventory=inv_dir, check=True)
    assert 'nothing to ship' in checked.stdout.lower() or not os.path.exists(os.path.join(out_dir, 'fleet-jobs.csv'))
    assert not os.path.exists(os.path.join(out_dir, 'fleet-jobs.csv'))

    log, env = timing_env(tmp_path)
    first = bed.run_playbook(SHIP, inventory=inv_dir, env=env)
    phases = dict((host, load_phase(timings(log), host)) for host in drives)
    wall = max(end for _start, end in phases.values()) - min(start for start, _end in phases.values())
    print('parallel_ratio=%.2f over %d SSH hosts (load phase wall %.1f s)'
          % (sum(end - start for start, end in phases.values()) / wall, len(phases), wall))
    for host, (start, end) in phases.items():  # every host's load overlaps every other's
        assert all(host == other or (start < oend and ostart < end) for other, (ostart, oend) in phases.items()), phases
    assert first.stdout.count('Get the shipping label for all the jobs') == 1
    labels = [n for n in os.listdir(out_dir) if n.startswith('shipping-label-')]
    assert len(labels) == 1 and open(os.path.join(out_dir, labels[0]), 'rb').read(5) == b'%PDF-'

    with open(os.path.join(out_dir, 'fleet-jobs.json')) as handle:
        sheet = json.load(handle)['jobs']
    with open(os.path.join(out_dir, 'fleet-jobs.csv')) as handle:
        rows = list(csv.DictReader(handle))
    assert [(r['host'], r['drive']) for r in rows] == [(name, 'd1') for name in sorted(drives)]
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
        assert drive.fstype in row['fstype'].replace('vfat', 'fat32')
        assert 'SIGNATURE' in listing(drive)
        signature = _signature_on(drive)
        assert ('jobId:%s' % row['job_id']) in signature and ('signature:%s' % row['signature']) in signature
    modes = dict((n, os.stat(os.path.join(out_dir, n)).st_mode & 0o777) for n in os.listdir(out_dir))
    assert all(mode == 0o600 for name, mode in modes.items() if name.endswith(('.yml', '.json', '.csv', '.pdf'))
               and not name.startswith('shipping-label-')), modes

    # Manifests (YAML), job sheets (JSON) and ledgers (JSON lines) in the inventory directory were parsed
    # as inventory: warnings, and groups named after manifest fields ('bucket', 'returnAddress', ...).
    listed = subprocess.run([os.path.join(BIN, 'ansible-inventory'), '-i', inv_dir, '--list'], capture_output=True,
                            text=True, check=True)
    assert 'WARNING' not in listed.stderr, listed.stderr[-3000:]
    assert set(json.loads(listed.stdout)) - {'_meta', 'all', 'ungrouped'} == {'testbed', 'ie_drive_hosts'}, listed.stdout[:500]

    again = bed.run_playbook(SHIP, inventory=inv_dir)
    assert all(r['changed'] == 0 and r['failed'] == 0 for r in recap(again.stdout).values()), again.stdout[-3000:]
    assert 'as an inventory source' not in again.stderr and 'not a valid group' not in again.stderr, again.stderr[-3000:]
    assert sorted(n for n in os.listdir(out_dir) if n.startswith('shipping-label-')) == labels


def _signature_on(drive):
    if drive.fstype == 'fat32':
        return subprocess.run(['mtype', '-i', drive.device, '::/SIGNATURE'], capture_output=True, text=True,
                              check=True).stdout
    if drive.fstype == 'ntfs':
        return subprocess.run(['ntfscat', drive.device, 'SIGNATURE'], capture_output=True, text=True, check=True).stdout
    return subprocess.run(['debugfs', '-R', 'cat /SIGNATURE', drive.device], capture_output=True, text=True,
                          check=True).stdout


def test_one_shipping_label_for_a_fleet_of_fifty_jobs(ie_service, tmp_path):
    """ship.yml asks for ONE label for all the jobs of the play: on 50 hosts the service failed (HTTP 500,
    OSError: the label's file name held every job id, longer than a file name may be)."""
    from tests.integration.jobs_helpers import quiet_client  # pylint: disable=import-outside-toplevel
    from tests.support.service import import_manifest  # pylint: disable=import-outside-toplevel
    bucket = ie_service.new_bucket('fifty')
    client = quiet_client(ie_service)
    ids = [client.create_job('Import', import_manifest(ie_service.access_key, bucket, device_id='FLEET-%02d' % n))['job_id']
           for n in range(50)]
    playbook = (tmp_path / 'label.yml')
    playbook.write_text('- hosts: localhost\n  gather_facts: false\n  tasks:\n'
                        '    - awsie.importexport.ie_shipping_label:\n        job_ids: %s\n        dest: %s\n'
                        % (json.dumps(ids), tmp_path / 'label.pdf'))
    env = dict(os.environ, AWS_URL=ie_service.url, AWS_ACCESS_KEY_ID=ie_service.access_key,
               AWS_SECRET_ACCESS_KEY=ie_service.secret_key)
    proc = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local', str(playbook)],
                          capture_output=True, text=True, check=False, env=env, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:]
    text = pdf_text(str(tmp_path / 'label.pdf'))
    assert 'UPS pre-paid shipping label' in text and ids[0] in text, text
