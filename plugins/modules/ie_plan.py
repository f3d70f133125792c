#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: ie_plan
short_description: Check a data set for import and plan it onto drives
version_added: 0.1.0
description:
  - Scans a source tree on the managed host once (metadata only; symbolic links are reported,
    never followed) and reports, before anything is copied, the findings that would make an
    import fail or leave files out, and a plan that puts every file on a drive.
  - "Findings, each with C(path), C(rule), C(severity) and C(detail): C(name-not-utf8),
    C(key-too-long) (over 1024 bytes after the manifest's C(prefix) and C(substitutions)),
    C(key-empty), C(file-too-large) (over 5 TiB), C(symlink), C(special-file), C(unreadable),
    C(key-collision) (two files, one key after C(substitutions)), C(case-collision) (on FAT, NTFS
    and exFAT), C(ignored) (the manifest's C(ignore) skips it), C(signature-name) (a file named
    C(SIGNATURE) in the root), C(changed-during-scan), C(ignore-pattern-invalid),
    C(too-big-for-drives), C(too-big-for-filesystem) (FAT32 holds files up to 4 GiB - 1)."
  - The plan counts room in the drive's blocks (each file rounded up to O(block_size), one block
    per directory). The largest units go first; a directory stays whole on the first drive where
    it fits, else it is split. Each drive in RV(drives) gets C(items), the files and whole
    directories to load onto it, for M(awsie.importexport.ie_load)'s O(awsie.importexport.ie_load#module:include).
  - With O(drive_size), says how many drives of that size the whole set needs.
  - Writes nothing; check mode is the same run.
extends_documentation_fragment:
  - awsie.importexport.attributes
  - awsie.importexport.data_set
attributes:
  check_mode:
    details: The module only reads; check mode is the same run.
options:
  drives:
    description:
      - The drives to fill, in order. Each a dict with C(name) and either C(size) (bytes of room on
        its file system) or C(device) (probed like M(awsie.importexport.ie_device_info) - the free
        bytes of its file system, else its size). Other keys (such as the role's C(data_src)) are
        passed through to RV(drives).
    type: list
    elements: dict
    default: []
  drive_size:
    description:
      - Bytes of room on one drive. Without O(drives), the plan opens as many drives of this size
        as it needs; always, RV(drives_needed) tells how many the whole set needs.
    type: int
  filesystem:
    description:
      - The drives' file system, for its block size, per-file overhead, largest file and case rules.
      - Default the file system probed on the O(drives) devices, else V(ext4).
    type: str
    choices: [ext2, ext3, ext4, ntfs, fat32, vfat, exfat]
  block_size:
    description: Allocation unit in bytes; default 4096 (ext, NTFS), 32768 (FAT32), 131072 (exFAT).
    type: int
  margin_bytes:
    description: Bytes kept free on every drive.
    type: int
    default: 1048576
  recheck:
    description:
      - Read metadata a second time at the end of the scan, to find files that changed while it ran -
        V(recent) only for files changed in the minute before the scan, V(all), or V(none).
    type: str
    choices: [recent, all, none]
    default: recent
  max_findings:
    description: Findings returned in RV(findings); RV(finding_counts) counts them all.
    type: int
    default: 1000
seealso:
  - module: awsie.importexport.ie_load
  - module: awsie.importexport.ie_reconcile
'''

EXAMPLES = r'''
- name: Check the data set and plan it onto the drives attached to the host
  awsie.importexport.ie_plan:
    src: /srv/data/project1
    manifest: "{{ manifest_fields }}"
    drives:
      - {name: drive1, device: /dev/disk/by-id/usb-WD_Elements_1}
      - {name: drive2, size: 4000000000000}
    drive_size: 4000000000000
  register: plan

- name: Stop on findings that would make the import fail
  ansible.builtin.assert:
    that: plan.findings_blocking == 0
    fail_msg: "{{ plan.findings | selectattr('severity', 'eq', 'error') | list }}"
'''

RETURN = r'''
findings:
  description: Findings (at most O(max_findings)), each with C(path), C(rule), C(severity) (error, warning, info) and C(detail).
  returned: always
  type: list
  elements: dict
  sample: [{"path": "raw/scan.tif", "rule": "key-too-long", "severity": "error", "detail": "its S3 key is 1030 bytes"}]
finding_counts:
  description: Findings counted by rule.
  returned: always
  type: dict
  sample: {"symlink": 1, "ignored": 12}
findings_blocking:
  description: Findings of severity C(error) (the import would fail or lose the file).
  returned: always
  type: int
  sample: 0
files:
  description: Files the import would load.
  returned: always
  type: int
  sample: 10000
bytes:
  description: Their bytes.
  returned: always
  type: int
  sample: 5368709120
used_bytes:
  description: Their room in blocks, directories included.
  returned: always
  type: int
  sample: 5400000000
directories:
  description: Directories scanned.
  returned: always
  type: int
  sample: 120
drives:
  description:
    - Per drive, the keys it was given plus C(capacity_bytes) (room after the margin),
      C(used_bytes), C(free_bytes), C(files), C(bytes), and C(items) - the relative paths of files
      and whole directories to load onto it (C(.) for the whole tree).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "drive1", "capacity_bytes": 4000000000, "used_bytes": 3900000000, "free_bytes": 100000000,
            "files": 6000, "bytes": 3890000000, "items": ["photos", "video/2019"]}]
unplaced:
  description: Files that fit on none of the given drives' remaining room - C(files), C(bytes), C(used_bytes), C(items).
  returned: always
  type: dict
  sample: {"files": 0, "bytes": 0, "used_bytes": 0, "items": []}
drives_needed:
  description: Drives of O(drive_size) the whole set needs under the same rule.
  returned: when O(drive_size) is set
  type: int
  sample: 2
drives_needed_at_least:
  description: The lower bound - the set's room in blocks divided by O(drive_size), rounded up.
  returned: when O(drive_size) is set
  type: int
  sample: 2
additional_drives_needed:
  description: Drives of O(drive_size) needed for RV(unplaced).
  returned: when O(drive_size) and O(drives) are set
  type: int
  sample: 0
block_size:
  description: The block size used.
  returned: always
  type: int
  sample: 4096
scan_seconds:
  description: Duration of the scan.
  returned: always
  type: float
  sample: 1.9
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.awsie.importexport.plugins.module_utils import data_set_options, dataset, ledger, plan, s3keys
from ansible_collections.awsie.importexport.plugins.module_utils.devices import DeviceError, Prober


def main():
    module = AnsibleModule(
        argument_spec=data_set_options.argument_spec(
            drives=dict(type='list', elements='dict', default=[]),
            drive_size=dict(type='int'),
            filesystem=dict(type='str', choices=['ext2', 'ext3', 'ext4', 'ntfs', 'fat32', 'vfat', 'exfat']),
            block_size=dict(type='int'),
            margin_bytes=dict(type='int', default=1048576),
            recheck=dict(type='str', choices=['recent', 'all', 'none'], default='recent'),
            max_findings=dict(type='int', default=1000),
        ),
        required_one_of=[('drives', 'drive_size')],
        supports_check_mode=True,
    )
    p = module.params

    def run(argv):
        return module.run_command(argv, environ_update=dict(LC_ALL='C'))

    prober = Prober(run, blkid=module.get_bin_path('blkid') or 'blkid', dumpe2fs=module.get_bin_path('dumpe2fs'))
    try:
        drives = plan.drive_specs(p['drives'], probe=prober.probe)
        probed = sorted({d['probed_fstype'] for d in drives if d.get('probed_fstype')})
        fs = plan.filesystem(p['filesystem'] or (probed[0] if len(probed) == 1 else 'ext4'))
        rule = s3keys.rule_from_options(p['manifest'], p['prefix'], p['substitutions'], p['ignore'])
        paths = ledger.source_filter(p['files_from']) if p['files_from'] else None
        selection = dataset.Selection(paths, p['include']) if paths is not None or p['include'] else None
        scan = dataset.scan(p['src'], rule, selection, recheck=p['recheck'], case_insensitive=fs['case_insensitive'])
        result = plan.make_plan(scan.files, drives, p['drive_size'], p['block_size'] or fs['block'], fs['overhead'],
                                fs['max_file'], p['margin_bytes'])
    except (plan.PlanError, ledger.LedgerError, DeviceError, ValueError) as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(msg='cannot scan %s: %s' % (exc.filename or p['src'], exc.strerror or exc))
    findings = scan.findings + result['findings']
    counts = {}
    for item in findings:
        counts[item['rule']] = counts.get(item['rule'], 0) + 1
    result.update(changed=False, findings=findings[:p['max_findings']], finding_counts=counts,
                  findings_blocking=sum(1 for f in findings if f['severity'] == 'error'),
                  directories=len(scan.directories), scan_seconds=round(scan.seconds, 3))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
