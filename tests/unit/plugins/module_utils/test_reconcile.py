"""Ledger against log (and objects): plugins/module_utils/reconcile.py."""
import hashlib
import os

from ansible_collections.awsie.importexport.plugins.module_utils import importlog, ledger, reconcile


def md5(data):
    return hashlib.md5(data).hexdigest()


DATA = {'a.txt': b'alpha', 'b.txt': b'bravo', 'c.txt': b'charlie', 'd/e.txt': b'echo', 'f.txt': b'fox', 'g.txt': b'golf',
        'h.txt': b'hotel'}
RECORDS = {p: {'path': p, 'key': 'k/' + p, 'size': len(d), 'mtime_ns': 1, 'md5': md5(d)} for p, d in DATA.items()}


def log_text(rows):
    head = 'DateTime,File,Status,Code,Key,MD5,Bytes,Content-Type\n'
    return head + ''.join('T,%s,%s,%s,%s,%s,%s,text/plain\n' % row for row in rows)


def loaded(path, data=None, key=None):
    data = DATA[path] if data is None else data
    return (path, 'Loaded', '200', key or 'k/' + path, md5(data), len(data))


def import_log():
    return importlog.parse(log_text([
        loaded('a.txt'), loaded('b.txt', data=b'bravo!'), ('c.txt', 'Error', 'DeviceError Input/output error', 'k/c.txt', '', ''),
        loaded('d/e.txt'), ('f.txt', 'Ignored', 'ignore', '', '', ''), loaded('g.txt', key='k/other'),
        ('SIGNATURE', 'Ignored', 'SIGNATURE', '', '', ''), loaded('stray.txt', data=b'?'),
    ]))


def test_import_states_from_the_log_alone():
    outcome = reconcile.reconcile_import(RECORDS, import_log())
    states = {e['path']: e['state'] for e in outcome.entries}
    assert states == {'a.txt': 'verified', 'b.txt': 'different', 'c.txt': 'failed', 'd/e.txt': 'verified',
                      'f.txt': 'ignored', 'g.txt': 'different', 'h.txt': 'missing'}
    result = outcome.as_dict()
    assert result['counts'] == {'verified': 2, 'missing': 1, 'different': 2, 'failed': 1, 'ignored': 1, 'unexpected': 1,
                                'total': 7}
    assert result['failed_by_code'] == {'DeviceError Input/output error': 1}
    assert result['unexpected'] == [{'path': 'stray.txt', 'status': 'Loaded', 'key': 'k/stray.txt', 'line': 9}]
    reship = ledger.loads(outcome.reship_bytes())
    assert reship.kind == 'reship' and sorted(reship.records) == ['b.txt', 'c.txt', 'g.txt', 'h.txt']
    assert reship.records['c.txt']['code'] == 'DeviceError Input/output error' and reship.records['h.txt']['reason'] == 'missing'
    assert reship.records['b.txt']['md5'] == RECORDS['b.txt']['md5']


def test_objects_checked_by_head():
    heads = {'k/a.txt': (5, '"%s"' % md5(b'alpha')),          # as loaded
             'k/d/e.txt': (4, '"%s"' % md5(b'ECHO')),          # overwritten since
             'k/h.txt': (5, '"x"')}
    log = importlog.parse(log_text([loaded('a.txt'), loaded('d/e.txt'), loaded('h.txt')]))
    records = {p: RECORDS[p] for p in ('a.txt', 'd/e.txt', 'h.txt')}
    outcome = reconcile.reconcile_import(records, log, heads=heads)
    assert {e['path']: e['state'] for e in outcome.entries} == {'a.txt': 'verified', 'd/e.txt': 'different', 'h.txt': 'verified'}
    assert outcome.etag_not_md5 == 1  # h.txt: an ETag that is not an MD5 (multipart) cannot be compared
    heads = {'k/a.txt': None, 'k/d/e.txt': (3, '"%s"' % md5(b'echo')), 'k/h.txt': RuntimeError('timeout')}
    outcome = reconcile.reconcile_import(records, log, heads=heads)
    assert {e['path']: e['state'] for e in outcome.entries} == {'a.txt': 'missing', 'd/e.txt': 'different', 'h.txt': 'verified'}
    assert outcome.head_errors == [{'key': 'k/h.txt', 'error': 'timeout'}]


def test_head_all_maps_missing_and_errors():
    def head(key):
        if key == 'gone':
            raise reconcile.NotFound(key)
        if key == 'bad':
            raise ValueError('boom')
        return 1, 'e'
    found = reconcile.head_all(['ok', 'gone', 'bad', 'ok'], head, workers=3)
    assert found['ok'] == (1, 'e') and found['gone'] is None and isinstance(found['bad'], ValueError)
    assert reconcile.etag_md5('"%s"' % md5(b'x')) == md5(b'x') and reconcile.etag_md5('"abc-2"') is None


def test_export_against_the_returned_drive(tmp_path):
    root = str(tmp_path)
    for rel, data in (('out/a', b'alpha'), ('out/b', b'bravo'), ('extra.txt', b'?'), ('SIGNATURE', b's'),
                      ('export-log-ABCDE', b'log')):
        os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
        with open(os.path.join(root, rel), 'wb') as handle:
            handle.write(data)
    text = ('DateTime,Key,Status,Code,File,MD5,Bytes\n'
            'T,a,Exported,200,out/a,%s,5\nT,b,Exported,200,out/b,%s,5\nT,c,Exported,200,out/c,%s,1\n'
            'T,d,Error,500 InternalError,,,\n' % (md5(b'alpha'), md5(b'BRAVO'), md5(b'c')))
    outcome = reconcile.reconcile_export(importlog.parse(text), root)
    assert {e['path']: e['state'] for e in outcome.entries} == {'out/a': 'verified', 'out/b': 'different',
                                                                'out/c': 'missing', 'd': 'failed'}
    assert outcome.unexpected == [{'path': 'extra.txt', 'status': 'not in the export log'}]
    assert sorted(ledger.loads(outcome.reship_bytes()).records) == ['d', 'out/b', 'out/c']
