"""The path -> S3 key rule (plugins/module_utils/s3keys.py) against the local service's importer.

The property test builds real trees on disk, lets ``ie_service.drive.import_s3`` load them into a
recording S3 stand-in, and checks that for every file the rule gives the same status, code and
key as the service's import log.
"""
import csv
import io
import os
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.awsie.importexport.plugins.module_utils import s3keys
from ie_service import drive

COMPONENT_CHARS = ['a', 'b', 'A', 'é', ' ', ',', '"', '.', '-', 'x', 'ü', '\udcff', '\udce9', '日']
COMPONENT = st.one_of(
    st.lists(st.sampled_from(COMPONENT_CHARS), min_size=1, max_size=6).map(''.join),
    st.sampled_from(['SIGNATURE', 'dir', 'backup', 'notes.swp', 'lost+found', 'a.gz']),
).filter(lambda c: c not in ('.', '..'))
PATH = st.lists(COMPONENT, min_size=1, max_size=4).map('/'.join)
PATTERNS = [r'\.swp$', '^backup/', 'a', '(', '[x', '^SIGNATURE$', 'é', r'\s', '^$', '.', r'\udcff', 'dir/.*b']
SUB_KEYS = ['a', 'dir', 'é', ' ', ',', 'b/', '/', 'SIGNATURE', 'x', 'imp']
SUB_VALUES = ['', 'b', 'folder', '/', 'é', None, 'a']
MANIFEST = st.fixed_dictionaries({
    'prefix': st.sampled_from([None, '', 'imp/', 'a', 'x/é/']),
    'substitutions': st.one_of(st.none(), st.dictionaries(st.sampled_from(SUB_KEYS), st.sampled_from(SUB_VALUES), max_size=4)),
    'ignore': st.one_of(st.none(), st.lists(st.sampled_from(PATTERNS), max_size=4)),
})


class RecordingS3:
    def __init__(self):
        self.keys = []

    def put_object(self, **kwargs):
        self.keys.append(kwargs['Key'])


def make_tree(root, paths):
    """Create the files; paths whose directory would be a file (or the reverse) are dropped."""
    made = []
    for rel in paths:
        parts = rel.split('/')
        clash = any('/'.join(parts[:i]) in made for i in range(1, len(parts))) or any(m.startswith(rel + '/') for m in made)
        if clash or rel in made:
            continue
        full = os.path.join(root, *parts)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, 'wb') as handle:
            handle.write(rel.encode('utf-8', 'surrogateescape'))
        made.append(rel)
    return made


def service_outcomes(root, manifest):
    s3 = RecordingS3()
    _loaded, _errors, log = drive.import_s3(root, {}, dict(manifest, bucket='b'), s3)
    rows = list(csv.reader(io.StringIO(log)))
    assert rows[0] == ['DateTime', 'File', 'Status', 'Code', 'Key', 'MD5', 'Bytes', 'Content-Type']
    return {row[1]: (row[2], row[3], row[4]) for row in rows[1:]}, s3.keys


def log_name(rel):
    """How the service writes a file name into its log (names that are not UTF-8 as Latin-1)."""
    return rel if s3keys.is_utf8(rel) else rel.encode('utf-8', 'surrogateescape').decode('latin-1')


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(paths=st.lists(PATH, min_size=1, max_size=12), manifest=MANIFEST, signature=st.booleans())
def test_rule_matches_the_service_importer_for_generated_trees(paths, manifest, signature):
    rule = s3keys.KeyRule.from_manifest(manifest)
    with tempfile.TemporaryDirectory() as root:
        made = make_tree(root, paths + (['SIGNATURE'] if signature else []))
        logged, put_keys = service_outcomes(root, manifest)
        assert sorted(logged) == sorted(log_name(rel) for rel in made)
        expected_keys = []
        for rel in made:
            outcome = rule.outcome(rel)
            status, code, key = logged[log_name(rel)]
            assert outcome.status == status, rel
            if outcome.status == s3keys.LOADED:
                assert (key, code) == (outcome.key, '200')
                expected_keys.append(outcome.key)
            else:
                assert outcome.code == code and outcome.key is None
        assert sorted(put_keys) == sorted(expected_keys)


def test_substitutions_apply_in_order_to_prefix_and_path():
    rule = s3keys.KeyRule('imp/', {'dir': 'folder', 'folder': 'f', 'imp': 'i'})
    assert rule.outcome('dir/a.txt') == s3keys.KeyOutcome('Loaded', 'i/f/a.txt', None)


def test_signature_is_skipped_only_in_the_root_and_before_ignore():
    rule = s3keys.KeyRule(ignore=['SIGN'])
    assert rule.outcome('SIGNATURE').code == s3keys.CODE_SIGNATURE
    assert rule.outcome('sub/SIGNATURE').code == s3keys.CODE_IGNORE
    assert s3keys.KeyRule().outcome('sub/SIGNATURE').key == 'sub/SIGNATURE'


def test_ignore_searches_anywhere_and_bad_patterns_are_passed_over():
    rule = s3keys.KeyRule(ignore=['(', r'\.swp$'])
    assert rule.bad_patterns and rule.bad_patterns[0][0] == '('
    assert rule.outcome('x/.a.swp').status == 'Ignored'
    assert rule.outcome('x/a.swpx').status == 'Loaded'


def test_single_ignore_pattern_text_is_one_pattern():
    assert s3keys.KeyRule(ignore='ab').ignore == ['ab']


def test_names_that_are_not_utf8_and_empty_keys_are_errors():
    assert s3keys.KeyRule().outcome('a\udcff').code == s3keys.CODE_BAD_NAME
    assert s3keys.KeyRule(substitutions={'gone': ''}).outcome('gone').code == s3keys.CODE_EMPTY_KEY
    assert s3keys.display_path('a\udcff') == 'a\\xff'


@pytest.mark.parametrize('length, too_long', [(1024, False), (1025, True)])
def test_key_limit_counts_utf8_bytes(length, too_long):
    key = 'é' * (length // 2) + 'a' * (length % 2)
    assert s3keys.key_bytes(key) == length
    assert s3keys.key_too_long(key) is too_long


def test_substitutions_must_be_a_mapping():
    with pytest.raises(ValueError, match='mapping'):
        s3keys.KeyRule(substitutions=['a'])
