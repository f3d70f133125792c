# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""AWS Import/Export manifests: read, validate, render, mask secrets. No Ansible imports.

This is the façade: every caller imports from here (``from ...module_utils import manifest``,
then ``manifest.parse_manifest``). The work is done by one file per job in the package
``manifest_lib`` (its ``__init__.py`` stays empty, as ansible-test sanity's empty-init wants of
module_utils packages on ansible-core 2.17):

* ``schema``   the fields of each kind, their types and rules, Problem and ManifestError
* ``parse``    reading YAML text: size limit, UTF-8, a problem with a field path for anything unreadable
* ``validate`` the validator: every problem at once, and the normalised form
* ``render``   the deterministic YAML emitter
* ``secrets``  masking secrets in the parsed document, the diff of an existing manifest
* ``argspec``  the argument spec shared by the ie_manifest module and its action plugin

Where it runs: on the controller (action plugins, the local service, the job rules) and on
managed hosts: the ie_manifest module imports the package for its argument spec and, in diff
mode, reads and re-renders the existing ``dest`` with its secrets masked. The module imports
this file, so every part is loaded on the host; parsing and rendering need PyYAML there.
"""

from __future__ import annotations

from ansible_collections.awsie.importexport.plugins.module_utils.manifest_lib.schema import (
    ACLS, ADDRESS, ADDRESS_FIELDS, ADDRESS_REQUIRED, BARCODE_MANIFEST_VERSIONS, CA_PROVINCE_NAMES, CA_PROVINCES,
    CANADA_NAMES, COMMON_OPTIONAL, CONTROL_RE, CUSTOMS, CUSTOMS_FIELDS, CUSTOMS_REQUIRED, DESTINATIONS, DEVICE_TYPES,
    EXPORT_TYPES, FIELDS, FILE_SYSTEMS, FILESYSTEM, HEAD, INVALID, JOB_TYPES, KIND_FIELDS, KIND_LABEL, KINDS,
    LOG_NAME_LENGTH, MALFORMED, MANIFEST_VERSION, MAX_ARCHIVE_COMMENT, MAX_DEPTH, MAX_LOG_KEY_BYTES,
    MAX_MANIFEST_BYTES, MISSING, OPERATION_FIELDS, OPERATION_REQUIRED, PO_BOX_RE, REQUIRED, SECRET_FIELDS,
    SERVICE_LEVELS, SIGNATURE_MANIFEST_VERSIONS, STORAGE_CLASSES, TAIL, US_STATE_NAMES, US_STATES, USA_NAMES, WHOLE,
    ManifestError, Problem, check_signable, detect_job_type, detect_kind, fields_of, manifest_version, schema_key)
from ansible_collections.awsie.importexport.plugins.module_utils.manifest_lib.parse import (
    check_size, parse_manifest, size_problem)
from ansible_collections.awsie.importexport.plugins.module_utils.manifest_lib.validate import (
    load_and_validate, load_fields, normalise, validate)
from ansible_collections.awsie.importexport.plugins.module_utils.manifest_lib.render import (
    canonical_yaml, render_manifest)
from ansible_collections.awsie.importexport.plugins.module_utils.manifest_lib.secrets import (
    REDACTED, is_secret_key, redact, redacted_diff, redacted_text, redacted_view, secrets_of)

# The names these rules had in the single-file library, for callers that still use them.
_CONTROL_RE = CONTROL_RE
_PO_BOX_RE = PO_BOX_RE

__all__ = [
    'ACLS', 'ADDRESS', 'ADDRESS_FIELDS', 'ADDRESS_REQUIRED', 'BARCODE_MANIFEST_VERSIONS', 'CA_PROVINCE_NAMES',
    'CA_PROVINCES', 'CANADA_NAMES', 'COMMON_OPTIONAL', 'CONTROL_RE', 'CUSTOMS', 'CUSTOMS_FIELDS', 'CUSTOMS_REQUIRED',
    'DESTINATIONS', 'DEVICE_TYPES', 'EXPORT_TYPES', 'FIELDS', 'FILE_SYSTEMS', 'FILESYSTEM', 'HEAD', 'INVALID',
    'JOB_TYPES', 'KIND_FIELDS', 'KIND_LABEL', 'KINDS', 'LOG_NAME_LENGTH', 'MALFORMED', 'MANIFEST_VERSION',
    'MAX_ARCHIVE_COMMENT', 'MAX_DEPTH', 'MAX_LOG_KEY_BYTES', 'MAX_MANIFEST_BYTES', 'MISSING', 'OPERATION_FIELDS',
    'OPERATION_REQUIRED', 'PO_BOX_RE', 'REDACTED', 'REQUIRED', 'SECRET_FIELDS', 'SERVICE_LEVELS',
    'SIGNATURE_MANIFEST_VERSIONS', 'STORAGE_CLASSES', 'TAIL', 'US_STATE_NAMES', 'US_STATES', 'USA_NAMES', 'WHOLE',
    'ManifestError', 'Problem', 'canonical_yaml', 'check_signable', 'check_size', 'detect_job_type', 'detect_kind',
    'fields_of', 'is_secret_key', 'load_and_validate', 'load_fields', 'manifest_version', 'normalise',
    'parse_manifest', 'redact', 'redacted_diff', 'redacted_text', 'redacted_view', 'render_manifest', 'schema_key',
    'secrets_of', 'size_problem', 'validate',
]
