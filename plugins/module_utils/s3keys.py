# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one rule that turns a file's path on an import drive into its S3 key.

For a file at ``rel`` (its path relative to the drive's root, ``/``-separated):

1. a name that is not valid UTF-8 is an error (``400 InvalidFileName``);
2. ``SIGNATURE`` in the root is skipped (it authenticates the drive, it is not data);
3. a path that any ``ignore`` regular expression *searches* (``re.search``, anywhere in the
   relative path) is skipped; a pattern that does not compile is passed over;
4. the key is ``prefix + rel`` with every ``substitutions`` pair applied in order, each one a
   plain ``str.replace`` of the whole text (the prefix included);
5. an empty key is an error (``400 InvalidSubstitution``).

Amazon S3 takes keys of at most 1024 bytes of UTF-8 (``key_too_long``). Standard library
only (and the collection's signing constants), no Ansible imports: the plugins and the
local service share it.
"""

from __future__ import annotations

import collections
import os
import re

from ansible_collections.awsie.importexport.plugins.module_utils.signing import SIGNATURE_FILE_NAME

SIGNATURE_NAME = SIGNATURE_FILE_NAME  # the one spelling, in signing
MAX_KEY_BYTES = 1024
MAX_OBJECT_BYTES = 5 * 1024 ** 4

LOADED = 'Loaded'
IGNORED = 'Ignored'
ERROR = 'Error'
CODE_SIGNATURE = 'SIGNATURE'
CODE_IGNORE = 'ignore'
CODE_BAD_NAME = '400 InvalidFileName'
CODE_EMPTY_KEY = '400 InvalidSubstitution'


class KeyOutcome(collections.namedtuple('KeyOutcome', 'status key code')):
    """What the service does with one path: ``status`` is the import log's Status column
    (``Loaded``, ``Ignored``, ``Error``), ``key`` the S3 key (None unless loaded), ``code`` the
    log's Code column for skipped and failed paths."""

    __slots__ = ()


def is_utf8(rel):
    """Whether ``rel`` (text from the file system, undecodable bytes as surrogates) is UTF-8."""
    try:
        rel.encode('utf-8')
    except UnicodeEncodeError:
        return False
    return True


def display_path(rel):
    """``rel`` as printable UTF-8 text: bytes that are not UTF-8 become ``\\xNN``."""
    if isinstance(rel, bytes):
        return rel.decode('utf-8', 'backslashreplace')
    return os.fsencode(rel).decode('utf-8', 'backslashreplace')


def key_bytes(key):
    return len(key.encode('utf-8'))


def key_too_long(key):
    return key_bytes(key) > MAX_KEY_BYTES


class KeyRule:
    """``prefix``, ``substitutions`` (an ordered mapping) and ``ignore`` (regular expressions)
    of an import manifest, as the service applies them."""

    def __init__(self, prefix=None, substitutions=None, ignore=None):
        self.prefix = '' if prefix is None else str(prefix)
        if substitutions is None:
            substitutions = {}
        if not isinstance(substitutions, dict):
            raise ValueError('substitutions must be a mapping of text to its replacement, got %s'
                             % type(substitutions).__name__)
        self.substitutions = [(str(old), '' if new is None else str(new)) for old, new in substitutions.items()]
        if isinstance(ignore, str):
            ignore = [ignore]  # a single pattern, as the manifest validator reads it
        self.ignore = [str(p) for p in ignore or []]
        self.patterns = []
        self.bad_patterns = []
        for pattern in self.ignore:
            try:
                self.patterns.append(re.compile(pattern))
            except re.error as exc:
                self.bad_patterns.append((pattern, str(exc)))

    @classmethod
    def from_manifest(cls, manifest):
        """The rule of a parsed manifest (a dict of fields); other fields are not looked at."""
        manifest = manifest or {}
        return cls(manifest.get('prefix'), manifest.get('substitutions') or {}, manifest.get('ignore'))

    def substitute(self, text):
        for old, new in self.substitutions:
            text = text.replace(old, new)
        return text

    def key_of(self, rel):
        """The key ``rel`` would get, whether or not it is ignored (no UTF-8 check)."""
        return self.substitute(self.prefix + rel)

    def is_ignored(self, rel):
        return any(p.search(rel) for p in self.patterns)

    def outcome(self, rel):
        """The service's decision for ``rel`` (a ``KeyOutcome``)."""
        if not is_utf8(rel):
            return KeyOutcome(ERROR, None, CODE_BAD_NAME)
        if rel == SIGNATURE_NAME:
            return KeyOutcome(IGNORED, None, CODE_SIGNATURE)
        if self.is_ignored(rel):
            return KeyOutcome(IGNORED, None, CODE_IGNORE)
        key = self.key_of(rel)
        if not key:
            return KeyOutcome(ERROR, None, CODE_EMPTY_KEY)
        return KeyOutcome(LOADED, key, None)

    def as_dict(self):
        return {'prefix': self.prefix, 'substitutions': [list(p) for p in self.substitutions], 'ignore': list(self.ignore)}


def rule_from_options(manifest=None, prefix=None, substitutions=None, ignore=None):
    """The rule of a module's ``manifest`` fields, with ``prefix``, ``substitutions`` and ``ignore``
    given on their own taking precedence."""
    fields = dict(manifest or {})
    for name, value in (('prefix', prefix), ('substitutions', substitutions), ('ignore', ignore)):
        if value is not None:
            fields[name] = value
    return KeyRule.from_manifest(fields)
