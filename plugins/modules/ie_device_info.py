#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: ie_device_info
short_description: Identify a drive for AWS Import/Export and tell whether the service can read it
version_added: 0.1.0
description:
  - Probes a block device, a C(/dev/disk/by-id) path, a loop device, a disk image or a mount point,
    read-only, and returns its serial, model, size, partition table, file system (type, label,
    UUID), mount points, used and free bytes, whether it is blank, and whether AWS Import/Export
    reads its file system for the given job type.
  - The service reads NTFS, EXT2, EXT3, EXT4 and FAT32 for imports and exports, and HFSPlus for
    imports only. FAT12/FAT16, exFAT, XFS and Btrfs are not read. EBS and Glacier imports copy the
    whole device, so any file system (or none) will do for them.
  - Returns RV(device_id), the value for the manifest's C(deviceId) and for the sticker on the drive.
  - Works without udev (the file system is probed directly with C(blkid)); with udev, the serial
    and model come from its database.
extends_documentation_fragment:
  - awsie.importexport.attributes
attributes:
  check_mode:
    details: Reads only; the same in check mode.
  platform:
    details: Linux (sysfs, /proc, util-linux's blkid and partx).
options:
  device:
    description:
      - The drive to probe. One of a block device (V(/dev/sdb)), a C(/dev/disk/by-id) path, a loop
        device, a disk image file or the directory where the drive is mounted.
    type: path
    required: true
    aliases: [path]
  job_type:
    description:
      - The job type to judge the file system for.
    type: str
    choices: [Import, Export]
    default: Import
  kind:
    description:
      - The kind of job. For V(ebs) and V(glacier) imports the file system is not read.
    type: str
    choices: [s3, ebs, glacier]
    default: s3
notes:
  - Needs read access to the device (run with become) for C(blkid) and the blank check.
  - A symbolic link that leads nowhere (a C(/dev/disk/by-id) link of a drive unplugged) or back to
    itself is an error that says so.
  - Used and free bytes come from the mounted file system; when it is not mounted, from the FAT32
    FSInfo sector or the ext superblock (C(dumpe2fs)); otherwise they are null.
  - FUSE mounts that do not name their device (such as C(fusefat)) are traced to the device
    through the command line of the FUSE process.
seealso:
  - module: awsie.importexport.ie_manifest
  - module: awsie.importexport.ie_signature
'''

EXAMPLES = r'''
- name: Identify the drive plugged into the loading station
  awsie.importexport.ie_device_info:
    device: /dev/disk/by-id/usb-WD_Elements_25A3_57584B314134393538353234-0:0
    job_type: Export
  register: drive
  become: true

- name: Refuse drives the service cannot read
  ansible.builtin.assert:
    that: drive.supported
    fail_msg: "{{ drive.device }}: {{ drive.supported_reason }}"

- name: Build the manifest with the drive's id
  awsie.importexport.ie_manifest:
    job_type: Export
    dest: /srv/ie/manifests/{{ drive.device_id }}.yml
    fields:
      deviceId: "{{ drive.device_id }}"
      fileSystem: "{{ drive.service_filesystem }}"
      accessKeyId: "{{ aws_access_key }}"
      logBucket: my-log-bucket
      pinCode: "{{ vault_drive_pin }}"
      operations:
        - exportBucket: my-export-bucket
      returnAddress: "{{ return_address }}"
  delegate_to: localhost
'''

RETURN = r'''
device:
  description: The device or image probed (symbolic links resolved; the mount point's source).
  returned: always
  type: str
  sample: /dev/sdb
input_type:
  description: What O(device) was, V(block), V(by-id), V(loop) or V(image) (a mount point resolves to its device).
  returned: always
  type: str
  sample: by-id
serial:
  description: The drive's serial number (udev C(ID_SERIAL_SHORT), else sysfs), or null.
  returned: always
  type: str
  sample: WD-WCC4E1234567
model:
  description: The drive's model, or null.
  returned: always
  type: str
  sample: WD Elements 25A3
size:
  description: Size of the device or image in bytes.
  returned: always
  type: int
  sample: 2000398934016
partition_table:
  description: C(gpt), C(dos) or null.
  returned: always
  type: str
  sample: gpt
partitions:
  description: The partitions of the partition table, with the file system on each.
  returned: always
  type: list
  elements: dict
  sample: [{"number": 1, "start_bytes": 1048576, "size": 2000397795328, "device": "/dev/sdb1", "fstype": "ntfs"}]
fstype:
  description: File system type as blkid names it (C(ext4), C(vfat), C(ntfs), C(hfsplus), ...), on the
    whole device or else on its first partition that has one; null when there is none.
  returned: always
  type: str
  sample: ntfs
fs_version:
  description: File system version (for vfat the FAT width, V(FAT32)).
  returned: always
  type: str
  sample: FAT32
fs_device:
  description: The device node holding the file system (a partition node when there is one).
  returned: always
  type: str
  sample: /dev/sdb1
fs_partition:
  description: Partition number holding the file system, null for a whole-device file system.
  returned: always
  type: int
  sample: 1
label:
  description: File system label, or null.
  returned: always
  type: str
  sample: DRIVE7
fs_uuid:
  description: File system UUID (volume serial for FAT and NTFS), or null.
  returned: always
  type: str
  sample: 30057BA24C712A2E
mount_points:
  description: Where the file system is mounted.
  returned: always
  type: list
  elements: str
  sample: [/mnt/drive7]
size_bytes:
  description: Capacity of the file system, or null when unknown.
  returned: always
  type: int
  sample: 2000396742656
used_bytes:
  description: Bytes in use on the file system, or null when unknown.
  returned: always
  type: int
  sample: 1204000000
free_bytes:
  description: Bytes free for data on the file system, or null when unknown.
  returned: always
  type: int
  sample: 1999192742656
blank:
  description: True when the device has no partition table and no file system or other signature and its
    first and last MiB are zeros.
  returned: always
  type: bool
  sample: false
service_filesystem:
  description: The file system as the manifest's C(fileSystem) names it (V(NTFS), V(EXT4), V(FAT32), V(HFSPlus)),
    or null when the service does not read it.
  returned: always
  type: str
  sample: NTFS
supported:
  description: Whether the service reads this file system for O(job_type) and O(kind).
  returned: always
  type: bool
  sample: true
supported_reason:
  description: Why, in words.
  returned: always
  type: str
  sample: NTFS is read by the service for export jobs
device_id:
  description:
    - The manifest's C(deviceId) for this drive, to write on a sticker too. The serial number when the
      drive has one; else C(FS-) and ten characters derived from the file system UUID, grouped 5 and 5
      (for example C(FS-7K2QM-9XD4T)), using digits and letters without I, L, O and U so it is easy
      to copy by hand; null when there is neither.
    - The derivation is SHA-256 over the UUID in lower case without dashes, in Crockford base32, first
      ten characters. It stays the same until the file system is recreated.
  returned: always
  type: str
  sample: FS-7K2QM-9XD4T
device_id_source:
  description: V(serial), V(filesystem_uuid), or null.
  returned: always
  type: str
  sample: serial
loop_devices:
  description: Loop devices attached to the image, when O(device) is an image.
  returned: always
  type: list
  elements: str
  sample: [/dev/loop3]
backing_file:
  description: The image behind a loop device, or null.
  returned: always
  type: str
  sample: /srv/images/drive7.img
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.awsie.importexport.plugins.module_utils.devices import DeviceError, Prober


def main():
    module = AnsibleModule(
        argument_spec=dict(
            device=dict(type='path', required=True, aliases=['path']),
            job_type=dict(type='str', choices=['Import', 'Export'], default='Import'),
            kind=dict(type='str', choices=['s3', 'ebs', 'glacier'], default='s3'),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if params['job_type'] == 'Export' and params['kind'] != 's3':
        module.fail_json(msg='%s jobs are imports only; use job_type=Import' % params['kind'])

    def run(argv):
        return module.run_command(argv, environ_update=dict(LC_ALL='C'))

    prober = Prober(run, blkid=module.get_bin_path('blkid', required=True),
                    partx=module.get_bin_path('partx') or 'partx', udevadm=module.get_bin_path('udevadm'),
                    losetup=module.get_bin_path('losetup') or 'losetup', dumpe2fs=module.get_bin_path('dumpe2fs'))
    try:
        facts = prober.probe(params['device'], params['job_type'], params['kind'])
    except DeviceError as exc:
        module.fail_json(msg=str(exc), device=params['device'])
    module.exit_json(changed=False, **facts)


if __name__ == '__main__':
    main()
