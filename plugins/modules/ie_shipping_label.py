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
  - Runs on the controller, in the process of its action plugin (see the notes); O(dest) is a
    controller path.
extends_documentation_fragment:
  - awsie.importexport.api
  - awsie.importexport.attributes
  - awsie.importexport.attributes.ACTION
attributes:
  check_mode:
    details: Asks for the label (a read) but neither downloads nor writes it.
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
      - Where to save the label PDF on the controller (a relative path is relative to the directory
        C(ansible-playbook) runs in).
      - Checked before a label is asked for, so a label (and its tracking number) is never created for
        nothing; its directory must exist and be writable, and a directory or FIFO at O(dest) is an
        error. A symbolic link at O(dest) is replaced by the file, not followed.
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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.awsie.importexport.plugins.module_utils.api_module import RUNS_ON_THE_CONTROLLER, module_kwargs


def main():
    module = AnsibleModule(**module_kwargs('ie_shipping_label'))
    module.fail_json(msg=RUNS_ON_THE_CONTROLLER % ('ie_shipping_label', 'ie_shipping_label'))


if __name__ == '__main__':
    main()
