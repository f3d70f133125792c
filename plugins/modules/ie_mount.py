#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: ie_mount
short_description: Mount or unmount the file system of a drive for AWS Import/Export
version_added: 0.1.0
description:
  - Mounts the file system on a drive (block device) at a directory, or unmounts it, for the
    time it takes to load data and write the SIGNATURE.
  - Never reads or writes C(/etc/fstab); the mount names both device and directory. A drive
    to be shipped leaves no fstab entry behind. The module warns when fstab mentions the
    device or the directory.
  - Whether the right device is mounted is proven with C(findmnt) by device number, not by
    "is a mount point"; a different device at O(path) is an error, not a success.
  - The file system type is probed with C(blkid) unless given. FAT is mounted with the kernel's
    C(vfat) driver when C(/proc/filesystems) lists it, else with C(fusefat -o rw+) when
    installed; NTFS with the kernel's C(ntfs3), else C(ntfs-3g); exFAT with C(exfat), else
    C(mount.exfat-fuse).
  - Refuses to mount over or unmount a mount point of the host itself (C(/), C(/boot), C(/usr),
    C(/var), C(/home), C(/etc), C(/proc), C(/sys), C(/dev), C(/run), C(/tmp) and the like, and
    every mount point listed in C(/etc/fstab)), after resolving C(..), so a typo cannot unmount
    the root file system.
  - A failed mount takes back what the task made (the directories it created, a mount that did
    not come out as planned).
extends_documentation_fragment:
  - awsie.importexport.attributes
attributes:
  check_mode:
    details: Probes and findmnt run, and every refusal below is checked; nothing is mounted, unmounted or created.
  diff_mode:
    support: full
    details: Shows the mount at O(path) before and after.
options:
  path:
    description:
      - Directory to mount at. Created (mode 0755, with missing parents) if missing when
        O(state=mounted), and removed again if the mount fails.
      - Must not be a symbolic link (the drive would be mounted at the link's target) and, to
        mount, not a file or under a file. Symbolic links in its parents are resolved; RV(path)
        is the resolved directory.
    type: path
    required: true
  src:
    description:
      - The drive's block device, for example C(/dev/sdb1) or a C(/dev/disk/by-id/) link.
      - Required when O(state=mounted). With O(state=unmounted) it guards the unmount, the
        module fails rather than unmount a different device.
    type: path
  fstype:
    description:
      - File system type (C(ext4), C(vfat) or C(fat32), C(ntfs), C(exfat), ...).
      - Default is the type C(blkid) finds on O(src). When given, it must agree with the probe.
    type: str
  opts:
    description:
      - Comma-separated mount options, for example C(ro) or C(noatime).
      - A mounted drive with the other of C(ro)/C(rw) is remounted (kernel drivers) or reported
        as an error (FUSE drivers cannot remount).
    type: str
    default: defaults
  state:
    description:
      - V(mounted) mounts O(src) at O(path); V(unmounted) unmounts whatever O(src) is at O(path).
    type: str
    choices: [mounted, unmounted]
    default: mounted
notes:
  - Modes and owners are not changed; on FAT and NTFS they are not meaningful.
  - Needs C(findmnt), C(blkid) and C(mount) (util-linux); FUSE drivers when the kernel lacks one.
seealso:
  - module: awsie.importexport.ie_signature
'''

EXAMPLES = r'''
- name: Mount the drive, whatever file system it holds
  awsie.importexport.ie_mount:
    src: /dev/disk/by-id/usb-WD_Elements_1234-0:0-part1
    path: /mnt/ie/drive1

- name: Mount a FAT32 drive read-only
  awsie.importexport.ie_mount:
    src: /dev/sdc1
    path: /mnt/ie/drive2
    fstype: fat32
    opts: ro

- name: Unmount it again, only if it is that device
  awsie.importexport.ie_mount:
    src: /dev/sdc1
    path: /mnt/ie/drive2
    state: unmounted
'''

RETURN = r'''
path:
  description: The mount point (absolute, C(..) and linked parents resolved).
  returned: always
  type: str
  sample: /mnt/ie/drive1
src:
  description: The device.
  returned: when O(src) is given
  type: str
  sample: /dev/sdb1
fstype:
  description: The file system type (blkid name) that was mounted.
  returned: when O(state=mounted)
  type: str
  sample: vfat
driver:
  description: What mounts it, V(kernel) or the FUSE program (V(fusefat), V(ntfs-3g), V(mount.exfat-fuse)).
  returned: when O(state=mounted)
  type: str
  sample: fusefat
command:
  description: The command that mounted, remounted or unmounted; empty when nothing was run.
  returned: always
  type: list
  elements: str
  sample: [mount, -t, ext4, /dev/sdb1, /mnt/ie/drive1]
mount:
  description: The mount at O(path) after the task as findmnt reports it (none when unmounted).
  returned: always
  type: dict
  sample: {target: /mnt/ie/drive1, source: /dev/sdb1, fstype: ext4, options: "rw,relatime"}
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.awsie.importexport.plugins.module_utils import mounts as M


def describe(mount):
    if not mount:
        return 'not mounted\n'
    return '%(source)s on %(target)s type %(fstype)s (%(options)s)\n' % mount


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            src=dict(type='path'),
            fstype=dict(type='str'),
            opts=dict(type='str', default='defaults'),
            state=dict(type='str', default='mounted', choices=['mounted', 'unmounted']),
        ),
        required_if=[('state', 'mounted', ['src'])],
        supports_check_mode=True,
    )
    params = module.params
    src, state = params['src'], params['state']
    result = dict(changed=False, path=params['path'], command=[], mount={})
    if src:
        result['src'] = src

    def run(argv):
        return module.run_command(argv, environ_update=dict(LC_ALL='C'))

    for tool in ('findmnt', 'blkid'):
        if not module.get_bin_path(tool):
            module.fail_json(msg='%s not found on the host; install util-linux' % tool, **result)
    try:
        path = result['path'] = M.check_path(params['path'], state)
        if state == 'mounted':
            plan = M.plan_mount(run, src, path, params['fstype'], params['opts'])
            result.update(fstype=plan['fstype'], driver=plan['driver'])
        else:
            plan = M.plan_unmount(run, src, path)
        result.update(changed=plan['action'] is not None, command=plan['command'], mount=plan['current'] or {})
        if plan['action'] and not module.check_mode:
            result['mount'] = M.carry_out(run, plan, src, path)
    except M.MountError as exc:
        result.update(exc.facts)
        module.fail_json(msg=str(exc), **result)
    for line in M.fstab_mentions(src, path):
        module.warn('/etc/fstab mentions this drive or mount point (%s); remove it before the drive is shipped'
                    % line.strip())
    if module._diff:
        after = result['mount']
        if module.check_mode and result['changed']:
            after = {} if state == 'unmounted' else dict(source=src, target=path, fstype=result['fstype'],
                                                         options=params['opts'])
        result['diff'] = dict(before=describe(plan['current']), after=describe(after), before_header=path,
                              after_header=path)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
