"""Molecule scenarios (extensions/molecule/<role>) run with ``molecule test`` against the multi-host test bed.

Delegated: the test brings the bed up (SSH hosts in network namespaces, tests/support/testbed.py) and
the local Import/Export service (its port forwarded into the bed's controller namespace), then runs
molecule there - create, converge, idempotence (changed=0), verify, destroy.
"""
import os
import re
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from tests.integration.fixtures import REPO
from tests.integration.jobs_helpers import all_jobs

BIN = os.path.dirname(sys.executable)
pytestmark = pytest.mark.root


def molecule(bed, service, scenario, tmp_path, **env):
    """``molecule test -s SCENARIO`` in the bed's controller namespace; returns the process (asserted to pass)."""
    run_env = bed.ansible_env
    run_env.update({'AWS_URL': service.url, 'AWS_ACCESS_KEY_ID': service.access_key,
                    'AWS_SECRET_ACCESS_KEY': service.secret_key, 'HOME': str(tmp_path / 'home'),
                    'ANSIBLE_COLLECTIONS_PATH': os.environ['ANSIBLE_COLLECTIONS_PATH'], 'NO_COLOR': '1'})
    run_env.update(env)
    proc = subprocess.run(bed.ctl_command([os.path.join(BIN, 'molecule'), 'test', '-s', scenario]), cwd=REPO,
                          env=run_env, capture_output=True, text=True, check=False, timeout=1200)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-12000:]
    for step in ('syntax', 'create', 'converge', 'idempotence', 'verify', 'destroy'):
        assert '[%s > %s] Executed: Successful' % (scenario, step) in proc.stderr, step
    return proc


def recaps(stdout):
    """{host: changed} of each PLAY RECAP in order (create, converge, idempotence, verify, destroy)."""
    return [{m.group(1): int(m.group(2)) for m in re.finditer(r'^(\S+) +: ok=\d+ +changed=(\d+) ', part, re.M)}
            for part in stdout.split('PLAY RECAP')[1:]]


def test_molecule_job_status_converges_is_idempotent_and_verifies_on_the_test_bed(
        testbed_factory, ie_service, tmp_path):
    bed = testbed_factory(hosts=2, fstypes=['ext4'], groups=['ie_drive_hosts'])
    bed.forward_port(urlsplit(ie_service.url).port)
    proc = molecule(bed, ie_service, 'job_status', tmp_path, IE_MOLECULE_BUCKET=ie_service.new_bucket('molecule'))
    create, converge, idempotence = recaps(proc.stdout)[:3]
    assert converge['host01'] > 0 and idempotence == {'host01': 0, 'host02': 0}, proc.stdout[-6000:]
    # destroy canceled the scenario's jobs
    jobs = all_jobs(ie_service)
    assert len(jobs) == 2 and all(job['is_canceled'] for job in jobs)


def test_molecule_drive_prepare_converges_is_idempotent_and_verifies_on_the_test_bed(
        testbed_factory, ie_service, tmp_path):
    bed = testbed_factory(hosts=2, fstypes=['ext4', 'fat32'], groups=['ie_drive_hosts'], drive_size_mb=48)
    bed.forward_port(urlsplit(ie_service.url).port)
    proc = molecule(bed, ie_service, 'drive_prepare', tmp_path, IE_MOLECULE_BUCKET=ie_service.new_bucket('molecule'))
    create, prepare, converge, idempotence = recaps(proc.stdout)[:4]
    assert converge['host01'] > 0 and converge['host02'] > 0
    assert idempotence == {'host01': 0, 'host02': 0}, proc.stdout[-8000:]
    jobs = all_jobs(ie_service)
    assert len(jobs) == 2 and all(job['is_canceled'] for job in jobs)
