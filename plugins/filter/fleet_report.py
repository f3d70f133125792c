# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: fleet_report
short_description: The fleet view of a poll of Import/Export jobs (rows, moved, alerts, summary, state to keep)
version_added: 0.1.0
author:
  - awsie.importexport contributors (@awsie)
description:
  - Turns the registered result of M(awsie.importexport.ie_job_status) (run with C(fail_on_job_error=false)) into
    what a fleet report needs, computed in Python on the controller (P(awsie.importexport.job_status#role) uses it).
  - Per job, a row with the host and drive (from O(known), else the job sheets, else only the C(deviceId) of the
    job's manifest), location, progress, stage and percent for a progress bar, the last change, the days left
    before the 30-day expiry while the device is not received, and the tracking number.
  - What moved since O(saved) (the most recent of the saved polls given), the jobs needing action, the alerts
    (codes in O(alert_codes); V(ExpiringSoon) is a job still C(NotReceived) within O(expiry_warning_days) of
    expiring; V(FilesMissing) is a job whose reconcile found files missing), ONE alert message, the summary for
    C(set_stats), and the state to keep for the next run.
  - GetStatus errors other than an expired or canceled job (a job id the service does not know, credentials
    refused) are not rows but RV(_value.problems), with one RV(_value.problem_message).
options:
  _input:
    description: The registered result of M(awsie.importexport.ie_job_status), or its C(jobs) list.
    type: raw
    required: true
  known:
    description: Jobs with names, items with C(job_id) and optional C(host), C(drive), C(device_id) (such as
      C(job_status_jobs) or the C(drive_prepare_jobs) facts).
    type: list
    elements: dict
    default: []
  job_sheets:
    description: Paths of job sheets on the controller (JSON, a list of rows with C(job_id), C(host), C(drive),
      C(device_id)); used to name jobs not in O(known), by job id, then by C(deviceId). Files that cannot be read
      are skipped with a note in RV(_value.warnings).
    type: list
    elements: path
    default: []
  saved:
    description: Saved polls (the cached fact, the state file's text, an earlier ie_job_status result); the one
      with the latest C(polled_at) is compared with. Unreadable ones are skipped.
    type: list
    elements: raw
    default: []
  alert_codes:
    description: Codes that make an alert.
    type: list
    elements: str
    default: [InvalidSignature, MissingSignature, DeviceError, Expired, ExpiringSoon]
  expiry_warning_days:
    description: A job still C(NotReceived) with this many days or fewer before it expires is V(ExpiringSoon).
    type: float
    default: 5
  reconciled:
    description: Results of M(awsie.importexport.ie_reconcile) by job id (its C(counts)), shown in the rows and summed
      in the summary; a failed result shows as an error.
    type: dict
    default: {}
  ledger_dirs:
    description:
      - Directories where a loaded job's ledger may be, as C(<host>-<drive>.ledger.jsonl) (besides the C(ledger) key
        of a job in O(known) or the job sheets, and C(<manifest minus .yml>.ledger.jsonl)). Default the directories of
        O(job_sheets).
    type: list
    elements: path
  now:
    description: The time of the poll (ISO 8601); default is now.
    type: str
'''

EXAMPLES = r'''
- name: Poll every job and build the fleet view
  awsie.importexport.ie_job_status:
    job_ids: "{{ jobs | map(attribute='job_id') }}"
    fail_on_job_error: false
  register: poll
  delegate_to: localhost
  run_once: true

- name: Fail with one message when a job is in an alert state
  ansible.builtin.fail:
    msg: "{{ fleet.alert_message }}"
  vars:
    fleet: "{{ poll | awsie.importexport.fleet_report(known=jobs, saved=[lookup('ansible.builtin.file', 'state.json')]) }}"
  when: fleet.alerts | length > 0
  run_once: true
'''

RETURN = r'''
_value:
  description: The fleet view.
  type: dict
  contains:
    rows:
      description: One per job, sorted by host and drive; keys C(host), C(drive), C(device_id), C(job_id), C(job_type),
        C(location_code), C(progress_code), C(progress_message), C(stage), C(progress_percent), C(failed), C(changed_at),
        C(changed_at_exact), C(expires_at), C(days_left), C(carrier), C(tracking_number), C(creation_date), and
        C(reconcile) when reconciled.
      type: list
      elements: dict
    moved:
      description: Jobs whose location or progress code changed since the saved poll, with C(before) and C(after).
      type: list
      elements: dict
    needing_action:
      description: Jobs that need a person (C(job_id), C(host), C(drive), C(code), C(reason)).
      type: list
      elements: dict
    alerts:
      description: The items of RV(_value.needing_action) whose code is in O(alert_codes).
      type: list
      elements: dict
    alert_message:
      description: One message listing every alert; empty when there is none.
      type: str
    summary:
      description: Counts per progress code and location, jobs moved, alerts, jobs needing action (for C(set_stats)).
      type: dict
    state:
      description: What to keep for the next run (C(version), C(polled_at), C(previous_polled_at), C(digest), C(moved),
        C(jobs)); the saved poll itself when nothing changed.
      type: dict
    changed:
      description: Whether the fleet looks different from the saved poll (rows, days left, alerts); when not, the
        reports rendered from RV(_value.view) come out as they are.
      type: bool
    view:
      description: What the reports show as the poll - C(polled_at), C(previous_polled_at), C(first_run) and C(moved)
        of the poll that last saw a change.
      type: dict
    reconcile_targets:
      description: Jobs that reached C(Complete)/C(SuccessWithErrors), have a ledger on the controller and no saved
        reconcile result (C(job_id), C(host), C(drive), C(ledger), C(log_bucket), C(log_key)).
      type: list
      elements: dict
    problems:
      description: Jobs GetStatus failed for, other than expired or canceled ones (C(job_id), C(code), C(message)).
      type: list
      elements: dict
    problem_message:
      description: One message for RV(_value.problems) saying what to fix; empty when there is none.
      type: str
    first_run:
      description: Whether there was no saved poll to compare with.
      type: bool
    warnings:
      description: Job sheets that were not read, and why.
      type: list
      elements: str
'''

import os

from ansible.errors import AnsibleFilterError

from ansible_collections.awsie.importexport.plugins.module_utils.fleet import (
    DEFAULT_ALERTS, FleetError, fleet_report as _fleet_report, newest_state, read_job_sheets)


def fleet_report(poll, known=None, job_sheets=None, saved=None, alert_codes=None, expiry_warning_days=5,
                 reconciled=None, now=None, ledger_dirs=None):
    rows, warnings = read_job_sheets(job_sheets or [])
    if ledger_dirs is None:
        ledger_dirs = sorted({os.path.dirname(os.path.expanduser(str(path))) for path in job_sheets or []})
    try:
        report = _fleet_report(poll, known=known or [], sheet_rows=rows, previous=newest_state(*(saved or [])),
                               now=now or None, alert_codes=DEFAULT_ALERTS if alert_codes is None else alert_codes,
                               expiry_warning_days=float(expiry_warning_days), reconciled=reconciled or {},
                               ledger_dirs=ledger_dirs)
    except (FleetError, ValueError) as exc:
        raise AnsibleFilterError('fleet_report: %s' % exc)
    report['warnings'] = warnings
    return report


class FilterModule:
    def filters(self):
        return {'fleet_report': fleet_report}
