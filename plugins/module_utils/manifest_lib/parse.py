# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading manifest text: size limit, UTF-8, YAML, and a clear problem with a field path
(and line) for everything that stops a manifest from being read.

Where it runs: on the controller (action plugins, the local service, the job rules) and on
managed hosts, where the ie_manifest module reads an existing ``dest`` to show a diff with its
secrets masked. It needs PyYAML, which the controller always has; on a host without it,
reading reports that PyYAML is missing and the diff is not shown.

Values are read as text: a plain scalar is a string unless it is empty or ``~``/``null``
(then it is absent). So ``postalCode: 02134`` stays ``"02134"`` and ``deviceId: 0012``
stays ``"0012"``; yes/no fields and numbers are interpreted by the schema, not by YAML.

Problems name field paths, line numbers and the kind of value found, never the text itself:
the file may not be a manifest at all, and may hold secrets.
"""

from __future__ import annotations

import re

try:
    import yaml
except ImportError:  # pragma: no cover - the controller always has PyYAML
    yaml = None

from ansible_collections.awsie.importexport.plugins.module_utils.manifest_lib.schema import (
    KEY_PATH_RE, MALFORMED, MAX_DEPTH, MAX_MANIFEST_BYTES, MISSING, WHOLE, ManifestError, Problem, join_path,
    type_of)

if yaml is not None:
    _BaseLoader = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)

    class ManifestLoader(_BaseLoader):  # pylint: disable=too-many-ancestors
        """Safe loader whose plain scalars are strings; only empty, ``~`` and ``null`` mean absent."""

    ManifestLoader.yaml_implicit_resolvers = {}
    ManifestLoader.add_implicit_resolver(
        'tag:yaml.org,2002:null', re.compile(r'^(?:~|null|Null|NULL|)$'), ['~', 'n', 'N', ''])
    # Plain YAML as other tools read it (YAML 1.1 types): the renderer checks its output with both.
    PLAIN_LOADER = _BaseLoader
else:  # pragma: no cover
    ManifestLoader = PLAIN_LOADER = None

_LINE_KEY_RE = re.compile(r'^(\s*)(?:-\s+)?(["\']?)([^\s:#"\'][^:#"\']*?)\2\s*:(?:\s|$)')
# Bits of PyYAML's wording that are kept: token names ('<block end>') and one punctuation character.
_QUOTED_RE = re.compile(r"'([^']*)'")
_KEPT_QUOTE_RE = re.compile(r"^(<[a-z ]+>|[^A-Za-z0-9\s]|\\[a-z0-9]+)$")


def _path_at_line(lines, index):
    """Best-effort field path of the key on line ``index`` (0-based), from indentation.

    Only keys that look like field names count: the line may be from a file that is not a
    manifest, and the path must not carry its text.
    """
    if index < 0 or index >= len(lines):
        return WHOLE
    parts = []
    limit = None
    for i in range(index, -1, -1):
        line = lines[i].replace('\t', ' ')
        match = _LINE_KEY_RE.match(line)
        if not match or not KEY_PATH_RE.match(match.group(3).strip()) or len(match.group(3).strip()) > 64:
            continue
        indent = len(match.group(1))
        if limit is None or indent < limit:
            parts.append(match.group(3).strip())
            limit = indent
            if indent == 0:
                break
    return '.'.join(reversed(parts)) if parts else WHOLE


def _where(index):
    return 'line %d' % (index + 1)


def _scrub(text):
    """PyYAML's wording without what it quotes from the text (an alias, a tag, a word)."""
    def keep(match):
        return match.group(0) if _KEPT_QUOTE_RE.match(match.group(1)) else ''
    return ' '.join(_QUOTED_RE.sub(keep, str(text or '')).split())


def _yaml_problem(text, exc):
    lines = text.split('\n')
    mark = getattr(exc, 'problem_mark', None) or getattr(exc, 'context_mark', None)
    if 'quoted scalar' in str(getattr(exc, 'context', '') or '') and getattr(exc, 'context_mark', None) is not None:
        mark = exc.context_mark  # an unclosed quote: point at where the value starts
    if mark is None and isinstance(exc, yaml.reader.ReaderError):
        index = text[:exc.position].count('\n')
        return Problem(_path_at_line(lines, index), '%s: character %r is not allowed in YAML text; remove it'
                       % (_where(index), chr(exc.character)), MALFORMED)
    index = mark.line if mark is not None else -1
    path = _path_at_line(lines, index)
    line = lines[index] if 0 <= index < len(lines) else ''
    problem = str(getattr(exc, 'problem', '') or '')
    if '\t' in line[:len(line) - len(line.lstrip(' \t'))] or 'tab character' in problem \
            or ('\t' in line and 'cannot start any token' in problem):
        return Problem(path, '%s: a tab in the indentation; YAML indents with spaces only: replace the tab '
                       'with spaces' % _where(index), MALFORMED)
    detail = _scrub(problem) or 'the YAML reader stopped here'
    if isinstance(exc, yaml.constructor.ConstructorError):
        return Problem(path, '%s: not valid YAML for a manifest (%s); manifests hold plain values: remove the '
                       'tag (!!...)' % (_where(index), detail), MALFORMED)
    context = _scrub(getattr(exc, 'context', None))
    if context:
        detail = '%s %s' % (context, detail)
    where = _where(index) if index >= 0 else 'end of text'
    return Problem(path, '%s: not valid YAML (%s); fix the syntax there (a value containing ": " or starting '
                   'with a special character needs quotes)' % (where, detail), MALFORMED)


def _check_nodes(root, lines):
    """Refuse aliases (and so alias bombs), duplicate keys, complex keys and deep nesting."""
    problems = []
    seen = set()
    aliased = set()
    stack = [(root, '', 0)]
    while stack:
        node, path, depth = stack.pop()
        line = node.start_mark.line
        if id(node) in seen:
            if id(node) in aliased:
                continue
            aliased.add(id(node))
            problems.append(Problem(path or WHOLE, 'reuses the value anchored on line %d through a YAML alias '
                                    '(*name); aliases are not allowed in manifests: write the value out in full'
                                    % (line + 1), MALFORMED))
            continue
        seen.add(id(node))
        if depth > MAX_DEPTH:
            problems.append(Problem(path or WHOLE, 'line %d: nested more than %d levels deep; manifests nest at '
                                    'most three levels' % (line + 1, MAX_DEPTH), MALFORMED))
            continue
        children = []
        if isinstance(node, yaml.MappingNode):
            keys = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    problems.append(Problem(path or WHOLE, 'line %d: a key must be a plain name, not a list or map'
                                            % (key_node.start_mark.line + 1), MALFORMED))
                    continue
                child = join_path(path, key_node.value)
                if key_node.value in keys:
                    problems.append(Problem(child, 'line %d: duplicate key %s (first on line %d); keep one of them'
                                            % (key_node.start_mark.line + 1, key_node.value,
                                               keys[key_node.value] + 1), MALFORMED))
                else:
                    keys[key_node.value] = key_node.start_mark.line
                children.append((value_node, child, depth + 1))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                children.append((item, '%s[%d]' % (path, index), depth + 1))
        stack.extend(reversed(children))  # visit in document order: an anchor before its aliases
    return problems


def _decode(data):
    """(text, problems): bytes decoded as UTF-8, with a clear problem naming the line's field."""
    if isinstance(data, str):
        return data, []
    try:
        return data.decode('utf-8'), []
    except UnicodeDecodeError as exc:
        text = data.decode('utf-8', 'replace')
        index = data[:exc.start].count(b'\n')
        path = _path_at_line(text.split('\n'), index)
        return None, [Problem(path, 'line %d: byte 0x%02X at offset %d is not UTF-8; save the manifest as UTF-8 '
                              'text' % (index + 1, data[exc.start], exc.start), MALFORMED)]


def size_problem(data, what='the manifest'):
    """A Problem when ``data`` (text or bytes) is over MAX_MANIFEST_BYTES, else None."""
    size = len(data) if isinstance(data, bytes) else len(data.encode('utf-8', 'surrogatepass'))
    if size <= MAX_MANIFEST_BYTES:
        return None
    return Problem(WHOLE, '%s is %d bytes; the limit is %d (1 MiB): a manifest lists settings, not data; check '
                   'that it is the manifest' % (what, size, MAX_MANIFEST_BYTES), MALFORMED)


def check_size(data, what='the manifest'):
    """Raise ManifestError when manifest text or bytes are over the 1 MiB limit (``what`` names them)."""
    problem = size_problem(data, what)
    if problem is not None:
        raise ManifestError(problem.message, [problem])


def parse(data):
    """(mapping or None, problems) for manifest text or bytes."""
    if yaml is None:  # pragma: no cover
        return None, [Problem(WHOLE, 'PyYAML is required to read manifests; install it (python3-yaml)', MALFORMED)]
    too_big = size_problem(data)
    if too_big is not None:
        return None, [too_big]
    text, problems = _decode(data)
    if problems:
        return None, problems
    if not text.strip():
        return None, [Problem(WHOLE, 'the manifest is empty; it needs at least manifestVersion, accessKeyId, '
                              'deviceId and returnAddress', MISSING)]
    lines = text.split('\n')
    loader = ManifestLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, [Problem(WHOLE, 'the manifest holds only comments; it needs at least manifestVersion, '
                                  'accessKeyId, deviceId and returnAddress', MISSING)]
        problems = _check_nodes(node, lines)
        if problems:
            return None, problems
        loaded = loader.construct_document(node)
    except yaml.YAMLError as exc:
        return None, [_yaml_problem(text, exc)]
    except RecursionError:
        return None, [Problem(WHOLE, 'nested too deeply to read; manifests nest at most three levels', MALFORMED)]
    finally:
        loader.dispose()
    if not isinstance(loaded, dict):
        return None, [Problem(WHOLE, _not_a_mapping(loaded), MALFORMED)]
    return loaded, []


def _not_a_mapping(loaded):
    message = 'the manifest must be a mapping of fields (manifestVersion: 2.0, bucket: ...), not %s' % type_of(loaded)
    if isinstance(loaded, str) and re.search(r'^[A-Za-z]+:\S', loaded):
        message += '; put a space after the colon of each field (manifestVersion: 2.0)'
    return message


def parse_manifest(data):
    """Parse manifest text (bytes or str) into a dict of strings; raise ManifestError when it is not one.

    Scalars stay text (``2.0`` is ``'2.0'``); empty, ``~`` and ``null`` values are None.
    """
    loaded, problems = parse(data)
    if problems:
        raise ManifestError('manifest cannot be read: %s' % '; '.join(str(p) for p in problems), problems)
    return loaded
