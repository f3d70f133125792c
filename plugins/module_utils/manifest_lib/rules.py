# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The rules a manifest's values follow, each a small function that says what is wrong, or
nothing: the form of one text value (``text_rule``), the keys of a map, and the rules that need
more than one field (a return address, customs, an export operation, the whole manifest).

The validator (``validate``) walks the manifest and calls them; the tables they check against
are in ``schema``. A message may quote the value of a known field (a bucket name, a postal
code) to show what is wrong; the validator never passes them a secret.

Where it runs: wherever the validator runs, so on the controller and on managed hosts (see
``validate``). Standard library only.
"""

from __future__ import annotations

import difflib
import json
import re

from ansible_collections.awsie.importexport.plugins.module_utils.manifest_lib.schema import (
    ACCESS_KEY_RE, ADDRESS, BUCKET_RE, CA_POSTAL_RE, CA_PROVINCE_NAMES, CA_PROVINCES, CANADA_NAMES, CUSTOMS,
    EMAIL_RE, INVALID, KIND_LABEL, LOG_NAME_LENGTH, MANIFEST_VERSION, MAX_ARCHIVE_COMMENT, MAX_LOG_KEY_BYTES,
    META_KEY_RE, MIME_RE, MISSING, PHONE_RE, PO_BOX_RE, REGION_RE, US_STATE_NAMES, US_STATES, US_ZIP_RE, USA_NAMES,
    VAULT_RE, join_path, type_of)


def describe(value):
    """A value in words, quoting (the start of) text: for values of fields the schema knows."""
    if isinstance(value, str):
        return 'the text %s' % json.dumps(value[:60], ensure_ascii=False)
    if isinstance(value, bool):
        return 'the boolean %s' % ('true' if value else 'false')
    if isinstance(value, (int, float)):
        return 'the number %r' % (value,)
    return type_of(value)


def suggest(key, allowed):
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
    hint = suggest(text, choices)
    return 'must be one of %s, got %s%s' % (', '.join(choices), describe(text), '; %s' % hint if hint else '')


def _emails_rule(text, _extra):
    for part in text.split(';'):
        if not EMAIL_RE.match(part.strip()):
            return ('must be e-mail addresses separated by semicolons (a@example.com;b@example.com); '
                    '%s is not an address' % describe(part.strip()))
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
        return 'must be a directory relative to the root of the drive, without "..", got %s' % describe(text)
    return None


_TEXT_RULES = {'enum': _enum_rule, 'emails': _emails_rule, 'comment': _comment_rule, 'relpath': _relpath_rule}


def text_rule(ftype, text, extra=None):
    """What is wrong with ``text`` as a value of type ``ftype``, or None."""
    if ftype in _PATTERNS:
        pattern, message = _PATTERNS[ftype]
        return None if pattern.match(text) else message % describe(text)
    rule = _TEXT_RULES.get(ftype)
    return rule(text, extra) if rule else None


# ---------------------------------------------------------------------------------------------
# Rules across fields: each yields (path, message, code) for what it finds wrong.
# ---------------------------------------------------------------------------------------------

def map_key_rule(ftype, key):
    if not isinstance(key, str) or not key:
        return 'keys must be non-empty text, got %s' % describe(key)
    if ftype == 'mime_map' and (key.startswith('.') or '/' in key):
        return 'keys are file extensions without the dot, like jpg; got %s' % describe(key)
    if ftype == 'meta_map' and not META_KEY_RE.match(key):
        return 'metadata names take letters, digits, hyphens and underscores only; got %s' % describe(key)
    return None


def _squeezed(text):
    return re.sub(r'[\s.]', '', text).upper() if text else ''


def address_rules(out, given, path):
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


def customs_rules(out, given, path):
    where = join_path(path, 'encryptionClassification')
    if out.get('encryptedData') is True and 'encryptionClassification' not in out \
            and given.get('encryptionClassification') is None:
        yield (where, 'is required when encryptedData is yes; give the export control classification number '
               '(ECCN), e.g. 5D992', CUSTOMS)
    if out.get('encryptedData') is False and out.get('encryptionClassification'):
        yield where, 'is set but encryptedData is no; remove it or set encryptedData to yes', CUSTOMS


def operation_rules(op, path):
    begin, end = op.get('beginMarker'), op.get('endMarker')
    if begin is not None and end is not None and begin >= end:
        yield (join_path(path, 'beginMarker'), 'sorts after endMarker (%s >= %s), so the operation exports nothing; '
               'swap them' % (json.dumps(begin), json.dumps(end)), INVALID)


def manifest_rules(out, given, key, kind):
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
