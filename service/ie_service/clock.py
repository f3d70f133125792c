# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The service clock: real time, possibly running faster, possibly moved forward.

It lives in ``<state-dir>/clock.json`` so the running service and the admin commands (other
processes) agree: ``now = anchor_service + (time.time() - anchor_real) * speed``.
Request signing (SigV2 Timestamp/Expires, SigV4 X-Amz-Date) is checked against REAL time, since
clients sign with their own clocks; jobs (creation, expiry, daily quota, shipping steps) use this one.
"""

import json
import os
import threading
import time

from .state import write_json

CLOCK_FILE = 'clock.json'


class Clock:
    """Reads the clock file when it changed (one stat per call)."""

    def __init__(self, state_dir):
        self.path = os.path.join(state_dir, CLOCK_FILE)
        self._lock = threading.Lock()
        self._stamp = None
        self._data = {'anchor_real': time.time(), 'anchor_service': time.time(), 'speed': 1.0}

    def _load(self):
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return self._data
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        if stamp != self._stamp:
            with self._lock:
                try:
                    with open(self.path, encoding='utf-8') as handle:
                        self._data = json.load(handle)
                    self._stamp = stamp
                except (OSError, ValueError):
                    pass
        return self._data

    def now(self):
        data = self._load()
        return data['anchor_service'] + (time.time() - data['anchor_real']) * data['speed']

    @property
    def speed(self):
        return self._load()['speed']

    def set_speed(self, speed):
        if speed <= 0:
            raise ValueError('clock speed must be positive, got %r' % speed)
        current = self.now()
        write_json(self.path, {'anchor_real': time.time(), 'anchor_service': current, 'speed': float(speed)})

    def advance(self, seconds):
        if seconds < 0:
            raise ValueError('the clock only moves forward')
        data = self._load()
        current = self.now()
        write_json(self.path, {'anchor_real': time.time(), 'anchor_service': current + seconds, 'speed': data['speed']})
        return current + seconds
