#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: ie_packing_slip
short_description: Write a packing slip per drive and the fleet job sheet for AWS Import/Export
version_added: 0.1.0
description:
  - Writes, for every drive of a shipment, a one-page PDF packing slip - job id, job type, deviceId,
    drive serial, host, device, file system, the SIGNATURE's signature, the return address, and what
    to write on the box and on the drive - and one fleet job sheet as CSV and JSON.
  - Meant to run on the controller (C(delegate_to=localhost), C(run_once=true)) with the jobs the
    M(awsie.importexport.ie_job) tasks or the C(drive_prepare) role recorded.
  - The files carry no date and are rendered the same way each time, so a re-run with the same jobs
    changes nothing. Files are written atomically, mode O(mode).
extends_documentation_fragment:
  - awsie.importexport.attributes
attributes:
  check_mode:
    details: Renders and compares; writes nothing.
options:
  drives:
    description:
      - One item per drive, such as the items of the C(drive_prepare_jobs) fact - C(job_id) (required),
        C(host), C(drive), C(device), C(device_id), C(serial), C(job_type), C(fstype), C(signature).
      - Other keys are ignored.
    type: list
    elements: dict
    required: true
  dest:
    description: Directory for the packing slips (created, mode 0700, when missing).
    type: path
    required: true
  sheet:
    description: Path of the job sheet without its extension; C(.csv) and C(.json) are written. Default O(dest)/C(fleet-jobs).
    type: path
  return_address:
    description: The return address to print (the manifest's C(returnAddress), camelCase or snake_case keys).
    type: dict
  label:
    description: File name of the shipping label PDF to mention on the slips and in the sheet.
    type: str
  mode:
    description: Mode of the files written.
    type: raw
    default: '0600'
seealso:
  - module: awsie.importexport.ie_shipping_label
  - module: awsie.importexport.ie_job
'''

EXAMPLES = r'''
- name: Packing slips and the fleet job sheet beside the manifests
  awsie.importexport.ie_packing_slip:
    drives: "{{ ansible_play_hosts | map('extract', hostvars, 'drive_prepare_jobs') | flatten }}"
    dest: "{{ inventory_dir }}/ie-manifests"
    return_address: "{{ drive_prepare_manifest_defaults.returnAddress }}"
    label: shipping-label.pdf
  delegate_to: localhost
  run_once: true
'''

RETURN = r'''
slips:
  description: Paths of the packing slips, one per drive.
  returned: success
  type: list
  elements: str
  sample: [/srv/ops/ie-manifests/loader1-d1-53TX4-packing-slip.pdf]
sheet_csv:
  description: Path of the job sheet as CSV.
  returned: success
  type: str
  sample: /srv/ops/ie-manifests/fleet-jobs.csv
sheet_json:
  description: Path of the job sheet as JSON.
  returned: success
  type: str
  sample: /srv/ops/ie-manifests/fleet-jobs.json
written:
  description: The files that were (or in check mode would be) written because their content changed.
  returned: success
  type: list
  elements: str
  sample: [/srv/ops/ie-manifests/fleet-jobs.csv]
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.awsie.importexport.plugins.module_utils import packing
from ansible_collections.awsie.importexport.plugins.module_utils.fileio import FileWriteError, atomic_write, read_bytes


def main():
    module = AnsibleModule(
        argument_spec=dict(
            drives=dict(type='list', elements='dict', required=True),
            dest=dict(type='path', required=True),
            sheet=dict(type='path'),
            return_address=dict(type='dict'),
            label=dict(type='str'),
            mode=dict(type='raw', default='0600'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        packing.check_file_mode(p['mode'])
        rows = [packing.normalise_drive(drive) for drive in p['drives']]
    except packing.PackingError as exc:
        module.fail_json(msg=str(exc))
    if len(set((r['host'], r['drive']) for r in rows)) != len(rows):
        module.fail_json(msg='two items of drives name the same host and drive; give each drive once')
    slips = packing.slips(rows, p['return_address'], p['label'])
    files = dict((os.path.join(p['dest'], name), data) for name, data in slips.items())
    for row in rows:
        row['packing_slip'] = packing.slip_name(row)
        row['shipping_label'] = p['label'] or ''
    sheet = p['sheet'] or os.path.join(p['dest'], 'fleet-jobs')
    files[sheet + '.csv'] = packing.sheet_csv(rows)
    files[sheet + '.json'] = packing.sheet_json(rows)
    changed = False
    if not os.path.isdir(p['dest']):
        changed = True
        if not module.check_mode:
            os.makedirs(p['dest'], mode=0o700)
    written = sorted(path for path, data in files.items() if read_bytes(path) != data)
    for path in sorted(files):
        if path in written and not module.check_mode:
            try:
                atomic_write(path, files[path])
            except FileWriteError as exc:
                module.fail_json(msg=str(exc), written=written)
        if not module.check_mode or os.path.exists(path):
            changed = module.set_mode_if_different(path, p['mode'], changed)
    module.exit_json(changed=changed or bool(written), written=written, sheet_csv=sheet + '.csv',
                     sheet_json=sheet + '.json',
                     slips=sorted(os.path.join(p['dest'], r['packing_slip']) for r in rows))


if __name__ == '__main__':
    main()
