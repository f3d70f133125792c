# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``transport: email`` for the action plugins of ie_job and ie_job_status: the task's mail options
made a Mailbox, the rules of ``mail_jobs`` run on it, and what was sent and received put in the
result (``mail``). Passwords are ``no_log`` options, so ApiTask masks them in every output; the
mail library never puts them in a message either."""

from __future__ import annotations

import time

from ansible_collections.awsie.importexport.plugins.module_utils.api_errors import ApiError
from ansible_collections.awsie.importexport.plugins.module_utils.jobs import JobError
from ansible_collections.awsie.importexport.plugins.module_utils.mail import MANIFEST_NAME
from ansible_collections.awsie.importexport.plugins.module_utils.mail_client import MailError, Mailbox, MailSettings
from ansible_collections.awsie.importexport.plugins.module_utils.mail_jobs import MailJobs


def _iso(epoch):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(epoch)) if epoch else None


def mail_summary(box):
    """What a task sent and received: Message-IDs, subjects, dates; reply status and code."""
    sent = [dict(item, date=_iso(item.get('date'))) for item in box.sent]
    return dict(sent=sent, received=list(box.received))


def _mailbox(task):
    try:
        settings = MailSettings.from_params(task.params, timeout=task.params.get('connect_timeout') or 30)
    except ValueError as exc:
        task.fail_json(msg=str(exc), action='none')
    return Mailbox(settings)


def _run(task, box, work, **facts):
    try:
        return work()
    except MailError as exc:
        task.fail_json(msg=str(exc), error=exc.as_dict(), mail=mail_summary(box), **facts)
    except (ApiError, JobError) as exc:
        task.fail_api(exc, mail=mail_summary(box), **facts)
    finally:
        box.close()
    return None


def ie_job(task, manifest, job_id, manifest_src=None):
    """ie_job by mail: exits the task with the result (or fails it)."""
    p = task.params
    box = _mailbox(task)
    jobs = MailJobs(box, p.get('secret_key'))
    name = (manifest_src or '').replace('\\', '/').rsplit('/', 1)[-1] or MANIFEST_NAME

    def work():
        if p['state'] == 'present':
            return jobs.ensure_present(p['job_type'], manifest, job_id, task.check_mode, name)
        return jobs.ensure_absent(job_id, manifest, p['job_type'] if job_id is None else None, task.check_mode)

    result = _run(task, box, work, action='none', job_id=job_id)
    result['mail'] = mail_summary(box)
    task.exit_json(**result)


def statuses(task, job_ids):
    """ie_job_status by mail: ``(results, waited_out, rounds)`` as jobs.wait_for_statuses; the mails
    go to ``task.mail``."""
    p = task.params
    box = _mailbox(task)
    jobs = MailJobs(box, p.get('secret_key'))
    found = _run(task, box, lambda: jobs.wait_for_statuses(job_ids, wait_for=p['wait_for'], timeout=p['wait_timeout'],
                                                           interval=p['poll_interval']))
    task.mail = mail_summary(box)
    return found
