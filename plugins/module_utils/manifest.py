# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""AWS Import/Export manifests: parse, validate, render.

No Ansible imports. Parsing needs PyYAML, which the controller always has; this module is
used on the controller (action plugins, the local service), never shipped to hosts.
"""

from __future__ import annotations

try:
    import yaml
except ImportError:  # pragma: no cover - the controller always has PyYAML
    yaml = None

SIGNATURE_MANIFEST_VERSIONS = ('2.0',)
BARCODE_MANIFEST_VERSIONS = ('3.0',)


class ManifestError(ValueError):
    """A manifest that cannot be used; ``problems`` lists (field path, message) pairs."""

    def __init__(self, message, problems=None):
        super().__init__(message)
        self.problems = problems or []


def parse_manifest(data):
    """Parse manifest text (bytes or str) into a dict; raise ManifestError when it is not one."""
    if yaml is None:
        raise ManifestError('PyYAML is required to read manifests')
    if isinstance(data, bytes):
        try:
            data = data.decode('utf-8')
        except UnicodeDecodeError as exc:
            raise ManifestError('manifest is not UTF-8 text (byte offset %d)' % exc.start)
    if not data.strip():
        raise ManifestError('manifest is empty')
    try:
        loaded = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        raise ManifestError('manifest is not valid YAML: %s' % exc)
    if not isinstance(loaded, dict):
        raise ManifestError('manifest must be a YAML mapping of fields, got %s' % type(loaded).__name__)
    return loaded


def manifest_version(manifest):
    """``manifestVersion`` as text (YAML reads ``2.0`` as a float), or None."""
    value = manifest.get('manifestVersion')
    if value is None:
        return None
    return ('%.1f' % value) if isinstance(value, float) else str(value).strip()


def check_signable(manifest):
    """Raise ManifestError unless a SIGNATURE file applies to this manifest (S3 jobs)."""
    version = manifest_version(manifest)
    if version in BARCODE_MANIFEST_VERSIONS:
        raise ManifestError('manifestVersion %s is an EBS or Glacier import: those jobs use the barcode '
                            'artifact (PDF) from CreateJob, not a SIGNATURE file' % version,
                            [('manifestVersion', 'EBS/Glacier manifests take no SIGNATURE')])
