"""playbooks/prepare_drives.yml on loop drives while the local service misbehaves: throttling,
5xx answers, slow answers and dropped connections all at once (fault injection of ``ie-service``);
and the service restarted mid-run (stopped as the run validates the manifests, and again as it
creates the jobs; started again on the same port and state). The run converges (a re-run is allowed
after a restart and counted), with one job per drive, no partial SIGNATURE, no file that differs
from the ledger. The API modules' own retries under these faults are in
tests/integration/test_ie_job_faults.py.
"""
import os
import subprocess
import time
from urllib.parse import urlsplit

import pytest

from tests.integration.test_drive_prepare import PREPARE, recap
from tests.support.playbooks import BIN, REPO, PlaybookRunner
from tests.support.proof_fleet import Fleet
from tests.support.service import IEService

pytestmark = [pytest.mark.root, pytest.mark.slow, pytest.mark.proof_full]
FAULT_MIX = ('throttle=0.3', 'error5xx=0.1', 'drop=0.1', 'latency=0.3')


def record(proof_record, what, runs, converged, figures):
    proof_record('%s: runs' % what, runs)
    proof_record('%s: runs that converged' % what, converged)
    proof_record('%s: jobs created' % what, figures['jobs'])
    proof_record('%s: drives' % what, figures['drives'])
    proof_record('%s: SIGNATURE files partial' % what, figures['signatures_partial'])
    proof_record('%s: files on the drive that differ from the ledger' % what, figures['files_differ'])


def assert_clean(figures):
    assert figures['problems'] == []
    assert (figures['jobs'], figures['signatures_partial'], figures['signatures_missing'], figures['files_differ'],
            figures['temp_files']) == (figures['drives'], 0, 0, 0, 0), figures


def test_prepare_drives_converges_while_the_service_throttles_fails_drops_and_is_slow(tmp_path, ie_service_factory,
                                                                                      proof_record):
    service = ie_service_factory(faults=list(FAULT_MIX))
    fleet = Fleet(tmp_path, service, hosts=2)
    try:
        proc = PlaybookRunner(str(tmp_path)).run(PREPARE, inventory=fleet.inventory, timeout=1200)
        assert all(r['failed'] == 0 for r in recap(proc.stdout).values())
        again = PlaybookRunner(str(tmp_path)).run(PREPARE, inventory=fleet.inventory, timeout=1200)
        assert all(r['changed'] == 0 and r['failed'] == 0 for r in recap(again.stdout).values()), again.stdout[-3000:]
        service.clear_faults()
        figures = fleet.figures()
    finally:
        fleet.close()
    print(figures)
    assert_clean(figures)
    record(proof_record, 'service faults %s' % ' '.join(FAULT_MIX), 2, 2, figures)


RESTART_AT = ('Check the credentials and let the service validate each manifest', 'Create the jobs')


def test_prepare_drives_converges_across_service_restarts_mid_run(tmp_path, ie_s3_server, proof_record):
    state = str(tmp_path / 'ie-state')
    service = IEService(state, s3_url=ie_s3_server.url)
    port = urlsplit(service.url).port
    fleet = Fleet(tmp_path, service, hosts=2)
    runner = PlaybookRunner(str(tmp_path))
    log_path = str(tmp_path / 'restarted.log')
    restarts = []
    try:
        cmd = [os.path.join(BIN, 'ansible-playbook'), '-i', fleet.inventory, PREPARE]
        with open(log_path, 'wb') as log:
            proc = subprocess.Popen(cmd, cwd=REPO, env=runner.env(), stdout=log, stderr=subprocess.STDOUT)  # pylint: disable=consider-using-with
            try:
                for task in RESTART_AT:
                    deadline = time.monotonic() + 600
                    while proc.poll() is None and time.monotonic() < deadline:
                        with open(log_path, errors='replace') as handle:
                            if task in handle.read():
                                break
                        time.sleep(0.05)
                    if proc.poll() is not None:
                        break
                    time.sleep(0.3)
                    service.stop()
                    time.sleep(3)  # down for a while: connections refused
                    service = fleet.service = IEService(state, s3_url=ie_s3_server.url, extra_args=['--port', str(port)])
                    restarts.append(task)
                proc.wait(timeout=1200)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        with open(log_path, errors='replace') as handle:
            output = handle.read()
        runs, converged = 1, int(proc.returncode == 0)
        if not converged:  # allowed: a re-run finishes what the restart interrupted
            again = runner.run(PREPARE, inventory=fleet.inventory, expect_rc=None, timeout=1200)
            runs += 1
            converged = int(again.returncode == 0)
            assert converged, again.stdout[-4000:]
        figures = fleet.figures()
    finally:
        fleet.close()
        service.stop()
    print('restarted at %s; first run exit %d; runs %d' % (restarts, proc.returncode, runs))
    assert restarts == list(RESTART_AT), output[-4000:]
    assert_clean(figures)
    record(proof_record, 'service restarted twice mid-run', runs, converged, figures)
