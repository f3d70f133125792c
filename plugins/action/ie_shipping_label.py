# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ie_shipping_label, run in the controller's process: dest (a controller path) is checked
before a label is asked for, because every label carries a new tracking number."""

from __future__ import annotations

from ansible_collections.awsie.importexport.plugins.module_utils.api import ApiError
from ansible_collections.awsie.importexport.plugins.module_utils.fileio import FileError, read_regular_file, sync_file
from ansible_collections.awsie.importexport.plugins.plugin_utils.api_action import ApiAction, check_destination

MAX_LABEL_BYTES = 50 * 1024 * 1024
ADDRESS_PARAMS = (('name', 'name'), ('company', 'company'), ('street1', 'street1'), ('street2', 'street2'),
                  ('street3', 'street3'), ('city', 'city'), ('state_or_province', 'stateOrProvince'),
                  ('postal_code', 'postalCode'), ('phone_number', 'phoneNumber'), ('country', 'country'))


class ActionModule(ApiAction):

    NAME = 'ie_shipping_label'

    def run_task(self, task, task_vars):
        p = task.params
        job_ids = task.job_ids(job_ids=[])
        if not job_ids:
            task.fail_json(msg='job_ids is empty: give at least one job id', job_ids=[])
        address = {api: (p['address'] or {}).get(opt) for opt, api in ADDRESS_PARAMS}
        result = dict(changed=False, job_ids=job_ids)
        dest = p['dest']
        if dest:
            result.update(dest=dest, kept_existing=False)
            try:
                existing = read_regular_file(dest, MAX_LABEL_BYTES) if check_destination(dest) == 'file' else None
            except FileError as exc:
                task.fail_json(msg='dest: %s; no label was asked for' % exc, **result)
            if existing is not None and existing.startswith(b'%PDF') and not p['force']:
                result.update(kept_existing=True, size=len(existing))
                task.exit_json(**result)

        try:
            label = task.client.get_shipping_label(job_ids, {k: v for k, v in address.items() if v is not None})
        except ApiError as exc:
            task.fail_api(exc, **result)
        result.update(shipping_label_url=label.get('shipping_label_url'), warning=label.get('warning'))
        if dest and task.check_mode:
            result['changed'] = True
        elif dest:
            result.update(self._save(task, result, dest))
        task.exit_json(**result)

    @staticmethod
    def _save(task, result, dest):
        url = result['shipping_label_url']
        if not url:
            task.fail_json(msg='the service returned no ShippingLabelURL for %s, so there is nothing to save to %s'
                               % (', '.join(result['job_ids']), dest), **result)
        try:
            pdf = task.client.download(url, MAX_LABEL_BYTES)
        except ApiError as exc:
            task.fail_api(exc, **result)
        if not pdf.startswith(b'%PDF'):
            task.fail_json(msg='the label at %s is not a PDF (%d bytes, not starting with %%PDF); %s was left as it was'
                               % (url, len(pdf), dest), **result)
        try:
            outcome = sync_file(dest, pdf, max_bytes=MAX_LABEL_BYTES)
        except FileError as exc:
            task.fail_json(msg=str(exc), **result)
        return dict(changed=outcome['changed'], size=len(pdf))
