#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: ie_job_info
short_description: List the AWS Import/Export jobs of an account
version_added: 0.1.0
description:
  - Calls ListJobs over every page (or until O(max_jobs) jobs matched) and returns the jobs, newest first.
  - Filters by job type, canceled or not, and creation date; the listing stops at the first job
    older than O(created_since), because the service lists newest first.
  - With O(include_status), adds each job's GetStatus fields (several requests at a time).
extends_documentation_fragment:
  - awsie.importexport.api
  - awsie.importexport.attributes
  - awsie.importexport.attributes.ACTION
attributes:
  check_mode:
    details: Only reads; runs the same in check mode.
options:
  max_jobs:
    description:
      - Return at most this many jobs (after filtering). Default is all.
    type: int
  page_size:
    description:
      - C(MaxJobs) per ListJobs request (1 to 1000). Default is the service's page size.
    type: int
  job_type:
    description:
      - Only jobs of this type.
    type: str
    choices: [Import, Export]
  canceled:
    description:
      - V(true) only canceled jobs, V(false) only jobs not canceled. Default is both.
    type: bool
  created_since:
    description:
      - Only jobs created at or after this ISO 8601 date or date-time (UTC unless an offset is given),
        for example V(2026-11-01) or V(2026-11-01T12:00:00Z).
    type: str
  include_status:
    description:
      - Add the GetStatus fields of each job (location, progress, carrier, tracking number, log location,
        error count) under C(status).
    type: bool
    default: false
  concurrency:
    description:
      - GetStatus requests in flight at once with O(include_status) (1 to 64).
    type: int
    default: 8
'''

EXAMPLES = r'''
- name: Jobs of the last week that are not canceled, with their status
  awsie.importexport.ie_job_info:
    created_since: "{{ '%Y-%m-%d' | strftime(now(utc=true).timestamp() - 7 * 86400) }}"
    canceled: false
    include_status: true
  register: recent

- name: The ten newest export jobs
  awsie.importexport.ie_job_info:
    job_type: Export
    max_jobs: 10
'''

RETURN = r'''
jobs:
  description: The jobs, newest first.
  returned: always
  type: list
  elements: dict
  contains:
    job_id:
      description: "Job id."
      type: str
      returned: always
      sample: 53TX4
    job_type:
      description: "Import or Export (the C(JobType) ListJobs gives)."
      type: str
      returned: always
      sample: Import
    creation_date:
      description: "When the job was created (ISO 8601)."
      type: str
      returned: always
      sample: "2026-11-23T14:00:00Z"
    is_canceled:
      description: "Whether the job was canceled."
      type: bool
      returned: always
      sample: false
    status:
      description: The GetStatus fields of the job (as in M(awsie.importexport.ie_job_status)), or C(error).
      type: dict
      returned: when O(include_status=true)
      sample: {"progress_code": "Pending", "location_code": "NotReceived", "terminal": false, "device_id": "WD-WCC4N1234567"}
  sample: [{"job_id": "53TX4", "job_type": "Import", "creation_date": "2026-11-23T14:00:00Z", "is_canceled": false}]
job_ids:
  description: The ids of RV(jobs), for M(awsie.importexport.ie_job_status).
  returned: always
  type: list
  elements: str
  sample: [53TX4, 796CK]
api_calls:
  description: Requests sent to the service, retries included, in total and per action.
  returned: always
  type: dict
  sample: {"requests": 2, "retries": 0, "by_action": {"ListJobs": 2}}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.awsie.importexport.plugins.module_utils.api_module import RUNS_ON_THE_CONTROLLER, module_kwargs


def main():
    module = AnsibleModule(**module_kwargs('ie_job_info'))
    module.fail_json(msg=RUNS_ON_THE_CONTROLLER % ('ie_job_info', 'ie_job_info'))


if __name__ == '__main__':
    main()
