# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Validating a parsed manifest against its kind's schema, and its normalised form.

Every problem is reported at once, each with its field path, what is wrong and how to fix it,
and the service error code it would cause. The normalised form holds values as the schema
reads them (yes/no as booleans, versions and amounts as text).

Where it runs: on the controller (action plugins, the local service) and on managed hosts,
because rendering normalises through the validator and the ie_manifest module renders an
existing ``dest`` for its diff. Standard library only.

Reading order: the walker (``_Validator``: text, scalars, fields and containers, the whole
manifest), then the public functions. The rules themselves are small functions in ``rules``;
the walker reports what they find. A problem may quote the value of a known field (a bucket
name, a postal code); never the value of a secret field or of a field the schema does not know.
"""

from __future__ import annotations

import json
import re

from ansible_collections.awsie.importexport.plugins.module_utils.manifest_lib.schema import (
    ADDRESS, ADDRESS_FIELDS, ADDRESS_REQUIRED, CONTROL_RE, CUSTOMS, CUSTOMS_FIELDS, CUSTOMS_REQUIRED, DECIMAL_RE,
    DESTINATIONS, FIELDS, FILESYSTEM, INVALID, KIND_FIELDS, KIND_LABEL, KINDS, MALFORMED, MANIFEST_VERSION,
    MAX_MANIFEST_BYTES, MISSING, OPERATION_FIELDS, OPERATION_REQUIRED, REQUIRED, VERSION_RE, WHOLE, ManifestError,
    Problem, detect_job_type, detect_kind, fields_of, join_path, normalise_job_type, schema_key, type_of)
from ansible_collections.awsie.importexport.plugins.module_utils.manifest_lib.parse import parse
from ansible_collections.awsie.importexport.plugins.module_utils.manifest_lib.rules import (
    address_rules, customs_rules, describe, manifest_rules, map_key_rule, operation_rules, suggest, text_rule)


# ---------------------------------------------------------------------------------------------
# The walker
# ---------------------------------------------------------------------------------------------

class _Validator:
    """Walks one manifest with one kind's schema: collects problems, builds the normalised form."""

    def __init__(self, job_type, kind, strict):
        self.job_type = job_type
        self.kind = kind
        self.key = schema_key(job_type, kind)
        self.strict = strict
        self.problems = []

    def add(self, path, message, code=INVALID):
        self.problems.append(Problem(path, message, code))

    def add_all(self, found):
        for path, message, code in found:
            self.add(path, message, code)

    # --- text --------------------------------------------------------------------------------
    def text(self, value, path, code, name=None):
        """A string value, or None after reporting the problem."""
        name = name or path.rsplit('.', 1)[-1]
        if isinstance(value, str):
            if CONTROL_RE.search(value) or '\n' in value or '\r' in value:
                self.add(path, 'must be one line of text without control characters; remove the line breaks '
                         'or control characters', code)
                return None
            try:
                value.encode('utf-8')
            except UnicodeEncodeError:
                self.add(path, 'is not valid Unicode text; retype it', code)
                return None
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            self.add(path, 'must be text, got %s: YAML turns unquoted digits into a number (and drops leading '
                     'zeros); quote it, e.g. %s: "%s"' % (describe(value), name, value), code)
        elif isinstance(value, bool):
            self.add(path, 'must be text, got %s: YAML reads yes/no/true/false/on/off as booleans; quote it, '
                     'e.g. %s: "%s"' % (describe(value), name, 'yes' if value else 'no'), code)
        else:
            self.add(path, 'must be text, got %s' % describe(value), code)
        return None

    def nonempty(self, value, path, code):
        text = self.text(value, path, code)
        if text is not None and not text.strip():
            self.add(path, 'is empty; give a value or leave the field out', MISSING if code == INVALID else code)
            return None
        return text

    # --- scalars -----------------------------------------------------------------------------
    def scalar(self, name, value, path, code=INVALID):
        """A scalar field read as its type says; problems for a value of the wrong form."""
        ftype, extra = FIELDS.get(name, ('str', None))
        if name == 'destination':
            extra = DESTINATIONS.get(self.kind, ())
        reader = {'bool': self.yes_no, 'version': self.version, 'decimal': self.amount}.get(ftype)
        if reader is not None:
            return reader(value, path, code)
        text = self.nonempty(value, path, code)
        if text is not None:
            message = text_rule(ftype, text, extra)
            if message:
                self.add(path, message, FILESYSTEM if name == 'fileSystem' else code)
        return text

    def yes_no(self, value, path, code):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ('yes', 'true'):
            return True
        if isinstance(value, str) and value.strip().lower() in ('no', 'false'):
            return False
        self.add(path, 'must be yes or no, got %s' % describe(value), code)
        return None

    def version(self, value, path, code):
        if isinstance(value, float):
            return '%.1f' % value
        text = self.nonempty(value, path, code)
        if text is not None and not VERSION_RE.match(text):
            self.add(path, 'must be a version number like %s, got %s' % (MANIFEST_VERSION[self.kind], describe(text)),
                     code)
            return None
        return text

    def amount(self, value, path, code):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if value < 0:
                self.add(path, 'must not be negative, got %r' % value, code)
                return None
            return '%.2f' % value if isinstance(value, float) else str(value)
        text = self.nonempty(value, path, code)
        if text is not None and not DECIMAL_RE.match(text.strip()):
            self.add(path, 'must be an amount like 250.00, got %s' % describe(text), code)
            return None
        return text

    def secret(self, name, value, path, code):
        """A secret is text like any other, but no message ever shows its value."""
        if isinstance(value, bool):
            self.add(path, 'must be text, got a yes/no value; quote it (%s: "...")' % name, code)
            return None
        if isinstance(value, (int, float)):
            self.add(path, 'must be text; quote it so YAML keeps every digit (%s: "...")' % name, code)
            return None
        return self.nonempty(value, path, code)

    # --- fields and containers ---------------------------------------------------------------
    def field(self, name, value, path, code=INVALID):
        ftype = FIELDS[name][0]
        if ftype in ('mime_map', 'meta_map', 'subst_map'):
            return self.string_map(ftype, value, path)
        if ftype == 'secret':
            return self.secret(name, value, path, code)
        container = {'address': self.address, 'customs': self.customs, 'operations': self.operations,
                     'regex_list': self.regex_list}.get(ftype)
        if container is not None:
            return container(value, path)
        return self.scalar(name, value, path, code)

    def mapping(self, value, path, code):
        if isinstance(value, dict):
            return value
        self.add(path, 'must be a mapping of names to values, got %s' % describe(value), code)
        return None

    def fields(self, value, path, allowed, required, code, label):
        """Check a mapping of schema fields; returns the normalised mapping."""
        missing = MISSING if code == INVALID else code
        out = {}
        for key, item in value.items():
            child = join_path(path, key)
            if key not in allowed:
                self.unknown(key, item, child, allowed, code, label, out)
            elif item is None:
                if key in required:
                    self.add(child, 'is required and empty; give it a value', missing)
            else:
                normal = self.field(key, item, child, code)
                if normal is not None:
                    out[key] = normal
        for key in required:
            if key not in value:
                self.add(join_path(path, key), 'is required in %s; add it' % label, missing)
        return out

    def unknown(self, key, item, child, allowed, code, label, out):
        if not self.strict:
            out[key] = item
            return
        hint = suggest(key, allowed)
        other = [KIND_LABEL[k] for k in KIND_FIELDS if k != self.key and key in KIND_FIELDS[k]]
        message = 'is not a field of %s' % label
        if other and key not in allowed:
            message += ' (it belongs to %s manifests); remove it or choose the right job type and kind' \
                % ' and '.join(other)
        elif hint:
            message += '; %s' % hint
        else:
            message += '; remove it, or set strict to false to keep unknown fields'
        self.add(child, message, code)

    def regex_list(self, value, path):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.add(path, 'must be a list of regular expressions, got %s' % describe(value))
            return None
        out = []
        for index, item in enumerate(value):
            child = '%s[%d]' % (path, index)
            text = self.nonempty(item, child, INVALID)
            if text is None:
                continue
            try:
                re.compile(text)
            except re.error as exc:
                self.add(child, 'is not a valid regular expression (%s at position %s): %s; escape special '
                         'characters with a backslash, e.g. \\.swp$' % (exc.msg, exc.pos, json.dumps(text)))
                continue
            out.append(text)
        return out

    def string_map(self, ftype, value, path):
        value = self.mapping(value, path, INVALID)
        if value is None:
            return None
        out = {}
        for key, item in value.items():
            child = join_path(path, key)
            problem = map_key_rule(ftype, key)
            if problem:
                self.add(child, problem)
                continue
            if ftype == 'subst_map':
                text = self.text('' if item is None else item, child, INVALID)
            elif ftype == 'mime_map':
                text = self.scalar('defaultContentType', item, child)
            else:
                text = self.text(item, child, INVALID)
            if text is not None:
                out[key] = text
        return out

    def address(self, value, path):
        value = self.mapping(value, path, ADDRESS)
        if value is None:
            return None
        out = self.fields(value, path, ADDRESS_FIELDS, ADDRESS_REQUIRED, ADDRESS, 'returnAddress')
        self.add_all(address_rules(out, value, path))
        return out

    def customs(self, value, path):
        value = self.mapping(value, path, CUSTOMS)
        if value is None:
            return None
        out = self.fields(value, path, CUSTOMS_FIELDS, CUSTOMS_REQUIRED, CUSTOMS, 'customs')
        self.add_all(customs_rules(out, value, path))
        return out

    def operations(self, value, path):
        if not isinstance(value, list):
            self.add(path, 'must be a list of operations, each starting with "- ", got %s' % describe(value))
            return None
        if not value:
            self.add(path, 'is an empty list; add at least one operation', MISSING)
            return None
        label = 'operations of %s' % KIND_LABEL[self.key]
        out = []
        for index, item in enumerate(value):
            child = '%s[%d]' % (path, index)
            item = self.mapping(item, child, INVALID)
            if item is None:
                continue
            op = self.fields(item, child, OPERATION_FIELDS[self.key], OPERATION_REQUIRED[self.key], INVALID, label)
            self.add_all(operation_rules(op, child))
            out.append(op)
        return out

    # --- the whole manifest ------------------------------------------------------------------
    def run(self, manifest):
        label = '%s manifests' % KIND_LABEL[self.key]
        out = self.fields(manifest, '', fields_of(self.job_type, self.kind), REQUIRED[self.key], INVALID, label)
        self.add_all(manifest_rules(out, manifest, self.key, self.kind))
        return out


# ---------------------------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------------------------

def normalise(manifest, job_type='Import', kind=None, strict=True):
    """(normalised manifest, problems): values as the schema reads them (yes/no as booleans)."""
    if not isinstance(manifest, dict):
        return None, [Problem(WHOLE, 'the manifest must be a mapping of fields, not %s' % type_of(manifest),
                              MALFORMED)]
    job_type = normalise_job_type(job_type) or detect_job_type(manifest)
    problems = []
    if kind is None:
        kind = detect_kind(manifest, job_type)
    elif kind not in KINDS:
        raise ManifestError('kind must be one of %s, got %r' % (', '.join(KINDS), kind))
    if job_type == 'Export' and kind != 's3':
        problems.append(Problem(WHOLE, '%s jobs are imports only; use job_type Import, or kind s3 for an export'
                                % KIND_LABEL[kind].split()[0], INVALID))
        kind = 's3'
    validator = _Validator(job_type, kind, strict)
    out = validator.run(manifest)
    return out, problems + validator.problems


def validate(manifest, job_type='Import', kind=None, strict=True):
    """Every problem of a parsed manifest (a dict), as a list of Problem; empty means valid."""
    return normalise(manifest, job_type, kind, strict)[1]


def load_and_validate(data, job_type='Import', kind=None, strict=True):
    """(normalised manifest or None when unreadable, problems) for manifest text or bytes."""
    loaded, problems = parse(data)
    if problems:
        return None, problems
    return normalise(loaded, job_type, kind, strict)


def load_fields(fields, job_type='Import', kind=None, strict=True):
    """(normalised manifest or None when too big, problems) for a manifest given as a mapping.

    ``manifestVersion`` defaults to the kind's; the same 1 MiB limit as for manifest text
    applies, and the problem names the field that is too big.
    """
    raw = dict(fields)
    too_big = _fields_size_problem(raw)
    if too_big is not None:
        return None, [too_big]
    kind = kind or detect_kind(raw, job_type)
    raw.setdefault('manifestVersion', MANIFEST_VERSION[kind])
    return normalise(raw, job_type, kind, strict)


def _fields_size_problem(fields):
    """A Problem when the keys and values of ``fields`` alone pass the limit (the rendering only adds)."""
    sizes = {}
    stack = [('', fields)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                child = join_path(path, key)
                sizes[child] = sizes.get(child, 0) + len(str(key).encode('utf-8', 'surrogatepass'))
                stack.append((child, item))
        elif isinstance(value, (list, tuple)):
            stack.extend(('%s[%d]' % (path, index), item) for index, item in enumerate(value))
        elif value is not None:
            sizes[path] = sizes.get(path, 0) + len(str(value).encode('utf-8', 'surrogatepass'))
    total = sum(sizes.values())
    if total <= MAX_MANIFEST_BYTES:
        return None
    biggest = max(sizes, key=sizes.get)
    if sizes[biggest] > MAX_MANIFEST_BYTES:
        return Problem(biggest, 'is %d bytes; a whole manifest may be at most %d bytes (1 MiB): a manifest lists '
                       'settings, not data; check what this field is set to' % (sizes[biggest], MAX_MANIFEST_BYTES),
                       MALFORMED)
    return Problem(WHOLE, 'the fields add up to more than %d bytes (1 MiB), the limit of a manifest; the largest is '
                   '%s (%d bytes)' % (MAX_MANIFEST_BYTES, biggest, sizes[biggest]), MALFORMED)
