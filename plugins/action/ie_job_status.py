# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ie_job_status, run in the controller's process: GetStatus for many jobs, waiting, what moved."""

from __future__ import annotations

from ansible_collections.awsie.importexport.plugins.module_utils.api import ApiError
from ansible_collections.awsie.importexport.plugins.module_utils.jobs import (
    JobError, check_wait_for, moved_since, previous_jobs, summarize_status, wait_for_statuses)
from ansible_collections.awsie.importexport.plugins.plugin_utils import mail_action
from ansible_collections.awsie.importexport.plugins.plugin_utils.api_action import ApiAction


class ActionModule(ApiAction):

    NAME = 'ie_job_status'

    def run_task(self, task, task_vars):
        p = task.params
        job_ids = task.job_ids()
        try:
            check_wait_for(p['wait_for'])  # refused before any request, as since is
            if p['since'] is not None:
                previous_jobs(p['since'])
        except JobError as exc:
            task.fail_json(msg=str(exc))

        if p['transport'] == 'email':
            results, waited_out, rounds = mail_action.statuses(task, job_ids)
        else:
            results, waited_out, rounds = wait_for_statuses(
                task.client, job_ids, wait_for=p['wait_for'], timeout=p['wait_timeout'], interval=p['poll_interval'],
                concurrency=p['concurrency'])
        jobs, failed, counts = [], [], {}
        for job_id in job_ids:
            status = results[job_id]
            if isinstance(status, ApiError):
                jobs.append(dict(job_id=job_id, error=status.as_dict()))
                failed.append(status)
                continue
            entry = summarize_status(job_id, status)
            counts[entry['progress_code']] = counts.get(entry['progress_code'], 0) + 1
            jobs.append(entry)

        result = dict(changed=False, jobs=jobs, rounds=rounds, counts=counts)
        if p['transport'] == 'email':
            result['mail'] = task.mail
        if p['wait_for']:
            result['waited_out'] = waited_out
        if p['since'] is not None:
            result['moved'] = moved_since(p['since'], [j for j in jobs if 'error' not in j])
        if failed and p['fail_on_job_error']:
            task.fail_json(msg='GetStatus failed for %d of %d job(s); the first: %s. Remove job ids that are not '
                               'this account\'s, or set fail_on_job_error=false' % (len(failed), len(job_ids), failed[0]),
                           **result)
        if waited_out:
            task.fail_json(msg='timed out after %ss waiting for %s: %d job(s) not there yet: %s' % (
                p['wait_timeout'], ', '.join(p['wait_for']), len(waited_out), ', '.join(waited_out)), **result)
        task.exit_json(**result)
