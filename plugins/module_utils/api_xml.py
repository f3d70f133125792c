# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading the Query API's XML answers, and checking they are the API's.

* Refused before parsing: a redirect (never followed: the signature is for this endpoint), a
  body that is not XML, an HTML page (said so: a wrong ``endpoint_url`` is the usual cause), a
  DTD or entity declarations (entity bombs), NUL bytes (UTF-16, which would hide a DTD from
  that check).
* Refused after parsing: a successful answer whose root element is not ``<ActionResponse>``
  in the API's XML namespace (``API_NAMESPACES``), without its ``<ActionResult>``, or nested
  deeper than any answer of the API (``MAX_DEPTH``).
* Errors: an ``<ErrorResponse>`` becomes the exception class named after its code. Error
  documents are not checked for the namespace: believing a wrong error only fails a task.

Runs on the controller (and is plain Python: no Ansible imports).
"""

from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ET

from ansible_collections.awsie.importexport.plugins.module_utils.api_errors import (
    THROTTLING_CODES, ResponseError, ServiceError, error_class)

# The namespace of the API model (2010-06-01), which the service answers in; the developer
# guide's samples print the shorter one. Any other namespace is not this API's answer.
API_NAMESPACES = ('http://importexport.amazonaws.com/doc/2010-06-01/', 'http://importexport.amazonaws.com/')
# The deepest answer of the API (ListJobs: Response/Result/Jobs/member/field) is 5 levels.
MAX_DEPTH = 32

_CAMEL_1 = re.compile(r'([A-Z]+)([A-Z][a-z])')
_CAMEL_2 = re.compile(r'([a-z0-9])([A-Z])')
_BOOL_FIELDS = frozenset(('IsCanceled', 'IsTruncated', 'Success', 'ValidateOnly'))
_INT_FIELDS = frozenset(('ErrorCount',))
_LIST_FIELDS = frozenset(('Jobs', 'ArtifactList', 'jobIds'))
_HTML = re.compile(rb'^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(!doctype\s+html|html[\s>])', re.I | re.S)
_FIX_ENDPOINT = 'check that endpoint_url points at the Import/Export Query API'


@functools.lru_cache(maxsize=512)
def snake_case(name):
    """``SignatureFileContents`` -> ``signature_file_contents``; ``ShippingLabelURL`` -> ``shipping_label_url``."""
    return _CAMEL_2.sub(r'\1_\2', _CAMEL_1.sub(r'\1_\2', name)).lower()


def local_name(tag):
    return tag.rsplit('}', 1)[-1] if isinstance(tag, str) else ''


def namespace(tag):
    return tag[1:].split('}', 1)[0] if isinstance(tag, str) and tag.startswith('{') else None


def find(element, name):
    for child in element:
        if local_name(child.tag) == name:
            return child
    return None


def text(element, name):
    child = find(element, name) if element is not None else None
    return child.text if child is not None and child.text is not None else None


def _scalar(name, value):
    if value is None:
        return None
    if name in _BOOL_FIELDS:
        return value.strip().lower() == 'true'
    if name in _INT_FIELDS:
        try:
            return int(value.strip())
        except ValueError:
            return value
    return value


def element_to_dict(element, depth=1):
    """Any result element as a snake_case dict; ``member`` lists become lists.

    Raises ResponseError for an element nested deeper than MAX_DEPTH (no answer of the API is).
    """
    if depth > MAX_DEPTH:
        raise ResponseError('the response is nested more than %d elements deep, which no answer of the API is; %s'
                            % (MAX_DEPTH, _FIX_ENDPOINT))
    out = {}
    for child in element:
        name = local_name(child.tag)
        if len(child):
            members = [m for m in child if local_name(m.tag) == 'member']
            if members and len(members) == len(child):
                value = [element_to_dict(m, depth + 2) if len(m) else _scalar(name, m.text) for m in members]
            else:
                value = element_to_dict(child, depth + 1)
        elif name in _LIST_FIELDS:
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
        raise ResponseError('the response is not XML (%d bytes, not starting with "<"); %s'
                            % (len(body), _FIX_ENDPOINT), action=action, status=status)
    if _HTML.match(body[:4096]):
        raise ResponseError('the endpoint answered HTML, not the Import/Export API; %s' % _FIX_ENDPOINT,
                            action=action, status=status)
    if b'\x00' in body:
        # UTF-16 (or binary): the DTD check below reads bytes, and expat would read UTF-16 unseen by it
        raise ResponseError('the response holds NUL bytes (UTF-16 or binary data), which the Query API\'s UTF-8 XML '
                            'never does; refusing to parse it; %s' % _FIX_ENDPOINT, action=action, status=status)
    lowered = body.lower()
    if b'<!doctype' in lowered or b'<!entity' in lowered:
        raise ResponseError('the response carries a DTD or entity declarations, which the Query API never sends; '
                            'refusing to parse it (possible XML entity expansion attack)', action=action, status=status)
    try:
        return ET.fromstring(body)
    except ET.ParseError as exc:
        raise ResponseError('the response is not well-formed XML (%s)' % exc, action=action, status=status)


def raise_error_response(root, action, status):
    """Raise the named ServiceError of an ``<ErrorResponse>`` (or of a 3xx-5xx answer with an ``<Error>``)."""
    error = find(root, 'Error')
    if error is None:
        error = root
    code = text(error, 'Code') or 'HTTP%d' % status
    request_id = text(root, 'RequestId') or text(find(root, 'ResponseMetadata'), 'RequestId')
    raise error_class(code)(text(error, 'Message') or '', code=code, request_id=request_id, status=status,
                            action=action, error_type=text(error, 'Type'),
                            outcome_unknown=status >= 500 and code not in THROTTLING_CODES)


def parse_response(action, status, body, url):
    """The ``<ActionResult>`` of an answer as a snake_case dict (with ``request_id``), or the error it is."""
    if status >= 500 and (not body.lstrip().startswith(b'<') or _HTML.match(body[:4096])):
        # a proxy or load balancer in the way (502, 504...): retried like any 5xx
        raise ServiceError('HTTP %d with a non-XML body from %s' % (status, url), code='HTTP%d' % status,
                           action=action, status=status, outcome_unknown=True)
    if 300 <= status < 400 and b'<Error' not in body[:4096]:
        raise ResponseError('the endpoint answered HTTP %d, a redirect, which is never followed: requests are signed '
                            'for the endpoint they are sent to; set endpoint_url to the URL the Query API answers at'
                            % status, action=action, status=status)
    root = parse_xml(body, action, status)
    name = local_name(root.tag)
    if name == 'ErrorResponse' or (status >= 300 and find(root, 'Error') is not None):
        raise_error_response(root, action, status)
    if status >= 300:
        raise ServiceError('HTTP %d without an error document' % status, code='HTTP%d' % status, action=action,
                           status=status, outcome_unknown=status >= 500)
    if name.lower() == 'html':
        raise ResponseError('the endpoint answered HTML, not the Import/Export API; %s' % _FIX_ENDPOINT,
                            action=action, status=status)
    if name != action + 'Response':
        raise ResponseError('expected <%sResponse>, got <%s>; %s' % (action, name, _FIX_ENDPOINT),
                            action=action, status=status)
    if namespace(root.tag) not in API_NAMESPACES:
        raise ResponseError('the <%s> answer is in the XML namespace %s, not the API\'s (%s): not believed; %s'
                            % (name, namespace(root.tag) or '(none)', API_NAMESPACES[0], _FIX_ENDPOINT),
                            action=action, status=status)
    result = find(root, action + 'Result')
    if result is None:
        raise ResponseError('the response has no <%sResult> element' % action, action=action, status=status)
    try:
        parsed = element_to_dict(result, 2)
    except ResponseError as exc:
        exc.action, exc.status = action, status
        raise
    parsed['request_id'] = text(find(root, 'ResponseMetadata'), 'RequestId')
    return parsed
