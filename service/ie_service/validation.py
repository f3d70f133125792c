# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Manifest checks for CreateJob/UpdateJob, through the collection's manifest library.

``manifest.load_and_validate`` (the collection's one source of truth) is used when present; the
minimal fallback below only covers the time before it landed and must stay a subset of it.
"""

from .collection import manifest as mlib
from .errors import ApiError

MALFORMED = 'Your manifest is not well-formed'
EXPORT_FILE_SYSTEMS = ('NTFS', 'EXT2', 'EXT3', 'EXT4', 'FAT32')


def _code(code):
    return code if code.endswith('Exception') else code + 'Exception'


def _problem_error(problem):
    code = getattr(problem, 'code', None) or 'InvalidManifestField'
    path = getattr(problem, 'path', None)
    message = getattr(problem, 'message', None) or str(problem)
    if code == 'MalformedManifest':
        text = '%s: %s' % (MALFORMED, message) if message else MALFORMED
    else:
        text = '%s: %s' % (path, message) if path and path not in message else message
    return ApiError(_code(code), text)


def detect_kind(manifest, job_type):
    if hasattr(mlib, 'detect_kind'):
        return mlib.detect_kind(manifest, job_type)
    if mlib.manifest_version(manifest) == '3.0':
        ops = manifest.get('operations') or [{}]
        first = ops[0] if isinstance(ops, list) and ops and isinstance(ops[0], dict) else {}
        return 'glacier' if str(first.get('destination', '')).lower() == 'glacier' else 'ebs'
    return 's3'


def validate(text, job_type):
    """Parse and validate; returns ``(manifest_dict, kind)`` or raises ApiError (first problem)."""
    if hasattr(mlib, 'load_and_validate'):
        try:
            manifest, problems = mlib.load_and_validate(text, job_type=job_type, strict=False)
        except mlib.ManifestError as exc:
            raise ApiError('MalformedManifestException', '%s: %s' % (MALFORMED, exc)) from None
        if problems:
            raise _problem_error(problems[0])
        if manifest is None:
            raise ApiError('MalformedManifestException', MALFORMED)
        return manifest, detect_kind(manifest, job_type)
    return _fallback(text, job_type)


def _fallback(text, job_type):
    try:
        manifest = mlib.parse_manifest(text)
    except mlib.ManifestError as exc:
        raise ApiError('MalformedManifestException', '%s: %s' % (MALFORMED, exc)) from None
    for field in ('manifestVersion', 'accessKeyId', 'deviceId', 'returnAddress'):
        if manifest.get(field) in (None, ''):
            raise ApiError('MissingManifestFieldException', 'The manifest is missing the required field %s' % field)
    version = mlib.manifest_version(manifest)
    if version not in ('2.0', '3.0', '1.0', '1.1', '1.2', '1.3'):
        raise ApiError('InvalidManifestFieldException', 'manifestVersion %s is not valid: use 2.0 (S3) or 3.0 (EBS, Glacier)' % version)
    address = manifest['returnAddress']
    if not isinstance(address, dict):
        raise ApiError('InvalidAddressException', 'returnAddress must be a mapping of address fields')
    for field in ('name', 'street1', 'city', 'postalCode', 'phoneNumber', 'country'):
        if address.get(field) in (None, ''):
            raise ApiError('InvalidAddressException', 'returnAddress.%s is required' % field)
    kind = detect_kind(manifest, job_type)
    if kind == 's3' and job_type == 'Import' and not manifest.get('bucket'):
        raise ApiError('MissingManifestFieldException', 'The manifest is missing the required field bucket')
    if kind == 's3' and job_type == 'Export':
        if not manifest.get('fileSystem'):
            raise ApiError('MissingManifestFieldException', 'The manifest is missing the required field fileSystem')
        if str(manifest['fileSystem']).upper() not in EXPORT_FILE_SYSTEMS:
            raise ApiError('InvalidFileSystemException', 'fileSystem %s is not valid: use one of %s'
                           % (manifest['fileSystem'], ', '.join(EXPORT_FILE_SYSTEMS)))
        ops = manifest.get('operations')
        if not isinstance(ops, list) or not ops:
            raise ApiError('MissingManifestFieldException', 'The manifest is missing the required field operations')
        for number, op in enumerate(ops):
            if not isinstance(op, dict) or not op.get('exportBucket'):
                raise ApiError('MissingManifestFieldException', 'operations[%d].exportBucket is required' % number)
        if not manifest.get('logBucket'):
            raise ApiError('MissingManifestFieldException', 'The manifest is missing the required field logBucket')
    return manifest, kind


def buckets_of(manifest, job_type, kind):
    """Every bucket the job touches, in manifest order, without repeats."""
    names = []
    if kind == 's3' and job_type == 'Import':
        names.append(manifest.get('bucket'))
    if kind == 's3' and job_type == 'Export':
        names.extend(op.get('exportBucket') for op in manifest.get('operations') or [] if isinstance(op, dict))
    names.append(manifest.get('logBucket'))
    seen = []
    for name in names:
        if name not in (None, '') and str(name) not in seen:
            seen.append(str(name))
    return seen
