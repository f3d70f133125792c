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
  - Runs on the controller, in the process of its action plugin (see the notes); O(manifest_src)
    and O(lookup_cache) are controller paths.
  - "With O(transport=email), the e-mail workflow of 2009 instead: C(CREATE JOB) with the manifest attached
    exactly as its bytes, C(UPDATE JOB) (with O(job_id); the updated manifest and its version 1.0 SIGNATURE,
    computed with O(secret_key), attached), C(CANCEL JOB); the reply that answers the mail sent
    (C(In-Reply-To)) gives the job id. The same drive, job type and canonical manifest as a C(CREATE JOB)
    already answered in the mailbox is that job (nothing is sent); a C(CREATE JOB) sent by a run that was
    killed before its reply is waited for, not sent again. A changed manifest without O(job_id) is a new
    C(CREATE JOB), as the 2009 guide says; the service then replaces the drive's older job (one job per device).
    RV(signature_file_contents) is the version 1.0 SIGNATURE computed on the controller (with O(secret_key))."
extends_documentation_fragment:
  - awsie.importexport.api
  - awsie.importexport.mail
  - awsie.importexport.attributes
  - awsie.importexport.attributes.ACTION
attributes:
  check_mode:
    details:
      - The service validates the manifest with C(ValidateOnly=true); nothing is created or changed.
      - With O(transport=email) nothing is sent (the mails have no validate-only form); RV(action) says which
        command would be sent.
  vault:
    description: Can automatically decrypt Ansible vaulted files.
    support: full
    details: A vault-encrypted O(manifest_src) on the controller is decrypted in memory.
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
      - Path of the manifest file on the controller, like O(ansible.builtin.copy#module:src); a
        relative path is searched in the role's C(files/) directory and the playbook's directory. A
        vault-encrypted file is decrypted.
      - With O(remote_src=true), a path on the managed host (fetched through the connection).
      - "Deprecated old meaning: when O(remote_src) is not given and the file is not on the controller, it is
        read from the managed host, with a warning (this module used to run where the task ran). Set
        O(remote_src=true) for that."
      - Only a regular file of at most 1 MiB is read; a directory, FIFO or device is an error, never a hang.
      - The text is sent exactly as it is; canonical forms are used only for comparisons.
    type: path
  remote_src:
    description:
      - V(true) reads O(manifest_src) from the managed host (the task's host, or its C(delegate_to)),
        V(false) only from the controller.
      - Not set, a controller path is read, else the managed host's (deprecated, see O(manifest_src)).
    type: bool
    version_added: 0.1.0
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
      - GetStatus requests in flight at once while looking up the account's jobs (1 to 64).
    type: int
    default: 8
  lookup_cache:
    description:
      - Path of a JSON file on the controller (relative to the directory C(ansible-playbook) runs in)
        remembering which drive each job of the account is for. With it, a run asks GetStatus only for
        jobs it has not seen before and for the jobs of this drive, instead of for every live job; worth
        it with hundreds of jobs.
      - The file is a cache, checked against the service on every run (ListJobs, and GetStatus of
        the drive's jobs), so a stale or deleted file only costs requests. It is rewritten
        atomically, not in check mode; a symbolic link at the path is replaced, not followed. A
        directory or FIFO at the path is an error.
      - Keep one file per account and endpoint.
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
  register: job

- name: The same with a manifest that was written on the managed host
  awsie.importexport.ie_job:
    manifest_src: /srv/ie/drive1.yml
    remote_src: true

- name: Write the SIGNATURE the service returned onto the drive
  awsie.importexport.ie_signature:
    dest: /mnt/drive1
    signature_file_contents: "{{ job.signature_file_contents }}"

- name: Validate an export manifest without creating anything
  awsie.importexport.ie_job:
    manifest_content: "{{ lookup('ansible.builtin.template', 'export.yml.j2') }}"
    job_type: Export
  check_mode: true

- name: Cancel a job
  awsie.importexport.ie_job:
    state: absent
    job_id: 53TX4

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
  description:
    - What was done, V(none), V(created), V(updated), V(validated) (check mode), V(cancel) (check mode) or V(canceled).
    - With O(transport=email) in check mode, V(create) or V(update) name the mail that would be sent.
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
  description:
    - The error code after which the created job was found by looking it up rather than from the CreateJob answer.
    - With O(transport=email), the Message-ID of the mail an earlier run sent whose reply this run picked up.
  returned: when the CreateJob answer was lost
  type: str
  sample: ConnectionError
replaced:
  description: With O(transport=email), the drive's older job the service canceled for this one (one job per device).
  returned: when a C(CREATE JOB) replaced a job
  type: list
  elements: str
  sample: [53TX4]
mail:
  description:
    - With O(transport=email), the mails of this task. C(sent) lists the command mails sent (C(message_id),
      C(subject), C(to), C(date), C(again) when a mail whose first sending was interrupted was sent again);
      C(received) the replies read (C(message_id), C(subject), C(in_reply_to), C(status), C(code)).
  returned: when O(transport=email)
  type: dict
  sample: {"sent": [{"message_id": "<create.1795466692712908770.cda381894cbe281d@example.com>", "subject": "CREATE JOB",
            "to": "awsimportexport@amazon.com", "date": "2026-11-23T20:44:53Z"}],
           "received": [{"message_id": "<reply.1795466693406403552.12e7b063f419571a@amazon.com>",
                         "subject": "RE: CREATE JOB", "status": "SUCCESS", "code": null,
                         "in_reply_to": "<create.1795466692712908770.cda381894cbe281d@example.com>"}]}
api_calls:
  description: Requests sent to the service, retries included, in total and per action.
  returned: always
  type: dict
  sample: {"requests": 3, "retries": 0, "by_action": {"ListJobs": 1, "GetStatus": 1, "CreateJob": 1}}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.awsie.importexport.plugins.module_utils.api_module import RUNS_ON_THE_CONTROLLER, module_kwargs


def main():
    module = AnsibleModule(**module_kwargs('ie_job'))
    module.fail_json(msg=RUNS_ON_THE_CONTROLLER % ('ie_job', 'ie_job'))


if __name__ == '__main__':
    main()
