# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A client for the AWS Import/Export Query API (2010-06-01), over ``requests``.

* Requests: form-encoded POST, signed with Signature Version 2 by the signing library.
* Responses: XML parsed without caring about the namespace; a response with a DTD (entity
  bombs), a body over the size limit, a body that trickles in past the read timeout, or a
  body that is not XML is a clear error, never a hang or a crash.
* Errors: every service error code is a named exception (``InvalidJobIdException`` ...)
  carrying code, message, request id and HTTP status.
* Retries: full-jitter exponential backoff on throttling, 503, other 5xx, timeouts and
  connection errors, bounded by attempts and by total time. A call that is not safe to repeat
  (CreateJob) is never retried blindly when its outcome is unknown: the caller's look-up runs
  first and, when it finds the job, its answer is the result.

No Ansible imports: plain pytest covers it.
"""

from __future__ import annotations

import functools
import http.client
import os
import random
import re
import threading
import time
import xml.etree.ElementTree as ET
from urllib.parse import quote, urlencode, urlsplit

try:
    import requests
    import requests.adapters
    import urllib3
except ImportError:  # pragma: no cover - reported by the modules with missing_required_lib
    requests = None
    HAS_REQUESTS = False
else:
    HAS_REQUESTS = True

from ansible_collections.awsie.importexport.plugins.module_utils.signing import (
    canonical_host, sigv2_sign_params)

COLLECTION_NAME = 'awsie.importexport'
COLLECTION_VERSION = '0.1.0'
USER_AGENT = '%s/%s' % (COLLECTION_NAME, COLLECTION_VERSION)
API_VERSION = '2010-06-01'
DEFAULT_ENDPOINT = 'https://importexport.amazonaws.com'
SIGNATURE_METHODS = ('HmacSHA256', 'HmacSHA1')
MAX_RESPONSE_BYTES = 8 * 1024 * 1024

# Codes the service answers with once nothing was done: always safe to retry.
THROTTLING_CODES = frozenset(('Throttling', 'ThrottlingException', 'RequestLimitExceeded',
                              'TooManyRequestsException', 'ServiceUnavailable', 'SlowDown'))


# ---------------------------------------------------------------- errors

class ApiError(Exception):
    """Anything that went wrong talking to the service.

    ``code``: the service's error code, or ``ConnectionError``/``Timeout``/``MalformedResponse``/
    ``ResponseTooLarge``/``HTTP<status>`` for failures without one. ``attempts`` and ``elapsed``
    say how hard the client tried; ``outcome_unknown`` is true when a request may have been
    processed although no answer arrived.
    """

    default_code = 'ApiError'

    def __init__(self, message, code=None, request_id=None, status=None, action=None,
                 error_type=None, outcome_unknown=False, connected=True):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.request_id = request_id
        self.status = status
        self.action = action
        self.error_type = error_type
        self.outcome_unknown = outcome_unknown
        self.connected = connected
        self.attempts = 1
        self.elapsed = 0.0
        self.exhausted = False

    def __str__(self):
        text = '%s failed: %s' % (self.action or 'request', self.code)
        if self.status:
            text += ' (HTTP %s)' % self.status
        if self.message:
            text += ': %s' % self.message
        if self.request_id:
            text += ' [request id %s]' % self.request_id
        if self.exhausted:
            text += ('. Gave up after %d attempt(s) in %.1fs; the last error was %s. Retry later, or raise '
                     'max_attempts/max_retry_time' % (self.attempts, self.elapsed, self.code))
        return text

    def as_dict(self):
        return dict(code=self.code, message=self.message, request_id=self.request_id, http_status=self.status,
                    action=self.action, attempts=self.attempts)


class TransportError(ApiError):
    """No usable HTTP answer: connection refused or dropped, timeouts, TLS failures."""
    default_code = 'ConnectionError'


class ResponseError(ApiError):
    """An answer that is not a service response: not XML, too big, with a DTD."""
    default_code = 'MalformedResponse'


class ServiceError(ApiError):
    """An ``<ErrorResponse>`` from the service; subclasses are named after the code."""
    default_code = 'ServiceError'


_ERROR_CODES = (
    'BucketPermissionException', 'CanceledJobIdException', 'CreateJobQuotaExceededException',
    'ExpiredJobIdException', 'InvalidAccessKeyIdException', 'InvalidAddressException',
    'InvalidClientTokenIdException', 'InvalidCustomsException', 'InvalidFileSystemException',
    'InvalidJobIdException', 'InvalidManifestFieldException', 'InvalidParameterException',
    'InvalidVersionException', 'MalformedManifestException', 'MissingCustomsException',
    'MissingManifestFieldException', 'MissingParameterException', 'MultipleRegionsException',
    'NoSuchBucketException', 'UnableToCancelJobIdException', 'UnableToUpdateJobIdException',
    'InvalidClientTokenId', 'SignatureDoesNotMatch', 'IncompleteSignature', 'MissingAuthenticationToken',
    'RequestExpired', 'AccessDenied', 'InvalidAction', 'InvalidParameterValue', 'MissingParameter',
    'Throttling', 'ServiceUnavailable', 'InternalError', 'InternalFailure',
)

# One named class per code: ERRORS['InvalidJobIdException'] is also api.InvalidJobIdException.
ERRORS = {code: type(code, (ServiceError,), {'default_code': code, '__doc__': 'Service error %s.' % code})
          for code in _ERROR_CODES}
globals().update(ERRORS)


def error_class(code):
    """The named exception class of a service error code (ServiceError for unknown codes)."""
    if code in ERRORS:
        return ERRORS[code]
    if code and code + 'Exception' in ERRORS:
        return ERRORS[code + 'Exception']
    return ServiceError


def is_code(exc, *codes):
    """True when ``exc`` carries one of ``codes`` (with or without the ``Exception`` suffix)."""
    code = getattr(exc, 'code', None) or ''
    base = code[:-len('Exception')] if code.endswith('Exception') else code
    return any(c in (code, base) or c + 'Exception' == code for c in codes)


# ---------------------------------------------------------------- XML

_CAMEL_1 = re.compile(r'([A-Z]+)([A-Z][a-z])')
_CAMEL_2 = re.compile(r'([a-z0-9])([A-Z])')
_BOOL_FIELDS = frozenset(('IsCanceled', 'IsTruncated', 'Success', 'ValidateOnly'))
_INT_FIELDS = frozenset(('ErrorCount',))


@functools.lru_cache(maxsize=512)
def snake_case(name):
    """``SignatureFileContents`` -> ``signature_file_contents``; ``ShippingLabelURL`` -> ``shipping_label_url``."""
    return _CAMEL_2.sub(r'\1_\2', _CAMEL_1.sub(r'\1_\2', name)).lower()


def _local(tag):
    return tag.rsplit('}', 1)[-1] if isinstance(tag, str) else ''


def _find(element, name):
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def _text(element, name):
    child = _find(element, name) if element is not None else None
    return child.text if child is not None and child.text is not None else None


def _scalar(name, text):
    if text is None:
        return None
    if name in _BOOL_FIELDS:
        return text.strip().lower() == 'true'
    if name in _INT_FIELDS:
        try:
            return int(text.strip())
        except ValueError:
            return text
    return text


def element_to_dict(element):
    """Any result element as a snake_case dict; ``member`` lists become lists."""
    out = {}
    for child in element:
        name = _local(child.tag)
        if len(child):
            members = [m for m in child if _local(m.tag) == 'member']
            if members and len(members) == len(child):
                value = [element_to_dict(m) if len(m) else _scalar(name, m.text) for m in members]
            else:
                value = element_to_dict(child)
        elif name in ('Jobs', 'ArtifactList', 'jobIds'):
            value = []
        else:
            value = _scalar(name, child.text)
        out[snake_case(name)] = value
    return out


def parse_xml(body, action=None, status=None):
    """Parse a response body safely; raise ResponseError on anything that is not plain XML."""
    head = body[:1024].lstrip()
    if head.startswith(b'\xef\xbb\xbf'):
        head = head[3:]
    if not head.startswith(b'<'):
        raise ResponseError('the response is not XML (starts with %r); check endpoint_url points at the '
                            'Import/Export Query API' % (body[:60],), action=action, status=status)
    lowered = body.lower()
    if b'<!doctype' in lowered or b'<!entity' in lowered:
        raise ResponseError('the response carries a DTD or entity declarations, which the Query API never sends; '
                            'refusing to parse it (possible XML entity expansion attack)', action=action, status=status)
    try:
        return ET.fromstring(body)
    except ET.ParseError as exc:
        raise ResponseError('the response is not well-formed XML (%s)' % exc, action=action, status=status)


# ---------------------------------------------------------------- client

def encode_params(params):
    """Form encoding with %20 for spaces (what the signature covers, byte for byte)."""
    return urlencode(sorted(params.items()), quote_via=quote, safe='-_.~')


class QueryClient:
    """Signed, retrying calls to the Import/Export Query API. Thread-safe for concurrent GetStatus."""

    def __init__(self, access_key, secret_key, endpoint_url=None, signature_method='HmacSHA256',
                 session_token=None, validate_certs=True, ca_bundle=None, connect_timeout=10.0,
                 read_timeout=60.0, max_attempts=10, max_retry_time=300.0, backoff_base=0.25,
                 backoff_cap=20.0, max_response_bytes=MAX_RESPONSE_BYTES, pool_size=10,
                 sleep=time.sleep, clock=time.monotonic, rng=None):
        if not HAS_REQUESTS:
            raise ImportError('the Python library requests is required')
        if not access_key or not secret_key:
            raise ValueError('access_key and secret_key are required: set them as options or in the '
                             'environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY')
        if signature_method not in SIGNATURE_METHODS:
            raise ValueError('signature_method %r is not supported: use %s' % (signature_method, ' or '.join(SIGNATURE_METHODS)))
        self.endpoint_url = endpoint_url or DEFAULT_ENDPOINT
        split = urlsplit(self.endpoint_url)
        if split.scheme not in ('http', 'https') or not split.hostname:
            raise ValueError('endpoint_url %r is not an http(s) URL like %s' % (self.endpoint_url, DEFAULT_ENDPOINT))
        self._host = canonical_host(split.hostname, split.scheme, split.port)
        self._path = split.path or '/'
        self._url = '%s://%s%s' % (split.scheme, split.netloc, self._path)
        self.access_key = access_key
        self._secret_key = secret_key
        self.signature_method = signature_method
        self._session_token = session_token
        self.timeout = (float(connect_timeout), float(read_timeout))
        self.max_attempts = max(1, int(max_attempts))
        self.max_retry_time = float(max_retry_time)
        self.backoff_base = float(backoff_base)
        self.backoff_cap = float(backoff_cap)
        self.max_response_bytes = int(max_response_bytes)
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self.stats = {'requests': 0, 'retries': 0, 'by_action': {}}
        # Proxies and the CA bundle variables of the environment are read once here, not on every
        # request (requests scans the whole environment per request otherwise: ~0.7 ms each).
        self.session = requests.Session()
        self.session.trust_env = False
        self.proxies = requests.utils.get_environ_proxies(self._url)
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=max(1, int(pool_size)), max_retries=0)
        self.session.mount('http://', adapter)
        self.session.mount('https://', adapter)
        self.session.headers['User-Agent'] = '%s python-requests/%s' % (USER_AGENT, requests.__version__)
        env_bundle = os.environ.get('REQUESTS_CA_BUNDLE') or os.environ.get('CURL_CA_BUNDLE')
        self.verify = (ca_bundle or env_bundle or True) if validate_certs else False
        if not validate_certs:
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

    def close(self):
        self.session.close()

    # -- one attempt
    def _count(self, action, retry):
        with self._lock:
            self.stats['requests'] += 1
            self.stats['retries'] += 1 if retry else 0
            self.stats['by_action'][action] = self.stats['by_action'].get(action, 0) + 1

    def _read_body(self, response, action, limit=None):
        limit = limit or self.max_response_bytes
        length = response.headers.get('Content-Length')
        if length and length.isdigit() and int(length) > limit:
            response.close()
            raise ResponseError('the response announces %s bytes, over the limit of %d bytes'
                                % (length, limit), code='ResponseTooLarge',
                                action=action, status=response.status_code)
        deadline = self._clock() + self.timeout[1]
        chunks, size = [], 0
        raw = response.raw
        while True:
            try:
                # read1: whatever has arrived (up to 64 KiB), so the deadline is checked as data trickles in
                chunk = raw.read1(65536, decode_content=True) if hasattr(raw, 'read1') else raw.read(8192, decode_content=True)
            except urllib3.exceptions.ReadTimeoutError:
                raise TransportError('the response body stopped arriving for read_timeout (%.0fs)' % self.timeout[1],
                                     code='Timeout', action=action, outcome_unknown=True)
            except (urllib3.exceptions.HTTPError, OSError, http.client.HTTPException) as exc:
                raise TransportError('the connection broke while reading the response: %s' % _short(exc),
                                     action=action, outcome_unknown=True)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                response.close()
                raise ResponseError('the response is over the limit of %d bytes' % limit,
                                    code='ResponseTooLarge', action=action, status=response.status_code)
            if self._clock() > deadline:
                response.close()
                raise TransportError('the response body was still arriving after read_timeout (%.0fs)'
                                     % self.timeout[1], code='Timeout', action=action, outcome_unknown=True)
            chunks.append(chunk)
        return b''.join(chunks)

    def _once(self, action, params, retry=False):
        query = dict(params, Action=action, Version=API_VERSION)
        signed = sigv2_sign_params(query, self.access_key, self._secret_key, self._host, self._path, 'POST',
                                   self.signature_method, session_token=self._session_token)
        self._count(action, retry)
        try:
            response = self.session.post(
                self._url, data=encode_params(signed).encode('ascii'), timeout=self.timeout, verify=self.verify,
                proxies=self.proxies, stream=True, allow_redirects=False,
                headers={'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8'})
            try:
                body = self._read_body(response, action)
            finally:
                response.close()
        except requests.exceptions.SSLError as exc:
            raise TransportError('TLS failure talking to %s: %s; set ca_bundle to the CA that signed the endpoint '
                                 'certificate, or validate_certs=false for a test endpoint' % (self._url, exc),
                                 code='SSLError', action=action, connected=False)
        except requests.exceptions.ConnectTimeout:
            raise TransportError('no connection to %s within connect_timeout (%.0fs)' % (self._url, self.timeout[0]),
                                 code='Timeout', action=action, connected=False)
        except requests.exceptions.ReadTimeout:
            raise TransportError('no answer from %s within read_timeout (%.0fs)' % (self._url, self.timeout[1]),
                                 code='Timeout', action=action, outcome_unknown=True)
        except requests.exceptions.ConnectionError as exc:
            refused = 'NewConnectionError' in repr(exc) or 'Connection refused' in str(exc)
            raise TransportError('connection to %s failed: %s' % (self._url, _short(exc)), action=action,
                                 outcome_unknown=not refused, connected=not refused)
        except requests.exceptions.RequestException as exc:
            raise TransportError('request to %s failed: %s' % (self._url, _short(exc)), action=action,
                                 outcome_unknown=True)
        return self._parse(action, response.status_code, body)

    def _parse(self, action, status, body):
        if status >= 500 and not body.lstrip().startswith(b'<'):
            raise ServiceError('HTTP %d with a non-XML body from %s' % (status, self._url), code='HTTP%d' % status,
                               action=action, status=status, outcome_unknown=True)
        root = parse_xml(body, action, status)
        name = _local(root.tag)
        if name == 'ErrorResponse' or (status >= 300 and _find(root, 'Error') is not None):
            error = _find(root, 'Error')
            if error is None:
                error = root
            code = _text(error, 'Code') or 'HTTP%d' % status
            request_id = _text(root, 'RequestId') or _text(_find(root, 'ResponseMetadata'), 'RequestId')
            cls = error_class(code)
            raise cls(_text(error, 'Message') or '', code=code, request_id=request_id, status=status, action=action,
                      error_type=_text(error, 'Type'), outcome_unknown=status >= 500 and code not in THROTTLING_CODES)
        if status >= 300:
            raise ServiceError('HTTP %d without an error document' % status, code='HTTP%d' % status, action=action,
                               status=status, outcome_unknown=status >= 500)
        if name != action + 'Response':
            raise ResponseError('expected <%sResponse>, got <%s>' % (action, name), action=action, status=status)
        result = _find(root, action + 'Result')
        if result is None:
            raise ResponseError('the response has no <%sResult> element' % action, action=action, status=status)
        parsed = element_to_dict(result)
        parsed['request_id'] = _text(_find(root, 'ResponseMetadata'), 'RequestId')
        return parsed

    # -- retries
    def retryable(self, exc, idempotent):
        """Safe to send again? Throttling, 503 and refused connections always; the rest only if idempotent."""
        if isinstance(exc, ResponseError) or exc.code == 'SSLError':
            return False  # the same answer or certificate comes again: retrying cannot help
        if exc.code in THROTTLING_CODES:
            return True
        if isinstance(exc, TransportError):
            return idempotent or not exc.connected
        if isinstance(exc, ServiceError) and (exc.status or 0) >= 500:
            return idempotent
        return False

    def backoff(self, attempt):
        """Full jitter: uniform(0, min(cap, base * 2 ** (attempt - 1)))."""
        return self._rng.uniform(0, min(self.backoff_cap, self.backoff_base * (2 ** (attempt - 1))))

    def call(self, action, params=None, idempotent=True, on_unknown=None):
        """One API call with retries; returns the result as a snake_case dict.

        For a call that is not idempotent, an unknown outcome (dropped connection, read timeout,
        500) runs ``on_unknown()`` before anything else: a non-None answer is returned as the
        result (the call had worked), None means it had not, and the call is sent again.
        """
        params = {k: v for k, v in (params or {}).items() if v is not None}
        start = self._clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._once(action, params, retry=attempt > 1)
            except ApiError as exc:
                exc.attempts, exc.elapsed = attempt, self._clock() - start
                safe = self.retryable(exc, idempotent)
                if not safe and on_unknown is not None and exc.outcome_unknown:
                    found = self._look_up(on_unknown, exc, start)
                    if found is not None:
                        found['recovered_from'] = exc.code
                        return found
                    safe = True
                if not safe:
                    raise
                delay = self.backoff(attempt)
                if attempt >= self.max_attempts or exc.elapsed + delay > self.max_retry_time:
                    exc.exhausted = True
                    raise
            self._sleep(delay)

    def _look_up(self, on_unknown, exc, start):
        """Ask ``on_unknown`` whether a call with a lost answer went through.

        A closed connection or a 500 means the service has finished with the request: one look
        is authoritative. After a read timeout it may still be working on it, so the look is
        repeated (0.5 s doubling, at most 10 s apart) for up to twice read_timeout before the
        call may be sent again.
        """
        found = on_unknown()
        if found is not None or exc.code != 'Timeout':
            return found
        deadline = min(self._clock() + 2 * self.timeout[1], start + self.max_retry_time)
        wait = 0.5
        while self._clock() + wait <= deadline:
            self._sleep(wait)
            found = on_unknown()
            if found is not None:
                return found
            wait = min(wait * 2, 10.0)
        return None

    # -- actions
    def create_job(self, job_type, manifest, validate_only=False, on_unknown=None):
        params = {'JobType': job_type, 'Manifest': manifest, 'ValidateOnly': 'true' if validate_only else 'false'}
        # ValidateOnly creates nothing: repeating it is harmless.
        return self.call('CreateJob', params, idempotent=validate_only, on_unknown=on_unknown)

    def update_job(self, job_id, job_type, manifest, validate_only=False):
        # Replacing a manifest with the same manifest again is harmless: safe to repeat.
        return self.call('UpdateJob', {'JobId': job_id, 'JobType': job_type, 'Manifest': manifest,
                                       'ValidateOnly': 'true' if validate_only else 'false'})

    def cancel_job(self, job_id):
        return self.call('CancelJob', {'JobId': job_id})

    def get_status(self, job_id):
        return self.call('GetStatus', {'JobId': job_id})

    def list_jobs(self, max_jobs=None, marker=None):
        return self.call('ListJobs', {'MaxJobs': None if max_jobs is None else str(int(max_jobs)), 'Marker': marker})

    def iter_jobs(self, max_jobs=None, page_size=None):
        """Every job (newest first) over all ListJobs pages, or the first ``max_jobs``."""
        marker, seen = None, 0
        while True:
            want = page_size
            if max_jobs is not None:
                want = min(page_size or 1000, max_jobs - seen)
            page = self.list_jobs(want, marker)
            jobs = page.get('jobs') or []
            for job in jobs:
                yield job
                seen += 1
                if max_jobs is not None and seen >= max_jobs:
                    return
            if not page.get('is_truncated') or not jobs:
                return
            marker = jobs[-1]['job_id']

    def get_shipping_label(self, job_ids, address=None):
        params = {'jobIds.member.%d' % n: job_id for n, job_id in enumerate(job_ids, 1)}
        for key, value in (address or {}).items():
            params[key] = value
        return self.call('GetShippingLabel', params)

    def download(self, url, max_bytes=50 * 1024 * 1024):
        """GET a label URL (pre-signed S3 link); bytes, with the same TLS, timeout and size rules."""
        try:
            response = self.session.get(url, timeout=self.timeout, verify=self.verify, stream=True,
                                        proxies=requests.utils.get_environ_proxies(url))
            try:
                if response.status_code != 200:
                    raise TransportError('downloading %s gave HTTP %d' % (url, response.status_code),
                                         code='HTTP%d' % response.status_code, action='Download',
                                         status=response.status_code)
                return self._read_body(response, 'Download', limit=max_bytes)
            finally:
                response.close()
        except requests.exceptions.RequestException as exc:
            raise TransportError('downloading %s failed: %s' % (url, _short(exc)), action='Download')


def _short(exc):
    text = str(exc)
    return text if len(text) < 300 else text[:300] + '...'
