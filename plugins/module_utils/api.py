# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A client for the AWS Import/Export Query API (2010-06-01), over ``requests``.

* Requests: form-encoded POST, signed with Signature Version 2 by the signing library.
* Deadlines: one attempt ends within connect_timeout + read_timeout in total, however slowly
  the headers or the body arrive (a watchdog shuts the connection down at the deadline).
* Responses (``api_xml``): an answer is believed only when it is the API's (its XML namespace,
  the action's response element) and about what was asked (GetStatus: the job asked); a DTD,
  an HTML page, a body over the size limit or nested too deep is a clear error, never a hang
  or a crash.
* Errors (``api_errors``): every service error code is a named exception
  (``api_errors.InvalidJobIdException`` ...) carrying code, message, request id and HTTP status.
* Retries: full-jitter exponential backoff on throttling, 503, other 5xx, timeouts and
  connection errors, bounded by attempts and by total time. A call that is not safe to repeat
  (CreateJob) is never retried blindly when its outcome is unknown: the caller's look-up runs
  first and, when it finds the job, its answer is the result.
* The endpoint: an http(s) URL without user name or password (refused, never echoed).

No Ansible imports: plain pytest covers it.
"""

from __future__ import annotations

import http.client
import math
import os
import random
import threading
import time
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

from ansible_collections.awsie.importexport.plugins.module_utils.api_errors import (  # noqa: F401  pylint: disable=unused-import
    ERRORS, THROTTLING_CODES, ApiError, ResponseError, ServiceError, TransportError, error_class, is_code)
from ansible_collections.awsie.importexport.plugins.module_utils.api_deadline import Deadline, DeadlineAdapter
from ansible_collections.awsie.importexport.plugins.module_utils.api_xml import parse_response
from ansible_collections.awsie.importexport.plugins.module_utils.signing import (
    canonical_host, sigv2_sign_params)

COLLECTION_NAME = 'awsie.importexport'
COLLECTION_VERSION = '0.1.0'
USER_AGENT = '%s/%s' % (COLLECTION_NAME, COLLECTION_VERSION)
API_VERSION = '2010-06-01'
DEFAULT_ENDPOINT = 'https://importexport.amazonaws.com'
SIGNATURE_METHODS = ('HmacSHA256', 'HmacSHA1')
MAX_RESPONSE_BYTES = 8 * 1024 * 1024


def check_endpoint_url(url):
    """``url`` split, or ValueError saying what is wrong with it (never quoting a password)."""
    if not isinstance(url, str) or not url.strip():
        raise ValueError('endpoint_url is empty (given as "" or through AWS_URL): give the URL of the Query API, or '
                         'leave the option out and unset AWS_URL for %s' % DEFAULT_ENDPOINT)
    split = urlsplit(url.strip())
    if '@' in split.netloc:
        raise ValueError('endpoint_url must not carry a user name or password (the part before "@" in the host): '
                         'requests are signed with access_key and secret_key; remove them from the URL')
    try:
        port = split.port
    except ValueError:
        port = -1
    if split.scheme not in ('http', 'https') or not split.hostname or port == -1:
        raise ValueError('endpoint_url %r is not an http(s) URL like %s' % (url, DEFAULT_ENDPOINT))
    return split


# ---------------------------------------------------------------- client

def encode_params(params):
    """Form encoding with %20 for spaces (what the signature covers, byte for byte)."""
    return urlencode(sorted(params.items()), quote_via=quote, safe='-_.~')


def _seconds(name, value):
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError('%s must be a finite number of seconds above 0, got %r' % (name, value))
    return value


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
        self.endpoint_url = DEFAULT_ENDPOINT if endpoint_url is None else endpoint_url
        split = check_endpoint_url(self.endpoint_url)
        self._host = canonical_host(split.hostname, split.scheme, split.port)
        self._path = split.path or '/'
        self._url = '%s://%s%s' % (split.scheme, split.netloc, self._path)
        self.access_key = access_key
        self._secret_key = secret_key
        self.signature_method = signature_method
        self._session_token = session_token
        self.timeout = (_seconds('connect_timeout', connect_timeout), _seconds('read_timeout', read_timeout))
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
        self.verify = self._verify(validate_certs, ca_bundle)
        # Proxies and the CA bundle variables of the environment are read once here, not on every
        # request (requests scans the whole environment per request otherwise: ~0.7 ms each).
        self.session = requests.Session()
        self.session.trust_env = False
        self.proxies = requests.utils.get_environ_proxies(self._url)
        adapter = DeadlineAdapter(pool_connections=1, pool_maxsize=max(1, int(pool_size)), max_retries=0)
        self.session.mount('http://', adapter)
        self.session.mount('https://', adapter)
        self.session.headers['User-Agent'] = '%s python-requests/%s' % (USER_AGENT, requests.__version__)

    @staticmethod
    def _verify(validate_certs, ca_bundle):
        """What requests verifies the endpoint with; ValueError for a CA bundle that is not there."""
        if not validate_certs:
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
            return False
        for name, path in (('ca_bundle', ca_bundle), ('REQUESTS_CA_BUNDLE', os.environ.get('REQUESTS_CA_BUNDLE')),
                           ('CURL_CA_BUNDLE', os.environ.get('CURL_CA_BUNDLE'))):
            if path:
                if not os.path.exists(path):
                    raise ValueError('%s %s does not exist on the controller: give the path of a PEM file with the CA '
                                     'certificates that signed the endpoint certificate' % (name, path))
                return path
        return True

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

    def _exchange(self, action, send, limit=None):
        """``send()`` then read the body, within connect_timeout + read_timeout in total: (status, body)."""
        total = self.timeout[0] + self.timeout[1]
        with Deadline(total) as deadline:
            try:
                response = send()
                try:
                    body = self._read_body(response, action, limit)
                finally:
                    response.close()
            except (requests.exceptions.RequestException, TransportError):
                if deadline.passed:
                    raise self._deadline_error(action, total)
                raise
        if deadline.passed:  # cut short: what was read may be a part only
            raise self._deadline_error(action, total)
        return response.status_code, body

    def _deadline_error(self, action, total):
        return TransportError('no complete answer from %s within connect_timeout + read_timeout (%.0fs in total)'
                              % (self._url, total), code='Timeout', action=action, outcome_unknown=True)

    def _once(self, action, params, retry=False, check=None):
        query = dict(params, Action=action, Version=API_VERSION)
        signed = sigv2_sign_params(query, self.access_key, self._secret_key, self._host, self._path, 'POST',
                                   self.signature_method, session_token=self._session_token)
        self._count(action, retry)
        data = encode_params(signed).encode('ascii')
        try:
            status, body = self._exchange(action, lambda: self.session.post(
                self._url, data=data, timeout=self.timeout, verify=self.verify, proxies=self.proxies, stream=True,
                allow_redirects=False, headers={'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8'}))
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
        result = parse_response(action, status, body, self._url)
        if check is not None:
            check(result)
        return result

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

    def call(self, action, params=None, idempotent=True, on_unknown=None, check=None):
        """One API call with retries; returns the result as a snake_case dict.

        ``check(result)`` may refuse an answer (raising ResponseError, not retried). For a call
        that is not idempotent, an unknown outcome (dropped connection, read timeout, 500) runs
        ``on_unknown()`` before anything else: a non-None answer is returned as the result (the
        call had worked), None means it had not, and the call is sent again.
        """
        params = {k: v for k, v in (params or {}).items() if v is not None}
        start = self._clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._once(action, params, retry=attempt > 1, check=check)
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
        """GetStatus of one job; an answer about another job (or none) is refused, not believed."""
        def about_the_job_asked(result):
            answered = result.get('job_id')
            if not isinstance(answered, str) or answered.strip().upper() != job_id.strip().upper():
                raise ResponseError('the GetStatus answer for job %s is about job %r: not believed; check that '
                                    'endpoint_url points at the Import/Export Query API' % (job_id, answered),
                                    action='GetStatus')
        return self.call('GetStatus', {'JobId': job_id}, check=about_the_job_asked)

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
        """GET a label URL (pre-signed S3 link); bytes, with the same TLS, deadline and size rules."""
        try:
            status, body = self._exchange('Download', lambda: self.session.get(
                url, timeout=self.timeout, verify=self.verify, stream=True,
                proxies=requests.utils.get_environ_proxies(url)), limit=max_bytes)
        except requests.exceptions.RequestException as exc:
            raise TransportError('downloading %s failed: %s' % (url, _short(exc)), action='Download')
        if status != 200:
            raise TransportError('downloading %s gave HTTP %d' % (url, status), code='HTTP%d' % status,
                                 action='Download', status=status)
        return body


def _short(exc):
    text = str(exc)
    return text if len(text) < 300 else text[:300] + '...'
