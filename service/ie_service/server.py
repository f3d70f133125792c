# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""HTTP front: the standard library's ThreadingHTTPServer, HTTP/1.1 with keep-alive.

POST (or GET) ``/`` carries the Query API; ``GET /labels/NAME.pdf`` serves shipping labels and
artifacts; ``/_admin/...`` is the admin endpoint, off unless ``--admin-token`` is given.
"""

import collections
import hmac
import json
import os
import socket
import threading
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import api
from . import faults as faults_mod
from .errors import ApiError
from .state import iso

MAX_BODY = 2 * 1024 * 1024


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = 0
        self.refusals = collections.Counter()
        self.by_action = collections.Counter()
        self.faults = collections.Counter()

    def snapshot(self):
        with self.lock:
            return {'requests': self.requests, 'refusals': dict(self.refusals), 'by_action': dict(self.by_action),
                    'faults': dict(self.faults)}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address, service, authenticator, faults, admin_token=None, receive=None, verbose=False):
        super().__init__(address, Handler)
        self.service = service
        self.authenticator = authenticator
        self.faults = faults
        self.admin_token = admin_token
        self.receive = receive
        self.verbose = verbose
        self.stats = Stats()


class Drop(Exception):
    """Close the connection without answering."""


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'ie-service/0.1'
    sys_version = ''

    def version_string(self):
        return self.server_version

    def setup(self):
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        if self.server.verbose:
            super().log_message(format, *args)

    # ------------------------------------------------------------ plumbing
    def _body(self):
        length = self.headers.get('Content-Length')
        if not length:
            return b''
        length = int(length)
        if length > MAX_BODY:
            raise ApiError('InvalidParameterValue', 'The request body is larger than %d bytes' % MAX_BODY)
        return self.rfile.read(length)

    def _send(self, status, body, content_type='text/xml', extra=None):
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    def do_POST(self):  # pylint: disable=invalid-name
        self._dispatch()

    def do_GET(self):  # pylint: disable=invalid-name
        self._dispatch()

    def _dispatch(self):
        split = urllib.parse.urlsplit(self.path)
        path = split.path or '/'
        try:
            body = self._body()
        except (ApiError, ValueError) as exc:
            self.close_connection = True
            error = exc if isinstance(exc, ApiError) else ApiError('InvalidParameterValue', 'Bad Content-Length')
            self._send(error.status, api.render_error(error, api.request_id()))
            return
        if path.startswith('/_admin/'):
            self._admin(path, body)
        elif path.startswith('/labels/') and self.command == 'GET':
            self._label(path)
        elif path == '/':
            try:
                self._api(split, body)
            except Drop:
                self.close_connection = True
        else:
            self._send(404, api.render_error(ApiError('NotFound', 'No such resource %s' % path, 404), api.request_id()))

    # ------------------------------------------------------------ the Query API
    def _api(self, split, body):
        rid = api.request_id()
        server = self.server
        stats = server.stats
        action = None
        try:
            params = dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True, errors='strict'))
            ctype = self.headers.get('Content-Type', '')
            if body and (not ctype or ctype.startswith('application/x-www-form-urlencoded')):
                params.update(urllib.parse.parse_qsl(body.decode('utf-8'), keep_blank_values=True, errors='strict'))
        except (UnicodeDecodeError, ValueError):
            self._refuse(ApiError('InvalidParameterValue', 'The request parameters are not UTF-8 form-encoded'), rid, None)
            return
        action = params.get('Action') or params.get('Operation')
        with stats.lock:
            stats.requests += 1
            stats.by_action[action or '-'] += 1
        if self._faults(action if action in api.ACTIONS else None, rid):
            return
        try:
            headers = {k.lower(): v for k, v in self.headers.items()}
            account = server.authenticator.authenticate(self.command, split.path or '/', split.query, headers, body, params)
            if not action:
                raise ApiError('MissingAction', 'The request must contain the parameter Action')
            if action not in api.ACTIONS:
                raise ApiError('InvalidAction', 'The action %s is not valid for this web service.' % action)
            version = params.get('Version')
            if not version:
                raise ApiError('MissingParameter', 'The request must contain the parameter Version')
            if version != api.API_VERSION:
                raise ApiError('NoSuchVersion', 'The requested version (%s) of service AWS Import/Export does not exist.' % version)
            pairs = server.service.call(action, params, account)
        except ApiError as error:
            self._refuse(error, rid, action)
            return
        except Exception as exc:  # pylint: disable=broad-except
            if server.verbose:
                traceback.print_exc()
            self._refuse(ApiError('InternalError', 'We encountered an internal error: %s' % type(exc).__name__, 500), rid, action)
            return
        self._send(200, api.render_result(action, pairs, rid), extra={'x-amzn-RequestId': rid})

    def _refuse(self, error, rid, action):
        with self.server.stats.lock:
            self.server.stats.refusals[error.code] += 1
        del action
        self._send(error.status, api.render_error(error, rid), extra={'x-amzn-RequestId': rid})

    def _faults(self, action, rid):
        """Apply the faults in force; True when a fault already answered the request."""
        faults = self.server.faults.for_action(action)
        if not faults:
            return False
        stats = self.server.stats
        if faults.get('latency'):
            time.sleep(faults['latency'])
            with stats.lock:
                stats.faults['latency'] += 1
        if faults.get('drop') and self.server.faults.roll(faults['drop']):
            with stats.lock:
                stats.faults['drop'] += 1
            raise Drop()
        error = None
        if faults.get('throttle') and self.server.faults.roll(faults['throttle']):
            error = ApiError('Throttling', 'Rate exceeded')
        elif faults.get('error5xx') and self.server.faults.roll(faults['error5xx']):
            if self.server.faults.choice((500, 503)) == 500:
                error = ApiError('InternalError', 'We encountered an internal error. Please try again.', 500)
            else:
                error = ApiError('ServiceUnavailable', 'The service is unavailable. Please try again later.', 503)
        if error is not None:
            with stats.lock:
                stats.faults[error.code] += 1
            self._refuse(error, rid, action)
            return True
        return False

    # ------------------------------------------------------------ labels
    def _label(self, path):
        name = os.path.basename(urllib.parse.unquote(path))
        full = os.path.join(self.server.service.labels_dir, name)
        if not name.endswith('.pdf') or name.startswith('.') or not os.path.isfile(full):
            self._send(404, api.render_error(ApiError('NotFound', 'No such label', 404), api.request_id()))
            return
        with open(full, 'rb') as handle:
            data = handle.read()
        self._send(200, data, 'application/pdf')

    # ------------------------------------------------------------ admin
    def _admin(self, path, body):
        token = self.server.admin_token
        given = self.headers.get('X-Admin-Token', '')
        if not token:
            self._send(404, api.render_error(ApiError('NotFound', 'The admin endpoint is off (start with --admin-token)', 404),
                                             api.request_id()))
            return
        if not hmac.compare_digest(given.encode(), token.encode()):
            self._send(403, api.render_error(ApiError('AccessDenied', 'Wrong or missing X-Admin-Token', 403), api.request_id()))
            return
        try:
            request = json.loads(body or b'{}')
            result = self._admin_call(path, request)
            status = 200
        except (ValueError, KeyError, TypeError) as exc:
            result, status = {'error': str(exc)}, 400
        except Exception as exc:  # pylint: disable=broad-except
            result, status = {'error': '%s: %s' % (type(exc).__name__, exc)}, 500
        self._send(status, json.dumps(result).encode(), 'application/json')

    def _admin_call(self, path, request):
        service = self.server.service
        if path == '/_admin/stats':
            return self.server.stats.snapshot()
        if path == '/_admin/faults':
            if request.get('clear'):
                return {'faults': faults_mod.write_faults(service.state_dir, [], replace=True)}
            return {'faults': faults_mod.write_faults(service.state_dir, request.get('specs', []))}
        if path == '/_admin/clock':
            seconds = float(request.get('advance_seconds', 0)) + 86400 * float(request.get('advance_days', 0))
            return {'now': iso(service.clock.advance(seconds))}
        if path == '/_admin/receive':
            if self.server.receive is None:
                raise ValueError('receiving is not available')
            return self.server.receive(request['job_id'], request['path'])
        raise ValueError('unknown admin path %s' % path)
