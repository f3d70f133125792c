#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: ie_reconcile
short_description: Prove a job's data landed - a drive's ledger against the service's log and S3
version_added: 0.1.0
description:
  - Runs on the controller, after a job reached C(Complete) or C(SuccessWithErrors).
  - For an import, compares the drive's ledger (written by M(awsie.importexport.ie_load)) with the
    service's import log - the C(LogBucket)/C(LogKey) GetStatus returns, read from S3 with boto3,
    or a local copy - and, with O(verify_objects), with the objects themselves (HEAD - the size,
    and the ETag where it is an MD5, that is for single-part uploads).
  - Each file of the ledger is C(verified), C(missing) (not in the log, or no object),
    C(different) (another key, MD5 or size), C(failed) (the log says Error; counted by code) or
    C(ignored) (the service skipped it). Log lines for files the ledger does not know are C(unexpected).
  - Writes the missing, different and failed files to a re-ship list (O(reship_dest)), which
    M(awsie.importexport.ie_plan) and M(awsie.importexport.ie_load) take as O(awsie.importexport.ie_load#module:files_from)
    for a new drive.
  - For an export, checks each line of the export log against the file read back from the
    returned drive, mounted on the controller at O(drive_path) (MD5 and size), and optionally the object's ETag.
extends_documentation_fragment:
  - awsie.importexport.attributes
  - awsie.importexport.attributes.ACTION
attributes:
  action:
    details: Runs in the controller's process, in the action plugin; nothing is sent to the managed host.
  check_mode:
    details: Reads the ledger, the log and the objects; does not write O(reship_dest).
requirements:
  - boto3 on the controller, to read the log from S3 or check the objects (not for a local O(log_src)).
options:
  job_type:
    description: The job's type.
    type: str
    choices: [Import, Export]
    default: Import
  ledger:
    description: The drive's ledger on the controller (an import's; required for V(Import)).
    type: path
  drive_path:
    description: Where the returned export drive is mounted on the controller (required for V(Export)).
    type: path
  log_src:
    description: A local copy of the service's log, on the controller.
    type: path
  log_bucket:
    description: The C(LogBucket) of the job (M(awsie.importexport.ie_job_status) returns it); the log is read with boto3.
    type: str
  log_key:
    description: The C(LogKey) of the job.
    type: str
  skip_bad_lines:
    description: Read a log with unreadable lines, listing them in RV(log_problems); their files then count as missing.
    type: bool
    default: false
  verify_objects:
    description: HEAD every object - missing objects, sizes, and ETags that are MD5s.
    type: bool
    default: false
  bucket:
    description: The bucket the objects are in (the manifest's C(bucket); an export's C(exportBucket)). Required with O(verify_objects).
    type: str
  reship_dest:
    description: Where to write the re-ship list on the controller (a ledger-format file, C(kind) C(reship)); always written, empty when all landed.
    type: path
  s3_endpoint_url:
    description: S3 endpoint, for an S3-compatible store or a local test service; addressed path-style.
    type: str
    aliases: [aws_endpoint_url]
  access_key:
    description: AWS access key id; default boto3's own lookup (E(AWS_ACCESS_KEY_ID), profiles, instance roles).
    type: str
    aliases: [aws_access_key_id, aws_access_key]
  secret_key:
    description: AWS secret access key; default boto3's own lookup. Never logged.
    type: str
    aliases: [aws_secret_access_key, aws_secret_key]
  session_token:
    description: Session token for temporary credentials. Never logged.
    type: str
    aliases: [aws_session_token]
  region:
    description: The S3 region.
    type: str
    default: us-east-1
  validate_certs:
    description: Verify the S3 endpoint's TLS certificate.
    type: bool
    default: true
  head_workers:
    description: HEAD requests at the same time.
    type: int
    default: 16
  max_listed:
    description: Files listed in RV(not_verified) and RV(unexpected); the counts count them all.
    type: int
    default: 100
seealso:
  - module: awsie.importexport.ie_load
  - module: awsie.importexport.ie_job_status
'''

EXAMPLES = r'''
- name: Reconcile drive1's ledger with the job's import log and the objects
  awsie.importexport.ie_reconcile:
    ledger: "{{ playbook_dir }}/ie-manifests/drive1.ledger.jsonl"
    log_bucket: "{{ status.log_bucket }}"
    log_key: "{{ status.log_key }}"
    verify_objects: true
    bucket: my-import-bucket
    reship_dest: "{{ playbook_dir }}/ie-manifests/drive1.reship.jsonl"
  register: landed

- name: Load what did not land onto a new drive
  awsie.importexport.ie_load:
    src: /srv/data/project1
    dest: /mnt/ie/drive9
    files_from: /var/tmp/drive1.reship.jsonl
  when: landed.reship_count > 0
'''

RETURN = r'''
counts:
  description: Files by state - C(verified), C(missing), C(different), C(failed), C(ignored), C(unexpected) (log lines the ledger does not know), C(total).
  returned: always
  type: dict
  sample: {"verified": 9998, "missing": 1, "different": 0, "failed": 1, "ignored": 0, "unexpected": 0, "total": 10000}
all_verified:
  description: Whether nothing is missing, different or failed.
  returned: always
  type: bool
  sample: false
failed_by_code:
  description: Failed files counted by the log's Code.
  returned: always
  type: dict
  sample: {"DeviceError Input/output error": 1}
not_verified:
  description: The first O(max_listed) files that are not verified - C(path), C(key), C(state), C(reason), C(code).
  returned: always
  type: list
  elements: dict
  sample: [{"path": "raw/x.tif", "key": "imp/raw/x.tif", "state": "missing", "reason": "not in the import log"}]
unexpected:
  description: The first O(max_listed) log lines (or drive files, for an export) the ledger does not know.
  returned: always
  type: list
  elements: dict
  sample: []
reship_count:
  description: Files on the re-ship list.
  returned: always
  type: int
  sample: 2
reship_dest:
  description: Where the re-ship list was written.
  returned: when O(reship_dest) is set
  type: str
  sample: /home/ops/ie-manifests/drive1.reship.jsonl
log:
  description: Where the log was read - C(s3://bucket/key) or the local path.
  returned: always
  type: str
  sample: s3://my-logs/import-log-53TX4
log_problems:
  description: Lines of the log that could not be read (with O(skip_bad_lines)).
  returned: always
  type: list
  elements: str
  sample: []
objects_checked:
  description: Whether the objects were checked with HEAD.
  returned: always
  type: bool
  sample: true
etag_not_md5:
  description: Objects whose ETag is not an MD5 (multipart uploads); only their size was compared.
  returned: always
  type: int
  sample: 0
head_errors:
  description: HEAD requests that failed for another reason than a missing object (those files keep the log's word).
  returned: always
  type: list
  elements: dict
  sample: []
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.awsie.importexport.plugins.module_utils.reconcile import module_kwargs


def main():
    module = AnsibleModule(**module_kwargs())
    module.fail_json(msg='ie_reconcile runs on the controller through its action plugin; call it as '
                         'awsie.importexport.ie_reconcile in a task')


if __name__ == '__main__':
    main()
