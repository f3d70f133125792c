"""playbooks/prepare_drives.yml killed (SIGKILL to ansible-playbook and its workers, as a cancelled
CI job or the OOM killer would) at points spread over its run, then run again.

``make proof`` (30 points): a first run on fresh drives is timed; then for each point, on fresh
loop drives and a fresh local service, a run is killed at ``(i + 0.5) / 30`` of that time and run
again. ``make test`` (3 points, cheaper): one fleet, three runs in a row, killed as they start the
load, the job, the SIGNATURE, then a last run. Either way, after the re-run: it converged (exit 0), the service
holds exactly one job per drive, no SIGNATURE is partial (each matches its job's manifest and
key), no file on a drive differs from the source or from the ledger, none is left under a load's
temporary name.
"""
import os
import signal
import subprocess
import time

import pytest

from tests.integration.test_drive_prepare import PREPARE, recap
from tests.support.playbooks import BIN, REPO, PlaybookRunner
from tests.support.proof_fleet import Fleet

pytestmark = [pytest.mark.root, pytest.mark.slow]
FIGURES = ('jobs', 'drives', 'signatures_partial', 'signatures_missing', 'files_differ', 'temp_files')


def kill_after(runner, fleet, delay, log_path, task=None):
    """Start prepare_drives.yml, SIGKILL its process group ``delay`` s after it starts (or after it
    starts the task whose name contains ``task``); returns the last task it reached."""
    cmd = [os.path.join(BIN, 'ansible-playbook'), '-i', fleet.inventory, PREPARE]
    with open(log_path, 'wb') as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=runner.env(), stdout=log, stderr=subprocess.STDOUT,  # pylint: disable=consider-using-with
                                start_new_session=True)
        try:
            deadline = time.monotonic() + 600
            while task and proc.poll() is None and time.monotonic() < deadline:
                with open(log_path, errors='replace') as handle:
                    if 'TASK [%s' % task in handle.read().replace('awsie.importexport.drive_prepare : ', ''):
                        break
                time.sleep(0.05)
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            pass
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    with open(log_path, errors='replace') as handle:
        reached = [line[6:line.index(']')] for line in handle if line.startswith('TASK [')]
    return reached[-1] if reached else '(before the first task)'


def rerun(runner, fleet):
    """Run to the end: (converged, figures)."""
    again = runner.run(PREPARE, inventory=fleet.inventory, expect_rc=None, timeout=900)
    converged = again.returncode == 0 and all(r['failed'] == 0 for r in recap(again.stdout).values())
    figures = fleet.figures()
    if not converged:
        figures['problems'].append('re-run exit %d: %s' % (again.returncode, again.stdout[-2000:]))
    return converged, figures


def in_a_fleet(workdir, service_factory, work):
    os.makedirs(str(workdir))
    service = service_factory()
    fleet = Fleet(workdir, service)
    try:
        return work(PlaybookRunner(str(workdir)), fleet)
    finally:
        fleet.close()
        service.stop()


def check(figures, where, problems):
    if figures['jobs'] != figures['drives'] or figures['signatures_missing']:
        problems.append('%s: %d jobs for %d drives, %d SIGNATURE missing'
                        % (where, figures['jobs'], figures['drives'], figures['signatures_missing']))
    problems += ['%s: %s' % (where, p) for p in figures['problems']]


def record(proof_record, points, converged, totals, seconds=None):
    if seconds is not None:
        proof_record('first run (no kill)', round(seconds, 1), 's')
    proof_record('kill points', points)
    proof_record('runs that converged', converged)
    proof_record('jobs created', totals['jobs'])
    proof_record('drives', totals['drives'])
    proof_record('SIGNATURE files partial', totals['signatures_partial'])
    proof_record('files on the drive that differ from the ledger', totals['files_differ'])
    proof_record('files left under a temporary load name', totals['temp_files'])


FAST_POINTS = (('Start loading every import drive in the background', 0.5), ('Create the jobs', 0.3),
               ('Write the SIGNATUREs', 0.2))


def test_prepare_drives_killed_three_times_in_a_row_converges_on_the_next_run(tmp_path, ie_service_factory, proof_record):
    """make test: one fleet; the run is killed as it starts the load, then the re-run as it creates
    the job, then the next as it writes the SIGNATURE; the last run converges."""
    def work(runner, fleet):
        reached = [kill_after(runner, fleet, delay, str(tmp_path / ('killed-%d.log' % n)), task)
                   for n, (task, delay) in enumerate(FAST_POINTS)]
        return reached, rerun(runner, fleet)

    reached, (converged, figures) = in_a_fleet(tmp_path / 'fleet', ie_service_factory, work)
    print('killed in tasks %s; then converged=%s %s' % (reached, converged, dict((k, figures[k]) for k in FIGURES)))
    problems = []
    check(figures, 'after 3 kills (%s)' % ', '.join(reached), problems)
    record(proof_record, 3, int(converged), figures)
    assert problems == [] and converged
    assert (figures['jobs'], figures['signatures_partial'], figures['files_differ'], figures['temp_files']) == (
        figures['drives'], 0, 0, 0)


@pytest.mark.proof_full
def test_prepare_drives_killed_at_30_points_spread_over_its_run_converges_on_rerun(tmp_path, ie_service_factory, proof_record):
    points = int(os.environ.get('IE_PROOF_KILL_POINTS', '30'))  # fewer only to try the test itself

    def timed(runner, fleet):
        started = time.monotonic()
        proc = runner.run(PREPARE, inventory=fleet.inventory)
        assert all(r['failed'] == 0 for r in recap(proc.stdout).values())
        return time.monotonic() - started, fleet.figures()

    seconds, figures = in_a_fleet(tmp_path / 'first', ie_service_factory, timed)
    assert (figures['jobs'], figures['signatures_partial'], figures['signatures_missing'], figures['files_differ']) == (
        figures['drives'], 0, 0, 0), figures
    totals = dict((k, 0) for k in FIGURES)
    converged_runs, problems = 0, []
    for index in range(points):
        delay = seconds * (index + 0.5) / points

        def work(runner, fleet, delay=delay, index=index):
            return kill_after(runner, fleet, delay, str(tmp_path / ('killed-%02d.log' % index))), rerun(runner, fleet)

        reached, (converged, figures) = in_a_fleet(tmp_path / ('point%02d' % index), ie_service_factory, work)
        print('kill at %.1f s of %.1f (task %s): converged=%s %s'
              % (delay, seconds, reached, converged, dict((k, figures[k]) for k in FIGURES)))
        converged_runs += int(converged)
        for key in FIGURES:
            totals[key] += figures[key]
        check(figures, 'point %d (%.1f s, %s)' % (index, delay, reached), problems)
    record(proof_record, points, converged_runs, totals, seconds)
    assert problems == []
    assert converged_runs == points and totals['jobs'] == totals['drives']
    assert totals['signatures_partial'] == totals['files_differ'] == totals['temp_files'] == 0
