# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A device arrives at AWS: check its SIGNATURE, then load it into S3 (import) or write S3 onto it (export).

PATH may be a directory (the device's file system, already mounted), a block device, or a disk
image. Devices and images are mounted by this module (read-only for imports, read-write for
exports): ext2/3/4, xfs, btrfs with the kernel, FAT with ``fusefat`` (this kernel has no vfat),
NTFS with ``ntfs-3g``, exFAT with ``exfat-fuse``. Whatever is attached is unmounted and detached.
"""

import contextlib
import datetime
import hashlib
import mimetypes
import os
import re
import shutil
import stat
import subprocess
import tempfile
import time
import urllib.parse

from .api import EXPIRY_SECONDS, iso
from .clock import Clock
from .collection import manifest as mlib
from .collection import signing
from .store import Store

RECOVERY_DEFAULT = 'EXPORT-RECOVERY'
CARRIER = 'UPS'
FAT_NTFS_BAD = re.compile(r'[\\:*?"<>|\x00-\x1f]')
_YES = ('yes', 'true', 'y', 'on', '1')


class ReceiveError(Exception):
    """The device cannot be received at all (unknown job, wrong state, cannot attach it)."""


class Unsupported(Exception):
    """The device's file system cannot be read: the job ends UnsupportedFileFormat."""


def _run(cmd):
    return subprocess.run(cmd, check=False, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _probe(device):
    proc = _run(['blkid', '-p', '-o', 'value', '-s', 'TYPE', device])
    fstype = proc.stdout.strip()
    if fstype:
        return fstype
    proc = _run(['blkid', '-p', '-o', 'value', '-s', 'PTTYPE', device])
    return 'pt:' + proc.stdout.strip() if proc.stdout.strip() else ''


def _mount_cmd(fstype, device, mountpoint, writable):
    mode = 'rw' if writable else 'ro'
    if fstype in ('ext2', 'ext3', 'ext4'):
        return ['mount', '-t', fstype, '-o', mode if writable else 'ro,noload', device, mountpoint]
    if fstype in ('xfs', 'btrfs'):
        return ['mount', '-t', fstype, '-o', mode, device, mountpoint]
    if fstype == 'vfat':
        return ['fusefat', '-o', 'rw+' if writable else 'ro', device, mountpoint]
    if fstype == 'ntfs':
        return ['ntfs-3g', '-o', mode, device, mountpoint]
    if fstype == 'exfat':
        return ['mount.exfat-fuse', '-o', mode, device, mountpoint]
    return None


def _umount(mountpoint):
    for dummy in range(50):
        proc = _run(['umount', mountpoint])
        if proc.returncode == 0 or not os.path.ismount(mountpoint):
            return
        time.sleep(0.1)


@contextlib.contextmanager
def attached(path, writable):
    """Yield ``(root_dir, fstype)``; raise Unsupported when no readable file system is there."""
    if os.path.isdir(path):
        yield path, 'directory'
        return
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise ReceiveError('cannot read %s: %s' % (path, exc.strerror)) from None
    loop = None
    partitions = False
    mountpoint = None
    mounted = False
    try:
        if stat.S_ISREG(mode):
            proc = _run(['losetup', '-f', '--show'] + ([] if writable else ['-r']) + [path])
            if proc.returncode != 0:
                raise ReceiveError('cannot attach %s to a loop device (needs root): %s' % (path, proc.stderr.strip()))
            loop = device = proc.stdout.strip()
        elif stat.S_ISBLK(mode):
            device = path
        else:
            raise ReceiveError('%s is neither a directory, a block device nor a disk image' % path)
        fstype = _probe(device)
        if fstype.startswith('pt:'):
            # A partition table: use the first partition (the kernel does not scan loop devices here).
            if loop:
                _run(['partx', '-a', loop])
                partitions = True
            first = device + ('p1' if device[-1].isdigit() else '1')
            fstype = _probe(first) if os.path.exists(first) else ''
            device = first
        command = _mount_cmd(fstype, device, '', writable)
        if command is None:
            raise Unsupported('no supported file system found (probe said %r)' % (fstype or 'nothing'))
        mountpoint = tempfile.mkdtemp(prefix='ie-service-mnt-')
        command[-1] = mountpoint
        proc = _run(command)
        if proc.returncode != 0:
            raise Unsupported('the %s file system could not be mounted: %s' % (fstype, proc.stderr.strip()))
        mounted = True
        yield mountpoint, fstype
    finally:
        if mounted:
            _run(['sync'])
            _umount(mountpoint)
        if mountpoint:
            with contextlib.suppress(OSError):
                os.rmdir(mountpoint)
        if partitions:
            _run(['partx', '-d', loop])
        if loop:
            _run(['losetup', '-d', loop])


# ---------------------------------------------------------------- receiving

def _read_signature(root):
    """The SIGNATURE file's bytes, or None; the name must be exactly SIGNATURE (FAT is case-blind)."""
    if 'SIGNATURE' not in os.listdir(root):
        return None
    with open(os.path.join(root, 'SIGNATURE'), 'rb') as handle:
        return handle.read()


def _yes(value):
    return value is True or str(value).strip().lower() in _YES


def _substitute(text, substitutions):
    for old, new in substitutions.items():
        text = text.replace(str(old), '' if new is None else str(new))
    return text


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
    encoding = 'gzip' if (gz or data[:2] == b'\x1f\x8b') and _yes(manifest.get('setContentEncodingForGzFiles', 'no')) else None
    return str(ctype), encoding


def _log_row(*cols):
    return ','.join('"%s"' % str(c).replace('"', '""') if any(x in str(c) for x in ',"\n') else str(c) for c in cols)


def _now_text():
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def import_s3(root, job, manifest, s3):
    """Load every file (minus SIGNATURE and ignore matches) into the bucket; returns (loaded, errors, log)."""
    from botocore.exceptions import BotoCoreError, ClientError  # pylint: disable=import-outside-toplevel
    bucket = str(manifest['bucket'])
    prefix = '' if manifest.get('prefix') is None else str(manifest['prefix'])
    substitutions = manifest.get('substitutions') or {}
    patterns = []
    for pattern in manifest.get('ignore') or []:
        with contextlib.suppress(re.error):
            patterns.append(re.compile(str(pattern)))
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
            try:
                rel.encode('utf-8')
            except UnicodeEncodeError:
                errors += 1
                log.append(_log_row(_now_text(), rel.encode('utf-8', 'surrogateescape').decode('latin-1'), 'Error',
                                    '400 InvalidFileName', '', '', '', ''))
                continue
            if rel == signing.SIGNATURE_FILE_NAME:
                log.append(_log_row(_now_text(), rel, 'Ignored', 'SIGNATURE', '', '', '', ''))
                continue
            if any(p.search(rel) for p in patterns):
                log.append(_log_row(_now_text(), rel, 'Ignored', 'ignore', '', '', '', ''))
                continue
            key = _substitute(prefix + rel, substitutions)
            if not key:
                errors += 1
                log.append(_log_row(_now_text(), rel, 'Error', '400 InvalidSubstitution', '', '', '', ''))
                continue
            try:
                with open(full, 'rb') as handle:
                    data = handle.read()
            except OSError as exc:
                errors += 1
                log.append(_log_row(_now_text(), rel, 'Error', 'DeviceError %s' % exc.strerror, key, '', '', ''))
                continue
            ctype, encoding = _content_type(rel, manifest, data)
            args = dict(extra, Bucket=bucket, Key=key, Body=data, ContentType=ctype)
            if encoding:
                args['ContentEncoding'] = encoding
            try:
                s3.put_object(**args)
            except (ClientError, BotoCoreError) as exc:
                errors += 1
                log.append(_log_row(_now_text(), rel, 'Error', str(exc)[:200], key, '', len(data), ctype))
                continue
            loaded.append(key)
            log.append(_log_row(_now_text(), rel, 'Loaded', '200', key, hashlib.md5(data).hexdigest(), len(data), ctype))
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
    substitutions = manifest.get('substitutions') or {}
    recovery = str(manifest.get('recoveryDirectory') or RECOVERY_DEFAULT)
    log = [_log_row('DateTime', 'Key', 'Status', 'Code', 'File', 'MD5', 'Bytes')]
    written, errors = [], 0
    for op in manifest.get('operations') or []:
        bucket = str(op['exportBucket'])
        prefix = '' if op.get('prefix') is None else str(op['prefix'])
        begin = None if op.get('beginMarker') is None else str(op['beginMarker'])
        end = None if op.get('endMarker') is None else str(op['endMarker'])
        target = _substitute(str(op.get('targetDirectory') or ''), substitutions).strip('/')
        kwargs = {'Bucket': bucket, 'Prefix': prefix}
        if begin:
            kwargs['StartAfter'] = begin
        try:
            keys = [obj['Key'] for page in s3.get_paginator('list_objects_v2').paginate(**kwargs)
                    for obj in page.get('Contents', [])]
        except (ClientError, BotoCoreError) as exc:
            errors += 1
            log.append(_log_row(_now_text(), bucket, 'Error', str(exc)[:200], '', '', ''))
            continue
        for key in sorted(keys, key=lambda k: k.encode('utf-8')):
            if begin is not None and key.encode('utf-8') <= begin.encode('utf-8'):
                continue
            if end is not None and key.encode('utf-8') > end.encode('utf-8'):
                continue
            if key.endswith('/'):
                continue  # a folder marker: directories come from the keys below it
            name = _substitute(key, substitutions)
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
                log.append(_log_row(_now_text(), key, 'Error', str(exc)[:200], rel, '', ''))
                continue
            written.append(rel)
            log.append(_log_row(_now_text(), key, status, '200', rel, hashlib.md5(data).hexdigest(), len(data)))
    return written, errors, '\n'.join(log) + '\n'


def _events(start, step, final, loaded):
    if loaded:
        return [[start, 'AtAWS', 'Pending'], [start + step, 'AtAWS', 'InProgress'], [start + 2 * step, 'AtAWS', final],
                [start + 3 * step, 'Returned', final]]
    return [[start, 'AtAWS', 'Pending'], [start + step, 'AtAWS', final], [start + 2 * step, 'Returned', final]]


def receive(state_dir, job_id, path):
    """Receive a device for a job; returns a summary dict. Raises ReceiveError when nothing can be done."""
    from . import s3 as s3mod  # pylint: disable=import-outside-toplevel
    from .cli import read_service_file  # pylint: disable=import-outside-toplevel
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
    manifest = mlib.parse_manifest(job['manifest'])
    s3 = s3mod.client(info['s3_endpoint'], job['account'], secret)
    writable = job['job_type'] == 'Export'
    summary = {'job_id': job_id, 'job_type': job['job_type'], 'path': path}
    final, count, log_text, loaded = None, 0, None, False
    try:
        with attached(path, writable) as (root, fstype):
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


__all__ = ['receive', 'ReceiveError', 'attached', 'shutil']
