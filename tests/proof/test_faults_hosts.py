"""A host that goes away mid-play: playbooks/prepare_drives.yml over SSH on the multi-host test bed
(tests/support/testbed.py), and host02's sshd stopped (with its sessions) as the play starts the
loads. The other hosts finish their drives; host02 is reported unreachable. sshd comes back, the
play runs again and converges: one job per drive (host02's too, not two), no partial SIGNATURE, no
file differing from the ledger, host02's load picked up where it was cut.
"""
import json
import os
import subprocess
import time
from urllib.parse import urlsplit

import pytest

from tests.integration.test_drive_prepare import PREPARE
from tests.support.playbooks import BIN, REPO
from tests.support.processes import end_group
from tests.support.proof_fleet import RETURN_ADDRESS, device_figures, new_figures, write_tree

pytestmark = [pytest.mark.root, pytest.mark.slow, pytest.mark.proof_full]
GONE = 'host02'


def test_a_host_whose_sshd_stops_mid_play_is_unreachable_and_the_rerun_converges(
        testbed_factory, ie_service, tmp_path, proof_record):
    bucket = ie_service.new_bucket('gone')
    bed = testbed_factory(hosts=3, drives_per_host=1, drive_size_mb=48, fstypes=['ext4'])
    for url in (ie_service.url, ie_service.s3_url):
        bed.forward_port(urlsplit(url).port)
    drives = dict((host.name, host.drives[0]) for host in bed.hosts)
    sources = dict((name, write_tree(str(tmp_path / 'data' / name), dict(('part%02d.bin' % i, 512 * 1024) for i in range(24))))
                   for name in drives)
    out_dir = str(tmp_path / 'inventory' / 'ie-manifests')
    group_vars = {'drive_prepare_manifest_defaults': {'accessKeyId': ie_service.access_key, 'eraseDevice': True,
                                                      'returnAddress': RETURN_ADDRESS},
                  'drive_prepare_endpoint_url': ie_service.url, 'drive_prepare_access_key': ie_service.access_key,
                  'drive_prepare_secret_key': ie_service.secret_key, 'drive_prepare_progress_interval': 1,
                  'drive_prepare_manifest_dir': out_dir}
    os.makedirs(str(tmp_path / 'inventory'))
    inv = bed.write_inventory(str(tmp_path / 'inventory' / 'hosts.json'), groups=['ie_drive_hosts'], group_vars=group_vars,
                              host_vars=lambda host: {'drive_prepare_drives': [
                                  {'name': 'd1', 'device': drives[host.name].device, 'data_src': sources[host.name],
                                   'manifest': {'bucket': bucket}}]})

    log_path = str(tmp_path / 'first.log')
    cmd = bed.ctl_command([os.path.join(BIN, 'ansible-playbook'), '-i', inv, PREPARE])
    with open(log_path, 'wb') as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=bed.ansible_env, stdout=log, stderr=subprocess.STDOUT,  # pylint: disable=consider-using-with
                                start_new_session=True)
        try:
            deadline = time.monotonic() + 900
            while proc.poll() is None and time.monotonic() < deadline:
                with open(log_path, errors='replace') as handle:
                    if 'Start loading every import drive in the background' in handle.read():
                        break
                time.sleep(0.05)
            assert proc.poll() is None, open(log_path).read()[-4000:]
            time.sleep(0.5)
            bed.stop_sshd(GONE)
            proc.wait(timeout=1200)
        finally:
            if proc.poll() is None:
                end_group(proc)
    with open(log_path, errors='replace') as handle:
        first = handle.read()
    bed.start_sshd(GONE)
    assert proc.returncode == 4, first[-4000:]  # some host unreachable
    recap = first[first.rfind('PLAY RECAP'):]
    assert 'unreachable=1' in [line for line in recap.splitlines() if line.startswith(GONE)][0], recap
    for other in set(drives) - {GONE}:
        line = [row for row in recap.splitlines() if row.startswith(other)][0]
        assert 'unreachable=0' in line and 'failed=0' in line, recap

    again = bed.run_playbook(PREPARE, inventory=inv, expect_rc=None)
    assert again.returncode == 0, again.stdout[-4000:]

    jobs = ie_service.client().list_jobs()['Jobs']
    figures = new_figures(len(drives), len(jobs))
    for name, drive in sorted(drives.items()):
        with open(os.path.join(out_dir, '%s-jobs.json' % name)) as handle:
            entry = json.load(handle)[0]
        device_figures(drive.device, name, sources[name], entry, ie_service.secret_key,
                       os.path.join(out_dir, '%s-d1.ledger.jsonl' % name), str(tmp_path), figures)
    print(figures)
    proof_record('host gone mid-play: runs', 2)
    proof_record('host gone mid-play: runs that converged', 1)
    proof_record('host gone mid-play: jobs created', figures['jobs'])
    proof_record('host gone mid-play: drives', figures['drives'])
    proof_record('host gone mid-play: SIGNATURE files partial', figures['signatures_partial'])
    proof_record('host gone mid-play: files on the drive that differ from the ledger', figures['files_differ'])
    assert figures['problems'] == []
    assert (figures['jobs'], figures['signatures_partial'], figures['signatures_missing'], figures['files_differ'],
            figures['temp_files']) == (len(drives), 0, 0, 0, 0), figures
