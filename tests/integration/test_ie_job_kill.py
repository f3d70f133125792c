"""A run killed while an API task waits for the service leaves the secret key in no file.

Ansible keeps a module's arguments (the secret key among them) in the ``ansible-tmp-*``
directory of the module until the task ends; a run killed in between leaves them there. The
API modules run in the controller's own process instead (action plugins), so nothing is
written. The service is made slow (latency fault) so the task is surely in flight when the
whole run is killed with SIGKILL, as a cancelled CI job or the OOM killer would.
"""
import json
import os
import signal
import subprocess
import time
import uuid

import pytest
import requests

from tests.integration.fixtures import BIN, REPO
from tests.integration.jobs_helpers import indent
from tests.integration.service_fixtures import DEMO_ACCESS_KEY, import_manifest

ADMIN_TOKEN = 'kill-test-admin-token'

PLAY = '''
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/awsie.importexport.ie:
      access_key: "{{ lookup('ansible.builtin.env', 'IE_TEST_AK') }}"
      secret_key: "{{ lookup('ansible.builtin.env', 'IE_TEST_SK') }}"
      endpoint_url: "{{ lookup('ansible.builtin.env', 'IE_TEST_URL') }}"
      read_timeout: 120
  tasks:
%s
'''

TASKS = {
    'ie_job': ('ListJobs', '''
- name: Create a job while the service is slow
  awsie.importexport.ie_job:
    manifest_content: "{{ manifest }}"
'''),
    'ie_job_status': ('GetStatus', '''
- name: Poll while the service is slow
  awsie.importexport.ie_job_status:
    job_ids: [ABCDE]
'''),
}


def admin_count(service, action):
    response = requests.post(service.url + '_admin/stats', headers={'X-Admin-Token': ADMIN_TOKEN}, data=b'{}',
                             timeout=10)
    response.raise_for_status()
    return response.json()['by_action'].get(action, 0)


def files_holding(needle, roots, skip=()):
    """Every regular file under ``roots`` whose bytes contain ``needle`` (symlinks not followed)."""
    found = []
    for root in roots:
        for directory, dirs, names in os.walk(root):
            dirs[:] = [d for d in dirs if os.path.join(directory, d) not in skip]
            for name in names:
                path = os.path.join(directory, name)
                if not os.path.isfile(path) or os.path.islink(path):
                    continue
                try:
                    with open(path, 'rb') as handle:
                        if needle in handle.read():
                            found.append(path)
                except OSError:
                    continue
    return found


@pytest.mark.parametrize('module', sorted(TASKS))
def test_a_run_killed_during_an_api_task_leaves_no_secret_key_on_disk(module, playbook, ie_service_factory, tmp_path):
    secret = 'KillTest%sSecretKey' % uuid.uuid4().hex  # unique: found only where this run put it
    service = ie_service_factory(accounts=[(DEMO_ACCESS_KEY, secret)], admin_token=ADMIN_TOKEN, faults=['latency=60'])
    action, tasks = TASKS[module]
    path = tmp_path / 'play.yml'
    path.write_text(PLAY % indent(tasks))
    manifest = import_manifest(DEMO_ACCESS_KEY, 'kill-bucket', device_id='KILL-1')
    env = playbook.env(dict(IE_TEST_AK=DEMO_ACCESS_KEY, IE_TEST_SK=secret, IE_TEST_URL=service.url))
    cmd = [os.path.join(BIN, 'ansible-playbook'), '-i', playbook.inventory, str(path), '-e',
           json.dumps(dict(manifest=manifest))]
    with open(tmp_path / 'run.log', 'wb') as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,  # pylint: disable=consider-using-with
                                start_new_session=True)
        try:
            deadline = time.monotonic() + 90
            while admin_count(service, action) < 1:
                assert proc.poll() is None, 'the run ended before its request reached the service'
                assert time.monotonic() < deadline, 'the request never reached the service'
                time.sleep(0.1)
            time.sleep(0.5)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the whole run: ansible-playbook, its workers, a module
            except ProcessLookupError:
                pass  # it had ended already (the assertion above says why)
            proc.wait(timeout=30)

    roots = [str(tmp_path), env['ANSIBLE_HOME'], os.path.expanduser('~/.ansible/tmp')]
    roots = [r for r in roots if os.path.isdir(r)]
    leaked = files_holding(secret.encode(), roots, skip={service.state_dir})
    assert leaked == [], 'the secret key was left on disk in %s' % leaked
    assert secret.encode() not in (tmp_path / 'run.log').read_bytes()
