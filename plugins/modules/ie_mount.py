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
author:
  - awsie.importexport contributors (@awsie)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Probes and findmnt run; nothing is mounted, unmounted or created.
  diff_mode:
    support: full
    details: Shows the mount at O(path) before and after.
  platform:
    platforms: posix
options:
  path:
    description:
      - Directory to mount at. Created (mode 0755) if missing when O(state=mounted).
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
  description: The mount point.
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

import os
import shutil

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.awsie.importexport.plugins.module_utils import mounts as M


def describe(mount):
    if not mount:
        return 'not mounted\n'
    return '%(source)s on %(target)s type %(fstype)s (%(options)s)\n' % mount


def ensure_mounted(module, run, result, src, path):
    params = module.params
    if M.block_device(src) is None:
        module.fail_json(msg='src %s is not a block device (missing or not attached); check lsblk, the cable, '
                             'or losetup for an image' % src, **result)
    current = M.mounted_at(run, path)
    if current and not M.same_source(current, src):
        module.fail_json(msg='%s already has %s mounted (not %s); unmount it first or choose another path'
                             % (path, current.get('source'), src), **result)
    probed = M.probe_fstype(run, src)
    wanted = M.canonical_fstype(params['fstype'])
    if wanted and probed and wanted != probed:
        module.fail_json(msg='%s holds a %s file system, not %s; fix fstype or the drive' % (src, probed, wanted),
                         probed_fstype=probed, **result)
    fstype = wanted or probed
    if not fstype:
        module.fail_json(msg='blkid finds no file system on %s; format the drive or set fstype' % src, **result)
    driver, program = M.choose_driver(fstype, M.kernel_filesystems(), shutil.which)
    result.update(fstype=fstype, driver=driver)
    want_ro = M.read_only(params['opts'])
    if current:
        if M.read_only(current.get('options')) != want_ro:
            if (current.get('fstype') or '').startswith('fuse'):
                module.fail_json(msg='%s is mounted %s at %s by a FUSE driver, which cannot remount; unmount it '
                                     'first' % (src, 'ro' if not want_ro else 'rw', path), **result)
            result['command'] = ['mount', '-o', 'remount,' + ('ro' if want_ro else 'rw'), path]
        else:
            result['mount'] = current
            return
    else:
        elsewhere = M.mounts_of(run, src)
        if elsewhere:
            module.fail_json(msg='%s is already mounted at %s; unmount it there first (a drive mounted twice can '
                                 'be corrupted)' % (src, ', '.join(elsewhere)), **result)
        result['command'] = M.mount_command(driver, program, src, path, params['opts'])
    result['changed'] = True
    if module.check_mode:
        return
    if not os.path.isdir(path):
        os.makedirs(path, mode=0o755)
    rc, out, err = run(result['command'])
    if rc != 0:
        module.fail_json(msg='mounting %s at %s failed: %s' % (src, path, (err or out).strip()), rc=rc, **result)
    result['mount'] = M.mounted_at(run, path) or {}
    if not M.same_source(result['mount'], src):
        module.fail_json(msg='%s ran, but findmnt does not show %s at %s' % (result['command'][0], src, path),
                         **result)


def ensure_unmounted(module, run, result, src, path):
    current = M.mounted_at(run, path)
    if not current:
        return
    result['mount'] = current
    if src and not M.same_source(current, src):
        module.fail_json(msg='%s has %s mounted, not %s; refusing to unmount a different device'
                             % (path, current.get('source'), src), **result)
    result.update(changed=True, command=['umount', path])
    if module.check_mode:
        return
    unmounted, message = M.unmount(run, path)
    if not unmounted:
        module.fail_json(msg='unmounting %s failed: %s; see which processes use it with fuser -vm %s'
                             % (path, message, path), **result)
    result['mount'] = {}


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
    path = os.path.abspath(module.params['path']).rstrip('/') or '/'
    src = module.params['src']
    result = dict(changed=False, path=path, command=[], mount={})
    if src:
        result['src'] = src

    def run(argv):
        return module.run_command(argv, environ_update=dict(LC_ALL='C'))

    for tool in ('findmnt', 'blkid'):
        if not module.get_bin_path(tool):
            module.fail_json(msg='%s not found on the host; install util-linux' % tool, **result)
    before = M.mounted_at(run, path)
    try:
        if module.params['state'] == 'mounted':
            ensure_mounted(module, run, result, src, path)
        else:
            ensure_unmounted(module, run, result, src, path)
    except M.MountError as exc:
        module.fail_json(msg=str(exc), **result)
    if result['changed'] and module.check_mode:
        result['mount'] = before or {}
    for line in M.fstab_mentions(src, path):
        module.warn('/etc/fstab mentions this drive or mount point (%s); remove it before the drive is shipped'
                    % line.strip())
    if module._diff:
        after = result['mount'] if not module.check_mode else (
            {} if module.params['state'] == 'unmounted' else dict(source=src, target=path,
                                                                  fstype=result.get('fstype'), options=module.params['opts']))
        result['diff'] = dict(before=describe(before), after=describe(after if result['changed'] else before),
                              before_header=path, after_header=path)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
