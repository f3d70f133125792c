# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Validating a parsed manifest against its kind's schema, and its normalised form.

Every problem is reported at once, each with its field path, what is wrong and how to fix it,
and the service error code it would cause. The normalised form holds values as the schema
reads them (yes/no as booleans, versions and amounts as text).

Where it runs: on the controller (action plugins, the local service) and on managed hosts,
because rendering normalises through the validator and the ie_manifest module renders an
existing ``dest`` for its diff. Standard library only.

Reading order: the walker (``_Validator``: fields, containers, scalars), then the rules that
need more than one field (address, customs, operations, the whole manifest), then the public
functions. A problem may quote the value of a known field (a bucket name, a postal code) to
show what is wrong; never the value of a secret field or of a field the schema does not know.
"""

from __future__ import annotations

import difflib
import json
import re

from ansible_collections.awsie.importexport.plugins.module_utils.manifest.schema import (
    ACCESS_KEY_RE, ADDRESS, ADDRESS_FIELDS, ADDRESS_REQUIRED, BUCKET_RE, CA_POSTAL_RE, CA_PROVINCE_NAMES,
    CA_PROVINCES, CANADA_NAMES, CONTROL_RE, CUSTOMS, CUSTOMS_FIELDS, CUSTOMS_REQUIRED, DECIMAL_RE, DESTINATIONS,
    EMAIL_RE, FIELDS, FILESYSTEM, INVALID, KIND_FIELDS, KIND_LABEL, KINDS, LOG_NAME_LENGTH, MALFORMED,
    MANIFEST_VERSION, MAX_ARCHIVE_COMMENT, MAX_LOG_KEY_BYTES, MAX_MANIFEST_BYTES, META_KEY_RE, MIME_RE, MISSING,
    OPERATION_FIELDS, OPERATION_REQUIRED, PHONE_RE, PO_BOX_RE, REGION_RE, REQUIRED, US_STATE_NAMES, US_STATES,
    US_ZIP_RE, USA_NAMES, VAULT_RE, VERSION_RE, WHOLE, ManifestError, Problem, detect_job_type, detect_kind,
    fields_of, join_path, normalise_job_type, schema_key, type_of)
from ansible_collections.awsie.importexport.plugins.module_utils.manifest.parse import parse


def _describe(value):
    """A value in words, quoting (the start of) text: for values of fields the schema knows."""
    if isinstance(value, str):
        return 'the text %s' % json.dumps(value[:60], ensure_ascii=False)
    if isinstance(value, bool):
        return 'the boolean %s' % ('true' if value else 'false')
    if isinstance(value, (int, float)):
        return 'the number %r' % (value,)
    return type_of(value)


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


# ---------------------------------------------------------------------------------------------
# Rules for one text value: type -> (value, extra) -> message, or None when the value is right.
# ---------------------------------------------------------------------------------------------

_PATTERNS = {
    'bucket': (BUCKET_RE, 'is not a valid bucket name (3-255 letters, digits, dots, hyphens and underscores, '
                          'starting and ending with a letter or digit), got %s'),
    'region': (REGION_RE, 'must be an AWS region such as us-east-1, got %s'),
    'mime': (MIME_RE, 'must be a MIME type such as application/octet-stream, got %s'),
    'vault': (VAULT_RE, 'must be 1-255 letters, digits, underscores, hyphens and periods, got %s'),
    'access_key': (ACCESS_KEY_RE, 'must be an AWS Access Key ID (letters and digits, like AKIAIOSFODNN7EXAMPLE), '
                                  'got %s'),
}


def _enum_rule(text, choices):
    if text in choices:
        return None
    hint = _suggest(text, choices)
    return 'must be one of %s, got %s%s' % (', '.join(choices), _describe(text), '; %s' % hint if hint else '')


def _emails_rule(text, _extra):
    for part in text.split(';'):
        if not EMAIL_RE.match(part.strip()):
            return ('must be e-mail addresses separated by semicolons (a@example.com;b@example.com); '
                    '%s is not an address' % _describe(part.strip()))
    return None


def _comment_rule(text, _extra):
    if len(text) > MAX_ARCHIVE_COMMENT:
        return ('is %d characters long; Glacier archive descriptions take at most %d: shorten it'
                % (len(text), MAX_ARCHIVE_COMMENT))
    if any(not 32 <= ord(ch) <= 126 for ch in text):
        return ('must be printable ASCII (Glacier archive descriptions allow characters 32-126 only); replace the '
                'other characters')
    return None


def _relpath_rule(text, _extra):
    parts = text.replace('\\', '/').split('/')
    if text.startswith(('/', '\\')) or '..' in parts:
        return 'must be a directory relative to the root of the drive, without "..", got %s' % _describe(text)
    return None


_TEXT_RULES = {'enum': _enum_rule, 'emails': _emails_rule, 'comment': _comment_rule, 'relpath': _relpath_rule}


def text_rule(ftype, text, extra=None):
    """What is wrong with ``text`` as a value of type ``ftype``, or None."""
    if ftype in _PATTERNS:
        pattern, message = _PATTERNS[ftype]
        return None if pattern.match(text) else message % _describe(text)
    rule = _TEXT_RULES.get(ftype)
    return rule(text, extra) if rule else None


# ---------------------------------------------------------------------------------------------
# The walker
# ---------------------------------------------------------------------------------------------

class _Validator:
    """Walks one manifest with one kind's schema: collects problems, builds the normalised form."""

    def __init__(self, job_type, kind, strict):
        self.job_type = job_type
        self.kind = kind
        self.key = schema_key(job_type, kind)
        self.strict = strict
        self.problems = []

    def add(self, path, message, code=INVALID):
        self.problems.append(Problem(path, message, code))

    def add_all(self, found):
        for path, message, code in found:
            self.add(path, message, code)

    # --- text --------------------------------------------------------------------------------
    def text(self, value, path, code, name=None):
        """A string value, or None after reporting the problem."""
        name = name or path.rsplit('.', 1)[-1]
        if isinstance(value, str):
            if CONTROL_RE.search(value) or '\n' in value or '\r' in value:
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

    # --- scalars -----------------------------------------------------------------------------
    def scalar(self, name, value, path, code=INVALID):
        """A scalar field read as its type says; problems for a value of the wrong form."""
        ftype, extra = FIELDS.get(name, ('str', None))
        if name == 'destination':
            extra = DESTINATIONS.get(self.kind, ())
        reader = {'bool': self.yes_no, 'version': self.version, 'decimal': self.amount}.get(ftype)
        if reader is not None:
            return reader(value, path, code)
        text = self.nonempty(value, path, code)
        if text is not None:
            message = text_rule(ftype, text, extra)
            if message:
                self.add(path, message, FILESYSTEM if name == 'fileSystem' else code)
        return text

    def yes_no(self, value, path, code):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ('yes', 'true'):
            return True
        if isinstance(value, str) and value.strip().lower() in ('no', 'false'):
            return False
        self.add(path, 'must be yes or no, got %s' % _describe(value), code)
        return None

    def version(self, value, path, code):
        if isinstance(value, float):
            return '%.1f' % value
        text = self.nonempty(value, path, code)
        if text is not None and not VERSION_RE.match(text):
            self.add(path, 'must be a version number like %s, got %s' % (MANIFEST_VERSION[self.kind], _describe(text)),
                     code)
            return None
        return text

    def amount(self, value, path, code):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if value < 0:
                self.add(path, 'must not be negative, got %r' % value, code)
                return None
            return '%.2f' % value if isinstance(value, float) else str(value)
        text = self.nonempty(value, path, code)
        if text is not None and not DECIMAL_RE.match(text.strip()):
            self.add(path, 'must be an amount like 250.00, got %s' % _describe(text), code)
            return None
        return text

    def secret(self, name, value, path, code):
        """A secret is text like any other, but no message ever shows its value."""
        if isinstance(value, bool):
            self.add(path, 'must be text, got a yes/no value; quote it (%s: "...")' % name, code)
            return None
        if isinstance(value, (int, float)):
            self.add(path, 'must be text; quote it so YAML keeps every digit (%s: "...")' % name, code)
            return None
        return self.nonempty(value, path, code)

    # --- fields and containers ---------------------------------------------------------------
    def field(self, name, value, path, code=INVALID):
        ftype = FIELDS[name][0]
        if ftype in ('mime_map', 'meta_map', 'subst_map'):
            return self.string_map(ftype, value, path)
        if ftype == 'secret':
            return self.secret(name, value, path, code)
        container = {'address': self.address, 'customs': self.customs, 'operations': self.operations,
                     'regex_list': self.regex_list}.get(ftype)
        if container is not None:
            return container(value, path)
        return self.scalar(name, value, path, code)

    def mapping(self, value, path, code):
        if isinstance(value, dict):
            return value
        self.add(path, 'must be a mapping of names to values, got %s' % _describe(value), code)
        return None

    def fields(self, value, path, allowed, required, code, label):
        """Check a mapping of schema fields; returns the normalised mapping."""
        missing = MISSING if code == INVALID else code
        out = {}
        for key, item in value.items():
            child = join_path(path, key)
            if key not in allowed:
                self.unknown(key, item, child, allowed, code, label, out)
            elif item is None:
                if key in required:
                    self.add(child, 'is required and empty; give it a value', missing)
            else:
                normal = self.field(key, item, child, code)
                if normal is not None:
                    out[key] = normal
        for key in required:
            if key not in value:
                self.add(join_path(path, key), 'is required in %s; add it' % label, missing)
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
            child = join_path(path, key)
            problem = _map_key_rule(ftype, key)
            if problem:
                self.add(child, problem)
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
        self.add_all(_address_rules(out, value, path))
        return out

    def customs(self, value, path):
        value = self.mapping(value, path, CUSTOMS)
        if value is None:
            return None
        out = self.fields(value, path, CUSTOMS_FIELDS, CUSTOMS_REQUIRED, CUSTOMS, 'customs')
        self.add_all(_customs_rules(out, value, path))
        return out

    def operations(self, value, path):
        if not isinstance(value, list):
            self.add(path, 'must be a list of operations, each starting with "- ", got %s' % _describe(value))
            return None
        if not value:
            self.add(path, 'is an empty list; add at least one operation', MISSING)
            return None
        label = 'operations of %s' % KIND_LABEL[self.key]
        out = []
        for index, item in enumerate(value):
            child = '%s[%d]' % (path, index)
            item = self.mapping(item, child, INVALID)
            if item is None:
                continue
            op = self.fields(item, child, OPERATION_FIELDS[self.key], OPERATION_REQUIRED[self.key], INVALID, label)
            self.add_all(_operation_rules(op, child))
            out.append(op)
        return out

    # --- the whole manifest ------------------------------------------------------------------
    def run(self, manifest):
        label = '%s manifests' % KIND_LABEL[self.key]
        out = self.fields(manifest, '', fields_of(self.job_type, self.kind), REQUIRED[self.key], INVALID, label)
        self.add_all(_manifest_rules(out, manifest, self.key, self.kind))
        return out


# ---------------------------------------------------------------------------------------------
# Rules across fields: each yields (path, message, code) for what it finds wrong.
# ---------------------------------------------------------------------------------------------

def _map_key_rule(ftype, key):
    if not isinstance(key, str) or not key:
        return 'keys must be non-empty text, got %s' % _describe(key)
    if ftype == 'mime_map' and (key.startswith('.') or '/' in key):
        return 'keys are file extensions without the dot, like jpg; got %s' % _describe(key)
    if ftype == 'meta_map' and not META_KEY_RE.match(key):
        return 'metadata names take letters, digits, hyphens and underscores only; got %s' % _describe(key)
    return None


def _squeezed(text):
    return re.sub(r'[\s.]', '', text).upper() if text else ''


def _address_rules(out, given, path):
    """State, postal code and phone rules of a return address (``out`` normalised, ``given`` as written)."""
    country = out.get('country')
    region = _squeezed(country)
    if region in USA_NAMES or region in CANADA_NAMES:
        yield from _north_america_rules(out, given, path, usa=region in USA_NAMES)
    for street in ('street1', 'street2', 'street3'):
        if out.get(street) and PO_BOX_RE.search(out[street]):
            yield join_path(path, street), 'is a PO box; AWS does not ship to PO boxes: give a street address', ADDRESS
    phone = out.get('phoneNumber')
    if phone and (not PHONE_RE.match(phone.strip()) or sum(ch.isdigit() for ch in phone) < 6):
        yield (join_path(path, 'phoneNumber'), 'must be a phone number (digits, spaces, + - . ( ), at least six '
               'digits), got %s' % json.dumps(phone), ADDRESS)


def _north_america_rules(out, given, path, usa):
    state = out.get('stateOrProvince')
    state_key = _squeezed(state)
    where = join_path(path, 'stateOrProvince')
    if given.get('stateOrProvince') is None:
        yield (where, 'is required when the country is %s; add the %s code (e.g. %s)'
               % (out.get('country'), 'state' if usa else 'province', 'WA' if usa else 'ON'), ADDRESS)
    elif state and usa and state_key not in US_STATES and state_key not in US_STATE_NAMES:
        yield where, '%s is not a US state; use its two-letter code, e.g. WA' % json.dumps(state), ADDRESS
    elif state and not usa and state_key not in CA_PROVINCES and state_key not in CA_PROVINCE_NAMES:
        yield (where, '%s is not a Canadian province or territory; use its two-letter code, e.g. ON'
               % json.dumps(state), ADDRESS)
    postal = out.get('postalCode')
    if postal and usa and not US_ZIP_RE.match(postal.strip()):
        yield (join_path(path, 'postalCode'), 'must be a US ZIP code (12345 or 12345-6789), got %s'
               % json.dumps(postal), ADDRESS)
    elif postal and not usa and not CA_POSTAL_RE.match(postal.strip()):
        yield (join_path(path, 'postalCode'), 'must be a Canadian postal code (A1A 1A1), got %s'
               % json.dumps(postal), ADDRESS)


def _customs_rules(out, given, path):
    where = join_path(path, 'encryptionClassification')
    if out.get('encryptedData') is True and 'encryptionClassification' not in out \
            and given.get('encryptionClassification') is None:
        yield (where, 'is required when encryptedData is yes; give the export control classification number '
               '(ECCN), e.g. 5D992', CUSTOMS)
    if out.get('encryptedData') is False and out.get('encryptionClassification'):
        yield where, 'is set but encryptedData is no; remove it or set encryptedData to yes', CUSTOMS


def _operation_rules(op, path):
    begin, end = op.get('beginMarker'), op.get('endMarker')
    if begin is not None and end is not None and begin >= end:
        yield (join_path(path, 'beginMarker'), 'sorts after endMarker (%s >= %s), so the operation exports nothing; '
               'swap them' % (json.dumps(begin), json.dumps(end)), INVALID)


def _manifest_rules(out, given, key, kind):
    """Version of the kind, encryption of exports, length of the log key."""
    version = out.get('manifestVersion')
    wanted = MANIFEST_VERSION[kind]
    if version is not None and version != wanted:
        yield ('manifestVersion', 'must be %s for %s manifests, got %s; set manifestVersion: %s'
               % (wanted, KIND_LABEL[key], json.dumps(version), wanted), INVALID)
    if key == 's3-export' and not out.get('trueCryptPassword') and not out.get('pinCode') \
            and given.get('trueCryptPassword') is None and given.get('pinCode') is None:
        yield ('trueCryptPassword', 'export jobs must be encrypted: give pinCode (PIN-protected hardware encrypted '
               'device) or trueCryptPassword (the password AWS encrypts the data with)', MISSING)
    prefix = out.get('logPrefix')
    size = len(prefix.encode('utf-8')) if prefix is not None else 0
    if size + LOG_NAME_LENGTH > MAX_LOG_KEY_BYTES:
        yield ('logPrefix', 'is %d bytes; with the log name (%d bytes) the log key may be at most %d bytes, so '
               'logPrefix may be at most %d: shorten it'
               % (size, LOG_NAME_LENGTH, MAX_LOG_KEY_BYTES, MAX_LOG_KEY_BYTES - LOG_NAME_LENGTH), INVALID)


# ---------------------------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------------------------

def normalise(manifest, job_type='Import', kind=None, strict=True):
    """(normalised manifest, problems): values as the schema reads them (yes/no as booleans)."""
    if not isinstance(manifest, dict):
        return None, [Problem(WHOLE, 'the manifest must be a mapping of fields, not %s' % type_of(manifest),
                              MALFORMED)]
    job_type = normalise_job_type(job_type) or detect_job_type(manifest)
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
    return normalise(manifest, job_type, kind, strict)[1]


def load_and_validate(data, job_type='Import', kind=None, strict=True):
    """(normalised manifest or None when unreadable, problems) for manifest text or bytes."""
    loaded, problems = parse(data)
    if problems:
        return None, problems
    return normalise(loaded, job_type, kind, strict)


def load_fields(fields, job_type='Import', kind=None, strict=True):
    """(normalised manifest or None when too big, problems) for a manifest given as a mapping.

    ``manifestVersion`` defaults to the kind's; the same 1 MiB limit as for manifest text
    applies, and the problem names the field that is too big.
    """
    raw = dict(fields)
    too_big = _fields_size_problem(raw)
    if too_big is not None:
        return None, [too_big]
    kind = kind or detect_kind(raw, job_type)
    raw.setdefault('manifestVersion', MANIFEST_VERSION[kind])
    return normalise(raw, job_type, kind, strict)


def _fields_size_problem(fields):
    """A Problem when the keys and values of ``fields`` alone pass the limit (the rendering only adds)."""
    sizes = {}
    stack = [('', fields)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                child = join_path(path, key)
                sizes[child] = sizes.get(child, 0) + len(str(key).encode('utf-8', 'surrogatepass'))
                stack.append((child, item))
        elif isinstance(value, (list, tuple)):
            stack.extend(('%s[%d]' % (path, index), item) for index, item in enumerate(value))
        elif value is not None:
            sizes[path] = sizes.get(path, 0) + len(str(value).encode('utf-8', 'surrogatepass'))
    total = sum(sizes.values())
    if total <= MAX_MANIFEST_BYTES:
        return None
    biggest = max(sizes, key=sizes.get)
    if sizes[biggest] > MAX_MANIFEST_BYTES:
        return Problem(biggest, 'is %d bytes; a whole manifest may be at most %d bytes (1 MiB): a manifest lists '
                       'settings, not data; check what this field is set to' % (sizes[biggest], MAX_MANIFEST_BYTES),
                       MALFORMED)
    return Problem(WHOLE, 'the fields add up to more than %d bytes (1 MiB), the limit of a manifest; the largest is '
                   '%s (%d bytes)' % (MAX_MANIFEST_BYTES, biggest, sizes[biggest]), MALFORMED)
