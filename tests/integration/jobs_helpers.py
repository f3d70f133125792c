"""Helpers for the Query API module tests: plays with module_defaults for the ie group, results as JSON."""
import json
import os
import re
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(os.path.abspath(os.environ.get('IE_BUILD_DIR', os.path.join(REPO, '.build'))), 'collections')
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

from ansible_collections.awsie.importexport.plugins.module_utils import api  # noqa: E402  pylint: disable=wrong-import-position

PLAY = '''
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/awsie.importexport.ie:
      access_key: "{{ lookup('ansible.builtin.env', 'IE_TEST_AK') }}"
      secret_key: "{{ lookup('ansible.builtin.env', 'IE_TEST_SK') }}"
      endpoint_url: "{{ lookup('ansible.builtin.env', 'IE_TEST_URL') }}"
      max_retry_time: 60
  tasks:
%s
    - name: Save the registered results
      ansible.builtin.copy:
        content: "{{ %s | to_json }}"
        dest: "{{ out }}"
      check_mode: false
'''


def indent(text, spaces=4):
    return '\n'.join((' ' * spaces + line) if line.strip() else line for line in text.strip('\n').split('\n'))


def run_tasks(playbook, service, tasks, extra_vars=None, **kwargs):
    """Run ``tasks`` (YAML list text) in a play on localhost against ``service``; return the registered vars."""
    names = re.findall(r'^\s*register:\s*(\w+)\s*$', tasks, re.M)
    out = os.path.join(playbook.workdir, 'results-%d.json' % len(os.listdir(playbook.workdir)))
    dump = '{%s}' % ', '.join("'%s': %s | default(None)" % (n, n) for n in names)
    variables = dict(out=out)
    variables.update(extra_vars or {})
    # Credentials through the environment, so they are not on the command line (shown at -vvvv).
    env = dict(IE_TEST_AK=service.access_key, IE_TEST_SK=service.secret_key, IE_TEST_URL=service.url)
    env.update(kwargs.pop('env', None) or {})
    proc = playbook.run(PLAY % (indent(tasks), dump), extra_vars=variables, env=env, **kwargs)
    with open(out) as handle:
        results = json.load(handle)
    results['_proc'] = proc
    return results


def quiet_client(service, access_key=None, secret_key=None, **kw):
    """A client for checking the service's state from the test (patient: faults may be in force)."""
    kw.setdefault('max_attempts', 30)
    kw.setdefault('backoff_base', 0.05)
    kw.setdefault('backoff_cap', 0.5)
    return api.QueryClient(access_key or service.access_key, secret_key or service.secret_key,
                           endpoint_url=service.url, **kw)


def all_jobs(service):
    return list(quiet_client(service).iter_jobs())
