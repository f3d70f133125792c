# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The state dir's small JSON files, and how the service writes times.

``service.json`` says where a running service listens (URL, S3 endpoint, pid, step seconds): the
admin commands (other processes) read it. Times in results and logs are ISO 8601 UTC seconds.
"""

import datetime
import json
import os
import time

SERVICE_FILE = 'service.json'


def iso(epoch):
    """``2026-01-02T03:04:05Z`` for an epoch time."""
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def iso_now():
    """The real time now (not the service clock), as ``iso``."""
    return iso(time.time())


def write_json(path, data):
    """Replace ``path`` with ``data`` as JSON in one step (readers never see half a file)."""
    tmp = '%s.%d.tmp' % (path, os.getpid())
    with open(tmp, 'w', encoding='utf-8') as handle:
        json.dump(data, handle)
    os.replace(tmp, path)


def read_service_file(state_dir):
    """What ``serve`` wrote about itself, or ``{}`` when no service ran on this state dir."""
    try:
        with open(os.path.join(state_dir, SERVICE_FILE), encoding='utf-8') as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def write_service_file(state_dir, info):
    write_json(os.path.join(state_dir, SERVICE_FILE), info)
