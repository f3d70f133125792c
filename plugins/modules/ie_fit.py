#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: ie_fit
short_description: Tell whether a data tree fits on a drive, counted in the drive's blocks
version_added: 0.1.0
description:
  - Counts what the files under O(src) will take on the drive's file system the way it allocates
    space - whole blocks or clusters per file, directory entries, one inode per file and directory
    on ext, one MFT record per file on NTFS, FAT32's limit of 4 GiB - 1 byte per file - and
    compares it with the drive's free room. Apparent sizes are not room - 6,000 files of 100 bytes
    take 6,000 blocks and 6,000 inodes.
  - Reads the drive's allocation unit and free room from the mounted file system, else from the
    ext superblock (C(dumpe2fs -h)) or the FAT32 boot and FSInfo sectors, without mounting. The free
    room of an unmounted NTFS drive cannot be read this way - RV(fits) is then null unless the data
    exceeds the whole drive, and RV(reason) says so.
  - With O(dest), the directory where the drive is mounted, files already there with the same size
    and directories already there cost nothing more, so a re-run onto a loaded drive fits.
  - Reads only; symbolic links and special files under O(src) are not counted.
extends_documentation_fragment:
  - awsie.importexport.attributes
attributes:
  check_mode:
    details: Reads only; the same in check mode.
options:
  device:
    description:
      - The device holding the drive's file system (a partition node when there is one), as
        RV(awsie.importexport.ie_device_info#module:fs_device) returns it.
    type: path
    required: true
  src:
    description: Directory on the managed host whose files go onto the drive.
    type: path
    required: true
  dest:
    description: Directory where the drive is mounted, when it is.
    type: path
  fstype:
    description: File system type as blkid names it; probed when not given.
    type: str
  margin_bytes:
    description: Bytes that must stay free beyond the data.
    type: int
    default: 0
  fail_when_short:
    description: Fail, with RV(reason) as the message, when the data does not fit (RV(fits) is false).
    type: bool
    default: false
seealso:
  - module: awsie.importexport.ie_device_info
'''

EXAMPLES = r'''
- name: Check the photos fit on the drive before mounting it
  awsie.importexport.ie_fit:
    device: /dev/sdb1
    src: /srv/photos
    margin_bytes: 1048576
  register: room

- name: Fail with the figures when they do not
  awsie.importexport.ie_fit:
    device: /dev/sdb1
    src: /srv/photos
    fail_when_short: true
'''

RETURN = r'''
fits:
  description: True when the data fits, false when it does not, null when it cannot be told yet (see RV(reason)).
  returned: success
  type: bool
  sample: false
reason:
  description: Why, in words, with the figures.
  returned: success
  type: str
  sample: the data needs 6001 inodes (one per file and directory) but the ext4 file system has 5101 free of 5101
need_bytes:
  description: Bytes the data takes on this file system (allocation units, directories, records).
  returned: success
  type: int
  sample: 6350848
need_inodes:
  description: Files and directories the data adds.
  returned: success
  type: int
  sample: 6001
files:
  description: Regular files counted (not already on the drive when O(dest) is given).
  returned: success
  type: int
  sample: 6000
dirs:
  description: Directories counted below O(src).
  returned: success
  type: int
  sample: 1
data_bytes:
  description: The files' apparent sizes added up.
  returned: success
  type: int
  sample: 600000
largest_file:
  description: Size of the largest file counted.
  returned: success
  type: int
  sample: 100
unit_bytes:
  description: The file system's allocation unit (block or cluster).
  returned: success
  type: int
  sample: 1024
free_bytes:
  description: Free bytes for data, or null when they cannot be read.
  returned: success
  type: int
  sample: 16711680
free_inodes:
  description: Free inodes (ext only), else null.
  returned: success
  type: int
  sample: 5101
size_bytes:
  description: Capacity of the file system.
  returned: success
  type: int
  sample: 20971520
geometry_source:
  description: Where the figures were read, V(mounted file system), V(ext superblock), V(FAT32 boot sector) or V(NTFS boot sector).
  returned: success
  type: str
  sample: ext superblock
fstype:
  description: The file system type.
  returned: success
  type: str
  sample: ext4
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.awsie.importexport.plugins.module_utils import room
from ansible_collections.awsie.importexport.plugins.module_utils.devices import DeviceError, Prober


def geometry(module, run, device, fstype, dest):
    prober = Prober(run, blkid=module.get_bin_path('blkid', required=True))
    if not fstype:
        fstype = prober.blkid_probe(device).get('TYPE')
    if fstype not in ('ext2', 'ext3', 'ext4', 'vfat', 'ntfs'):
        module.fail_json(msg='%s holds %s; the room can be counted on ext2/3/4, FAT32 and NTFS drives'
                         % (device, 'file system %s' % fstype if fstype else 'no file system'), fstype=fstype)
    mounts = [dest] if dest else prober.mount_points(device)
    for mount in mounts:
        try:
            found = room.geometry_from_statvfs(fstype, os.statvfs(mount))
        except OSError:
            continue
        if found:
            return found
    if fstype.startswith('ext'):
        dumpe2fs = module.get_bin_path('dumpe2fs')
        if dumpe2fs:
            rc, out, _err = run([dumpe2fs, '-h', device])
            found = room.geometry_from_dumpe2fs(fstype, out) if rc == 0 else None
            if found:
                return found
    else:
        found = room.read_boot_geometry(device, fstype)
        if found:
            return found
    module.fail_json(msg='cannot read the allocation unit of %s (%s); check it is readable (run as root) and not '
                         'damaged (fsck)' % (device, fstype), fstype=fstype)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            device=dict(type='path', required=True),
            src=dict(type='path', required=True),
            dest=dict(type='path'),
            fstype=dict(type='str'),
            margin_bytes=dict(type='int', default=0),
            fail_when_short=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if not os.path.isdir(p['src']):
        module.fail_json(msg='src %s is not a directory on %s; give the directory whose files go onto the drive'
                         % (p['src'], 'this host'))
    if p['dest'] and not os.path.isdir(p['dest']):
        module.fail_json(msg='dest %s is not a directory; give the mount point of the drive' % p['dest'])

    def run(argv):
        return module.run_command(argv, environ_update=dict(LC_ALL='C'))

    try:
        geo = geometry(module, run, p['device'], p['fstype'], p['dest'])
    except DeviceError as exc:
        module.fail_json(msg=str(exc))
    need = room.scan(p['src'], room.Need(geo), dest=p['dest'])
    device_size = Prober(run).sysfs(os.path.realpath(p['device'])).get('size')
    fits, reason = room.verdict(need, geo, p['margin_bytes'], device_size=device_size,
                                counted_existing=bool(p['dest']))
    facts = need.as_dict()
    facts.pop('too_big_for_fat32')
    facts.update(changed=False, fits=fits, reason=reason, unit_bytes=geo['unit'], free_bytes=geo['free_bytes'],
                 free_inodes=geo['free_inodes'], size_bytes=geo['size_bytes'], geometry_source=geo['source'],
                 fstype=geo['fstype'])
    if fits is False and p['fail_when_short']:
        module.fail_json(msg='%s does not fit on %s: %s' % (p['src'], p['device'], reason), **facts)
    module.exit_json(**facts)


if __name__ == '__main__':
    main()
