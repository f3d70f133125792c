#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: ie_job_status
short_description: Status of many AWS Import/Export jobs in one task, optionally waiting for them
version_added: 0.1.0
description:
  - Calls GetStatus for every job in O(job_ids), several at a time (O(concurrency)), over kept-alive
    connections, and returns location, progress, carrier, tracking number, log location, error
    count and creation date per job.
  - With O(wait_for), polls until every job reached one of the given progress codes (or any
    terminal code), asking again only for the jobs not there yet.
  - With O(since), the result of an earlier run, reports which jobs moved.
  - Poll a fleet in one task on the controller (C(run_once) or a play on C(localhost)), not one task per host.
  - With O(transport=email), one C(GET STATUS) mail per job (all sent first, the replies then waited for
    together); each reply's C(DEVICE CODE), C(JOB CODE) and the other fields fill the same keys. An C(ERROR)
    reply (such as C(InvalidJobId)) or no reply within O(reply_timeout) is that job's RV(jobs[].error).
extends_documentation_fragment:
  - awsie.importexport.api
  - awsie.importexport.mail
  - awsie.importexport.attributes
  - awsie.importexport.attributes.ACTION
attributes:
  check_mode:
    details: Only reads; runs the same in check mode (with O(transport=email) the C(GET STATUS) mails are sent too).
options:
  job_ids:
    description:
      - Job ids to query, case-insensitive; duplicates are asked once.
    type: list
    elements: str
    required: true
  concurrency:
    description:
      - GetStatus requests in flight at once (1 to 64).
    type: int
    default: 8
  wait_for:
    description:
      - Progress codes to wait for, such as V(InProgress) or V(Complete); V(terminal) means any
        code except Pending and InProgress.
      - Without it, the status is read once.
    type: list
    elements: str
  wait_timeout:
    description:
      - Seconds to wait for O(wait_for) before failing; the failure lists the jobs not there yet.
      - From 0 to 2592000 (30 days).
    type: float
    default: 3600
  poll_interval:
    description:
      - Seconds between polling rounds while waiting, from 0 to 86400.
    type: float
    default: 60
  since:
    description:
      - The registered result of an earlier run of this module (or its RV(jobs) list); RV(moved)
        then lists the jobs whose location or progress code changed.
      - Anything else (a string, a list of other things) is an error, checked before any request.
    type: raw
  fail_on_job_error:
    description:
      - Fail the task when GetStatus fails for a job (unknown, expired or canceled job id). When
        V(false), such jobs carry an C(error) key instead.
    type: bool
    default: true
'''

EXAMPLES = r'''
- name: Poll every drive of the fleet in one task on the controller
  awsie.importexport.ie_job_status:
    job_ids: "{{ ansible_play_hosts | map('extract', hostvars, 'ie_job_id') | list }}"
    since: "{{ previous_poll | default(omit) }}"
  run_once: true
  register: fleet_poll

- name: Report the jobs that moved since the last run
  ansible.builtin.debug:
    msg: "{{ item.job_id }}: {{ item.before.progress_code }} -> {{ item.after.progress_code }}"
  loop: "{{ fleet_poll.moved | default([]) }}"  # no moved on the first run, without since
  run_once: true

- name: Wait until the data of two jobs is loaded (or they failed)
  awsie.importexport.ie_job_status:
    job_ids: [53TX4, 796CK]
    wait_for: [terminal]
    wait_timeout: 86400
    poll_interval: 900
'''

RETURN = r'''
jobs:
  description: One entry per job, in the order asked.
  returned: always
  type: list
  elements: dict
  contains:
    job_id:
      description: "Job id (upper case)."
      type: str
      returned: always
      sample: 53TX4
    job_type:
      description: "Import or Export."
      type: str
      returned: success
      sample: Import
    location_code:
      description: "Where the drive is (NotReceived, AtAWS, Returned)."
      type: str
      returned: success
      sample: AtAWS
    location_message:
      description: "Location in words."
      type: str
      returned: success
      sample: AWS has received your device.
    progress_code:
      description: "Progress of the job; unknown codes are passed on as they are."
      type: str
      returned: success
      sample: InProgress
    progress_message:
      description: "Progress in words."
      type: str
      returned: success
      sample: Your job is in progress.
    carrier:
      description: "Return carrier."
      type: str
      returned: success
      sample: UPS
    tracking_number:
      description: "Return tracking number."
      type: str
      returned: success
      sample: 1Z999AA10123456784
    log_bucket:
      description: "Bucket of the job log."
      type: str
      returned: success
      sample: my-logs
    log_key:
      description: "Key of the job log."
      type: str
      returned: success
      sample: logs/import-log-53TX4
    error_count:
      description: "Files that failed."
      type: int
      returned: success
      sample: 0
    creation_date:
      description: "When the job was created (ISO 8601)."
      type: str
      returned: success
      sample: "2026-11-23T14:00:00Z"
    terminal:
      description: "Whether the progress code is terminal."
      type: bool
      returned: success
      sample: false
    device_id:
      description: "The C(deviceId) of the job's current manifest (the drive it is for); no other manifest field is returned."
      type: str
      returned: success
      sample: WD-WCC4N1234567
    error:
      description: "Code, message and request id when GetStatus failed for this job."
      type: dict
      returned: on a job error
      sample: {code: InvalidJobIdException}
  sample: [{"job_id": "53TX4", "progress_code": "Pending", "location_code": "NotReceived", "terminal": false}]
moved:
  description: Jobs whose location or progress code differs from O(since), with before and after codes.
  returned: when O(since) is given
  type: list
  elements: dict
  sample: [{"job_id": "53TX4", "new": false, "before": {"location_code": "NotReceived", "progress_code": "Pending"},
            "after": {"location_code": "AtAWS", "progress_code": "InProgress"}}]
waited_out:
  description: Jobs that did not reach O(wait_for) in time.
  returned: when O(wait_for) is given
  type: list
  elements: str
  sample: [796CK]
rounds:
  description: Polling rounds done.
  returned: always
  type: int
  sample: 1
counts:
  description: Number of jobs per progress code.
  returned: always
  type: dict
  sample: {"Pending": 12, "Complete": 3}
api_calls:
  description: Requests sent to the service, retries included, in total and per action.
  returned: always
  type: dict
  sample: {"requests": 2, "retries": 0, "by_action": {"GetStatus": 2}}
mail:
  description:
    - With O(transport=email), the C(GET STATUS) mails sent (C(sent)) and the replies read (C(received)), with the
      keys described in RV(awsie.importexport.ie_job#module:mail).
  returned: when O(transport=email)
  type: dict
  sample: {"sent": [{"message_id": "<get.1795466702113505202.4f1c0a7d9b2e6c31@example.com>", "subject": "GET STATUS",
                     "to": "awsimportexport@amazon.com", "date": "2026-11-23T20:45:02Z"}],
           "received": [{"message_id": "<reply.1795466702517780111.9a0e55c3d1b84f02@amazon.com>", "subject": "RE: GET STATUS",
                         "status": "ERROR", "code": "InvalidJobId", "in_reply_to": "<get.1795466702113505202.4f1c0a7d9b2e6c31@example.com>"}]}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.awsie.importexport.plugins.module_utils.api_module import RUNS_ON_THE_CONTROLLER, module_kwargs


def main():
    module = AnsibleModule(**module_kwargs('ie_job_status'))
    module.fail_json(msg=RUNS_ON_THE_CONTROLLER % ('ie_job_status', 'ie_job_status'))


if __name__ == '__main__':
    main()
