#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: ie_wait
short_description: Wait for a host's background loads and show their progress
version_added: 0.2.0
description:
  - Waits until the asynchronous jobs of this host (tasks started with C(async) and C(poll=0), such
    as M(awsie.importexport.ie_load)) have finished, and prints each one's progress - files, bytes,
    rate and time left, read from its progress file - in the play output every O(interval) seconds.
  - Every host waits at the same time (one worker per host, up to the play's C(forks)), so a fleet
    shows all its loads side by side.
  - Returns each job's own result, as M(ansible.builtin.async_status) would, and fails listing the
    jobs that failed. The finished jobs' status files are removed from the host.
  - The part on the managed host reads the status and progress files and returns early when a job
    finishes, so one request per host every few seconds is all it costs.
author:
  - awsie.importexport contributors (@awsie)
extends_documentation_fragment:
  - awsie.importexport.attributes
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    details: Waits and reads as in a real run; the jobs themselves decide what check mode means for them.
options:
  jobs:
    description:
      - The jobs to wait for - the registered result of the task that started them, its
        C(results) when that task had a loop (items without a job id, such as skipped ones, are
        left out), or dicts with these keys.
      - C(jid) (or C(ansible_job_id)), the job id.
      - C(name), a name for the output, such as the drive's name; default C(item.name), then the job id.
      - C(progress_path), a JSON file on the host the job writes its progress to (keys such as
        C(files_done), C(files_total), C(bytes_done), C(bytes_total), C(elapsed)); default
        C(item.progress_path).
    type: list
    elements: dict
    required: true
  interval:
    description: Seconds between progress lines.
    type: int
    default: 30
  timeout:
    description: Seconds to wait in all; then the task fails listing the jobs still running (they go on).
    type: int
    default: 172800
  wait:
    description: Internal - seconds the part on the host waits for a change before it answers.
    type: float
    default: 5
  async_dir:
    description: Internal - the directory of the async status files; set by the action plugin.
    type: path
notes:
  - A job keeps running on the host when the play is interrupted; see the role's documentation for
    what a re-run does with it.
seealso:
  - module: ansible.builtin.async_status
'''

EXAMPLES = r'''
- name: Start loading every drive of the host
  awsie.importexport.ie_load:
    src: "{{ item.data_src }}"
    dest: "/mnt/ie/{{ item.name }}"
    progress_path: "/mnt/ie/.{{ item.name }}.progress"
  loop: "{{ drives }}"
  async: 86400
  poll: 0
  register: started

- name: Wait for the loads, showing progress every 30 s
  awsie.importexport.ie_wait:
    jobs: "{{ started.results }}"
'''

RETURN = r'''
results:
  description: One item per job - C(name), C(jid), C(finished), C(elapsed) (seconds), C(result) (the job's own result).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "d1", "jid": "j123456.789", "finished": true, "elapsed": 42.5, "result": {"changed": true, "copied": 12}}]
elapsed:
  description: Seconds waited.
  returned: always
  type: float
  sample: 42.5
'''

import json
import os
import time

from ansible.module_utils.basic import AnsibleModule


def _read_json(path):
    try:
        with open(path, 'rb') as handle:
            data = handle.read()
    except OSError:
        return None
    try:
        return json.loads(data.decode('utf-8'))
    except ValueError:
        return None


def status(async_dir, job):
    """The job's status file: (finished, result or None)."""
    path = os.path.join(async_dir, str(job['jid']))
    if not os.path.exists(path):
        return True, dict(failed=True, msg='the status file of job %s is gone (%s); the host may have restarted, '
                                           'run the play again' % (job['jid'], path))
    data = _read_json(path)
    if not isinstance(data, dict) or data.get('started') and not data.get('finished'):
        return False, None
    return True, data


def main():
    module = AnsibleModule(
        argument_spec=dict(
            jobs=dict(type='list', elements='dict', required=True),
            interval=dict(type='int', default=30),
            timeout=dict(type='int', default=172800),
            wait=dict(type='float', default=5),
            async_dir=dict(type='path'),
        ),
        supports_check_mode=True,
    )
    async_dir = module.params['async_dir'] or os.path.expanduser('~/.ansible_async')
    deadline = time.monotonic() + max(module.params['wait'], 0)
    while True:
        answers = []
        for job in module.params['jobs']:
            finished, result = status(async_dir, job)
            answers.append(dict(jid=job['jid'], name=job.get('name'), finished=finished, result=result,
                                progress=_read_json(job['progress_path']) if job.get('progress_path') else None))
        if any(a['finished'] for a in answers) or time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    for answer in answers:
        if answer['finished'] and os.path.exists(os.path.join(async_dir, answer['jid'])):
            try:
                os.unlink(os.path.join(async_dir, answer['jid']))
            except OSError:
                pass
    module.exit_json(changed=False, jobs=answers)


if __name__ == '__main__':
    main()
