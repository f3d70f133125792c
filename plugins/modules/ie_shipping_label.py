#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: ie_shipping_label
short_description: Get the pre-paid shipping label of AWS Import/Export jobs
version_added: 0.1.0
description:
  - Calls GetShippingLabel for one or more jobs and a return address, and returns the label's URL.
  - With O(dest), downloads the PDF and writes it atomically. Like M(ansible.builtin.get_url) with
    C(force=false), an existing PDF at O(dest) is kept and no new label is asked for, so a re-run
    reports C(changed=false) and does not create another label (each label has its own tracking
    number). O(force=true) asks for a new label and replaces the file when it differs.
  - GetShippingLabel is treated as a read; C(changed) only tells whether O(dest) was (or, in check
    mode, would be) written.
author:
  - awsie.importexport contributors (@awsie)
extends_documentation_fragment:
  - awsie.importexport.api
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  action_group:
    version_added: 0.1.0
    membership: [awsie.importexport.ie]
  check_mode:
    support: full
    details: Asks for the label (a read) but neither downloads nor writes it.
  diff_mode:
    support: none
  platform:
    platforms: posix
  safe_file_operations:
    description: Uses Ansible's strict file operation functions to ensure proper permissions and avoid data corruption.
    support: full
    details: The PDF is written to a temporary file next to O(dest), flushed and renamed.
options:
  job_ids:
    description:
      - The jobs the label is for, case-insensitive. Several drives in one package share a label.
    type: list
    elements: str
    required: true
  address:
    description:
      - The return address printed on the label (used only if delivery is refused; the manifest's
        address is the one the drive is returned to).
      - Without it, the service uses the address of the job's manifest.
    type: dict
    suboptions:
      name: {description: Contact name., type: str, required: true}
      company: {description: Company., type: str}
      street1: {description: First street line., type: str, required: true}
      street2: {description: Second street line., type: str}
      street3: {description: Third street line., type: str}
      city: {description: City., type: str, required: true}
      state_or_province: {description: State or province; required for the USA and Canada., type: str}
      postal_code: {description: Postal code (a string; keep leading zeros)., type: str, required: true}
      phone_number: {description: Phone number., type: str, required: true}
      country: {description: Country., type: str, required: true}
  dest:
    description:
      - Where to save the label PDF (on the host the module runs on).
    type: path
  force:
    description:
      - Ask for a new label even when O(dest) already holds a PDF, and replace it when it differs.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Label for two drives shipped in one package, saved next to the playbook
  awsie.importexport.ie_shipping_label:
    job_ids: [53TX4, 796CK]
    address:
      name: Joe Random
      company: Example Corp
      street1: 123 Any Street
      city: Seattle
      state_or_province: WA
      postal_code: "98104"
      phone_number: 206-555-0100
      country: USA
    dest: "{{ playbook_dir }}/labels/53TX4.pdf"
  delegate_to: localhost
'''

RETURN = r'''
shipping_label_url:
  description: URL of the label PDF.
  returned: when a label was asked for (not when O(dest) already held one)
  type: str
  sample: https://s3.amazonaws.com/myBucket/shipping-label-53TX4.pdf
warning:
  description: Warning from the service, if any.
  returned: when a label was asked for
  type: str
  sample: null
job_ids:
  description: The normalised job ids.
  returned: always
  type: list
  elements: str
  sample: [53TX4, 796CK]
dest:
  description: Path of the saved PDF.
  returned: when O(dest) is given
  type: str
  sample: /home/ops/labels/53TX4.pdf
size:
  description: Size of the PDF in bytes.
  returned: when O(dest) is given and not in check mode
  type: int
  sample: 18342
kept_existing:
  description: Whether O(dest) already held a PDF that was kept (no label asked for).
  returned: when O(dest) is given
  type: bool
  sample: false
api_calls:
  description: Requests sent to the service, retries included, in total and per action.
  returned: always
  type: dict
  sample: {"requests": 1, "retries": 0, "by_action": {"GetShippingLabel": 1}}
'''

from ansible_collections.awsie.importexport.plugins.module_utils.api import ApiError
from ansible_collections.awsie.importexport.plugins.module_utils.api_module import ApiModule
from ansible_collections.awsie.importexport.plugins.module_utils.fileio import FileWriteError, read_bytes, sync_file
from ansible_collections.awsie.importexport.plugins.module_utils.signing import InvalidJobId, normalize_job_id

ADDRESS_PARAMS = (('name', 'name'), ('company', 'company'), ('street1', 'street1'), ('street2', 'street2'),
                  ('street3', 'street3'), ('city', 'city'), ('state_or_province', 'stateOrProvince'),
                  ('postal_code', 'postalCode'), ('phone_number', 'phoneNumber'), ('country', 'country'))


def main():
    address_spec = dict(
        name=dict(type='str', required=True), company=dict(type='str'), street1=dict(type='str', required=True),
        street2=dict(type='str'), street3=dict(type='str'), city=dict(type='str', required=True),
        state_or_province=dict(type='str'), postal_code=dict(type='str', required=True),
        phone_number=dict(type='str', required=True), country=dict(type='str', required=True))
    module = ApiModule(
        argument_spec=dict(
            job_ids=dict(type='list', elements='str', required=True),
            address=dict(type='dict', options=address_spec),
            dest=dict(type='path'),
            force=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        job_ids = list(dict.fromkeys(normalize_job_id(j) for j in p['job_ids']))
    except InvalidJobId as exc:
        module.fail_json(msg='job_ids: %s' % exc, job_ids=[])
    if not job_ids:
        module.fail_json(msg='job_ids is empty: give at least one job id', job_ids=[])
    address = {api: (p['address'] or {}).get(opt) for opt, api in ADDRESS_PARAMS}
    result = dict(changed=False, job_ids=job_ids)
    if p['dest']:
        existing = read_bytes(p['dest'])
        result.update(dest=p['dest'], kept_existing=False)
        if existing is not None and existing.startswith(b'%PDF') and not p['force']:
            result.update(kept_existing=True, size=len(existing))
            module.exit_json(api_calls=module.api_stats(), **result)

    client = module.client
    try:
        label = client.get_shipping_label(job_ids, {k: v for k, v in address.items() if v is not None})
    except ApiError as exc:
        module.fail_api(exc, **result)
    result.update(shipping_label_url=label.get('shipping_label_url'), warning=label.get('warning'))

    if p['dest'] and module.check_mode:
        result['changed'] = True
    elif p['dest']:
        if not result['shipping_label_url']:
            module.fail_json(msg='the service returned no ShippingLabelURL for %s, so there is nothing to save to %s'
                                 % (', '.join(job_ids), p['dest']), api_calls=module.api_stats(), **result)
        try:
            pdf = client.download(result['shipping_label_url'])
        except ApiError as exc:
            module.fail_api(exc, **result)
        if not pdf.startswith(b'%PDF'):
            module.fail_json(msg='the label at %s is not a PDF (starts with %r); %s was left as it was'
                                 % (result['shipping_label_url'], pdf[:16], p['dest']), api_calls=module.api_stats(), **result)
        try:
            outcome = sync_file(p['dest'], pdf)
        except FileWriteError as exc:
            module.fail_json(msg=str(exc), api_calls=module.api_stats(), **result)
        result.update(changed=outcome['changed'], size=len(pdf))
    module.exit_json(api_calls=module.api_stats(), **result)


if __name__ == '__main__':
    main()
