#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: ie_format
short_description: Make sure an export drive is empty, and format it only when it is proven blank
version_added: 0.1.0
description:
  - For AWS Import/Export export jobs - the drive must arrive empty with a file system the manifest
    names in C(fileSystem) (NTFS, EXT4 or FAT32; EXT2 and EXT3 too).
  - Probes the drive and looks at the root of its file system without mounting it (C(debugfs),
    C(mdir) of mtools, C(ntfsls) of ntfs-3g), or through its mount point when it is mounted.
  - A drive holding the wanted file system with no files (C(lost+found), C(SIGNATURE) and the like
    do not count) is kept as it is - not changed.
  - A blank drive (no partition table, no file system, first and last MiB zeros), or one with an
    empty file system of another type, is formatted only with O(format=true).
  - A drive holding files, a partition table, or data that is not a file system is refused unless
    O(force=true); with O(force=true) and O(format=true) it is wiped (C(wipefs -a)) and formatted
    whole. A mounted drive is never formatted.
extends_documentation_fragment:
  - awsie.importexport.attributes
attributes:
  check_mode:
    details: Probes and looks; reports whether it would format, formats nothing.
options:
  device:
    description: The whole drive (block device, C(/dev/disk/by-id) link or loop device).
    type: path
    required: true
  filesystem:
    description: The file system the drive must hold, as the manifest's C(fileSystem) names it.
    type: str
    required: true
    choices: [NTFS, EXT4, EXT3, EXT2, FAT32]
  format:
    description: Format the drive when it is blank or holds an empty file system of another type.
    type: bool
    default: false
  force:
    description: Accept a drive holding files, a partition table or unknown data (and, with O(format), wipe it).
    type: bool
    default: false
  label:
    description: File system label to give when formatting (FAT32 keeps the first 11 characters).
    type: str
notes:
  - Needs C(blkid), C(wipefs) and the C(mkfs) of the file system (e2fsprogs, ntfs-3g, dosfstools);
    C(debugfs), C(mdir) (mtools) or C(ntfsls) to look into an unmounted file system.
seealso:
  - module: awsie.importexport.ie_device_info
  - module: awsie.importexport.ie_signature
'''

EXAMPLES = r'''
- name: Prepare a blank drive for an NTFS export
  awsie.importexport.ie_format:
    device: /dev/disk/by-id/usb-WD_Elements_25A3_57584B314132333435363738-0:0
    filesystem: NTFS
    format: true
'''

RETURN = r'''
action:
  description: V(keep) (the file system is used as it is) or V(format) (formatted, or would be in check mode).
  returned: success
  type: str
  sample: format
reason:
  description: Why, in words.
  returned: always
  type: str
  sample: /dev/sdb is blank; formatting it as NTFS
command:
  description: The mkfs command run (or that would run); empty when nothing was formatted.
  returned: success
  type: list
  elements: str
  sample: [mkfs.ntfs, -F, -Q, -q, /dev/sdb]
device_info:
  description: The drive as M(awsie.importexport.ie_device_info) describes it after the task (before it in check mode).
  returned: success
  type: dict
  sample: {fstype: ntfs, fs_device: /dev/sdb, device_id: FS-7K2QM-9XD4T, blank: false}
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.awsie.importexport.plugins.module_utils import blank
from ansible_collections.awsie.importexport.plugins.module_utils.devices import DeviceError, Prober

LISTERS = {'ext': ('debugfs', lambda d: ['-R', 'ls -p /', d], blank.parse_debugfs_ls),
           'vfat': ('mdir', lambda d: ['-i', d, '-b', '::/'], blank.parse_mdir),
           'ntfs': ('ntfsls', lambda d: ['-f', d], blank.parse_ntfsls)}


def root_names(module, run, facts):
    """Names in the root of the drive's file system, or None when it has none."""
    if not facts.get('fstype'):
        return None
    if facts.get('mount_points'):
        return os.listdir(facts['mount_points'][0])
    kind = 'ext' if facts['fstype'].startswith('ext') else facts['fstype']
    if kind not in LISTERS:
        return ['(a %s file system, whose files cannot be listed)' % facts['fstype']]
    program, args, parse = LISTERS[kind]
    path = module.get_bin_path(program)
    if not path:
        module.fail_json(msg='%s is needed to look into the %s file system on %s without mounting it; install it '
                             '(e2fsprogs, mtools or ntfs-3g)' % (program, facts['fstype'], facts['fs_device']))
    rc, out, err = run([path] + args(facts['fs_device']))
    if rc != 0:
        module.fail_json(msg='cannot list the files on %s with %s: %s; check the file system (fsck)'
                             % (facts['fs_device'], program, (err or out).strip()[:300]))
    return parse(out)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            device=dict(type='path', required=True),
            filesystem=dict(type='str', required=True, choices=sorted(blank.MKFS)),
            format=dict(type='bool', default=False),
            force=dict(type='bool', default=False),
            label=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    p = module.params

    def run(argv):
        return module.run_command(argv, environ_update=dict(LC_ALL='C'))

    prober = Prober(run, blkid=module.get_bin_path('blkid', required=True), partx=module.get_bin_path('partx') or 'partx',
                    udevadm=module.get_bin_path('udevadm'), dumpe2fs=module.get_bin_path('dumpe2fs'))
    try:
        facts = prober.probe(p['device'], 'Export')
    except DeviceError as exc:
        module.fail_json(msg=str(exc), changed=False)
    action, reason = blank.decide(facts, p['filesystem'], root_names(module, run, facts), p['format'], p['force'])
    if action == 'refuse':
        module.fail_json(msg=reason, reason=reason, changed=False, device_info=facts)
    result = dict(changed=action == 'format', action=action, reason=reason, command=[], device_info=facts)
    if action == 'format':
        argv = blank.mkfs_argv(p['filesystem'], facts['device'], p['label'])
        argv[0] = module.get_bin_path(argv[0], required=True)
        result['command'] = argv
        if not module.check_mode:
            for step in ([module.get_bin_path('wipefs', required=True), '-a', facts['device']], argv):
                rc, out, err = run(step)
                if rc != 0:
                    module.fail_json(msg='%s failed on %s: %s' % (os.path.basename(step[0]), facts['device'],
                                                                  (err or out).strip()[:500]), **result)
            try:
                result['device_info'] = Prober(run, blkid=prober.blkid, partx=prober.partx, udevadm=prober.udevadm,
                                               dumpe2fs=prober.dumpe2fs).probe(p['device'], 'Export')
            except DeviceError as exc:
                module.fail_json(msg='formatted, but the probe afterwards failed: %s' % exc, **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
