#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: ie_manifest
short_description: Build, check and write AWS Import/Export manifests
version_added: 0.1.0
description:
  - Validates an AWS Import/Export manifest offline, before anything ships, against the schema of its
    kind (S3 import, S3 export, EBS import, Glacier import), and reports every problem at once,
    each with its field path (for example C(returnAddress.postalCode)), what is wrong and how to
    fix it, and the service error code it would cause.
  - Renders the manifest deterministically (fixed key order, 4-space indentation, C(yes)/C(no),
    quotes wherever plain YAML would change a value, LF line endings), so the same fields always
    give the same bytes, and so the same SIGNATURE.
  - Writes the manifest to O(dest) on the managed host atomically, only when its content changes.
  - Validation and rendering run on the controller in the action plugin of the same name; the
    managed host only receives the finished text.
  - The values of C(trueCryptPassword) and C(pinCode) (and keys that look like them) are never printed,
    at any verbosity; the returned RV(content), RV(manifest) and the diff show them as C(********).
  - Problems name the file and the field path, never the text of a file that is not a manifest.
extends_documentation_fragment:
  - awsie.importexport.attributes
  - awsie.importexport.attributes.ACTION
  - awsie.importexport.attributes.FILES
attributes:
  check_mode:
    details: Validates and renders, reads O(dest) and reports whether it would change; writes nothing.
  diff_mode:
    support: full
    details:
      - Both sides are the parsed manifest rendered again with secret values as C(********), whatever
        the YAML style they were written in.
      - An existing O(dest) that cannot be read as a manifest, is over 1 MiB, or is a symbolic link is
        not shown; the diff header and a warning say so.
  safe_file_operations:
    details: Temporary file in the directory of O(dest), flushed, then renamed over it.
  vault:
    description: Can automatically decrypt Ansible vaulted files.
    support: full
    details: O(src) may be vault-encrypted.
options:
  job_type:
    description:
      - The job the manifest is for.
    type: str
    choices: [Import, Export]
    default: Import
  kind:
    description:
      - Where the data goes or comes from. Export jobs are always V(s3).
      - When not set, it is detected from the manifest (C(manifestVersion) 3.0 and the
        C(operations[].destination)).
    type: str
    choices: [s3, ebs, glacier]
  fields:
    description:
      - The manifest as a mapping in the manifest's own camelCase keys, for example
        C(accessKeyId), C(deviceId), C(returnAddress).
      - C(manifestVersion) may be left out; it is set from O(kind) (2.0 for S3, 3.0 for EBS and Glacier).
      - 'Quote values that YAML would otherwise turn into numbers or booleans
        (C(postalCode: "02134"), C(stateOrProvince: "ON")); numbers and booleans given for text
        fields are reported as problems, because the original text cannot be recovered.'
      - Mutually exclusive with O(src).
    type: dict
  src:
    description:
      - Path on the controller of an existing manifest to check and normalise (searched in the
        C(files) directory of roles).
      - Mutually exclusive with O(fields).
    type: path
  dest:
    description:
      - Where to write the rendered manifest on the managed host. When not set, the manifest is
        only validated and rendered.
    type: path
  strict:
    description:
      - When true, fields unknown to the manifest's kind are problems (with a did-you-mean hint).
      - When false, unknown fields are kept and rendered after the known ones.
    type: bool
    default: true
  backup:
    description:
      - Keep a timestamped copy of a manifest that O(dest) replaces, named like Ansible's backups but
        without colons (FAT and NTFS drives refuse them), for example C(drive1.yml.2184.2026-11-23@14-00-00~).
    type: bool
    default: false
  mode:
    description:
      - Permissions of O(dest) in octal, for example V('0600') for a manifest that holds a C(pinCode)
        (quote it, or write it with a leading zero so YAML reads it as octal).
      - A new or replaced file has this mode from the start; an unchanged file gets it too (a change).
      - When not set, a new file gets the default mode (umask) and a replaced file keeps its own.
    type: raw
    version_added: 0.1.0
notes:
  - The write is atomic (a temporary file in the directory of O(dest), flushed, renamed); a failure
    leaves the previous file as it was. Nothing is written when the manifest has any problem.
  - Manifests larger than 1 MiB are refused, whether they come from O(src) or render from O(fields)
    (the problem then names the field that is too big).
  - The managed host needs PyYAML only to show a diff of an existing O(dest); without it the diff
    does not show the current file.
  - O(dest) is never followed through a symbolic link for reading, diffing or backing up; a link
    there is replaced by the file. A directory or FIFO there is an error.
  - See the manifest guide in the collection's C(docs/manifests.md) for the schema and the
    decisions taken where the service contract is silent.
seealso:
  - module: awsie.importexport.ie_signature
  - module: awsie.importexport.ie_device_info
'''

EXAMPLES = r'''
- name: Probe the drive for its device id
  awsie.importexport.ie_device_info:
    device: /dev/disk/by-id/usb-WD_Elements_1234567890-0:0
    job_type: Import
  register: drive

- name: Write an S3 import manifest for that drive on the controller
  awsie.importexport.ie_manifest:
    job_type: Import
    kind: s3
    dest: /srv/ie/manifests/drive1.yml
    fields:
      accessKeyId: "{{ aws_access_key }}"
      deviceId: "{{ drive.device_id }}"
      bucket: my-import-bucket
      prefix: imported/
      eraseDevice: true
      returnAddress:
        name: Joe Random
        street1: 123 Any Street
        city: Seattle
        stateOrProvince: WA
        postalCode: "98104"
        phoneNumber: 206-555-0100
        country: USA
  delegate_to: localhost

- name: Check an existing export manifest, failing with every problem listed
  awsie.importexport.ie_manifest:
    job_type: Export
    src: manifests/export-drive7.yml
  register: checked

- name: Show where the problems are
  ansible.builtin.debug:
    msg: "{{ item.path }}: {{ item.message }}"
  loop: "{{ checked.problems }}"
  when: checked is failed
'''

RETURN = r'''
content:
  description: The rendered manifest text, with secret values shown as C(********).
  returned: when the manifest has no problem
  type: str
  sample: "manifestVersion: 2.0\naccessKeyId: AKIAIOSFODNN7EXAMPLE\ndeviceId: \"0012\"\nbucket: my-import-bucket\n"
manifest:
  description: The manifest as validated, with yes/no fields as booleans and secret values as C(********).
  returned: when the manifest has no problem
  type: dict
  sample: {"manifestVersion": "2.0", "accessKeyId": "AKIAIOSFODNN7EXAMPLE", "deviceId": "0012", "bucket": "b1"}
problems:
  description: Every problem found; empty when the manifest is valid.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: Field path, for example C(returnAddress.postalCode) or C(operations[0].exportBucket);
        C((manifest)) for the text as a whole.
      type: str
      sample: returnAddress.postalCode
    message:
      description: What is wrong and how to fix it.
      type: str
      sample: must be a US ZIP code (12345 or 12345-6789), got "981"
    code:
      description: The service error code the problem would cause, without the C(Exception) suffix.
      type: str
      sample: InvalidAddress
  sample: []
device_id:
  description: The manifest's C(deviceId).
  returned: when the manifest has no problem
  type: str
  sample: "0012"
job_type:
  description: The job type the manifest was checked for.
  returned: always
  type: str
  sample: Import
kind:
  description: The kind the manifest was checked as (given or detected).
  returned: always
  type: str
  sample: s3
dest:
  description: Path of the manifest file on the managed host.
  returned: when O(dest) is set and the manifest has no problem
  type: str
  sample: /srv/ie/manifests/drive1.yml
backup_file:
  description: Path of the backup copy.
  returned: when O(backup=true) and a file was replaced
  type: str
  sample: /srv/ie/manifests/drive1.yml.2184.2026-11-23@14-00-00~
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.awsie.importexport.plugins.module_utils.fileio import FileError, octal_mode, read_regular_file, sync_file
from ansible_collections.awsie.importexport.plugins.module_utils.manifest import MAX_MANIFEST_BYTES, redacted_diff
from ansible_collections.awsie.importexport.plugins.module_utils.manifest_lib.argspec import ie_manifest_spec

# What was at dest that the diff does not show, and why.
NOT_SHOWN = {'symlink': 'a symbolic link, never followed: it is replaced by the file',
             'too_large': 'over 1 MiB, not a manifest'}


def main():
    module = AnsibleModule(supports_check_mode=True, **ie_manifest_spec())
    # The action plugin validates and renders on the controller, then calls this module with
    # src set to the finished manifest in the remote temporary directory.
    src, dest = module.params['src'], module.params['dest']
    result = dict(changed=False, dest=dest)
    if src is None or dest is None:
        module.fail_json(msg='ie_manifest must run through its action plugin, which validates and renders the '
                             'manifest on the controller, and needs dest to write anything', **result)
    directory = os.path.dirname(os.path.abspath(dest))
    if not os.path.isdir(directory):
        module.fail_json(msg='cannot write %s: directory %s does not exist; create it first' % (dest, directory),
                         **result)
    if os.path.isdir(dest) and not os.path.islink(dest):
        module.fail_json(msg='cannot write %s: it is a directory; give the path of the manifest file' % dest,
                         **result)
    try:
        mode = octal_mode(module.params['mode'])
    except ValueError as exc:
        module.fail_json(msg='%s: %s' % (dest, exc), **result)
    try:
        content = read_regular_file(src, MAX_MANIFEST_BYTES)
        outcome = sync_file(dest, content, check_mode=module.check_mode, backup=module.params['backup'],
                            max_bytes=MAX_MANIFEST_BYTES, mode=mode)
    except FileError as exc:
        module.fail_json(msg=str(exc), errno=exc.errno, **result)
    before, before_kind = outcome.pop('before'), outcome.pop('before_kind')
    result.update(outcome)
    if mode is not None and os.path.isfile(dest) and not os.path.islink(dest):
        # An unchanged manifest (or, in check mode, one that would be replaced) gets the mode too.
        result['changed'] = module.set_mode_if_different(dest, mode, result['changed'])
    if module._diff:
        # Both sides parsed, secrets masked, rendered again; what cannot be parsed is not shown.
        result['diff'], warning = redacted_diff(dest, before, content, module.params['job_type'],
                                                module.params['kind'])
        if before_kind in NOT_SHOWN:
            result['diff']['before_header'] = '%s (not shown: %s)' % (dest, NOT_SHOWN[before_kind])
        if warning:
            module.warn(warning)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
