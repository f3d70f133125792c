# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Request authentication: Signature Version 2 (HmacSHA256/HmacSHA1) and Signature Version 4.

The signing rules themselves live in the collection (``signing``); this module only checks
requests against them and maps failures to the service's error codes.
"""

import datetime
import hmac
import re
import time
import urllib.parse

from .collection import signing
from .errors import ApiError
from .state import iso

SKEW_SECONDS = 15 * 60
SIGV4_SERVICE = 'IngestionService'
SIGV4_REGION = 'us-east-1'
SIGV2_REQUIRED = ('AWSAccessKeyId', 'Signature', 'SignatureMethod', 'SignatureVersion')

_AUTH_RE = re.compile(r'^AWS4-HMAC-SHA256\s+(?P<body>.+)$')


def _parse_time(value, name):
    """ISO 8601 (``2011-06-20T22:30:59.556Z``, ``...Z``, ``...+00:00``) -> epoch seconds."""
    text = value.strip()
    if text.endswith('Z'):
        text = text[:-1] + '+00:00'
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ApiError('InvalidParameterValue', 'Value (%s) for parameter %s is invalid. '
                       'Must be in ISO 8601 format.' % (value, name)) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed.timestamp()


class Authenticator:
    """``authenticate(request) -> access key`` or ApiError; counts refusals by code."""

    def __init__(self, secret_lookup, now=time.time):
        self.secret_lookup = secret_lookup
        self.now = now
        self._key_cache = {}

    def authenticate(self, method, path, query, headers, body, params):
        authorization = headers.get('authorization', '')
        if authorization.startswith('AWS4-HMAC-SHA256'):
            return self._sigv4(method, path, query, headers, body, authorization)
        if authorization:
            raise ApiError('IncompleteSignature', 'Unsupported Authorization header scheme: only AWS4-HMAC-SHA256 '
                           'or Signature Version 2 parameters are accepted')
        return self._sigv2(method, path, headers, params)

    # ------------------------------------------------------------ SigV2
    def _sigv2(self, method, path, headers, params):
        for name in SIGV2_REQUIRED:
            if not params.get(name):
                raise ApiError('MissingParameter', 'The request must contain the parameter %s' % name)
        has_ts, has_exp = bool(params.get('Timestamp')), bool(params.get('Expires'))
        if not has_ts and not has_exp:
            raise ApiError('MissingParameter', 'The request must contain the parameter Timestamp or Expires')
        if has_ts and has_exp:
            raise ApiError('InvalidParameterCombination', 'The parameter Timestamp cannot be used with the parameter Expires')
        if params['SignatureVersion'] != '2':
            raise ApiError('InvalidParameterValue', 'Value (%s) for parameter SignatureVersion is invalid. Must be 2.'
                           % params['SignatureVersion'])
        if params['SignatureMethod'] not in signing.SIGV2_METHODS:
            raise ApiError('InvalidParameterValue', 'Value (%s) for parameter SignatureMethod is invalid. Must be one of %s.'
                           % (params['SignatureMethod'], ', '.join(signing.SIGV2_METHODS)))
        now = self.now()
        if has_ts:
            stamp = _parse_time(params['Timestamp'], 'Timestamp')
            if abs(now - stamp) > SKEW_SECONDS:
                raise ApiError('RequestExpired', 'Request timestamp %s is more than 15 minutes away from the server time %s'
                               % (params['Timestamp'], iso(now)))
        else:
            stamp = _parse_time(params['Expires'], 'Expires')
            if stamp <= now:
                raise ApiError('RequestExpired', 'Request has expired: Expires %s is not after the server time %s'
                               % (params['Expires'], iso(now)))
        access_key = params['AWSAccessKeyId']
        secret = self.secret_lookup(access_key)
        if secret is None:
            raise ApiError('InvalidClientTokenId', 'The security token included in the request is invalid.')
        host = headers.get('host', '')
        expected = signing.sigv2_signature(secret, method, host, path, params, params['SignatureMethod'])
        if not hmac.compare_digest(expected.encode(), params['Signature'].encode()):
            raise ApiError('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you '
                           'provided. Check your AWS Secret Access Key and signing method. Consult the service '
                           'documentation for details.')
        return access_key

    # ------------------------------------------------------------ SigV4
    def _sigv4(self, method, path, query, headers, body, authorization):
        match = _AUTH_RE.match(authorization)
        fields = {}
        for part in (match.group('body') if match else '').split(','):
            name, sep, value = part.strip().partition('=')
            if sep:
                fields[name] = value
        for name in ('Credential', 'SignedHeaders', 'Signature'):
            if name not in fields:
                raise ApiError('IncompleteSignature', "Authorization header requires '%s' parameter." % name)
        scope = fields['Credential'].split('/')
        if len(scope) != 5 or scope[4] != 'aws4_request':
            raise ApiError('IncompleteSignature', 'Credential %r is not of the form '
                           'ACCESS_KEY/YYYYMMDD/REGION/SERVICE/aws4_request' % fields['Credential'])
        access_key, date, region, service = scope[:4]
        amz_date = headers.get('x-amz-date')
        if not amz_date:
            raise ApiError('IncompleteSignature', "Authorization header requires existence of either a 'X-Amz-Date' or a "
                           "'Date' header.")
        try:
            stamp = datetime.datetime.strptime(amz_date, '%Y%m%dT%H%M%SZ').replace(tzinfo=datetime.timezone.utc).timestamp()
        except ValueError:
            raise ApiError('IncompleteSignature', 'X-Amz-Date %r is not of the form YYYYMMDDTHHMMSSZ' % amz_date) from None
        now = self.now()
        if abs(now - stamp) > SKEW_SECONDS:
            raise ApiError('SignatureDoesNotMatch', 'Signature expired: %s is now earlier than %s or later than %s'
                           % (amz_date, iso(now - SKEW_SECONDS), iso(now + SKEW_SECONDS)))
        secret = self.secret_lookup(access_key)
        if secret is None:
            raise ApiError('InvalidClientTokenId', 'The security token included in the request is invalid.')
        if region != SIGV4_REGION or service != SIGV4_SERVICE:
            raise ApiError('SignatureDoesNotMatch', "Credential should be scoped to a valid region and service: expected "
                           "'%s/%s', got '%s/%s'." % (SIGV4_REGION, SIGV4_SERVICE, region, service))
        if date != amz_date[:8]:
            raise ApiError('SignatureDoesNotMatch', 'Date in Credential scope does not match YYYYMMDD from X-Amz-Date.')
        signed_headers = fields['SignedHeaders'].split(';')
        if 'host' not in signed_headers:
            raise ApiError('SignatureDoesNotMatch', "'Host' must be a signed header.")
        query_pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
        payload_hash = headers.get('x-amz-content-sha256')
        canonical = signing.sigv4_canonical_request(method, path, query_pairs, headers, signed_headers, body)
        if payload_hash and payload_hash != 'UNSIGNED-PAYLOAD':
            # botocore hashes the body itself; a declared hash must match the body.
            lines = canonical.split('\n')
            if lines[-1] != payload_hash:
                raise ApiError('SignatureDoesNotMatch', 'The provided x-amz-content-sha256 header does not match the body.')
        expected = signing.sigv4_signature(secret, amz_date, region, service, canonical)
        if not hmac.compare_digest(expected.encode(), fields['Signature'].encode()):
            raise ApiError('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you '
                           'provided. Check your AWS Secret Access Key and signing method. Consult the service '
                           'documentation for details.')
        return access_key
