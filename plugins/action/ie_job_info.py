# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ie_job_info, run in the controller's process: the account's jobs over every ListJobs page."""

from __future__ import annotations

from ansible_collections.awsie.importexport.plugins.module_utils.api import ApiError
from ansible_collections.awsie.importexport.plugins.module_utils.jobs import (
    fetch_statuses, list_jobs, parse_time, summarize_status)
from ansible_collections.awsie.importexport.plugins.plugin_utils.api_action import ApiAction


class ActionModule(ApiAction):

    NAME = 'ie_job_info'

    def run_task(self, task, task_vars):
        p = task.params
        if p['created_since'] is not None:
            try:
                parse_time(p['created_since'])
            except ValueError:
                task.fail_json(msg='created_since %r is not an ISO 8601 date or date-time such as 2026-11-01 or '
                                   '2026-11-01T12:00:00Z' % p['created_since'])
        try:
            jobs = list_jobs(task.client, max_jobs=p['max_jobs'], job_type=p['job_type'], canceled=p['canceled'],
                             created_since=p['created_since'], page_size=p['page_size'])
        except ApiError as exc:
            task.fail_api(exc, jobs=[])
        jobs = [dict(job_id=j.get('job_id'), job_type=j.get('job_type'), creation_date=j.get('creation_date'),
                     is_canceled=bool(j.get('is_canceled'))) for j in jobs]
        if p['include_status']:
            statuses = fetch_statuses(task.client, [j['job_id'] for j in jobs], p['concurrency'])
            for job in jobs:
                status = statuses[job['job_id']]
                job['status'] = (dict(error=status.as_dict()) if isinstance(status, ApiError)
                                 else summarize_status(job['job_id'], status))
        task.exit_json(jobs=jobs, job_ids=[j['job_id'] for j in jobs])
