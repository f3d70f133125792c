# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A total deadline per HTTP request, for the Query API client.

``requests`` knows only a per-read timeout: a server that sends its answer a byte a second
keeps it happy for ever. Here a request runs inside ``with Deadline(seconds) as deadline:``
on a session whose adapter is a ``DeadlineAdapter``; the adapter's connection pools tell the
deadline which connection the request got, and one watchdog thread (for every client) shuts
that connection's socket down when the time is up, so the blocked read returns at once.
``deadline.passed`` then says why the request failed (or that what was read may be a part).

Runs on the controller (and is plain Python: no Ansible imports).
"""

from __future__ import annotations

import heapq
import socket
import threading
import time

try:
    import requests.adapters
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
except ImportError:  # pragma: no cover - reported by the modules with missing_required_lib
    HAS_REQUESTS = False
else:
    HAS_REQUESTS = True


class Deadline:
    """The deadline of the request this thread makes in the ``with`` block."""

    _current = threading.local()

    def __init__(self, seconds):
        self.at = time.monotonic() + seconds
        self.conn = None
        self.passed = False

    def __enter__(self):
        Deadline._current.deadline = self
        _WATCHDOG.arm(self)
        return self

    def __exit__(self, *exc_info):
        _WATCHDOG.disarm(self)
        Deadline._current.deadline = None
        return False

    @classmethod
    def of_this_thread(cls):
        return getattr(cls._current, 'deadline', None)


class _Watchdog:
    """One daemon thread: shuts down the socket of a request past its deadline."""

    def __init__(self):
        self._cond = threading.Condition()
        self._heap = []
        self._armed = set()
        self._thread = None

    def arm(self, deadline):
        with self._cond:
            self._armed.add(id(deadline))
            heapq.heappush(self._heap, (deadline.at, id(deadline), deadline))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name='ie-api-deadlines', daemon=True)
                self._thread.start()
            self._cond.notify()

    def disarm(self, deadline):
        with self._cond:
            self._armed.discard(id(deadline))

    def _run(self):
        with self._cond:
            while True:
                while self._heap and id(self._heap[0][2]) not in self._armed:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                deadline = heapq.heappop(self._heap)[2]
                self._armed.discard(id(deadline))
                deadline.passed = True
                sock = getattr(deadline.conn, 'sock', None)
                if sock is not None:
                    try:
                        socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket, under TLS too
                    except OSError:
                        pass


_WATCHDOG = _Watchdog()


if HAS_REQUESTS:
    class _ReportingPool:
        """Tells the deadline of this thread which connection its request got."""

        def _get_conn(self, timeout=None):
            conn = super()._get_conn(timeout)  # pylint: disable=no-member
            deadline = Deadline.of_this_thread()
            if deadline is not None:
                deadline.conn = conn
            return conn

    class _ReportingHTTPPool(_ReportingPool, HTTPConnectionPool):
        pass

    class _ReportingHTTPSPool(_ReportingPool, HTTPSConnectionPool):
        pass

    class DeadlineAdapter(requests.adapters.HTTPAdapter):
        """An HTTPAdapter whose pools (direct and through a proxy) report their connections."""

        POOLS = {'http': _ReportingHTTPPool, 'https': _ReportingHTTPSPool}

        def init_poolmanager(self, *args, **kwargs):
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = self.POOLS

        def proxy_manager_for(self, proxy, **proxy_kwargs):
            manager = super().proxy_manager_for(proxy, **proxy_kwargs)
            manager.pool_classes_by_scheme = self.POOLS
            return manager
else:  # pragma: no cover
    DeadlineAdapter = None
