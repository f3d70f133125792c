#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: ie_job
short_description: Create, update or cancel an AWS Import/Export job, idempotently per drive
version_added: 0.1.0
description:
  - Creates an Import or Export job from a manifest (CreateJob), updates its manifest (UpdateJob)
    or cancels it (CancelJob) over the Import/Export Query API.
  - "Idempotent per drive: before creating, the module lists the account's live jobs (not canceled,
    not expired) and compares their current manifests with this one in canonical form. A job with
    the same C(deviceId), job type and manifest is returned with C(changed=false). A live job with
    the same C(deviceId) but another manifest is updated while the service allows it; once its data
    transfer has started the task fails and says so."
  - A CreateJob whose answer was lost (dropped connection, timeout, HTTP 500) is never sent again
    blindly; the jobs are looked up first, so a re-run or a retry never creates a second job for
    the same drive.
  - In check mode the service validates the manifest (CreateJob or UpdateJob with C(ValidateOnly));
    nothing is created, updated or canceled.
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
    details: The service validates the manifest with C(ValidateOnly=true); nothing is created or changed.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  state:
    description:
      - V(present) makes the drive's job exist with this manifest; V(absent) cancels it.
    type: str
    choices: [present, absent]
    default: present
  job_type:
    description:
      - Import (to Amazon S3, EBS or Glacier) or Export (from Amazon S3).
    type: str
    choices: [Import, Export]
    default: Import
  manifest_src:
    description:
      - Path of the manifest file where the module runs (the controller, with C(delegate_to=localhost)).
      - The text is sent exactly as it is; canonical forms are used only for comparisons.
    type: path
  manifest_content:
    description:
      - The manifest text itself. Not logged, because manifests can hold C(trueCryptPassword) or C(pinCode).
    type: str
  job_id:
    description:
      - The job to update (O(state=present)) or cancel (O(state=absent)); case-insensitive.
      - Without it, the job is found by the manifest's C(deviceId).
    type: str
  concurrency:
    description:
      - GetStatus requests in flight at once while looking up the account's jobs.
    type: int
    default: 8
  lookup_cache:
    description:
      - Path of a JSON file (where the module runs) remembering which drive each job of the account
        is for. With it, a run asks GetStatus only for jobs it has not seen before and for the jobs
        of this drive, instead of for every live job; worth it with hundreds of jobs.
      - The file is a cache, checked against the service on every run (ListJobs, and GetStatus of
        the drive's jobs), so a stale or deleted file only costs requests. It is rewritten
        atomically, not in check mode. Keep one file per account and endpoint.
      - A job whose manifest was changed to another drive's C(deviceId) outside this module is not
        seen through the cache; delete the file after such a change.
    type: path
notes:
  - Values of C(trueCryptPassword) and C(pinCode) found in the manifest are masked in all output.
  - Manifests are not returned, because the service echoes secrets in them.
seealso:
  - module: awsie.importexport.ie_job_status
  - module: awsie.importexport.ie_signature
'''

EXAMPLES = r'''
- name: Create the import job for drive 1 (a re-run returns the same job, changed=false)
  awsie.importexport.ie_job:
    manifest_src: manifests/drive1.yml
    job_type: Import
  delegate_to: localhost
  register: job

- name: Write the SIGNATURE the service returned onto the drive
  awsie.importexport.ie_signature:
    dest: /mnt/drive1
    signature_file_contents: "{{ job.signature_file_contents }}"

- name: Validate an export manifest without creating anything
  awsie.importexport.ie_job:
    manifest_content: "{{ lookup('ansible.builtin.template', 'export.yml.j2') }}"
    job_type: Export
  check_mode: true
  delegate_to: localhost

- name: Cancel a job
  awsie.importexport.ie_job:
    state: absent
    job_id: 53TX4
  delegate_to: localhost

- name: All jobs of a play with the same credentials and endpoint
  module_defaults:
    group/awsie.importexport.ie:
      access_key: "{{ vault_aws_access_key }}"
      secret_key: "{{ vault_aws_secret_key }}"
      endpoint_url: https://importexport.amazonaws.com
  block:
    - name: Create the job
      awsie.importexport.ie_job:
        manifest_src: manifests/drive2.yml
      delegate_to: localhost
'''

RETURN = r'''
job_id:
  description: The job id; null when check mode only validated a new job.
  returned: success
  type: str
  sample: 53TX4
job_type:
  description: Import or Export.
  returned: when O(state=present)
  type: str
  sample: Import
device_id:
  description: The manifest's C(deviceId) the job was found or created by.
  returned: when a manifest was given
  type: str
  sample: WD-WCC4N1234567
action:
  description: What was done, V(none), V(created), V(updated), V(validated) (check mode), V(cancel) (check mode) or V(canceled).
  returned: always
  type: str
  sample: created
signature:
  description: The job's signature (base64 HMAC-SHA1).
  returned: when O(state=present) and a job exists
  type: str
  sample: jLbLVp54vBa/vuh/XW1MOMdZUxw=
signature_file_contents:
  description: The text of the SIGNATURE file for the drive's root, to write verbatim.
  returned: when O(state=present) and a job exists
  type: str
  sample: "version:2.0\nsigningMethod:HmacSHA1\njobId:53TX4\nsignature:jLbLVp54vBa/vuh/XW1MOMdZUxw=\n"
warning_message:
  description: Non-fatal issues the service reported, such as an incompatible bucket name.
  returned: when O(state=present)
  type: str
  sample: "**** Device will be erased before being returned. ****"
artifacts:
  description: Artifacts of the job (such as the barcode PDF of EBS and Glacier jobs).
  returned: when O(state=present)
  type: list
  elements: dict
  sample: [{"description": "barcode", "url": "http://127.0.0.1:8080/artifacts/53TX4.pdf"}]
canceled:
  description: Job ids canceled (or, in check mode, that would be).
  returned: when O(state=absent)
  type: list
  elements: str
  sample: [53TX4]
recovered_from:
  description: The error code after which the created job was found by looking it up rather than from the CreateJob answer.
  returned: when the CreateJob answer was lost
  type: str
  sample: ConnectionError
api_calls:
  description: Requests sent to the service, retries included, in total and per action.
  returned: always
  type: dict
  sample: {"requests": 3, "retries": 0, "by_action": {"ListJobs": 1, "GetStatus": 1, "CreateJob": 1}}
'''

import json

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.awsie.importexport.plugins.module_utils.api import ApiError
from ansible_collections.awsie.importexport.plugins.module_utils.api_module import ApiModule
from ansible_collections.awsie.importexport.plugins.module_utils.fileio import FileWriteError, atomic_write, read_bytes
from ansible_collections.awsie.importexport.plugins.module_utils.jobs import JobError, ensure_absent, ensure_present
from ansible_collections.awsie.importexport.plugins.module_utils.manifest import ManifestError, parse_manifest, secrets_of
from ansible_collections.awsie.importexport.plugins.module_utils.signing import InvalidJobId, normalize_job_id


def read_manifest(module):
    if module.params['manifest_content'] is not None:
        return module.params['manifest_content']
    path = module.params['manifest_src']
    if path is None:
        return None
    try:
        with open(path, 'rb') as handle:
            data = handle.read()
    except OSError as exc:
        module.fail_json(msg='manifest_src %s cannot be read: %s; the path is read where the module runs '
                             '(use delegate_to: localhost for a file on the controller)' % (path, exc.strerror))
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError as exc:
        module.fail_json(msg='manifest_src %s is not UTF-8 text (byte %d); save it as UTF-8' % (path, exc.start))


def mask_manifest_secrets(module, manifest):
    """Add trueCryptPassword/pinCode values to the values Ansible masks in every output."""
    try:
        parsed = parse_manifest(manifest)
    except ManifestError:
        return
    for value in secrets_of(parsed):
        module.no_log_values.add(to_text(value))


def load_cache(module):
    """The lookup cache's jobs for this account and endpoint (a fresh dict when none or unusable)."""
    path = module.params['lookup_cache']
    if not path:
        return None, None
    data = read_bytes(path)
    try:
        loaded = json.loads(data) if data else {}
    except ValueError:
        loaded = {}
    owner = dict(endpoint_url=module.params['endpoint_url'], access_key=module.params['access_key'])
    jobs = loaded.get('jobs') if isinstance(loaded, dict) and loaded.get('owner') == owner else None
    jobs = dict(jobs) if isinstance(jobs, dict) else {}
    return jobs, json.dumps(jobs, sort_keys=True)


def save_cache(module, cache, before):
    if cache is None or module.check_mode or json.dumps(cache, sort_keys=True) == before:
        return
    owner = dict(endpoint_url=module.params['endpoint_url'], access_key=module.params['access_key'])
    try:
        atomic_write(module.params['lookup_cache'], json.dumps(dict(owner=owner, jobs=cache), sort_keys=True).encode())
    except FileWriteError as exc:
        module.warn('the lookup cache was not saved: %s' % exc)


def main():
    module = ApiModule(
        argument_spec=dict(
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            job_type=dict(type='str', choices=['Import', 'Export'], default='Import'),
            manifest_src=dict(type='path'),
            manifest_content=dict(type='str', no_log=True),
            job_id=dict(type='str'),
            concurrency=dict(type='int', default=8),
            lookup_cache=dict(type='path'),
        ),
        mutually_exclusive=[('manifest_src', 'manifest_content')],
        required_if=[('state', 'present', ('manifest_src', 'manifest_content'), True),
                     ('state', 'absent', ('job_id', 'manifest_src', 'manifest_content'), True)],
        supports_check_mode=True,
    )
    p = module.params
    job_id = None
    if p['job_id'] is not None:
        try:
            job_id = normalize_job_id(p['job_id'])
        except InvalidJobId as exc:
            module.fail_json(msg=str(exc), action='none')
    if not 1 <= p['concurrency'] <= 64:
        module.fail_json(msg='concurrency must be between 1 and 64, got %d' % p['concurrency'])
    manifest = read_manifest(module)
    if manifest is not None:
        mask_manifest_secrets(module, manifest)

    cache, cache_before = load_cache(module)
    try:
        if p['state'] == 'present':
            result = ensure_present(module.client, p['job_type'], manifest, job_id=job_id,
                                    check_mode=module.check_mode, concurrency=p['concurrency'], cache=cache)
        else:
            result = ensure_absent(module.client, job_id=job_id, manifest=manifest,
                                   job_type=p['job_type'] if job_id is None else None,
                                   check_mode=module.check_mode, concurrency=p['concurrency'], cache=cache)
            result['job_id'] = job_id or (result['canceled'][0] if len(result['canceled']) == 1 else None)
    except (ApiError, JobError) as exc:
        module.fail_api(exc, changed=False, action='none', job_id=job_id)
    result.pop('job_ids', None)
    save_cache(module, cache, cache_before)
    module.exit_json(api_calls=module.api_stats(), **result)


if __name__ == '__main__':
    main()
