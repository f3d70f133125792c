# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: fleet_discover
short_description: The Import/Export jobs to poll when nobody listed them
version_added: 0.1.0
author:
  - awsie.importexport contributors (@awsie)
description:
  - From the registered result of M(awsie.importexport.ie_job_info) run with C(include_status=true), the ids of
    every job that is alive (not canceled, not expired), and of every job that was alive in the saved poll (so a
    job that expired or was canceled since is reported once, and a long job listed no more is still followed).
options:
  _input:
    description: The registered result of M(awsie.importexport.ie_job_info), or its C(jobs) list.
    type: raw
    required: true
  saved:
    description: Saved polls (as for P(awsie.importexport.fleet_report#filter)); the most recent is used.
    type: list
    elements: raw
    default: []
'''

EXAMPLES = r'''
- name: Every live job of the account
  awsie.importexport.ie_job_info:
    include_status: true
  register: listing
  delegate_to: localhost
  run_once: true

- name: Poll them
  awsie.importexport.ie_job_status:
    job_ids: "{{ listing | awsie.importexport.fleet_discover }}"
  delegate_to: localhost
  run_once: true
'''

RETURN = r'''
_value:
  description: Job ids, in listing order, then the saved poll's.
  type: list
  elements: str
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.awsie.importexport.plugins.module_utils.fleet import FleetError, discover, newest_state


def fleet_discover(info, saved=None):
    try:
        return discover(info, newest_state(*(saved or [])))
    except FleetError as exc:
        raise AnsibleFilterError('fleet_discover: %s' % exc)


class FilterModule:
    def filters(self):
        return {'fleet_discover': fleet_discover}
