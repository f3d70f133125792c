# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""AWS Import/Export manifests: parse, validate, render.

No Ansible imports. Parsing needs PyYAML, which the controller always has; parsing and
validation run on the controller (action plugins, the local service). Only ``redact_text``
is used on managed hosts, and it needs nothing but the standard library.

The schema is the service contract in ``shared/spec/import-export-service.md`` with the
choices of ``decisions.md``; every choice made where the contract is silent is listed in
``docs/manifests.md`` ("Contract decisions").

Values are read as text: a plain scalar is a string unless it is empty or ``~``/``null``
(then it is absent). So ``postalCode: 02134`` stays ``"02134"`` and ``deviceId: 0012``
stays ``"0012"``; yes/no fields and numbers are interpreted by the schema, not by YAML.
"""

from __future__ import annotations

import collections
import difflib
import json
import re

try:
    import yaml
except ImportError:  # pragma: no cover - the controller always has PyYAML
    yaml = None

SIGNATURE_MANIFEST_VERSIONS = ('2.0',)
BARCODE_MANIFEST_VERSIONS = ('3.0',)

JOB_TYPES = ('Import', 'Export')
KINDS = ('s3', 'ebs', 'glacier')
MANIFEST_VERSION = {'s3': '2.0', 'ebs': '3.0', 'glacier': '3.0'}
SECRET_FIELDS = ('trueCryptPassword', 'pinCode')
REDACTED = '********'
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


# ---------------------------------------------------------------------------------------------
# Schema
# ---------------------------------------------------------------------------------------------

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

_BUCKET_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]$')
_REGION_RE = re.compile(r'^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]{1,2}$')
_MIME_RE = re.compile(r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+(\s*;\s*[^;]+)*$")
_EMAIL_RE = re.compile(r'^[^@\s;,]+@[^@\s;,]+\.[^@\s;,.]+$')
_DECIMAL_RE = re.compile(r'^[0-9]+(\.[0-9]+)?$')
_VERSION_RE = re.compile(r'^[0-9]+\.[0-9]+$')
_VAULT_RE = re.compile(r'^[A-Za-z0-9_.-]{1,255}$')
_META_KEY_RE = re.compile(r'^[A-Za-z0-9_-]+$')
_ACCESS_KEY_RE = re.compile(r'^[A-Za-z0-9]{8,128}$')
_PO_BOX_RE = re.compile(r'\b(p\.?\s*o\.?\s*box|post\s+office\s+box)\b', re.I)
_US_ZIP_RE = re.compile(r'^[0-9]{5}(-[0-9]{4})?$')
_CA_POSTAL_RE = re.compile(r'^[A-Za-z][0-9][A-Za-z] ?[0-9][A-Za-z][0-9]$')
_PHONE_RE = re.compile(r'^\+?[0-9 ().\-/]+((x|ext\.?)\s*[0-9]+)?$', re.I)
_CONTROL_RE = re.compile('[\x00-\x08\x0b-\x1f\x7f]')
_KEY_PATH_RE = re.compile(r'^[A-Za-z0-9_-]+$')


def schema_key(job_type, kind):
    """'s3-import', 's3-export', 'ebs' or 'glacier'."""
    if kind == 's3':
        return 's3-export' if job_type == 'Export' else 's3-import'
    return kind


def fields_of(job_type, kind):
    """Top-level field names of a kind, in rendering order."""
    key = schema_key(job_type, kind)
    return HEAD + KIND_FIELDS[key] + TAIL


# ---------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------

if yaml is not None:
    _BaseLoader = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)

    class _ManifestLoader(_BaseLoader):  # pylint: disable=too-many-ancestors
        """Safe loader whose plain scalars are strings; only empty, ``~`` and ``null`` mean absent."""

    _ManifestLoader.yaml_implicit_resolvers = {}
    _ManifestLoader.add_implicit_resolver(
        'tag:yaml.org,2002:null', re.compile(r'^(?:~|null|Null|NULL|)$'), ['~', 'n', 'N', ''])
    _YAML_LOADER = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)
else:  # pragma: no cover
    _ManifestLoader = _YAML_LOADER = None

_LINE_KEY_RE = re.compile(r'^(\s*)(?:-\s+)?(["\']?)([^\s:#"\'][^:#"\']*?)\2\s*:(?:\s|$)')


def _path_at_line(lines, index):
    """Best-effort field path of the key on line ``index`` (0-based), from indentation."""
    if index < 0 or index >= len(lines):
        return WHOLE
    parts = []
    limit = None
    for i in range(index, -1, -1):
        line = lines[i].replace('\t', ' ')
        match = _LINE_KEY_RE.match(line)
        if not match:
            continue
        indent = len(match.group(1))
        if limit is None or indent < limit:
            parts.append(match.group(3).strip())
            limit = indent
            if indent == 0:
                break
    return '.'.join(reversed(parts)) if parts else WHOLE


def _where(lines, index):
    return 'line %d' % (index + 1)


def _yaml_problem(text, exc):
    lines = text.split('\n')
    mark = getattr(exc, 'problem_mark', None) or getattr(exc, 'context_mark', None)
    if 'quoted scalar' in str(getattr(exc, 'context', '') or '') and getattr(exc, 'context_mark', None) is not None:
        mark = exc.context_mark  # an unclosed quote: point at where the value starts
    if mark is None and isinstance(exc, yaml.reader.ReaderError):
        index = text[:exc.position].count('\n')
        path = _path_at_line(lines, index)
        return Problem(path, '%s: character %r is not allowed in YAML text; remove it'
                       % (_where(lines, index), chr(exc.character)), MALFORMED)
    index = mark.line if mark is not None else -1
    path = _path_at_line(lines, index)
    line = lines[index] if 0 <= index < len(lines) else ''
    if '\t' in line[:len(line) - len(line.lstrip(' \t'))] or 'tab character' in str(getattr(exc, 'problem', '')) \
            or ('\t' in line and 'cannot start any token' in str(getattr(exc, 'problem', ''))):
        return Problem(path, '%s: a tab in the indentation; YAML indents with spaces only: replace the tab '
                       'with spaces' % _where(lines, index), MALFORMED)
    detail = ' '.join(str(getattr(exc, 'problem', '') or exc).split())
    if isinstance(exc, yaml.constructor.ConstructorError):
        return Problem(path, '%s: not valid YAML for a manifest (%s); manifests hold plain values: remove the '
                       'tag (!!...)' % (_where(lines, index), detail), MALFORMED)
    context = getattr(exc, 'context', None)
    if context:
        detail = '%s %s' % (' '.join(str(context).split()), detail)
    where = _where(lines, index) if index >= 0 else 'end of text'
    return Problem(path, '%s: not valid YAML (%s); fix the syntax there (a value containing ": " or starting '
                   'with a special character needs quotes)' % (where, detail), MALFORMED)


def _check_nodes(root, lines):
    """Refuse aliases (and so alias bombs), duplicate keys, complex keys and deep nesting."""
    problems = []
    seen = set()
    aliased = set()
    stack = [(root, '', 0)]
    while stack:
        node, path, depth = stack.pop()
        line = node.start_mark.line
        if id(node) in seen:
            if id(node) in aliased:
                continue
            aliased.add(id(node))
            problems.append(Problem(path or WHOLE, 'reuses the value anchored on line %d through a YAML alias '
                                    '(*name); aliases are not allowed in manifests: write the value out in full'
                                    % (line + 1), MALFORMED))
            continue
        seen.add(id(node))
        if depth > MAX_DEPTH:
            problems.append(Problem(path or WHOLE, 'line %d: nested more than %d levels deep; manifests nest at '
                                    'most three levels' % (line + 1, MAX_DEPTH), MALFORMED))
            continue
        children = []
        if isinstance(node, yaml.MappingNode):
            keys = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    problems.append(Problem(path or WHOLE, 'line %d: a key must be a plain name, not a list or map'
                                            % (key_node.start_mark.line + 1), MALFORMED))
                    continue
                child = _join(path, key_node.value)
                if key_node.value in keys:
                    problems.append(Problem(child, 'line %d: duplicate key %s (first on line %d); keep one of them'
                                            % (key_node.start_mark.line + 1, key_node.value,
                                               keys[key_node.value] + 1), MALFORMED))
                else:
                    keys[key_node.value] = key_node.start_mark.line
                children.append((value_node, child, depth + 1))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                children.append((item, '%s[%d]' % (path, index), depth + 1))
        stack.extend(reversed(children))  # visit in document order: an anchor before its aliases
    return problems


def _decode(data):
    """(text, problems): bytes decoded as UTF-8, with a clear problem naming the line's field."""
    if isinstance(data, str):
        return data, []
    try:
        return data.decode('utf-8'), []
    except UnicodeDecodeError as exc:
        text = data.decode('utf-8', 'replace')
        index = data[:exc.start].count(b'\n')
        path = _path_at_line(text.split('\n'), index)
        return None, [Problem(path, 'line %d: byte 0x%02X at offset %d is not UTF-8; save the manifest as UTF-8 '
                              'text' % (index + 1, data[exc.start], exc.start), MALFORMED)]


def _parse(data):
    """(mapping or None, problems)."""
    if yaml is None:  # pragma: no cover
        return None, [Problem(WHOLE, 'PyYAML is required to read manifests; install it on the controller', MALFORMED)]
    text, problems = _decode(data)
    if problems:
        return None, problems
    if not text.strip():
        return None, [Problem(WHOLE, 'the manifest is empty; it needs at least manifestVersion, accessKeyId, '
                              'deviceId and returnAddress', MISSING)]
    lines = text.split('\n')
    loader = _ManifestLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, [Problem(WHOLE, 'the manifest holds only comments; it needs at least manifestVersion, '
                                  'accessKeyId, deviceId and returnAddress', MISSING)]
        problems = _check_nodes(node, lines)
        if problems:
            return None, problems
        loaded = loader.construct_document(node)
    except yaml.YAMLError as exc:
        return None, [_yaml_problem(text, exc)]
    except RecursionError:
        return None, [Problem(WHOLE, 'nested too deeply to read; manifests nest at most three levels', MALFORMED)]
    finally:
        loader.dispose()
    if not isinstance(loaded, dict):
        return None, [Problem(WHOLE, 'the manifest must be a mapping of fields (manifestVersion: 2.0, bucket: ...), '
                              'not %s' % _describe(loaded), MALFORMED)]
    return loaded, []


def parse_manifest(data):
    """Parse manifest text (bytes or str) into a dict of strings; raise ManifestError when it is not one.

    Scalars stay text (``2.0`` is ``'2.0'``); empty, ``~`` and ``null`` values are None.
    """
    loaded, problems = _parse(data)
    if problems:
        raise ManifestError('manifest cannot be read: %s' % '; '.join(str(p) for p in problems), problems)
    return loaded


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


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------

def _join(path, key):
    key = '' if key is None else str(key)
    if _KEY_PATH_RE.match(key):
        return '%s.%s' % (path, key) if path else key
    return '%s[%s]' % (path, json.dumps(key, ensure_ascii=False))


def _describe(value):
    if value is None:
        return 'nothing (an empty value)'
    if isinstance(value, bool):
        return 'the boolean %s' % ('true' if value else 'false')
    if isinstance(value, (int, float)):
        return 'the number %r' % (value,)
    if isinstance(value, dict):
        return 'a mapping'
    if isinstance(value, (list, tuple)):
        return 'a list'
    if isinstance(value, str):
        return 'the text %s' % json.dumps(value[:60], ensure_ascii=False)
    return 'a %s' % type(value).__name__


def _suggest(key, allowed):
    """A did-you-mean hint for an unknown key."""
    text = str(key)
    for name in allowed:
        if name.lower() == text.lower():
            return 'did you mean %s? (keys are case-sensitive)' % name
    lowered = {name.lower(): name for name in allowed}
    close = difflib.get_close_matches(text.lower(), list(lowered), n=1, cutoff=0.75)
    if close:
        return 'did you mean %s?' % lowered[close[0]]
    return None


class _Validator:
    """Validates one manifest against one kind's schema and builds its normalised form."""

    def __init__(self, job_type, kind, strict):
        self.job_type = job_type
        self.kind = kind
        self.key = schema_key(job_type, kind)
        self.strict = strict
        self.problems = []

    def add(self, path, message, code=INVALID):
        self.problems.append(Problem(path, message, code))

    # --- scalars -----------------------------------------------------------------------------
    def text(self, value, path, code, name=None):
        """A string value, or None after reporting the problem."""
        name = name or path.rsplit('.', 1)[-1]
        if isinstance(value, str):
            if _CONTROL_RE.search(value) or '\n' in value or '\r' in value:
                self.add(path, 'must be one line of text without control characters; remove the line breaks '
                         'or control characters', code)
                return None
            try:
                value.encode('utf-8')
            except UnicodeEncodeError:
                self.add(path, 'is not valid Unicode text; retype it', code)
                return None
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            self.add(path, 'must be text, got %s: YAML turns unquoted digits into a number (and drops leading '
                     'zeros); quote it, e.g. %s: "%s"' % (_describe(value), name, value), code)
        elif isinstance(value, bool):
            self.add(path, 'must be text, got %s: YAML reads yes/no/true/false/on/off as booleans; quote it, '
                     'e.g. %s: "%s"' % (_describe(value), name, 'yes' if value else 'no'), code)
        else:
            self.add(path, 'must be text, got %s' % _describe(value), code)
        return None

    def nonempty(self, value, path, code):
        text = self.text(value, path, code)
        if text is not None and not text.strip():
            self.add(path, 'is empty; give a value or leave the field out', MISSING if code == INVALID else code)
            return None
        return text

    def scalar(self, name, value, path, code=INVALID):
        ftype, extra = FIELDS.get(name, ('str', None))
        if name == 'destination':
            extra = DESTINATIONS.get(self.kind, ())
        if ftype == 'bool':
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ('yes', 'true'):
                return True
            if isinstance(value, str) and value.strip().lower() in ('no', 'false'):
                return False
            self.add(path, 'must be yes or no, got %s' % _describe(value), code)
            return None
        if ftype == 'version':
            if isinstance(value, float):
                return '%.1f' % value
            text = self.nonempty(value, path, code)
            if text is not None and not _VERSION_RE.match(text):
                self.add(path, 'must be a version number like %s, got %s'
                         % (MANIFEST_VERSION[self.kind], _describe(text)), code)
                return None
            return text
        if ftype == 'decimal':
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                if value < 0:
                    self.add(path, 'must not be negative, got %r' % value, code)
                    return None
                return '%.2f' % value if isinstance(value, float) else str(value)
            text = self.nonempty(value, path, code)
            if text is not None and not _DECIMAL_RE.match(text.strip()):
                self.add(path, 'must be an amount like 250.00, got %s' % _describe(text), code)
                return None
            return text
        text = self.nonempty(value, path, code)
        if text is None:
            return None
        if ftype == 'enum' and text not in extra:
            hint = _suggest(text, extra)
            self.add(path, 'must be one of %s, got %s%s' % (', '.join(extra), _describe(text),
                                                            '; %s' % hint if hint else ''),
                     FILESYSTEM if name == 'fileSystem' else code)
        elif ftype == 'bucket' and not _BUCKET_RE.match(text):
            self.add(path, 'is not a valid bucket name (3-255 letters, digits, dots, hyphens and underscores, '
                     'starting and ending with a letter or digit), got %s' % _describe(text), code)
        elif ftype == 'region' and not _REGION_RE.match(text):
            self.add(path, 'must be an AWS region such as us-east-1, got %s' % _describe(text), code)
        elif ftype == 'mime' and not _MIME_RE.match(text):
            self.add(path, 'must be a MIME type such as application/octet-stream, got %s' % _describe(text), code)
        elif ftype == 'emails':
            for part in text.split(';'):
                if not _EMAIL_RE.match(part.strip()):
                    self.add(path, 'must be e-mail addresses separated by semicolons (a@example.com;b@example.com); '
                             '%s is not an address' % _describe(part.strip()), code)
                    break
        elif ftype == 'vault' and not _VAULT_RE.match(text):
            self.add(path, 'must be 1-255 letters, digits, underscores, hyphens and periods, got %s'
                     % _describe(text), code)
        elif ftype == 'access_key' and not _ACCESS_KEY_RE.match(text):
            self.add(path, 'must be an AWS Access Key ID (letters and digits, like AKIAIOSFODNN7EXAMPLE), got %s'
                     % _describe(text), code)
        elif ftype == 'comment':
            if len(text) > MAX_ARCHIVE_COMMENT:
                self.add(path, 'is %d characters long; Glacier archive descriptions take at most %d: shorten it'
                         % (len(text), MAX_ARCHIVE_COMMENT), code)
            elif any(not 32 <= ord(ch) <= 126 for ch in text):
                self.add(path, 'must be printable ASCII (Glacier archive descriptions allow characters 32-126 '
                         'only); replace the other characters', code)
        elif ftype == 'relpath':
            parts = text.replace('\\', '/').split('/')
            if text.startswith(('/', '\\')) or '..' in parts:
                self.add(path, 'must be a directory relative to the root of the drive, without "..", got %s'
                         % _describe(text), code)
        return text

    # --- containers --------------------------------------------------------------------------
    def mapping(self, value, path, code):
        if isinstance(value, dict):
            return value
        self.add(path, 'must be a mapping of names to values, got %s' % _describe(value), code)
        return None

    def fields(self, value, path, allowed, required, code, label):
        """Check a mapping of schema fields; returns the normalised mapping."""
        out = {}
        for key, item in value.items():
            child = _join(path, key)
            if key not in allowed:
                self.unknown(key, item, child, allowed, code, label, out)
                continue
            if item is None:
                if key in required:
                    self.add(child, 'is required and empty; give it a value', MISSING if code == INVALID else code)
                continue
            normal = self.field(key, item, child, code)
            if normal is not None:
                out[key] = normal
        for key in required:
            if value.get(key) is None and key in value:
                continue  # reported above
            if key not in value:
                self.add(_join(path, key), 'is required in %s; add it' % label, MISSING if code == INVALID else code)
        return out

    def unknown(self, key, item, child, allowed, code, label, out):
        if not self.strict:
            out[key] = item
            return
        hint = _suggest(key, allowed)
        other = [KIND_LABEL[k] for k in KIND_FIELDS if k != self.key and key in KIND_FIELDS[k]]
        message = 'is not a field of %s' % label
        if other and key not in allowed:
            message += ' (it belongs to %s manifests); remove it or choose the right job type and kind' \
                % ' and '.join(other)
        elif hint:
            message += '; %s' % hint
        else:
            message += '; remove it, or set strict to false to keep unknown fields'
        self.add(child, message, code)

    def field(self, name, value, path, code=INVALID):
        ftype = FIELDS[name][0]
        if ftype == 'address':
            return self.address(value, path)
        if ftype == 'customs':
            return self.customs(value, path)
        if ftype == 'operations':
            return self.operations(value, path)
        if ftype == 'regex_list':
            return self.regex_list(value, path)
        if ftype in ('mime_map', 'meta_map', 'subst_map'):
            return self.string_map(ftype, value, path)
        if ftype == 'secret':
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.add(path, 'must be text; quote it so YAML keeps every digit (%s: "...")' % name, code)
                return None
            return self.nonempty(value, path, code)
        return self.scalar(name, value, path, code)

    def regex_list(self, value, path):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.add(path, 'must be a list of regular expressions, got %s' % _describe(value))
            return None
        out = []
        for index, item in enumerate(value):
            child = '%s[%d]' % (path, index)
            text = self.nonempty(item, child, INVALID)
            if text is None:
                continue
            try:
                re.compile(text)
            except re.error as exc:
                self.add(child, 'is not a valid regular expression (%s at position %s): %s; escape special '
                         'characters with a backslash, e.g. \\.swp$' % (exc.msg, exc.pos, json.dumps(text)))
                continue
            out.append(text)
        return out

    def string_map(self, ftype, value, path):
        value = self.mapping(value, path, INVALID)
        if value is None:
            return None
        out = {}
        for key, item in value.items():
            child = _join(path, key)
            if not isinstance(key, str) or not key:
                self.add(child, 'keys must be non-empty text, got %s' % _describe(key))
                continue
            if ftype == 'mime_map' and (key.startswith('.') or '/' in key):
                self.add(child, 'keys are file extensions without the dot, like jpg; got %s' % _describe(key))
                continue
            if ftype == 'meta_map' and not _META_KEY_RE.match(key):
                self.add(child, 'metadata names take letters, digits, hyphens and underscores only; got %s'
                         % _describe(key))
                continue
            if ftype == 'subst_map':
                text = self.text('' if item is None else item, child, INVALID)
            elif ftype == 'mime_map':
                text = self.scalar('defaultContentType', item, child)
            else:
                text = self.text(item, child, INVALID)
            if text is not None:
                out[key] = text
        return out

    def address(self, value, path):
        value = self.mapping(value, path, ADDRESS)
        if value is None:
            return None
        out = self.fields(value, path, ADDRESS_FIELDS, ADDRESS_REQUIRED, ADDRESS, 'returnAddress')
        country = out.get('country')
        region = re.sub(r'[\s.]', '', country).upper() if country else ''
        state = out.get('stateOrProvince')
        state_key = re.sub(r'[\s.]', '', state).upper() if state else ''
        if region in USA_NAMES or region in CANADA_NAMES:
            usa = region in USA_NAMES
            if 'stateOrProvince' not in value or value.get('stateOrProvince') is None:
                self.add(_join(path, 'stateOrProvince'), 'is required when the country is %s; add the %s code '
                         '(e.g. %s)' % (country, 'state' if usa else 'province', 'WA' if usa else 'ON'), ADDRESS)
            elif state and usa and state_key not in US_STATES and state_key not in US_STATE_NAMES:
                self.add(_join(path, 'stateOrProvince'), '%s is not a US state; use its two-letter code, e.g. WA'
                         % json.dumps(state), ADDRESS)
            elif state and not usa and state_key not in CA_PROVINCES and state_key not in CA_PROVINCE_NAMES:
                self.add(_join(path, 'stateOrProvince'), '%s is not a Canadian province or territory; use its '
                         'two-letter code, e.g. ON' % json.dumps(state), ADDRESS)
            postal = out.get('postalCode')
            if postal and usa and not _US_ZIP_RE.match(postal.strip()):
                self.add(_join(path, 'postalCode'), 'must be a US ZIP code (12345 or 12345-6789), got %s'
                         % json.dumps(postal), ADDRESS)
            elif postal and not usa and not _CA_POSTAL_RE.match(postal.strip()):
                self.add(_join(path, 'postalCode'), 'must be a Canadian postal code (A1A 1A1), got %s'
                         % json.dumps(postal), ADDRESS)
        for street in ('street1', 'street2', 'street3'):
            if out.get(street) and _PO_BOX_RE.search(out[street]):
                self.add(_join(path, street), 'is a PO box; AWS does not ship to PO boxes: give a street address',
                         ADDRESS)
        phone = out.get('phoneNumber')
        if phone and (not _PHONE_RE.match(phone.strip()) or sum(ch.isdigit() for ch in phone) < 6):
            self.add(_join(path, 'phoneNumber'), 'must be a phone number (digits, spaces, + - . ( ), at least six '
                     'digits), got %s' % json.dumps(phone), ADDRESS)
        return out

    def customs(self, value, path):
        value = self.mapping(value, path, CUSTOMS)
        if value is None:
            return None
        out = self.fields(value, path, CUSTOMS_FIELDS, CUSTOMS_REQUIRED, CUSTOMS, 'customs')
        if out.get('encryptedData') is True and 'encryptionClassification' not in out \
                and value.get('encryptionClassification') is None:
            self.add(_join(path, 'encryptionClassification'), 'is required when encryptedData is yes; give the '
                     'export control classification number (ECCN), e.g. 5D992', CUSTOMS)
        if out.get('encryptedData') is False and out.get('encryptionClassification'):
            self.add(_join(path, 'encryptionClassification'), 'is set but encryptedData is no; remove it or set '
                     'encryptedData to yes', CUSTOMS)
        return out

    def operations(self, value, path):
        if not isinstance(value, list):
            self.add(path, 'must be a list of operations, each starting with "- ", got %s' % _describe(value))
            return None
        if not value:
            self.add(path, 'is an empty list; add at least one operation', MISSING)
            return None
        allowed = OPERATION_FIELDS[self.key]
        required = OPERATION_REQUIRED[self.key]
        out = []
        for index, item in enumerate(value):
            child = '%s[%d]' % (path, index)
            item = self.mapping(item, child, INVALID)
            if item is None:
                continue
            op = self.fields(item, child, allowed, required, INVALID, 'operations of %s' % KIND_LABEL[self.key])
            begin, end = op.get('beginMarker'), op.get('endMarker')
            if begin is not None and end is not None and begin >= end:
                self.add(_join(child, 'beginMarker'), 'sorts after endMarker (%s >= %s), so the operation exports '
                         'nothing; swap them' % (json.dumps(begin), json.dumps(end)))
            out.append(op)
        return out

    # --- the whole manifest ------------------------------------------------------------------
    def run(self, manifest):
        label = '%s manifests' % KIND_LABEL[self.key]
        out = self.fields(manifest, '', fields_of(self.job_type, self.kind), REQUIRED[self.key], INVALID, label)
        version = out.get('manifestVersion')
        wanted = MANIFEST_VERSION[self.kind]
        if version is not None and version != wanted:
            self.add('manifestVersion', 'must be %s for %s manifests, got %s; set manifestVersion: %s'
                     % (wanted, KIND_LABEL[self.key], json.dumps(version), wanted))
        if self.key == 's3-export' and not out.get('trueCryptPassword') and not out.get('pinCode') \
                and manifest.get('trueCryptPassword') is None and manifest.get('pinCode') is None:
            self.add('trueCryptPassword', 'export jobs must be encrypted: give pinCode (PIN-protected hardware '
                     'encrypted device) or trueCryptPassword (the password AWS encrypts the data with)', MISSING)
        prefix = out.get('logPrefix')
        size = len(prefix.encode('utf-8')) if prefix is not None else 0
        if size + LOG_NAME_LENGTH > MAX_LOG_KEY_BYTES:
            self.add('logPrefix', 'is %d bytes; with the log name (%d bytes) the log key may be at most %d bytes, so '
                     'logPrefix may be at most %d: shorten it'
                     % (size, LOG_NAME_LENGTH, MAX_LOG_KEY_BYTES, MAX_LOG_KEY_BYTES - LOG_NAME_LENGTH))
        return out


def _normalise_job_type(job_type):
    if job_type is None:
        return None
    for name in JOB_TYPES:
        if str(job_type).lower() == name.lower():
            return name
    raise ManifestError('job_type must be Import or Export, got %r' % (job_type,))


def _validate(manifest, job_type, kind, strict):
    """(normalised manifest, problems)."""
    if not isinstance(manifest, dict):
        return None, [Problem(WHOLE, 'the manifest must be a mapping of fields, not %s' % _describe(manifest),
                              MALFORMED)]
    job_type = _normalise_job_type(job_type) or detect_job_type(manifest)
    problems = []
    if kind is None:
        kind = detect_kind(manifest, job_type)
    elif kind not in KINDS:
        raise ManifestError('kind must be one of %s, got %r' % (', '.join(KINDS), kind))
    if job_type == 'Export' and kind != 's3':
        problems.append(Problem(WHOLE, '%s jobs are imports only; use job_type Import, or kind s3 for an export'
                                % KIND_LABEL[kind].split()[0], INVALID))
        kind = 's3'
    validator = _Validator(job_type, kind, strict)
    out = validator.run(manifest)
    return out, problems + validator.problems


def validate(manifest, job_type='Import', kind=None, strict=True):
    """Every problem of a parsed manifest (a dict), as a list of Problem; empty means valid."""
    return _validate(manifest, job_type, kind, strict)[1]


def normalise(manifest, job_type='Import', kind=None, strict=True):
    """(normalised manifest, problems): values as the schema reads them (yes/no as booleans)."""
    return _validate(manifest, job_type, kind, strict)


def load_and_validate(data, job_type='Import', kind=None, strict=True):
    """(normalised manifest or None when unreadable, problems) for manifest text or bytes."""
    size = len(data) if isinstance(data, bytes) else len(data.encode('utf-8', 'surrogatepass'))
    if size > MAX_MANIFEST_BYTES:
        return None, [Problem(WHOLE, 'the manifest is %d bytes; the limit is %d (1 MiB): a manifest lists settings, '
                              'not data; check that src points at the manifest' % (size, MAX_MANIFEST_BYTES),
                              MALFORMED)]
    loaded, problems = _parse(data)
    if problems:
        return None, problems
    return _validate(loaded, job_type, kind, strict)


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------

_INDICATORS = tuple('-?:,[]{}#&*!|>\'"%@`')
_PLAIN_CACHE = {}


def _roundtrips(text, as_key):
    """True when ``text`` written plain reads back as the same string, here and in plain YAML."""
    cached = _PLAIN_CACHE.get((text, as_key))
    if cached is not None:
        return cached
    doc = ('%s: x\n' % text) if as_key else ('k: %s\n' % text)
    expected = {text: 'x'} if as_key else {'k': text}
    result = True
    for loader in (_YAML_LOADER, _ManifestLoader):
        try:
            if yaml.load(doc, Loader=loader) != expected:  # nosec B506 - safe loaders only
                result = False
                break
        except yaml.YAMLError:
            result = False
            break
    if len(_PLAIN_CACHE) > 10000:
        _PLAIN_CACHE.clear()
    _PLAIN_CACHE[(text, as_key)] = result
    return result


# Plain scalars that a YAML 1.2 (core schema) reader would not read as text: quoted too, so the
# file means the same to every YAML reader, not only to YAML 1.1 ones like PyYAML.
_YAML12_TYPED_RE = re.compile(
    r'^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?'
    r'|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|true|True|TRUE|false|False|FALSE|null|Null|NULL|~)$')


def _plain_ok(text, as_key=False):
    if _YAML12_TYPED_RE.match(text):
        return False
    if not text or text != text.strip() or text.startswith(_INDICATORS) or text.endswith(':'):
        return False
    if ': ' in text or ' #' in text or any(ch in text for ch in '\t\n\r\x85\u2028\u2029\ufeff'):
        return False
    if any(ord(ch) < 32 or 0x7f <= ord(ch) <= 0x9f or 0xd800 <= ord(ch) <= 0xdfff or ord(ch) >= 0xfffe
           for ch in text):
        return False
    return _roundtrips(text, as_key)


def _double_quoted(text):
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '\\':
            out.append('\\\\')
        elif ch == '"':
            out.append('\\"')
        elif ch == '\n':
            out.append('\\n')
        elif ch == '\t':
            out.append('\\t')
        elif ch == '\r':
            out.append('\\r')
        elif code < 0x20 or 0x7f <= code <= 0x9f:
            out.append('\\x%02X' % code)
        elif code in (0x2028, 0x2029, 0xfeff, 0xfffe, 0xffff) or 0xd800 <= code <= 0xdfff:
            out.append('\\u%04X' % code)
        else:
            out.append(ch)
    out.append('"')
    return ''.join(out)


def _scalar(value, as_key=False, plain_type=False):
    if value is None:
        return '~' if as_key else ''
    if isinstance(value, bool):
        return 'yes' if value else 'no'
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if plain_type and (_VERSION_RE.match(text) or _DECIMAL_RE.match(text)):
        return text
    return text if _plain_ok(text, as_key) else _double_quoted(text)


def _emit(lines, indent, key, value, order=None, name=None):
    """Append ``key: value`` (or a nested block) at ``indent`` spaces."""
    pad = ' ' * indent
    head = '%s%s:' % (pad, _scalar(key, as_key=True))
    if isinstance(value, dict):
        if not value:
            lines.append(head + ' {}')
            return
        lines.append(head)
        for child_key in _ordered(value, order):
            _emit(lines, indent + 4, child_key, value[child_key], name=child_key)
        return
    if isinstance(value, (list, tuple)):
        if not value:
            lines.append(head + ' []')
            return
        lines.append(head)
        item_order = OPERATION_ORDER if name == 'operations' else None
        for item in value:
            _emit_item(lines, indent + 4, item, item_order)
        return
    plain = FIELDS.get(name, ('str',))[0] in ('version', 'decimal')
    rendered = _scalar(value, plain_type=plain)
    lines.append(head + (' ' + rendered if rendered != '' else ''))


OPERATION_ORDER = tuple(dict.fromkeys(sum(OPERATION_FIELDS.values(), ())))


def _emit_item(lines, indent, item, order):
    pad = ' ' * indent
    if isinstance(item, dict) and item:
        sub = []
        for key in _ordered(item, order):
            _emit(sub, indent + 2, key, item[key], name=key)
        sub[0] = pad + '- ' + sub[0][indent + 2:]
        lines.extend(sub)
    elif isinstance(item, (dict, list, tuple)):
        lines.append(pad + '- ' + _flow(item))
    else:
        lines.append(pad + '- ' + _scalar(item) if _scalar(item) != '' else pad + '-')


def _flow(value):
    if isinstance(value, dict):
        return '{%s}' % ', '.join('%s: %s' % (_flow_scalar(k), _flow(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return '[%s]' % ', '.join(_flow(v) for v in value)
    return _flow_scalar(value)


def _flow_scalar(value):
    if isinstance(value, str):
        return _double_quoted(value)
    return _scalar(value) or '~'


def _ordered(mapping, order):
    if not order:
        return list(mapping)
    known = [key for key in order if key in mapping]
    return known + [key for key in mapping if key not in order]


_NESTED_ORDER = {'returnAddress': ADDRESS_FIELDS, 'customs': CUSTOMS_FIELDS}


def render_manifest(manifest, job_type='Import', kind=None):
    """The manifest as text: the deterministic rendering of decisions.md (UTF-8 str, LF, final newline).

    Values are normalised where the schema knows them (yes/no, versions); values the schema
    does not accept are rendered as given, so any parsed manifest has a rendering.
    """
    if not isinstance(manifest, dict):
        raise ManifestError('only a mapping of fields can be rendered, not %s' % _describe(manifest))
    job_type = _normalise_job_type(job_type) or detect_job_type(manifest)
    kind = kind or detect_kind(manifest, job_type)
    if job_type == 'Export':
        kind = 's3'
    normal, _problems = _validate(manifest, job_type, kind, False)
    merged = dict(manifest)
    merged.update(normal or {})
    for key in list(merged):
        if merged[key] is None:
            del merged[key]
    for key in ('returnAddress', 'customs'):
        if isinstance(merged.get(key), dict) and isinstance(manifest.get(key), dict):
            nested = dict(manifest[key])
            nested.update(merged[key])
            merged[key] = {k: v for k, v in nested.items() if v is not None}
    head = [k for k in HEAD + KIND_FIELDS[schema_key(job_type, kind)] if k in merged]
    rest = [k for k in merged if k not in head and k not in TAIL]
    lines = []
    for key in head + rest + [k for k in TAIL if k in merged]:
        _emit(lines, 0, key, merged[key], order=_NESTED_ORDER.get(key), name=key)
    return '\n'.join(lines) + '\n'


def canonical_yaml(data, job_type=None, kind=None):
    """The canonical YAML of manifest text: equal for manifests that mean the same (CRLF, spacing,
    order). This is what idempotency compares; it is never what a SIGNATURE covers (see
    signing.signed_manifest_bytes, the bytes as written).

    Raises ManifestError when the text cannot be read as a manifest.
    """
    if isinstance(data, bytes):
        data = data.replace(b'\r\n', b'\n')
    else:
        data = data.replace('\r\n', '\n')
    return render_manifest(parse_manifest(data), job_type, kind)


# ---------------------------------------------------------------------------------------------
# Secrets
# ---------------------------------------------------------------------------------------------

def is_secret_key(key):
    """True for trueCryptPassword, pinCode and keys that look like them (misspelt, other case)."""
    lowered = str(key).lower()
    return lowered in ('pincode', 'pin', 'pin_code') or 'pass' in lowered or 'secret' in lowered


def redact(manifest):
    """A copy with the values of secret fields (``trueCryptPassword``, ``pinCode``, look-alikes) as ``********``."""
    if isinstance(manifest, dict):
        return {key: (REDACTED if is_secret_key(key) and value is not None else redact(value))
                for key, value in manifest.items()}
    if isinstance(manifest, list):
        return [redact(item) for item in manifest]
    return manifest


_SECRET_LINE_RE = re.compile(r'^(\s*(?:-\s+)?["\']?([^\s:"\'#-][^:"\'#]*?)["\']?\s*:)[^\n]*$', re.M)


def redact_text(text):
    """Manifest text with the values of secret fields replaced by ``********``, line by line."""
    def _sub(match):
        if is_secret_key(match.group(2).strip()):
            return '%s %s' % (match.group(1), REDACTED)
        return match.group(0)
    return _SECRET_LINE_RE.sub(_sub, text)


def secrets_of(manifest):
    """The secret values in a manifest, to mask them in any output."""
    found = []
    if isinstance(manifest, dict):
        for key, value in manifest.items():
            if is_secret_key(key) and isinstance(value, (str, int, float)) and str(value):
                found.append(str(value))
            else:
                found.extend(secrets_of(value))
    elif isinstance(manifest, list):
        for item in manifest:
            found.extend(secrets_of(item))
    return found
