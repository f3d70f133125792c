#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: ie_signature
short_description: Write or verify the SIGNATURE file in the root of an AWS Import/Export drive
version_added: 0.1.0
description:
  - Writes the C(SIGNATURE) file that authenticates a storage device shipped to AWS Import/Export.
  - The signature is computed on the controller by the action plugin of the same name, as
    base64(HMAC-SHA1(secret key, jobId + C(\n) + manifest bytes with every CRLF turned into LF)),
    the rule of Amazon's CreateSignature tool. The managed host only ever receives the finished
    file contents; the secret key never leaves the controller.
  - Alternatively writes, byte for byte, the C(SignatureFileContents) that the service returned
    from CreateJob or GetStatus (SIGNATURE version 2.0).
  - In check mode nothing is written and C(changed) tells whether the drive's SIGNATURE differs
    from the expected one, so a check-mode run is the pre-shipment verification.
  - Refuses EBS and Glacier import manifests (C(manifestVersion) 3.0); those jobs use a barcode
    artifact, not a SIGNATURE file.
extends_documentation_fragment:
  - awsie.importexport.attributes
  - awsie.importexport.attributes.ACTION
  - awsie.importexport.attributes.FILES
attributes:
  check_mode:
    details: Reads the drive and reports whether the SIGNATURE would change; writes nothing.
  diff_mode:
    support: full
    details: A symbolic link or a file over 64 KiB at C(SIGNATURE) is not read, so the diff shows nothing of it.
  safe_file_operations:
    details: Temporary file in O(dest), flushed, then renamed over C(SIGNATURE).
  vault:
    description: Can automatically decrypt Ansible vaulted files.
    support: full
    details: O(manifest_src) may be vault-encrypted.
options:
  dest:
    description:
      - Root directory of the drive's mounted file system on the managed host.
      - The file written is O(dest)/C(SIGNATURE).
    type: path
    required: true
  job_id:
    description:
      - The five-character job id, case-insensitive; written in upper case.
      - Required when O(state=present) with O(manifest_src) or O(manifest_content).
    type: str
  manifest_src:
    description:
      - Path on the controller of the manifest sent with CreateJob (or the CREATE JOB e-mail).
      - Searched in the C(files) directory of roles like other C(src) options.
      - A regular file of at most 1 MiB (a FIFO, directory or larger file is refused unread).
      - Mutually exclusive with O(manifest_content) and O(signature_file_contents).
    type: path
  manifest_content:
    description:
      - The manifest text itself. Mutually exclusive with O(manifest_src) and
        O(signature_file_contents).
      - Like a manifest file, at most 1 MiB.
    type: str
  signature_file_contents:
    description:
      - The C(SignatureFileContents) returned by the service (version 2.0 layout), written
        verbatim. No secret key is needed then.
    type: str
  secret_key:
    description:
      - The AWS Secret Access Key that signs the manifest. Read on the controller only.
      - If not set, the controller's E(AWS_SECRET_ACCESS_KEY) environment variable is used.
    type: str
    aliases: [aws_secret_access_key, aws_secret_key]
  signature_version:
    description:
      - "Layout of a locally computed SIGNATURE file: V(1.0) is the CreateSignature layout
        (C(key: value)), V(2.0) the layout the service returned (C(key:value)). The signature
        is the same."
    type: str
    choices: ['1.0', '2.0']
    default: '1.0'
  state:
    description:
      - V(present) writes the SIGNATURE file; V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  backup:
    description:
      - Keep a timestamped copy of a SIGNATURE that is replaced or removed, next to it, named
        C(SIGNATURE.<pid>.<YYYY-MM-DD@HH-MM-SS>~) (no colon, so FAT and NTFS accept it).
      - Only a regular file is copied; a symbolic link is never followed, so nothing outside the
        drive is ever copied onto it.
      - The copy lies in the drive root and will be imported unless the manifest's C(ignore)
        list covers it (for example V(^SIGNATURE[.].*~$)).
    type: bool
    default: false
  require_mount:
    description:
      - Fail unless O(dest) is a mount point, so the file lands on the drive and not in an
        empty mount directory. Set to V(false) to sign a directory that becomes a drive later.
    type: bool
    default: true
notes:
  - Modes and owners are not forced; on FAT and NTFS they are not meaningful.
  - A symbolic link at O(dest)/C(SIGNATURE) is never followed (not read, shown in a diff or
    backed up); the link itself is replaced by the file (or removed with O(state=absent)), and a
    warning says so. A file over 64 KiB there is not a SIGNATURE and is not read. A directory,
    FIFO, socket or device there is an error.
  - The write is atomic (temporary file in O(dest), flushed, renamed); a failure leaves the
    previous SIGNATURE untouched.
seealso:
  - module: awsie.importexport.ie_manifest
  - module: awsie.importexport.ie_job
'''

EXAMPLES = r'''
- name: Write the SIGNATURE for job 53XTY onto the mounted drive
  awsie.importexport.ie_signature:
    dest: /mnt/drive1
    job_id: 53XTY
    manifest_src: manifests/drive1.yml
    secret_key: "{{ vault_aws_secret_key }}"

- name: Pre-shipment check, fails if the drive's SIGNATURE is wrong or missing
  awsie.importexport.ie_signature:
    dest: /mnt/drive1
    job_id: 53XTY
    manifest_src: manifests/drive1.yml
  check_mode: true
  register: sig_check
  failed_when: sig_check is changed

- name: Write the SignatureFileContents returned by CreateJob
  awsie.importexport.ie_signature:
    dest: /mnt/drive1
    signature_file_contents: "{{ created.signature_file_contents }}"
'''

RETURN = r'''
path:
  description: Path of the SIGNATURE file on the managed host.
  returned: always
  type: str
  sample: /mnt/drive1/SIGNATURE
job_id:
  description: The normalised (upper-case) job id.
  returned: when O(state=present)
  type: str
  sample: 53XTY
signature:
  description: The base64 HMAC-SHA1 signature in the file.
  returned: when O(state=present)
  type: str
  sample: uZPi65kCV9Crs4WTTeIvw1qPbsI=
version:
  description: SIGNATURE file version written.
  returned: when O(state=present)
  type: str
  sample: '1.0'
previous_matched:
  description: Whether the SIGNATURE already on the drive was the expected one.
  returned: when something was already at the SIGNATURE's path and O(state=present)
  type: bool
  sample: true
backup_file:
  description: Path of the backup copy.
  returned: when O(backup=true) and a file was replaced or removed
  type: str
  sample: /mnt/drive1/SIGNATURE.2184.2026-11-23@14-00-00~
before_kind:
  description:
    - What was at the SIGNATURE's path before the task. V(absent), V(file), V(symlink) (replaced or
      removed itself, never followed) or V(too_large) (a file over 64 KiB, not a valid SIGNATURE, not read).
  returned: always
  type: str
  sample: file
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.awsie.importexport.plugins.module_utils.fileio import FileWriteError, sync_file
from ansible_collections.awsie.importexport.plugins.module_utils.mounts import drive_dest_problem
from ansible_collections.awsie.importexport.plugins.module_utils.signature_task import (
    MAX_SIGNATURE_BYTES, about_previous, ie_signature_spec)
from ansible_collections.awsie.importexport.plugins.module_utils.signing import SIGNATURE_FILE_NAME


def main():
    module = AnsibleModule(supports_check_mode=True, **ie_signature_spec())
    params = module.params
    dest = params['dest']
    path = os.path.join(dest, SIGNATURE_FILE_NAME)
    result = dict(changed=False, path=path)

    if not os.path.isdir(dest):
        module.fail_json(msg='dest %s does not exist or is not a directory; mount the drive there first' % dest, **result)
    problem = drive_dest_problem(dest, params['require_mount'])
    if problem:
        module.fail_json(msg=problem, **result)
    # The action plugin hands every computed file over as signature_file_contents.
    if params['state'] == 'present' and params['signature_file_contents'] is None:
        module.fail_json(msg='ie_signature must run through its action plugin, which computes the file '
                             'on the controller', **result)

    content = params['signature_file_contents'].encode('utf-8') if params['state'] == 'present' else None
    try:
        outcome = sync_file(path, content, check_mode=module.check_mode, backup=params['backup'],
                            max_bytes=MAX_SIGNATURE_BYTES)
    except FileWriteError as exc:
        module.fail_json(msg=str(exc), errno=exc.errno, **result)

    before = outcome.pop('before')
    result.update(outcome)
    warning, before_header = about_previous(path, outcome['before_kind'], module.check_mode, content is None)
    if warning:
        module.warn(warning)
    if content is not None and outcome['before_kind'] != 'absent':
        result['previous_matched'] = before == content
    if module._diff:
        result['diff'] = dict(before_header=before_header, after_header=path,
                              before=before.decode('utf-8', 'replace') if before is not None else '',
                              after=content.decode('utf-8') if content is not None else '')
    module.exit_json(**result)


if __name__ == '__main__':
    main()
