# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault injection: ``[Action:]kind=value`` specs kept in ``<state-dir>/faults.json``.

kinds: ``throttle`` (rate 0..1, HTTP 400 Throttling), ``error5xx`` (rate, HTTP 500 InternalError or
503 ServiceUnavailable, alternating by chance), ``latency`` (seconds added), ``drop`` (rate, the
connection is closed without a response). A spec without an action applies to every action; a
per-action spec of the same kind overrides it for that action.
"""

import json
import os
import random
import threading

from .api import ACTIONS
from .state import write_json

FAULTS_FILE = 'faults.json'
KINDS = ('throttle', 'error5xx', 'latency', 'drop')


class FaultSpecError(ValueError):
    pass


def parse_spec(spec):
    """``'GetStatus:throttle=0.5'`` -> ``{'action': 'GetStatus', 'kind': 'throttle', 'value': 0.5}``."""
    text = spec.strip()
    action = None
    head, sep, value = text.partition('=')
    if not sep:
        raise FaultSpecError('fault %r has no "=value": use [Action:]kind=value, kind one of %s' % (spec, ', '.join(KINDS)))
    if ':' in head:
        action, head = head.split(':', 1)
        if action not in ACTIONS:
            raise FaultSpecError('fault %r names an unknown action %r: use one of %s' % (spec, action, ', '.join(ACTIONS)))
    kind = head.strip()
    if kind not in KINDS:
        raise FaultSpecError('fault %r has an unknown kind %r: use one of %s' % (spec, kind, ', '.join(KINDS)))
    try:
        number = float(value)
    except ValueError:
        raise FaultSpecError('fault %r: value %r is not a number' % (spec, value)) from None
    if number < 0 or (kind != 'latency' and number > 1):
        raise FaultSpecError('fault %r: %s must be %s' % (spec, kind, 'a rate from 0 to 1' if kind != 'latency' else '>= 0 seconds'))
    return {'action': action, 'kind': kind, 'value': number}


def write_faults(state_dir, specs, replace=False):
    """Add (or with ``replace`` set) the parsed specs; an empty replace clears all faults."""
    parsed = [parse_spec(s) for s in specs]
    path = os.path.join(state_dir, FAULTS_FILE)
    current = [] if replace else read_faults(state_dir)
    for item in parsed:
        current = [c for c in current if (c['action'], c['kind']) != (item['action'], item['kind'])]
        current.append(item)
    write_json(path, current)
    return current


def read_faults(state_dir):
    try:
        with open(os.path.join(state_dir, FAULTS_FILE), encoding='utf-8') as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return []


class Faults:
    """What the running server consults for each request (re-reads the file when it changes)."""

    def __init__(self, state_dir, seed=None):
        self.state_dir = state_dir
        self.path = os.path.join(state_dir, FAULTS_FILE)
        self._stamp = None
        self._table = {}
        self._lock = threading.Lock()
        self._random = random.Random(seed)

    def _reload(self):
        try:
            st = os.stat(self.path)
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            stamp = None
        if stamp == self._stamp:
            return self._table
        table = {}
        for item in read_faults(self.state_dir):
            table[(item['action'], item['kind'])] = item['value']
        self._table, self._stamp = table, stamp
        return table

    def for_action(self, action):
        """``{kind: value}`` in force for this action."""
        table = self._reload()
        if not table:
            return {}
        result = {}
        for kind in KINDS:
            value = table.get((action, kind), table.get((None, kind)))
            if value:
                result[kind] = value
        return result

    def roll(self, rate):
        with self._lock:
            return self._random.random() < rate

    def choice(self, options):
        with self._lock:
            return self._random.choice(options)
