# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Secrets in manifests: ``trueCryptPassword``, ``pinCode`` and keys that look like them.

Secrets are masked in the parsed document, never by matching lines of text: a value may be
folded (``>-``), literal (``|``), in a flow mapping (``{pinCode: ...}``), quoted over several
lines or behind an explicit key (``? pinCode``), and only the parser sees all of these the same.
What is shown is the masked document rendered again; text that cannot be parsed is not shown.

Where it runs: on the controller (action plugins: the returned ``content`` and ``manifest``;
the job modules: secrets to hide in messages) and on managed hosts, where the ie_manifest
module builds the diff of an existing ``dest``. Parsing and rendering need PyYAML.
"""

from __future__ import annotations

import re

from ansible_collections.awsie.importexport.plugins.module_utils.manifest_lib.parse import parse_manifest
from ansible_collections.awsie.importexport.plugins.module_utils.manifest_lib.render import Shown, render_manifest
from ansible_collections.awsie.importexport.plugins.module_utils.manifest_lib.schema import ManifestError

REDACTED = '********'


def is_secret_key(key):
    """True for trueCryptPassword, pinCode and keys that look like them (misspelt, other case, Pin-Code)."""
    lowered = str(key).lower()
    return re.sub('[^a-z]', '', lowered) in ('pincode', 'pin') or 'pass' in lowered or 'secret' in lowered


def redact(manifest, mask=REDACTED):
    """A copy with the values of secret fields (``trueCryptPassword``, ``pinCode``, look-alikes) as ``mask``."""
    if isinstance(manifest, dict):
        return {key: (mask if is_secret_key(key) and value is not None else redact(value, mask))
                for key, value in manifest.items()}
    if isinstance(manifest, list):
        return [redact(item, mask) for item in manifest]
    return manifest


def secrets_of(manifest):
    """The secret values in a manifest, to mask them in any output."""
    found = []
    if isinstance(manifest, dict):
        for key, value in manifest.items():
            if is_secret_key(key) and isinstance(value, (str, int, float)) and str(value):
                found.append(str(value))
            else:
                found.extend(secrets_of(value))
    elif isinstance(manifest, list):
        for item in manifest:
            found.extend(secrets_of(item))
    return found


def redacted_text(manifest, job_type='Import', kind=None):
    """The rendering of a parsed manifest with every secret value shown as ``********`` (for display only)."""
    return render_manifest(redact(manifest, Shown(REDACTED)), job_type, kind)


def redacted_view(data, job_type='Import', kind=None):
    """Manifest text or bytes as shown to people: parsed, secrets masked, rendered again.

    Raises ManifestError when ``data`` cannot be read as a manifest; show none of it then.
    """
    return redacted_text(parse_manifest(data), job_type, kind)


def redacted_diff(path, before, after, job_type='Import', kind=None):
    """(diff, warning or None): Ansible's ``diff`` for replacing ``before`` with ``after`` at ``path``.

    ``before`` and ``after`` are bytes (``before`` None when there was no file). Both sides are
    shown as the parsed document with secrets masked. A side that is not a readable manifest
    is not shown at all: its header and the warning say so.
    """
    diff = dict(before_header=path, after_header=path, before='', after='')
    warning = None
    for side, data in (('before', before), ('after', after)):
        if data is None or not data.strip():
            continue
        try:
            diff[side] = redacted_view(data, job_type, kind)
        except ManifestError:
            diff[side + '_header'] = '%s (%s contents not shown: not a manifest that can be read)' % (
                path, 'current' if side == 'before' else 'new')
            warning = ('--diff does not show the %s contents of %s: they cannot be read as a manifest, and text that '
                       'is not a manifest is never printed (it may hold secrets)'
                       % ('current' if side == 'before' else 'new', path))
    if before is not None and before != after and diff['before'] and diff['before'] == diff['after']:
        diff['before_header'] = '%s (the same once secrets are masked: a secret value or the formatting differs)' % path
    return diff, warning
