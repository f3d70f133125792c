#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: ie_load
short_description: Load a data set onto a mounted import drive in one pass, with a ledger
version_added: 0.1.0
description:
  - Copies the files of O(src) (all of them, one drive's share of an M(awsie.importexport.ie_plan),
    or a re-ship list of M(awsie.importexport.ie_reconcile)) onto the drive mounted at O(dest).
  - Each source byte is read once; the MD5 is computed while copying. A file is written under a
    temporary name (C(.ie-load-*.part)) in its directory and renamed when complete, so a killed
    load leaves no partial file under a real name; a later run removes the leftovers.
  - Writes a ledger - per file its path, S3 key, size, mtime and MD5 (format in C(docs/data.md)).
    With O(ledger) the ledger is kept on the controller; the action plugin hands the previous one
    to the host and brings the new one back.
  - A re-run reads only metadata for files whose size and mtime match the ledger and whose copy on
    the drive has that size; new and changed files are copied.
  - Files the import would not load (names that are not UTF-8, keys over 1024 bytes, symbolic
    links, special files, files the manifest's C(ignore) skips, C(SIGNATURE) in the root) are not
    copied; RV(excluded) counts them by rule. M(awsie.importexport.ie_plan) lists them.
  - Never sets modes or owners (FAT, NTFS, exFAT); leaves C(SIGNATURE) and C(lost+found) in the
    drive's root alone; removes nothing else from the drive.
extends_documentation_fragment:
  - awsie.importexport.attributes
  - awsie.importexport.attributes.ACTION
  - awsie.importexport.attributes.FILES
  - awsie.importexport.data_set
attributes:
  async:
    support: full
    details: With C(async), set O(ledger_dest) on the host and fetch it afterwards; O(ledger) is then only read.
  check_mode:
    details: Reads metadata and reports what would be copied; writes nothing.
options:
  dest:
    description: Mount point of the drive on the managed host; files go to the same relative paths.
    type: path
    required: true
  ledger:
    description:
      - Path of the drive's ledger on the controller, beside its manifest. Read as the previous
        ledger when it exists and replaced by the new one (not in check mode).
      - Handled by the action plugin; the ledger travels as a file, not as an argument.
    type: path
  previous_ledger:
    description: A ledger on the managed host to take as the previous one. Set by the action plugin for O(ledger).
    type: path
  ledger_dest:
    description:
      - Where on the managed host to write the new ledger (streamed to C(<ledger_dest>.partial),
        renamed when the load is complete). Also read as the previous ledger, with a C(.partial)
        a killed run left. Set by the action plugin for O(ledger) unless given.
    type: path
  drive_ledger:
    description:
      - Also put a copy of the ledger on the drive, at this path relative to O(dest). Refused unless
        the manifest's C(ignore) patterns skip that path, so the ledger is not imported as data.
    type: str
  progress_path:
    description:
      - A JSON file on the managed host rewritten every few seconds while loading (C(files_done),
        C(files_total), C(bytes_done), C(bytes_total), C(elapsed), C(rate), C(eta)), for
        M(awsie.importexport.ie_wait) with C(async).
    type: path
  require_mount:
    description: Fail unless O(dest) is a mount point, so data lands on the drive, not in an empty directory.
    type: bool
    default: true
notes:
  - Files changed while they were copied are not recorded; the task fails naming them, and a
    re-run copies them again.
seealso:
  - module: awsie.importexport.ie_plan
  - module: awsie.importexport.ie_reconcile
  - module: awsie.importexport.ie_wait
'''

EXAMPLES = r'''
- name: Load the data onto the drive, keeping the ledger beside the manifest
  awsie.importexport.ie_load:
    src: /srv/data/project1
    dest: /mnt/ie/drive1
    manifest: "{{ manifest_fields }}"
    ledger: "{{ playbook_dir }}/ie-manifests/drive1.ledger.jsonl"

- name: Load one drive's share of a plan, in the background
  awsie.importexport.ie_load:
    src: /srv/data/project1
    dest: /mnt/ie/drive2
    include: "{{ plan.drives[1]['items'] }}"
    ledger: "{{ playbook_dir }}/ie-manifests/drive2.ledger.jsonl"
    ledger_dest: /var/tmp/drive2.ledger.jsonl
    progress_path: /var/tmp/drive2.progress.json
  async: 86400
  poll: 0
  register: started
'''

RETURN = r'''
copied:
  description: Files copied (in check mode, that would be copied).
  returned: always
  type: int
  sample: 120
skipped_files:
  description:
    - Files not read again - size and mtime as in the previous ledger, the drive's copy the same size.
    - Named so because a result key C(skipped) would mark the task skipped; RV(counts) has it as C(skipped).
  returned: always
  type: int
  sample: 9880
counts:
  description: The counts in one place - C(copied), C(skipped), C(failed), C(bytes), C(removed_partials).
  returned: always
  type: dict
  sample: {"copied": 120, "skipped": 9880, "failed": 0, "bytes": 1073741824, "removed_partials": 0}
bytes:
  description: Bytes copied (would be copied in check mode).
  returned: always
  type: int
  sample: 1073741824
files:
  description: Files in the new ledger.
  returned: always
  type: int
  sample: 10000
total_bytes:
  description: Bytes of the files in the new ledger.
  returned: always
  type: int
  sample: 5368709120
removed_partials:
  description: Temporary files of an earlier, killed load removed from the drive (found, in check mode).
  returned: always
  type: int
  sample: 1
excluded:
  description: Files not copied because the import would not load them, counted by rule (see ie_plan).
  returned: always
  type: dict
  sample: {"symlink": 2, "ignored": 5}
findings:
  description: The first 100 findings of the scan (path, rule, severity, detail).
  returned: always
  type: list
  elements: dict
  sample: [{"path": "docs/link", "rule": "symlink", "severity": "warning", "detail": "symbolic link to /etc"}]
vanished:
  description: Files of the previous ledger no longer in the source (dropped from the ledger; their copies stay on the drive).
  returned: always
  type: int
  sample: 0
failed_files:
  description: The first 100 files that could not be copied, with the error.
  returned: always
  type: list
  elements: dict
  sample: [{"path": "logs/app.log", "error": "changed while it was copied; run the load again when it is complete"}]
seconds:
  description: Duration of the load.
  returned: always
  type: float
  sample: 62.5
rate_bytes_per_second:
  description: Bytes copied per second.
  returned: always
  type: int
  sample: 180000000
ledger:
  description: The ledger's path on the controller.
  returned: when O(ledger) is set
  type: str
  sample: /home/ops/ie-manifests/drive1.ledger.jsonl
ledger_changed:
  description: Whether the controller's ledger was replaced by different content.
  returned: when O(ledger) is set and not in check mode
  type: bool
  sample: true
'''


from ansible.module_utils.basic import AnsibleModule

from ansible_collections.awsie.importexport.plugins.module_utils import data_set_options, dataset, ledger, load, mounts, s3keys


def main():
    module = AnsibleModule(
        argument_spec=data_set_options.argument_spec(
            dest=dict(type='path', required=True),
            ledger=dict(type='path'),
            previous_ledger=dict(type='path'),
            ledger_dest=dict(type='path'),
            drive_ledger=dict(type='str'),
            progress_path=dict(type='path'),
            require_mount=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    problem = mounts.drive_dest_problem(p['dest'], p['require_mount'])
    if problem:
        module.fail_json(msg=problem)
    try:
        rule = s3keys.rule_from_options(p['manifest'], p['prefix'], p['substitutions'], p['ignore'])
        paths = ledger.source_filter(p['files_from']) if p['files_from'] else None
        selection = dataset.Selection(paths, p['include']) if paths is not None or p['include'] else None
        previous = load.previous_records(p['previous_ledger'], p['ledger_dest'])
        result = load.load(p['src'], p['dest'], rule, ledger_path=p['ledger_dest'], previous=previous,
                           drive_ledger=p['drive_ledger'], selection=selection, check_mode=module.check_mode,
                           progress_path=p['progress_path'])
    except (load.LoadError, ledger.LedgerError, ValueError) as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(msg='cannot load %s onto %s: %s (%s)'
                             % (p['src'], p['dest'], exc.strerror or exc, exc.filename or 'no file name'))
    result['changed'] = bool(result['copied'] or result['removed_partials'])
    # "skipped" and "failed" are Ansible's own result keys (a truthy one marks the task skipped
    # or failed): the counts use other names at the top level and their plain names in counts.
    result['skipped_files'] = result.pop('skipped')
    result['failed_files'] = result.pop('failed')
    failed = result.pop('failed_count', 0)
    result['counts'] = dict(copied=result['copied'], skipped=result['skipped_files'], failed=failed,
                            bytes=result['bytes'], removed_partials=result['removed_partials'])
    if failed:
        first = result['failed_files'][0]
        module.fail_json(msg='%d file(s) could not be copied, first %s: %s; the others were loaded and are in the '
                             'ledger, run the load again' % (failed, first['path'], first['error']), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
