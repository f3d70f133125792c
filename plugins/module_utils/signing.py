# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The signing rules of AWS Import/Export, in one place.

* Job ids: normalisation and validation.
* The SIGNATURE file: version 1.0 (computed by the customer, e-mail era) and
  version 2.0 (the text the service returns), render, parse and verify.
* Query API request signing: Signature Version 2 (HmacSHA256, HmacSHA1) and the
  Signature Version 4 computation the local service needs to check boto3.

Standard library only and no Ansible imports, so plain pytest covers it and both
the collection's plugins and the local service import it.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import re
from urllib.parse import quote

JOB_ID_ALPHABET = '123456789ABCDEFGHIJKLMNPQRSTUVWXYZ'  # digits 1-9, letters A-Z except O
JOB_ID_LENGTH = 5
JOB_ID_RE = re.compile(r'^[%s]{%d}$' % (JOB_ID_ALPHABET, JOB_ID_LENGTH))
JOB_ID_RULE = ('five characters, digits 1-9 and letters A-Z except the letter O '
               '(case-insensitive)')

SIGNATURE_FILE_NAME = 'SIGNATURE'
SIGNATURE_FIELDS = ('version', 'signingMethod', 'jobId', 'signature')
SIGNATURE_SIGNING_METHOD = 'HmacSHA1'
SIGNATURE_VERSIONS = ('1.0', '2.0')
# base64 of the 20 bytes of an HMAC-SHA1: 27 characters and one '='
SIGNATURE_VALUE = re.compile(r'\A[A-Za-z0-9+/]{27}=\Z')

SIGV2_METHODS = {'HmacSHA256': hashlib.sha256, 'HmacSHA1': hashlib.sha1}
# RFC 3986 unreserved characters: text made of them only has nothing to percent-encode; the
# other ASCII characters and their escapes.
_UNRESERVED = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~'
_UNRESERVED_ONLY = re.compile(r'[A-Za-z0-9_.~-]*\Z').match
_ASCII_ESCAPES = {c: '%%%02X' % c for c in range(128) if chr(c) not in _UNRESERVED}
SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256'


class SigningError(ValueError):
    """Input that cannot be signed or a SIGNATURE file that cannot be read."""


class InvalidJobId(SigningError):
    pass


def _to_bytes(value):
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode('utf-8')
    raise TypeError('expected str or bytes, got %s' % type(value).__name__)


# ---------------------------------------------------------------- job ids

def normalize_job_id(job_id):
    """Return the upper-case job id, or raise InvalidJobId naming the rule."""
    if not isinstance(job_id, str):
        raise InvalidJobId('job id must be a string of %s, got %s' % (JOB_ID_RULE, type(job_id).__name__))
    normalized = job_id.strip().upper()
    if not JOB_ID_RE.match(normalized):
        raise InvalidJobId('job id %r is not valid: it must be %s' % (job_id, JOB_ID_RULE))
    return normalized


# ---------------------------------------------------------------- SIGNATURE

def signed_manifest_bytes(manifest):
    """The manifest as signed: every CRLF made LF, nothing else changed (a lone CR stays)."""
    return _to_bytes(manifest).replace(b'\r\n', b'\n')


def signing_string(job_id, manifest):
    """jobId + "\\n" + canonical manifest bytes: what the SIGNATURE's HMAC covers."""
    return normalize_job_id(job_id).encode('ascii') + b'\n' + signed_manifest_bytes(manifest)


def compute_signature(secret_key, job_id, manifest):
    """base64(HMAC-SHA1(secret_key, jobId + "\\n" + manifest with CRLF made LF))."""
    if not secret_key:
        raise SigningError('the secret access key is empty')
    digest = hmac.new(_to_bytes(secret_key), signing_string(job_id, manifest), hashlib.sha1).digest()
    return base64.b64encode(digest).decode('ascii')


def render_signature_file(job_id, signature, version='1.0'):
    """The SIGNATURE file bytes.

    1.0 uses the layout of the 2009 guide's sample (``key: value``); 2.0 the layout the
    service returned in SignatureFileContents (``key:value``). Both: LF, trailing newline.
    """
    if version not in SIGNATURE_VERSIONS:
        raise SigningError('SIGNATURE version %r is not supported: use 1.0 or 2.0' % (_short(version),))
    sep = ': ' if version == '1.0' else ':'
    values = (version, SIGNATURE_SIGNING_METHOD, normalize_job_id(job_id), signature)
    return ''.join('%s%s%s\n' % (k, sep, v) for k, v in zip(SIGNATURE_FIELDS, values)).encode('utf-8')


def build_signature_file(secret_key, job_id, manifest, version='1.0'):
    """Compute and render a SIGNATURE file for a job and its manifest."""
    return render_signature_file(job_id, compute_signature(secret_key, job_id, manifest), version)


def parse_signature_file(data):
    """Parse a SIGNATURE file (1.0 ``key: value`` or 2.0 ``key:value``) into a dict.

    Raises SigningError when a field is missing, repeated or unknown.
    """
    try:
        text = _to_bytes(data).decode('utf-8')
    except UnicodeDecodeError:
        raise SigningError('SIGNATURE file is not UTF-8 text')
    if text.startswith('\ufeff'):
        text = text[1:]
    fields = {}
    for number, line in enumerate(text.replace('\r\n', '\n').split('\n'), 1):
        if not line.strip():
            continue
        key, sep, value = line.partition(':')
        key = key.strip()
        if not sep:
            raise SigningError('SIGNATURE line %d has no "key: value" form: %r' % (number, _short(line)))
        if key not in SIGNATURE_FIELDS:
            raise SigningError('SIGNATURE line %d has an unknown field %r (expected %s)'
                               % (number, _short(key), ', '.join(SIGNATURE_FIELDS)))
        if key in fields:
            raise SigningError('SIGNATURE field %r appears twice' % key)
        fields[key] = value.strip()
    missing = [k for k in SIGNATURE_FIELDS if k not in fields]
    if missing:
        raise SigningError('SIGNATURE file lacks the field(s) %s' % ', '.join(missing))
    if fields['signingMethod'] != SIGNATURE_SIGNING_METHOD:
        raise SigningError('SIGNATURE signingMethod %r is not supported: only %s'
                           % (_short(fields['signingMethod']), SIGNATURE_SIGNING_METHOD))
    if fields['version'] not in SIGNATURE_VERSIONS:
        raise SigningError('SIGNATURE version %r is not supported: only %s' % (_short(fields['version']), ', '.join(SIGNATURE_VERSIONS)))
    fields['jobId'] = normalize_job_id(fields['jobId'])
    if not SIGNATURE_VALUE.match(fields['signature']):
        raise SigningError('SIGNATURE signature is not the base64 of an HMAC-SHA1 (28 characters ending in "=")')
    return fields


def _short(text, limit=60):
    """A value quoted in an error, cut: a hostile file must not make a message of megabytes."""
    return text if len(text) <= limit else text[:limit] + '...(%d characters)' % len(text)


def verify_signature_file(data, secret_key, manifest, job_id=None):
    """Check a SIGNATURE file against a manifest and key.

    Returns ``(ok, reason)``. ``reason`` says what did not match; a file that cannot be
    parsed is a mismatch, not an exception, because a drive can carry anything.
    """
    try:
        fields = parse_signature_file(data)
    except SigningError as exc:
        return False, str(exc)
    if job_id is not None and fields['jobId'] != normalize_job_id(job_id):
        return False, 'SIGNATURE is for job %s, not %s' % (fields['jobId'], normalize_job_id(job_id))
    expected = compute_signature(secret_key, fields['jobId'], manifest)
    if not hmac.compare_digest(expected, fields['signature']):
        return False, 'signature does not match the manifest and key for job %s' % fields['jobId']
    return True, 'SIGNATURE %s for job %s matches' % (fields['version'], fields['jobId'])


# ---------------------------------------------------------------- SigV2

def rfc3986_quote(value):
    """Percent-encode UTF-8 bytes except RFC 3986 unreserved characters; upper-case hex.

    The standard library applies the same rule: its always-safe set is RFC 3986's unreserved
    characters (``~`` named for Pythons before 3.7); nothing else is kept, not even ``/``.
    Text made of unreserved characters only (most parameters) is returned as it is.
    """
    if isinstance(value, str):
        if _UNRESERVED_ONLY(value):
            return value
        if len(value) < 128 and value.isascii():  # a short ASCII value: a table is faster than quote
            return value.translate(_ASCII_ESCAPES)
    return quote(_to_bytes(value), safe='~')


def canonical_host(url_host, scheme=None, port=None):
    """Lower-case host, with ``:port`` unless it is the scheme's default (as the Host header)."""
    host = url_host.lower()
    if port is not None and not (scheme == 'http' and port == 80) and not (scheme == 'https' and port == 443):
        host = '%s:%d' % (host, port)
    return host


def sigv2_canonical_query(params):
    """Parameters sorted by UTF-8 bytes of the name, encoded, ``Signature`` left out.

    Text names are sorted as text: UTF-8 keeps the order of code points, so it is the same order.
    """
    pairs = sorted((k.decode('utf-8') if isinstance(k, bytes) else k, v) for k, v in params.items() if k != 'Signature')
    return '&'.join([rfc3986_quote(k) + '=' + rfc3986_quote(v) for k, v in pairs])


def sigv2_string_to_sign(method, host, path, params):
    return '\n'.join((method.upper(), host.lower(), path or '/', sigv2_canonical_query(params)))


def sigv2_signature(secret_key, method, host, path, params, signature_method='HmacSHA256'):
    try:
        digestmod = SIGV2_METHODS[signature_method]
    except KeyError:
        raise SigningError('SignatureMethod %r is not supported: use %s'
                           % (signature_method, ' or '.join(SIGV2_METHODS)))
    mac = hmac.new(_to_bytes(secret_key), sigv2_string_to_sign(method, host, path, params).encode('utf-8'), digestmod)
    return base64.b64encode(mac.digest()).decode('ascii')


def sigv2_timestamp(now=None):
    """ISO 8601 UTC with milliseconds and ``Z``, as the service's own samples."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return now.replace(tzinfo=None).isoformat(timespec='milliseconds') + 'Z'


def sigv2_sign_params(params, access_key, secret_key, host, path='/', method='POST',
                      signature_method='HmacSHA256', timestamp=None, session_token=None):
    """Return a copy of ``params`` with the SigV2 auth parameters and ``Signature`` added."""
    signed = dict(params)
    signed.pop('Signature', None)
    signed['AWSAccessKeyId'] = access_key
    signed['SignatureVersion'] = '2'
    signed['SignatureMethod'] = signature_method
    signed['Timestamp'] = timestamp or sigv2_timestamp()
    if session_token:
        signed['SecurityToken'] = session_token
    signed['Signature'] = sigv2_signature(secret_key, method, host, path, signed, signature_method)
    return signed


# ---------------------------------------------------------------- SigV4 (server side check)

def _hmac256(key, msg):
    return hmac.new(key, _to_bytes(msg), hashlib.sha256).digest()


def sigv4_signing_key(secret_key, date, region, service):
    key = _hmac256(b'AWS4' + _to_bytes(secret_key), date)
    for part in (region, service, 'aws4_request'):
        key = _hmac256(key, part)
    return key


def sigv4_canonical_request(method, path, query_pairs, headers, signed_headers, payload):
    """The SigV4 canonical request. ``headers`` maps lower-case names to values."""
    query = '&'.join('%s=%s' % (rfc3986_quote(k), rfc3986_quote(v)) for k, v in sorted(query_pairs))
    canonical_headers = ''.join('%s:%s\n' % (name, ' '.join(headers.get(name, '').split()))
                                for name in signed_headers)
    return '\n'.join((method.upper(), path or '/', query, canonical_headers,
                      ';'.join(signed_headers), hashlib.sha256(_to_bytes(payload)).hexdigest()))


def sigv4_signature(secret_key, amz_date, region, service, canonical_request):
    scope = '%s/%s/%s/aws4_request' % (amz_date[:8], region, service)
    string_to_sign = '\n'.join((SIGV4_ALGORITHM, amz_date, scope,
                                hashlib.sha256(_to_bytes(canonical_request)).hexdigest()))
    return hmac.new(sigv4_signing_key(secret_key, amz_date[:8], region, service),
                    string_to_sign.encode('utf-8'), hashlib.sha256).hexdigest()
