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
version_added: 0.1.0
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
  - ansible.builtin.action_common_attributes.flow
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
      - C(record_path), a file on the host where the job id is kept while the job runs; default
        C(item.record_path). A job given with C(record_path) and no job id is one an interrupted
        run left behind - the job recorded there, if it still runs, is waited for.
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
    description: Internal - the directory of the async status files; set by the action plugin from the shell's C(async_dir).
    type: path
    default: ~/.ansible_async
notes:
  - A job keeps running on the host when the play is interrupted (Ctrl-C). With C(record_path), a
    re-run can wait for it before it starts the same work again.
  - A job whose processes are gone without a result (killed, or the host restarted) is reported as
    failed, C(stopped without a result), instead of being waited for until O(timeout).
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

from ansible_collections.awsie.importexport.plugins.module_utils import wait_options


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


def status(async_dir, jid, adopting):
    """The job's status file: (finished, result or None). ``adopting``: a job of an earlier run whose
    status file is gone simply ended (nothing to wait for)."""
    path = os.path.join(async_dir, jid)
    if not os.path.exists(path):
        if adopting:
            return True, {}
        return True, dict(failed=True, msg='the status file of job %s is gone (%s); the host may have restarted, '
                                           'run the play again' % (jid, path))
    data = _read_json(path)
    if not isinstance(data, dict) or data.get('started') and not data.get('finished'):
        if not gone(jid, path):
            return False, None
        data = _read_json(path)  # it may have ended between the two looks
        if not isinstance(data, dict) or data.get('started') and not data.get('finished'):
            return True, dict(failed=True, msg='job %s stopped without a result (its process was killed, or the host '
                                               'restarted); run the play again to finish the work' % jid)
    return True, data


def gone(jid, path, grace=10, proc='/proc'):
    """True when no process runs job ``jid`` (``<id>.<pid>``: async_wrapper's two processes keep ``<id>`` as an
    argument while it runs). Unknown (False) without /proc or within ``grace`` seconds of its start."""
    try:
        if time.time() - os.stat(path).st_mtime < grace:
            return False
        pids = [p for p in os.listdir(proc) if p.isdigit()]
    except OSError:
        return False
    needle = (jid.rsplit('.', 1)[0] if jid.rsplit('.', 1)[-1].isdigit() else jid).encode()
    for pid in pids:
        try:
            with open(os.path.join(proc, pid, 'cmdline'), 'rb') as handle:
                if needle in handle.read().split(b'\0'):
                    return False
        except OSError:
            continue
    return bool(pids)


def _read_record(path):
    try:
        with open(path) as handle:
            return handle.read().strip() or None
    except OSError:
        return None


def _write_record(path, jid):
    if _read_record(path) == jid:
        return
    directory = os.path.dirname(path)
    if directory and not os.path.isdir(directory):
        os.makedirs(directory, mode=0o700)
    tmp = '%s.%d.tmp' % (path, os.getpid())
    with open(tmp, 'w') as handle:
        handle.write(jid + '\n')
    os.replace(tmp, path)


def _forget(async_dir, jid, record):
    for path in (os.path.join(async_dir, jid), record if record and _read_record(record) == jid else None):
        if path and os.path.exists(path):
            try:
                os.unlink(path)
            except OSError:
                pass


def answer(async_dir, job):
    jid, record = job.get('jid'), job.get('record_path')
    adopting = not jid
    if adopting:
        jid = _read_record(record) if record else None
        if not jid:
            return dict(key=job.get('key'), jid=None, name=job.get('name'), finished=True, result={}, progress=None)
    elif record:
        _write_record(record, jid)
    finished, result = status(async_dir, jid, adopting)
    progress = _read_json(job['progress_path']) if job.get('progress_path') else None
    if not finished and isinstance(progress, dict) and isinstance(progress.get('updated'), (int, float)):
        try:
            started = os.stat(os.path.join(async_dir, jid)).st_mtime
        except OSError:
            started = None
        if started and progress['updated'] < started - 1:
            progress = None  # left by an earlier load; this one has not written yet
    return dict(key=job.get('key'), jid=jid, name=job.get('name'), finished=finished, result=result, adopted=adopting,
                progress=progress)


def main():
    module = AnsibleModule(
        argument_spec=wait_options.argument_spec(),
        supports_check_mode=True,
    )
    async_dir = module.params['async_dir']
    deadline = time.monotonic() + max(module.params['wait'], 0)
    while True:
        try:
            answers = [answer(async_dir, job) for job in module.params['jobs']]
        except OSError as exc:
            module.fail_json(msg='cannot record or read the state of the jobs: %s' % exc)
        if any(a['finished'] for a in answers) or time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    for item, job in zip(answers, module.params['jobs']):
        if item['finished'] and item['jid']:
            _forget(async_dir, item['jid'], job.get('record_path'))
    module.exit_json(changed=False, jobs=answers)


if __name__ == '__main__':
    main()
