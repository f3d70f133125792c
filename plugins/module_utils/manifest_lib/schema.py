# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The manifest schema: which fields each kind of job takes, their types and rules, and the
vocabulary every other part speaks (Problem, ManifestError, the service error codes).

Where it runs: on the controller (the action plugins, the local service) and on managed hosts,
because the ie_manifest module imports this package for its argument spec and to mask secrets
in its diff. Standard library only.

The schema is the Import/Export service contract; every choice made where the contract is
silent is listed in ``docs/manifests.md`` ("Contract decisions").
"""

from __future__ import annotations

import collections
import json
import re

SIGNATURE_MANIFEST_VERSIONS = ('2.0',)
BARCODE_MANIFEST_VERSIONS = ('3.0',)

JOB_TYPES = ('Import', 'Export')
KINDS = ('s3', 'ebs', 'glacier')
MANIFEST_VERSION = {'s3': '2.0', 'ebs': '3.0', 'glacier': '3.0'}
SECRET_FIELDS = ('trueCryptPassword', 'pinCode')
MAX_MANIFEST_BYTES = 1024 * 1024
MAX_DEPTH = 16
LOG_NAME_LENGTH = len('export-log-XXXXX')
MAX_LOG_KEY_BYTES = 1024
MAX_ARCHIVE_COMMENT = 997
WHOLE = '(manifest)'

# Service error codes (without the ``Exception`` suffix) a problem maps to.
MISSING = 'MissingManifestField'
INVALID = 'InvalidManifestField'
MALFORMED = 'MalformedManifest'
ADDRESS = 'InvalidAddress'
CUSTOMS = 'InvalidCustoms'
FILESYSTEM = 'InvalidFileSystem'


class Problem(collections.namedtuple('Problem', 'path message code')):
    """One thing wrong with a manifest: where (field path), what and how to fix it, service code."""

    __slots__ = ()

    def as_dict(self):
        return dict(path=self.path, message=self.message, code=self.code)

    def __str__(self):
        return '%s: %s' % (self.path, self.message)


class ManifestError(ValueError):
    """A manifest that cannot be used; ``problems`` lists Problem tuples."""

    def __init__(self, message, problems=None):
        super().__init__(message)
        self.problems = problems or []


# Tables of the schema.

ACLS = ('private', 'public-read', 'public-read-write', 'authenticated-read')
SERVICE_LEVELS = ('standard', 'expeditedShipping')
STORAGE_CLASSES = ('STANDARD', 'REDUCED_REDUNDANCY', 'STANDARD_IA')
FILE_SYSTEMS = ('NTFS', 'EXT2', 'EXT3', 'EXT4', 'FAT32')
DEVICE_TYPES = ('externalStorageDevice', 'internalStorageDevice')
EXPORT_TYPES = ('return', 'permanent', 'temporary')

# name -> (type, extra). Types: str, secret, version, bool, decimal, enum, bucket, region, mime,
# emails, regex_list, mime_map, meta_map, subst_map, address, customs, operations, vault, comment,
# relpath, access_key.
FIELDS = {
    'manifestVersion': ('version', None),
    'generator': ('str', None),
    'accessKeyId': ('access_key', None),
    'deviceId': ('str', None),
    'bucket': ('bucket', None),
    'acl': ('enum', ACLS),
    'cacheControl': ('str', None),
    'contentDisposition': ('str', None),
    'contentLanguage': ('str', None),
    'contentTypes': ('mime_map', None),
    'defaultContentType': ('mime', None),
    'diskTimestampMetadataKey': ('str', None),
    'expires': ('str', None),
    'ignore': ('regex_list', None),
    'prefix': ('str', None),
    'setContentEncodingForGzFiles': ('bool', None),
    'staticMetadata': ('meta_map', None),
    'storageClass': ('enum', STORAGE_CLASSES),
    'substitutions': ('subst_map', None),
    'trueCryptPassword': ('secret', None),
    'pinCode': ('secret', None),
    'fileSystem': ('enum', FILE_SYSTEMS),
    'operations': ('operations', None),
    'recoveryDirectory': ('relpath', None),
    'eraseDevice': ('bool', None),
    'logBucket': ('bucket', None),
    'logPrefix': ('str', None),
    'notificationEmail': ('emails', None),
    'serviceLevel': ('enum', SERVICE_LEVELS),
    'returnAddress': ('address', None),
    'customs': ('customs', None),
    # operations entries
    'exportBucket': ('bucket', None),
    'beginMarker': ('str', None),
    'endMarker': ('str', None),
    'targetDirectory': ('relpath', None),
    'destination': ('enum', None),
    'source': ('enum', ('device',)),
    'region': ('region', None),
    'deviceCapacityGreaterThan1TB': ('bool', None),
    'vaultName': ('vault', None),
    'archiveComment': ('comment', None),
    # returnAddress
    'name': ('str', None), 'company': ('str', None), 'street1': ('str', None),
    'street2': ('str', None), 'street3': ('str', None), 'city': ('str', None),
    'stateOrProvince': ('str', None), 'postalCode': ('str', None),
    'phoneNumber': ('str', None), 'country': ('str', None),
    # customs
    'dataDescription': ('str', None), 'encryptedData': ('bool', None),
    'encryptionClassification': ('str', None), 'exportCertifierName': ('str', None),
    'requiresExportLicense': ('bool', None), 'deviceValue': ('decimal', None),
    'deviceCountryOfOrigin': ('str', None), 'deviceType': ('enum', DEVICE_TYPES),
    'typeOfExport': ('enum', EXPORT_TYPES),
}

HEAD = ('manifestVersion', 'generator', 'accessKeyId', 'deviceId')
TAIL = ('returnAddress', 'customs')
COMMON_OPTIONAL = ('eraseDevice', 'logBucket', 'logPrefix', 'notificationEmail', 'serviceLevel')

# Top-level fields per kind, in rendering order (the documented order of each reference page,
# then the common options).
KIND_FIELDS = {
    's3-import': ('bucket', 'acl', 'cacheControl', 'contentDisposition', 'contentLanguage', 'contentTypes',
                  'defaultContentType', 'diskTimestampMetadataKey', 'expires', 'ignore', 'prefix',
                  'setContentEncodingForGzFiles', 'staticMetadata', 'storageClass', 'substitutions',
                  'trueCryptPassword', 'pinCode') + COMMON_OPTIONAL,
    's3-export': ('fileSystem', 'operations', 'recoveryDirectory', 'logBucket', 'trueCryptPassword', 'pinCode',
                  'substitutions', 'eraseDevice', 'logPrefix', 'notificationEmail', 'serviceLevel'),
    'ebs': ('eraseDevice', 'operations', 'logBucket', 'logPrefix', 'notificationEmail', 'serviceLevel'),
    'glacier': ('eraseDevice', 'operations', 'logBucket', 'logPrefix', 'notificationEmail', 'serviceLevel'),
}
KIND_LABEL = {'s3-import': 'S3 import', 's3-export': 'S3 export', 'ebs': 'EBS import', 'glacier': 'Glacier import'}
REQUIRED = {
    's3-import': ('manifestVersion', 'accessKeyId', 'deviceId', 'bucket', 'returnAddress'),
    's3-export': ('manifestVersion', 'accessKeyId', 'deviceId', 'fileSystem', 'operations', 'logBucket',
                  'returnAddress'),
    'ebs': ('manifestVersion', 'accessKeyId', 'deviceId', 'eraseDevice', 'operations', 'logBucket', 'returnAddress'),
    'glacier': ('manifestVersion', 'accessKeyId', 'deviceId', 'eraseDevice', 'operations', 'logBucket',
                'returnAddress'),
}
OPERATION_FIELDS = {
    's3-export': ('exportBucket', 'prefix', 'beginMarker', 'endMarker', 'targetDirectory'),
    'ebs': ('destination', 'source', 'region', 'deviceCapacityGreaterThan1TB'),
    'glacier': ('destination', 'source', 'region', 'vaultName', 'archiveComment'),
}
OPERATION_REQUIRED = {
    's3-export': ('exportBucket',),
    'ebs': ('destination', 'source', 'region'),
    'glacier': ('destination', 'source', 'region', 'vaultName', 'archiveComment'),
}
DESTINATIONS = {'ebs': ('ebs-snapshot',), 'glacier': ('glacier',)}
ADDRESS_FIELDS = ('name', 'company', 'street1', 'street2', 'street3', 'city', 'stateOrProvince', 'postalCode',
                  'phoneNumber', 'country')
ADDRESS_REQUIRED = ('name', 'street1', 'city', 'postalCode', 'phoneNumber', 'country')
CUSTOMS_FIELDS = ('dataDescription', 'encryptedData', 'encryptionClassification', 'exportCertifierName',
                  'requiresExportLicense', 'deviceValue', 'deviceCountryOfOrigin', 'deviceType', 'typeOfExport')
CUSTOMS_REQUIRED = ('dataDescription', 'encryptedData', 'exportCertifierName', 'requiresExportLicense',
                    'deviceValue', 'deviceCountryOfOrigin', 'deviceType', 'typeOfExport')

USA_NAMES = frozenset(('USA', 'US', 'UNITEDSTATES', 'UNITEDSTATESOFAMERICA'))
CANADA_NAMES = frozenset(('CANADA', 'CA', 'CAN'))
US_STATES = frozenset((
    'AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND '
    'OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR VI UM AA AE AP').split())
US_STATE_NAMES = frozenset(n.replace(' ', '').upper() for n in (
    'Alabama', 'Alaska', 'Arizona', 'Arkansas', 'California', 'Colorado', 'Connecticut', 'Delaware',
    'District of Columbia', 'Florida', 'Georgia', 'Hawaii', 'Idaho', 'Illinois', 'Indiana', 'Iowa', 'Kansas',
    'Kentucky', 'Louisiana', 'Maine', 'Maryland', 'Massachusetts', 'Michigan', 'Minnesota', 'Mississippi',
    'Missouri', 'Montana', 'Nebraska', 'Nevada', 'New Hampshire', 'New Jersey', 'New Mexico', 'New York',
    'North Carolina', 'North Dakota', 'Ohio', 'Oklahoma', 'Oregon', 'Pennsylvania', 'Rhode Island',
    'South Carolina', 'South Dakota', 'Tennessee', 'Texas', 'Utah', 'Vermont', 'Virginia', 'Washington',
    'West Virginia', 'Wisconsin', 'Wyoming', 'Puerto Rico', 'Guam', 'American Samoa', 'Virgin Islands',
    'Northern Mariana Islands'))
CA_PROVINCES = frozenset('AB BC MB NB NL NS NT NU ON PE QC SK YT'.split())
CA_PROVINCE_NAMES = frozenset(n.replace(' ', '').upper() for n in (
    'Alberta', 'British Columbia', 'Manitoba', 'New Brunswick', 'Newfoundland and Labrador', 'Nova Scotia',
    'Northwest Territories', 'Nunavut', 'Ontario', 'Prince Edward Island', 'Quebec', 'Saskatchewan', 'Yukon'))

# Field rules: the form a value of each type must have.
BUCKET_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]$')
REGION_RE = re.compile(r'^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]{1,2}$')
MIME_RE = re.compile(r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+(\s*;\s*[^;]+)*$")
EMAIL_RE = re.compile(r'^[^@\s;,]+@[^@\s;,]+\.[^@\s;,.]+$')
DECIMAL_RE = re.compile(r'^[0-9]+(\.[0-9]+)?$')
VERSION_RE = re.compile(r'^[0-9]+\.[0-9]+$')
VAULT_RE = re.compile(r'^[A-Za-z0-9_.-]{1,255}$')
META_KEY_RE = re.compile(r'^[A-Za-z0-9_-]+$')
ACCESS_KEY_RE = re.compile(r'^[A-Za-z0-9]{8,128}$')
PO_BOX_RE = re.compile(r'\b(p\.?\s*o\.?\s*box|post\s+office\s+box)\b', re.I)
US_ZIP_RE = re.compile(r'^[0-9]{5}(-[0-9]{4})?$')
CA_POSTAL_RE = re.compile(r'^[A-Za-z][0-9][A-Za-z] ?[0-9][A-Za-z][0-9]$')
PHONE_RE = re.compile(r'^\+?[0-9 ().\-/]+((x|ext\.?)\s*[0-9]+)?$', re.I)
CONTROL_RE = re.compile('[\x00-\x08\x0b-\x1f\x7f]')
KEY_PATH_RE = re.compile(r'^[A-Za-z0-9_-]+$')


def schema_key(job_type, kind):
    """'s3-import', 's3-export', 'ebs' or 'glacier'."""
    if kind == 's3':
        return 's3-export' if job_type == 'Export' else 's3-import'
    return kind


def fields_of(job_type, kind):
    """Top-level field names of a kind, in rendering order."""
    key = schema_key(job_type, kind)
    return HEAD + KIND_FIELDS[key] + TAIL


def normalise_job_type(job_type):
    """'Import' or 'Export' for any spelling of them; None stays None."""
    if job_type is None:
        return None
    for name in JOB_TYPES:
        if str(job_type).lower() == name.lower():
            return name
    raise ManifestError('job_type must be Import or Export, got %r' % (job_type,))


def manifest_version(manifest):
    """``manifestVersion`` as text (``2.0`` given as a number becomes ``'2.0'``), or None."""
    value = manifest.get('manifestVersion')
    if value is None or isinstance(value, bool):
        return None if value is None else str(value)
    return ('%.1f' % value) if isinstance(value, float) else str(value).strip()


def check_signable(manifest):
    """Raise ManifestError unless a SIGNATURE file applies to this manifest (S3 jobs)."""
    version = manifest_version(manifest)
    if version in BARCODE_MANIFEST_VERSIONS:
        raise ManifestError('manifestVersion %s is an EBS or Glacier import: those jobs use the barcode '
                            'artifact (PDF) from CreateJob, not a SIGNATURE file' % version,
                            [Problem('manifestVersion', 'EBS/Glacier manifests take no SIGNATURE', INVALID)])


def detect_job_type(manifest):
    """'Export' when the manifest has export-only fields, else 'Import'."""
    if not isinstance(manifest, dict):
        return 'Import'
    if 'fileSystem' in manifest or 'recoveryDirectory' in manifest:
        return 'Export'
    ops = manifest.get('operations')
    if isinstance(ops, list) and any(isinstance(op, dict) and 'exportBucket' in op for op in ops):
        return 'Export'
    return 'Import'


def detect_kind(manifest, job_type=None):
    """'s3', 'ebs' or 'glacier' for a manifest (Export jobs are always S3)."""
    if job_type == 'Export' or not isinstance(manifest, dict):
        return 's3'
    ops = manifest.get('operations')
    ops = ops if isinstance(ops, list) else []
    destinations = [str(op.get('destination', '')).lower() for op in ops if isinstance(op, dict)]
    if 'glacier' in destinations or any(isinstance(op, dict) and ('vaultName' in op or 'archiveComment' in op)
                                        for op in ops):
        return 'glacier'
    if manifest_version(manifest) in BARCODE_MANIFEST_VERSIONS or destinations:
        return 'ebs'
    return 's3'


def join_path(path, key):
    """The field path of ``key`` under ``path``: ``returnAddress.city``, ``staticMetadata["x y"]``."""
    key = '' if key is None else str(key)
    if KEY_PATH_RE.match(key):
        return '%s.%s' % (path, key) if path else key
    return '%s[%s]' % (path, json.dumps(key, ensure_ascii=False))


def type_of(value):
    """What kind of value this is, in words, without its contents (for errors about unknown text)."""
    if value is None:
        return 'nothing (an empty value)'
    if isinstance(value, bool):
        return 'a yes/no value'
    if isinstance(value, (int, float)):
        return 'a number'
    if isinstance(value, dict):
        return 'a mapping'
    if isinstance(value, (list, tuple)):
        return 'a list'
    if isinstance(value, str):
        return 'a single text value'
    return 'a %s' % type(value).__name__
