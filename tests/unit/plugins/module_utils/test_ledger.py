"""Ledger format (plugins/module_utils/ledger.py): deterministic bytes, strict and tolerant reads."""
import hashlib
import json

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.awsie.importexport.plugins.module_utils import ledger


def rec(path, size=3, md5=None, mtime_ns=1700000000123456789, key=None):
    return {'path': path, 'key': key or 'p/' + path, 'size': size, 'mtime_ns': mtime_ns,
            'md5': md5 or hashlib.md5(path.encode()).hexdigest()}


def test_dumps_is_deterministic_and_in_walk_order():
    records = [rec('a/b'), rec('a-c'), rec('é'), rec('a/a')]
    data = ledger.dumps(records, meta={'drive': 'd1'})
    assert data == ledger.dumps(list(reversed(records)), meta={'drive': 'd1'})
    lines = data.decode().splitlines()
    assert json.loads(lines[0]) == {'format': ledger.FORMAT, 'kind': 'ledger', 'meta': {'drive': 'd1'}, 'version': 1}
    assert [json.loads(x)['path'] for x in lines[1:-1]] == ['a-c', 'é', 'a/a', 'a/b']
    assert json.loads(lines[-1]) == {'bytes': 12, 'end': True, 'files': 4}
    assert 'é' in lines[2] and ' ' not in lines[1]
    back = ledger.loads(data)
    assert back.complete and list(back.records) == ['a-c', 'é', 'a/a', 'a/b'] and back.meta == {'drive': 'd1'}


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.lists(st.text(st.characters(blacklist_categories=('Cs',), blacklist_characters='/\x00'),
                                        min_size=1, max_size=5).filter(lambda c: c not in ('.', '..')),
                                min_size=1, max_size=3).map('/'.join),
                       st.tuples(st.integers(0, 2 ** 50), st.integers(0, 2 ** 62)), max_size=20))
def test_round_trip_of_generated_ledgers(files):
    records = [rec(p, size=s, mtime_ns=m) for p, (s, m) in files.items()]
    data = ledger.dumps(records)
    back = ledger.loads(data)
    assert back.records == {r['path']: r for r in records}
    assert ledger.dumps(back.records.values()) == data


def test_writer_streams_then_renames(tmp_path):
    path = str(tmp_path / 'l.jsonl')
    writer = ledger.Writer(path, meta={'x': 1})
    writer.add(rec('a'))
    writer.add(rec('b/c'))
    writer.flush()
    assert not (tmp_path / 'l.jsonl').exists() and (tmp_path / 'l.jsonl.partial').exists()
    partial = ledger.read(path + '.partial', tolerant=True)
    assert not partial.complete and list(partial.records) == ['a', 'b/c']
    writer.close()
    assert (tmp_path / 'l.jsonl').read_bytes() == ledger.dumps([rec('a'), rec('b/c')], meta={'x': 1})
    assert not (tmp_path / 'l.jsonl.partial').exists()


def test_writer_refuses_out_of_order(tmp_path):
    writer = ledger.Writer(str(tmp_path / 'l'))
    writer.add(rec('b'))
    with pytest.raises(ledger.LedgerError, match='out of order'):
        writer.add(rec('a'))
    writer.abandon()


def test_cut_short_file_strict_vs_tolerant():
    data = ledger.dumps([rec('a'), rec('b'), rec('c')])
    cut = data[:data.rindex(b'{"bytes"')]  # no end line
    torn = cut[:-10]
    with pytest.raises(ledger.LedgerError, match='no end line'):
        ledger.loads(cut, name='L')
    with pytest.raises(ledger.LedgerError, match='cut short'):
        ledger.loads(torn, name='L')
    assert list(ledger.loads(cut, tolerant=True).records) == ['a', 'b', 'c']
    assert list(ledger.loads(torn, tolerant=True).records) == ['a', 'b']
    for killed_early in (b'', b'{"format":"awsie.imp'):
        assert ledger.loads(killed_early, tolerant=True).records == {}
        with pytest.raises(ledger.LedgerError):
            ledger.loads(killed_early)


@pytest.mark.parametrize('mutate, message', [
    (lambda lines: lines.__setitem__(0, b'{"format":"other"}'), 'not a ledger header'),
    (lambda lines: lines.__setitem__(0, lines[0].replace(b'"version":1', b'"version":2')), 'version 2'),
    (lambda lines: lines.__setitem__(1, b'not json'), 'line 2: not a JSON object'),
    (lambda lines: lines.__setitem__(1, lines[1].replace(b'"size":3', b'"size":"3"')), "line 2: field 'size'"),
    (lambda lines: lines.__setitem__(1, lines[1].replace(b'"path":"a"', b'"path":"../a"')), 'not a relative path'),
    (lambda lines: lines.__setitem__(2, lines[1]), 'appears twice'),
    (lambda lines: lines.insert(1, lines.pop(2)), 'out of order'),
    (lambda lines: lines.__setitem__(3, b'{"bytes":6,"end":true,"files":3}'), 'end line counts'),
    (lambda lines: lines.__setitem__(1, lines[1].replace(b'"md5":"', b'"md5":"X')), 'md5 must be'),
])
def test_bad_lines_are_named(mutate, message):
    lines = ledger.dumps([rec('a'), rec('b')]).split(b'\n')
    mutate(lines)
    with pytest.raises(ledger.LedgerError, match=message):
        ledger.loads(b'\n'.join(lines), name='drive1.ledger')


def test_kind_filter_and_reship_records():
    data = ledger.dumps([{'path': 'a', 'key': 'a', 'reason': 'missing', 'size': 3}], kind='reship')
    assert ledger.loads(data).kind == 'reship'
    with pytest.raises(ledger.LedgerError, match="a 'reship' list"):
        ledger.loads(data, kinds=('ledger',))


def test_read_latest_prefers_the_partial(tmp_path):
    path = str(tmp_path / 'l')
    (tmp_path / 'l').write_bytes(ledger.dumps([rec('a', size=1), rec('b', size=1)]))
    partial = ledger.dumps([rec('a', size=2)])
    (tmp_path / 'l.partial').write_bytes(partial[:partial.rindex(b'{"bytes"')])
    latest = ledger.read_latest(path)
    assert latest['a']['size'] == 2 and latest['b']['size'] == 1
    assert ledger.read_latest(str(tmp_path / 'none')) == {}


def test_compare_names_missing_extra_and_different():
    old = {r['path']: r for r in (rec('a'), rec('b'), rec('c'))}
    new = {r['path']: r for r in (rec('a'), rec('b', size=9), rec('d'))}
    assert ledger.compare(old, new) == {'missing': ['c'], 'extra': ['d'], 'different': ['b'], 'same': 1}


@settings(max_examples=200, deadline=None)
@given(path=st.text(min_size=1).filter(lambda p: '\x00' not in p), key=st.text(), size=st.integers(0, 2 ** 63),
       mtime=st.integers(-2 ** 63, 2 ** 63))
def test_fast_ledger_lines_are_the_encoders_bytes(path, key, size, mtime):
    record = {'path': path, 'key': key, 'size': size, 'mtime_ns': mtime, 'md5': hashlib.md5(path.encode('utf-8', 'replace')).hexdigest()}
    slow = (json.dumps(record, sort_keys=True, separators=(',', ':'), ensure_ascii=False) + '\n').encode('utf-8', 'surrogatepass')
    try:
        fast = ledger.dumps_line(record)
    except UnicodeEncodeError:
        assert any(0xD800 <= ord(c) <= 0xDFFF for c in path + key)  # lone surrogates are not text, either way
        return
    assert fast == slow
