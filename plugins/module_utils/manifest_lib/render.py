# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The deterministic YAML emitter: one text for each manifest, whoever renders it.

Fixed key order (the schema's), 4-space indentation, ``yes``/``no``, quotes wherever plain
YAML (1.1 or 1.2) would read a value as something else, LF line endings, a final newline.
The same fields always give the same bytes, and so the same SIGNATURE.

Where it runs: on the controller (action plugins, the local service, the job rules) and on
managed hosts, where the ie_manifest module re-renders an existing ``dest`` with its secrets
masked to show a diff. Each rendering of a plain value is checked by reading it back, so
rendering needs PyYAML like parsing does.
"""

from __future__ import annotations

import re

from ansible_collections.awsie.importexport.plugins.module_utils.manifest_lib.schema import (
    ADDRESS_FIELDS, CUSTOMS_FIELDS, DECIMAL_RE, FIELDS, HEAD, KIND_FIELDS, OPERATION_FIELDS, TAIL, VERSION_RE,
    ManifestError, detect_job_type, detect_kind, normalise_job_type, schema_key, type_of)
from ansible_collections.awsie.importexport.plugins.module_utils.manifest_lib.parse import (
    ManifestLoader, PLAIN_LOADER, parse_manifest, yaml)
from ansible_collections.awsie.importexport.plugins.module_utils.manifest_lib.validate import normalise


class Shown(str):
    """Text written as it is, never quoted: a placeholder such as ``********`` in what is shown
    to people. A rendering holding one is for display only; it is not a manifest."""

    __slots__ = ()


_INDICATORS = tuple('-?:,[]{}#&*!|>\'"%@`')
_PLAIN_CACHE = {}


def _roundtrips(text, as_key):
    """True when ``text`` written plain reads back as the same string, here and in plain YAML."""
    cached = _PLAIN_CACHE.get((text, as_key))
    if cached is not None:
        return cached
    doc = ('%s: x\n' % text) if as_key else ('k: %s\n' % text)
    expected = {text: 'x'} if as_key else {'k': text}
    result = True
    for loader in (PLAIN_LOADER, ManifestLoader):
        try:
            if yaml.load(doc, Loader=loader) != expected:  # nosec B506 - safe loaders only
                result = False
                break
        except yaml.YAMLError:
            result = False
            break
    if len(_PLAIN_CACHE) > 10000:
        _PLAIN_CACHE.clear()
    _PLAIN_CACHE[(text, as_key)] = result
    return result


# Plain scalars that a YAML 1.2 (core schema) reader would not read as text: quoted too, so the
# file means the same to every YAML reader, not only to YAML 1.1 ones like PyYAML.
_YAML12_TYPED_RE = re.compile(
    r'^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?'
    r'|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|true|True|TRUE|false|False|FALSE|null|Null|NULL|~)$')


def _plain_ok(text, as_key=False):
    if _YAML12_TYPED_RE.match(text):
        return False
    if not text or text != text.strip() or text.startswith(_INDICATORS) or text.endswith(':'):
        return False
    if ': ' in text or ' #' in text or any(ch in text for ch in '\t\n\r\x85\u2028\u2029\ufeff'):
        return False
    if any(ord(ch) < 32 or 0x7f <= ord(ch) <= 0x9f or 0xd800 <= ord(ch) <= 0xdfff or ord(ch) >= 0xfffe
           for ch in text):
        return False
    return _roundtrips(text, as_key)


def _double_quoted(text):
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '\\':
            out.append('\\\\')
        elif ch == '"':
            out.append('\\"')
        elif ch == '\n':
            out.append('\\n')
        elif ch == '\t':
            out.append('\\t')
        elif ch == '\r':
            out.append('\\r')
        elif code < 0x20 or 0x7f <= code <= 0x9f:
            out.append('\\x%02X' % code)
        elif code in (0x2028, 0x2029, 0xfeff, 0xfffe, 0xffff) or 0xd800 <= code <= 0xdfff:
            out.append('\\u%04X' % code)
        else:
            out.append(ch)
    out.append('"')
    return ''.join(out)


def _scalar(value, as_key=False, plain_type=False):
    if isinstance(value, Shown):
        return str(value)
    if value is None:
        return '~' if as_key else ''
    if isinstance(value, bool):
        return 'yes' if value else 'no'
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if plain_type and (VERSION_RE.match(text) or DECIMAL_RE.match(text)):
        return text
    return text if _plain_ok(text, as_key) else _double_quoted(text)


def _emit(lines, indent, key, value, order=None, name=None):
    """Append ``key: value`` (or a nested block) at ``indent`` spaces."""
    pad = ' ' * indent
    head = '%s%s:' % (pad, _scalar(key, as_key=True))
    if isinstance(value, dict):
        if not value:
            lines.append(head + ' {}')
            return
        lines.append(head)
        for child_key in _ordered(value, order):
            _emit(lines, indent + 4, child_key, value[child_key], name=child_key)
        return
    if isinstance(value, (list, tuple)):
        if not value:
            lines.append(head + ' []')
            return
        lines.append(head)
        item_order = OPERATION_ORDER if name == 'operations' else None
        for item in value:
            _emit_item(lines, indent + 4, item, item_order)
        return
    plain = FIELDS.get(name, ('str',))[0] in ('version', 'decimal')
    rendered = _scalar(value, plain_type=plain)
    lines.append(head + (' ' + rendered if rendered != '' else ''))


OPERATION_ORDER = tuple(dict.fromkeys(sum(OPERATION_FIELDS.values(), ())))


def _emit_item(lines, indent, item, order):
    pad = ' ' * indent
    if isinstance(item, dict) and item:
        sub = []
        for key in _ordered(item, order):
            _emit(sub, indent + 2, key, item[key], name=key)
        sub[0] = pad + '- ' + sub[0][indent + 2:]
        lines.extend(sub)
    elif isinstance(item, (dict, list, tuple)):
        lines.append(pad + '- ' + _flow(item))
    else:
        lines.append(pad + '- ' + _scalar(item) if _scalar(item) != '' else pad + '-')


def _flow(value):
    if isinstance(value, dict):
        return '{%s}' % ', '.join('%s: %s' % (_flow_scalar(k), _flow(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return '[%s]' % ', '.join(_flow(v) for v in value)
    return _flow_scalar(value)


def _flow_scalar(value):
    if isinstance(value, Shown):
        return str(value)
    if isinstance(value, str):
        return _double_quoted(value)
    return _scalar(value) or '~'


def _ordered(mapping, order):
    if not order:
        return list(mapping)
    known = [key for key in order if key in mapping]
    return known + [key for key in mapping if key not in order]


_NESTED_ORDER = {'returnAddress': ADDRESS_FIELDS, 'customs': CUSTOMS_FIELDS}


def render_manifest(manifest, job_type='Import', kind=None):
    """The manifest as text: the deterministic rendering of decisions.md (UTF-8 str, LF, final newline).

    Values are normalised where the schema knows them (yes/no, versions); values the schema
    does not accept are rendered as given, so any parsed manifest has a rendering.
    """
    if not isinstance(manifest, dict):
        raise ManifestError('only a mapping of fields can be rendered, not %s' % type_of(manifest))
    job_type = normalise_job_type(job_type) or detect_job_type(manifest)
    kind = kind or detect_kind(manifest, job_type)
    if job_type == 'Export':
        kind = 's3'
    normal, _problems = normalise(manifest, job_type, kind, False)
    merged = dict(manifest)
    merged.update(normal or {})
    for key in list(merged):
        if merged[key] is None:
            del merged[key]
    for key in ('returnAddress', 'customs'):
        if isinstance(merged.get(key), dict) and isinstance(manifest.get(key), dict):
            nested = dict(manifest[key])
            nested.update(merged[key])
            merged[key] = {k: v for k, v in nested.items() if v is not None}
    head = [k for k in HEAD + KIND_FIELDS[schema_key(job_type, kind)] if k in merged]
    rest = [k for k in merged if k not in head and k not in TAIL]
    lines = []
    for key in head + rest + [k for k in TAIL if k in merged]:
        _emit(lines, 0, key, merged[key], order=_NESTED_ORDER.get(key), name=key)
    return '\n'.join(lines) + '\n'


def canonical_yaml(data, job_type=None, kind=None):
    """The canonical YAML of manifest text: equal for manifests that mean the same (CRLF, spacing,
    order). This is what idempotency compares; it is never what a SIGNATURE covers (see
    signing.signed_manifest_bytes, the bytes as written).

    Raises ManifestError when the text cannot be read as a manifest.
    """
    if isinstance(data, bytes):
        data = data.replace(b'\r\n', b'\n')
    else:
        data = data.replace('\r\n', '\n')
    return render_manifest(parse_manifest(data), job_type, kind)
