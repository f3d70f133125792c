# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A device arrives at AWS: check its SIGNATURE, then load it into S3 (import) or write S3 onto it (export).

PATH may be a directory (the device's file system, already mounted), a block device, or a disk
image. Devices and images are attached and mounted here (read-only for imports, read-write for
exports) with the collection's ``mounts`` rules: the file system must be one the service reads
(``devices.readable_filesystems``), mounted by the kernel or, where this kernel lacks the driver, by
FUSE (``fusefat``, ``ntfs-3g``). Whatever is attached is unmounted and detached.
"""

import contextlib
import hashlib
import mimetypes
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import urllib.parse

from . import s3 as s3mod
from . import validation
from .api import EXPIRY_SECONDS
from .clock import Clock
from .collection import devices, mounts, s3keys, signing
from .state import iso, iso_now, read_service_file
from .store import Store

RECOVERY_DEFAULT = 'EXPORT-RECOVERY'
CARRIER = 'UPS'
FAT_NTFS_BAD = re.compile(r'[\\:*?"<>|\x00-\x1f]')
# ext3/ext4 read-only without replaying the journal: the loop device of an import is read-only.
READ_ONLY_OPTIONS = {'ext3': 'ro,noload', 'ext4': 'ro,noload'}


class ReceiveError(Exception):
    """The device cannot be received at all (unknown job, wrong state, cannot attach it)."""


class Unsupported(Exception):
    """The device's file system cannot be read: the job ends UnsupportedFileFormat."""


def _run(argv):
    """``run(argv) -> (rc, stdout, stderr)``, the form the collection's ``mounts`` functions take."""
    proc = subprocess.run(argv, check=False, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc.returncode, proc.stdout, proc.stderr


def _mount(device, fstype, job_type, mountpoint):
    """Mount a file system the service reads for this job type, or raise Unsupported."""
    name = mounts.canonical_fstype(fstype)
    readable = devices.readable_filesystems(job_type)
    if not fstype:
        raise Unsupported('no file system found on the device (the service reads %s)' % ', '.join(readable))
    if name not in readable:
        raise Unsupported('the service does not read %s file systems on %s devices (it reads %s)'
                          % (fstype, job_type.lower(), ', '.join(readable)))
    try:
        driver, program = mounts.choose_driver(name, mounts.kernel_filesystems(), shutil.which)
    except mounts.MountError as exc:
        raise Unsupported('the %s file system cannot be mounted here: %s' % (fstype, exc)) from None
    options = 'rw' if job_type == 'Export' else READ_ONLY_OPTIONS.get(name, 'ro')
    rc, _out, err = _run(mounts.mount_command(driver, program, device, mountpoint, options))
    if rc != 0:
        raise Unsupported('the %s file system could not be mounted: %s' % (fstype, err.strip()))
    return name


def _unmount(mountpoint):
    _run(['sync'])
    try:
        unmounted, message = mounts.unmount(_run, mountpoint, attempts=6)
    except mounts.MountError as exc:
        unmounted, message = False, str(exc)
    if not unmounted:
        print('ie-service: could not unmount %s: %s' % (mountpoint, message), file=sys.stderr)


@contextlib.contextmanager
def attached(path, job_type):
    """Yield ``(root_dir, fstype)``; raise Unsupported when no file system the service reads is there."""
    if os.path.isdir(path):
        yield path, 'directory'
        return
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise ReceiveError('cannot read %s: %s' % (path, exc.strerror)) from None
    loop = mountpoint = None
    partitions = mounted = False
    try:
        if stat.S_ISREG(mode):
            rc, out, err = _run(['losetup', '-f', '--show'] + ([] if job_type == 'Export' else ['-r']) + [path])
            if rc != 0:
                raise ReceiveError('cannot attach %s to a loop device (needs root): %s' % (path, err.strip()))
            loop = device = out.strip()
        elif stat.S_ISBLK(mode):
            device = path
        else:
            raise ReceiveError('%s is neither a directory, a block device nor a disk image' % path)
        fstype = mounts.probe_fstype(_run, device)
        if fstype is None:
            # Perhaps a partition table: use the first partition (the kernel does not scan loop devices here).
            partitions = bool(loop) and _run(['partx', '-a', loop])[0] == 0
            first = device + ('p1' if device[-1].isdigit() else '1')
            if os.path.exists(first):
                device, fstype = first, mounts.probe_fstype(_run, first)
        mountpoint = tempfile.mkdtemp(prefix='ie-service-mnt-')
        name = _mount(device, fstype, job_type, mountpoint)
        mounted = True
        yield mountpoint, name
    finally:
        if mounted:
            _unmount(mountpoint)
        if mountpoint:
            with contextlib.suppress(OSError):
                os.rmdir(mountpoint)
        if partitions:
            _run(['partx', '-d', loop])
        if loop:
            _run(['losetup', '-d', loop])


# ---------------------------------------------------------------- receiving

def _read_signature(root):
    """The SIGNATURE file's bytes, or None; the name must match exactly (FAT is case-blind)."""
    if signing.SIGNATURE_FILE_NAME not in os.listdir(root):
        return None
    with open(os.path.join(root, signing.SIGNATURE_FILE_NAME), 'rb') as handle:
        return handle.read()


def _content_type(rel, manifest, data):
    name = rel.rsplit('/', 1)[-1]
    gz = False
    base = name
    for suffix in ('.gz', '.gzip'):
        if base.endswith(suffix):
            base, gz = base[:-len(suffix)], True
    ext = base.rsplit('.', 1)[1] if '.' in base else ''
    types = manifest.get('contentTypes') or {}
    ctype = types.get(ext) if ext else None
    if ctype is None and ext:
        ctype = mimetypes.types_map.get('.' + ext.lower())
    if ctype is None:
        ctype = manifest.get('defaultContentType') or 'binary/octet-stream'
    gzip = gz or data[:2] == b'\x1f\x8b'
    encoding = 'gzip' if gzip and manifest.get('setContentEncodingForGzFiles') is True else None
    return str(ctype), encoding


def _log_row(*cols):
    return ','.join('"%s"' % str(c).replace('"', '""') if any(x in str(c) for x in ',"\n') else str(c) for c in cols)


def import_s3(root, job, manifest, s3):
    """Load every file (minus SIGNATURE and ignore matches) into the bucket; returns (loaded, errors, log)."""
    from botocore.exceptions import BotoCoreError, ClientError  # pylint: disable=import-outside-toplevel
    bucket = str(manifest['bucket'])
    rule = s3keys.KeyRule.from_manifest(manifest)
    extra = {}
    for option, arg in (('acl', 'ACL'), ('cacheControl', 'CacheControl'), ('contentDisposition', 'ContentDisposition'),
                        ('contentLanguage', 'ContentLanguage'), ('storageClass', 'StorageClass')):
        if manifest.get(option) not in (None, ''):
            extra[arg] = str(manifest[option])
    if isinstance(manifest.get('staticMetadata'), dict):
        extra['Metadata'] = {str(k): str(v) for k, v in manifest['staticMetadata'].items()}
    log = [_log_row('DateTime', 'File', 'Status', 'Code', 'Key', 'MD5', 'Bytes', 'Content-Type')]
    loaded, errors = [], 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root).replace(os.sep, '/')
            outcome = rule.outcome(rel)
            if outcome.status == s3keys.ERROR:
                errors += 1
                shown = rel if s3keys.is_utf8(rel) else rel.encode('utf-8', 'surrogateescape').decode('latin-1')
                log.append(_log_row(iso_now(), shown, outcome.status, outcome.code, '', '', '', ''))
                continue
            if outcome.status == s3keys.IGNORED:
                log.append(_log_row(iso_now(), rel, outcome.status, outcome.code, '', '', '', ''))
                continue
            key = outcome.key
            try:
                with open(full, 'rb') as handle:
                    data = handle.read()
            except OSError as exc:
                errors += 1
                log.append(_log_row(iso_now(), rel, 'Error', 'DeviceError %s' % exc.strerror, key, '', '', ''))
                continue
            ctype, encoding = _content_type(rel, manifest, data)
            args = dict(extra, Bucket=bucket, Key=key, Body=data, ContentType=ctype)
            if encoding:
                args['ContentEncoding'] = encoding
            try:
                s3.put_object(**args)
            except (ClientError, BotoCoreError) as exc:
                errors += 1
                log.append(_log_row(iso_now(), rel, 'Error', str(exc)[:200], key, '', len(data), ctype))
                continue
            loaded.append(key)
            log.append(_log_row(iso_now(), rel, 'Loaded', '200', key, hashlib.md5(data).hexdigest(), len(data), ctype))
    return loaded, errors, '\n'.join(log) + '\n'


def _safe_relpath(path, fstype):
    parts = path.split('/')
    if any(p in ('', '.', '..') for p in parts):
        return None
    if fstype in ('vfat', 'ntfs', 'exfat') and any(FAT_NTFS_BAD.search(p) or p.endswith((' ', '.')) for p in parts):
        return None
    return path


def export_s3(root, fstype, job, manifest, s3):
    """Write the operations' objects onto the drive; returns (written, errors, log)."""
    from botocore.exceptions import BotoCoreError, ClientError  # pylint: disable=import-outside-toplevel
    rule = s3keys.KeyRule.from_manifest(manifest)
    recovery = str(manifest.get('recoveryDirectory') or RECOVERY_DEFAULT)
    log = [_log_row('DateTime', 'Key', 'Status', 'Code', 'File', 'MD5', 'Bytes')]
    written, errors = [], 0
    for op in manifest.get('operations') or []:
        bucket = str(op['exportBucket'])
        prefix = '' if op.get('prefix') is None else str(op['prefix'])
        begin = None if op.get('beginMarker') is None else str(op['beginMarker'])
        end = None if op.get('endMarker') is None else str(op['endMarker'])
        target = rule.substitute(str(op.get('targetDirectory') or '')).strip('/')
        kwargs = {'Bucket': bucket, 'Prefix': prefix}
        if begin:
            kwargs['StartAfter'] = begin
        try:
            keys = [obj['Key'] for page in s3.get_paginator('list_objects_v2').paginate(**kwargs)
                    for obj in page.get('Contents', [])]
        except (ClientError, BotoCoreError) as exc:
            errors += 1
            log.append(_log_row(iso_now(), bucket, 'Error', str(exc)[:200], '', '', ''))
            continue
        for key in sorted(keys, key=lambda k: k.encode('utf-8')):
            if begin is not None and key.encode('utf-8') <= begin.encode('utf-8'):
                continue
            if end is not None and key.encode('utf-8') > end.encode('utf-8'):
                continue
            if key.endswith('/'):
                continue  # a folder marker: directories come from the keys below it
            name = rule.substitute(key)
            rel = _safe_relpath('/'.join(p for p in (target, name) if p), fstype)
            status = 'Exported'
            if rel is None:
                rel = '%s/%s' % (recovery, urllib.parse.quote(name, safe=''))
                status = 'Recovered'
            full = os.path.join(root, *rel.split('/'))
            try:
                data = s3.get_object(Bucket=bucket, Key=key)['Body'].read()
                os.makedirs(os.path.dirname(full), exist_ok=True)
                with open(full, 'wb') as handle:
                    handle.write(data)
            except (ClientError, BotoCoreError, OSError) as exc:
                errors += 1
                log.append(_log_row(iso_now(), key, 'Error', str(exc)[:200], rel, '', ''))
                continue
            written.append(rel)
            log.append(_log_row(iso_now(), key, status, '200', rel, hashlib.md5(data).hexdigest(), len(data)))
    return written, errors, '\n'.join(log) + '\n'


def _events(start, step, final, loaded):
    if loaded:
        return [[start, 'AtAWS', 'Pending'], [start + step, 'AtAWS', 'InProgress'], [start + 2 * step, 'AtAWS', final],
                [start + 3 * step, 'Returned', final]]
    return [[start, 'AtAWS', 'Pending'], [start + step, 'AtAWS', final], [start + 2 * step, 'Returned', final]]


def receive(state_dir, job_id, path):
    """Receive a device for a job; returns a summary dict. Raises ReceiveError when nothing can be done."""
    try:
        job_id = signing.normalize_job_id(job_id)
    except signing.InvalidJobId as exc:
        raise ReceiveError(str(exc)) from None
    store = Store(state_dir)
    clock = Clock(state_dir)
    info = read_service_file(state_dir)
    job = store.get(job_id)
    if job is None:
        raise ReceiveError('no job %s in %s' % (job_id, state_dir))
    now = clock.now()
    if job['canceled'] is not None:
        raise ReceiveError('job %s was canceled: the device would be returned unopened' % job_id)
    if job['received'] is not None:
        raise ReceiveError('a device for job %s has already arrived' % job_id)
    if now >= job['created'] + EXPIRY_SECONDS:
        raise ReceiveError('job %s has expired: the device would be returned unopened' % job_id)
    if not info.get('s3_endpoint'):
        raise ReceiveError('the state dir %s has no service.json with an s3_endpoint: start ie-service serve first' % state_dir)
    step = float(info.get('step_seconds', 3600))
    secret = store.secret_of(job['account'])
    manifest = validation.readable(job['manifest'], job['job_type'], job['kind'])
    s3 = s3mod.client(info['s3_endpoint'], job['account'], secret)
    summary = {'job_id': job_id, 'job_type': job['job_type'], 'path': path}
    final, count, log_text, loaded = None, 0, None, False
    try:
        with attached(path, job['job_type']) as (root, fstype):
            summary['file_system'] = fstype
            if not store.update_fields(job_id, 'received IS NULL AND canceled IS NULL', received=now,
                                       events=[[now, 'AtAWS', 'Pending']]):
                raise ReceiveError('job %s can no longer receive a device' % job_id)
            if job['kind'] != 's3':
                final, loaded = 'Complete', True
                log_text = 'EBS/Glacier import simulated: the device image is not loaded by ie-service\n'
            else:
                data = _read_signature(root)
                if data is None:
                    final = 'MissingSignature'
                else:
                    ok, reason = signing.verify_signature_file(data, secret, job['manifest'], job_id)
                    summary['signature'] = reason
                    if not ok:
                        final = 'InvalidSignature'
            if final is None and job['job_type'] == 'Import':
                keys, count, log_text = import_s3(root, job, manifest, s3)
                summary['keys'] = keys
                loaded = True
            elif final is None:
                files, count, log_text = export_s3(root, fstype, job, manifest, s3)
                summary['files'] = files
                loaded = True
                name = 'export-log-%s' % job_id
                with open(os.path.join(root, name), 'w', encoding='utf-8') as handle:
                    handle.write(log_text)
            if loaded and final is None:
                final = 'SuccessWithErrors' if count else 'Complete'
    except Unsupported as exc:
        summary['reason'] = str(exc)
        if not store.update_fields(job_id, 'received IS NULL AND canceled IS NULL', received=now,
                                   events=[[now, 'AtAWS', 'Pending']]):
            raise ReceiveError('job %s can no longer receive a device' % job_id) from None
        final = 'UnsupportedFileFormat'
    fields = {'events': _events(now, step, final, loaded), 'error_count': count, 'carrier': CARRIER,
              'tracking': '1Z' + hashlib.sha1(('%s%s' % (job_id, now)).encode()).hexdigest()[:16].upper()}
    if loaded and log_text is not None:
        log_bucket = str(manifest.get('logBucket') or manifest.get('bucket') or '')
        log_key = '%s%s-log-%s' % (manifest.get('logPrefix') or '', job['job_type'].lower(), job_id)
        if log_bucket:
            try:
                s3.put_object(Bucket=log_bucket, Key=log_key, Body=log_text.encode('utf-8'), ContentType='text/csv')
                fields.update(log_bucket=log_bucket, log_key=log_key)
            except Exception as exc:  # pylint: disable=broad-except
                summary['log_error'] = str(exc)
    store.update_fields(job_id, '1', **fields)
    summary.update(progress=final, error_count=count, log_bucket=fields.get('log_bucket'), log_key=fields.get('log_key'),
                   received=iso(now), complete_at=iso(now + (2 if loaded else 1) * step),
                   returned_at=iso(now + (3 if loaded else 2) * step))
    return summary


__all__ = ['receive', 'ReceiveError', 'attached']
