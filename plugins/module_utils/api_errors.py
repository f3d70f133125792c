# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What can go wrong talking to the Import/Export Query API, as exception classes.

``ApiError`` is the base: ``TransportError`` (no usable HTTP answer), ``ResponseError`` (an
answer that is not the API's) and ``ServiceError`` (an ``<ErrorResponse>``). Every error code
the service is known to answer with has its own class below, named after the code
(``InvalidJobIdException``); ``error_class(code)`` finds it, ``is_code(exc, ...)`` compares
codes with or without the ``Exception`` suffix. Unknown codes are plain ServiceErrors that
still carry their code.

Runs on the controller (and is plain Python: no Ansible imports).
"""

from __future__ import annotations

# Codes the service answers with once nothing was done: always safe to retry.
THROTTLING_CODES = frozenset(('Throttling', 'ThrottlingException', 'RequestLimitExceeded',
                              'TooManyRequestsException', 'ServiceUnavailable', 'SlowDown'))

# Every ServiceError subclass by its code, filled as the classes below are defined.
ERRORS = {}


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
    """An answer that is not the API's: not XML, HTML, too big, too deep, with a DTD, in another
    namespace, or about another job than the one asked."""
    default_code = 'MalformedResponse'


class ServiceError(ApiError):
    """An ``<ErrorResponse>`` from the service; the subclasses below are named after the code."""
    default_code = 'ServiceError'

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.default_code = cls.__name__
        ERRORS[cls.__name__] = cls


# ---------------------------------------------------------------- the service's own codes

class BucketPermissionException(ServiceError):
    """The account lacks permission on a bucket of the manifest."""


class CanceledJobIdException(ServiceError):
    """The job was canceled and is no longer valid."""


class CreateJobQuotaExceededException(ServiceError):
    """The daily CreateJob quota of the account is used up."""


class ExpiredJobIdException(ServiceError):
    """The job expired."""


class InvalidAccessKeyIdException(ServiceError):
    """The request's access key differs from the manifest's accessKeyId."""


class InvalidAddressException(ServiceError):
    """An address of the manifest is invalid."""


class InvalidClientTokenIdException(ServiceError):
    """The access key does not exist (HTTP 403)."""


class InvalidCustomsException(ServiceError):
    """A customs field of the manifest is invalid."""


class InvalidFileSystemException(ServiceError):
    """The fileSystem of an export manifest is invalid."""


class InvalidJobIdException(ServiceError):
    """The job id is missing, unknown, or of another account."""


class InvalidManifestFieldException(ServiceError):
    """A field of the manifest is invalid."""


class InvalidParameterException(ServiceError):
    """A request parameter is invalid."""


class InvalidVersionException(ServiceError):
    """The client tool version is invalid."""


class MalformedManifestException(ServiceError):
    """The manifest is not well-formed."""


class MissingCustomsException(ServiceError):
    """A required customs field is missing."""


class MissingManifestFieldException(ServiceError):
    """A required manifest field is missing."""


class MissingParameterException(ServiceError):
    """A required request parameter is missing."""


class MultipleRegionsException(ServiceError):
    """The buckets of the manifest are in several regions."""


class NoSuchBucketException(ServiceError):
    """A bucket named in the manifest does not exist."""


class UnableToCancelJobIdException(ServiceError):
    """The job can no longer be canceled (its transfer started or finished)."""


class UnableToUpdateJobIdException(ServiceError):
    """The job can no longer be updated."""


# ---------------------------------------------------------------- common AWS Query API codes

class InvalidClientTokenId(ServiceError):
    """The access key does not exist (common AWS code)."""


class SignatureDoesNotMatch(ServiceError):
    """The request signature does not match: wrong secret key or a clock far off."""


class IncompleteSignature(ServiceError):
    """The request signature is incomplete."""


class MissingAuthenticationToken(ServiceError):
    """The request carries no credentials."""


class RequestExpired(ServiceError):
    """The request timestamp is too old (a clock far off)."""


class AccessDenied(ServiceError):
    """Access denied."""


class InvalidAction(ServiceError):
    """The action is not one of the API."""


class InvalidParameterValue(ServiceError):
    """A request parameter has an invalid value."""


class MissingParameter(ServiceError):
    """A required request parameter is missing (common AWS code)."""


class Throttling(ServiceError):
    """Too many requests: retried with backoff."""


class ServiceUnavailable(ServiceError):
    """The service is unavailable (HTTP 503): retried with backoff."""


class InternalError(ServiceError):
    """The service failed (HTTP 500)."""


class InternalFailure(ServiceError):
    """The service failed (HTTP 500)."""


# ---------------------------------------------------------------- look-ups

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
