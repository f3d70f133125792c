"""Reading the service's CSV logs (plugins/module_utils/importlog.py), the real importer's output included."""
import hashlib
import os

import pytest

from ansible_collections.awsie.importexport.plugins.module_utils import importlog
from ie_service import drive
from tests.unit.plugins.module_utils.test_s3keys import RecordingS3

MD5 = hashlib.md5(b'x').hexdigest()


def service_log(tmp_path, files, manifest):
    root = str(tmp_path / 'drive')
    for rel, data in files.items():
        full = os.path.join(os.fsencode(root), rel if isinstance(rel, bytes) else os.fsencode(rel))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, 'wb') as handle:
            handle.write(data)
    return drive.import_s3(root, {}, dict(manifest, bucket='b'), RecordingS3())[2]


def test_the_importers_own_log_with_awkward_names(tmp_path):
    files = {'plain.txt': b'x', 'with, comma.txt': b'xx', 'quote "q".txt': b'xxx', 'line\nbreak.txt': b'y',
             b'latin\xe9.txt': b'z', 'a.swp': b'', 'SIGNATURE': b'sig', 'é/ü.txt': b'u'}
    text = service_log(tmp_path, files, {'prefix': 'p/', 'ignore': [r'\.swp$']})
    log = importlog.parse(text.encode('utf-8'), name='import-log-ABCDE')
    assert log.kind == 'import' and not log.problems
    by_file = log.by('File')
    assert by_file['with, comma.txt']['Key'] == 'p/with, comma.txt' and by_file['with, comma.txt']['Bytes'] == 2
    assert by_file['quote "q".txt']['MD5'] == hashlib.md5(b'xxx').hexdigest()
    assert by_file['line\nbreak.txt']['Status'] == 'Loaded'
    assert by_file['latin\xe9.txt']['Code'] == '400 InvalidFileName'  # the name's bytes, read as Latin-1
    assert by_file['a.swp']['Status'] == 'Ignored' and by_file['SIGNATURE']['Code'] == 'SIGNATURE'
    assert by_file['é/ü.txt']['Content-Type'] == 'text/plain'
    assert by_file['line\nbreak.txt']['line'] > 2


def test_header_variants_bom_crlf_and_unknown_columns():
    text = ('\ufeffdate time,FILE,status,code,key,md5,bytes,content type,Region\r\n'
            '2026-01-01T00:00:00Z,a,Loaded,200,p/a,%s,1,text/plain,us-east-1\r\n' % MD5)
    log = importlog.parse(text.encode('utf-8'))
    entry = log.entries[0]
    assert (entry['File'], entry['Bytes'], entry['MD5'], entry['extra']) == ('a', 1, MD5, {'Region': 'us-east-1'})


def test_export_log_is_recognised():
    text = 'DateTime,Key,Status,Code,File,MD5,Bytes\nT,k/a,Exported,200,dir/a,%s,1\n' % MD5
    log = importlog.parse(text)
    assert log.kind == 'export' and log.entries[0]['File'] == 'dir/a'


@pytest.mark.parametrize('line, message', [
    ('T,a,Loaded,200,p/a,%s,1' % MD5, 'line 3: 7 fields where the header has 8'),
    ('T,a,Loaded,200,p/a,%s,lots,text/plain' % MD5, "line 3: Bytes 'lots' is not a whole number"),
    ('T,a,Loaded,200,p/a,nothex,1,text/plain', "line 3: MD5 'nothex' is not 32 hex digits"),
    ('T,a,,200,p/a,%s,1,text/plain' % MD5, 'line 3: no Status'),
    ('T,"a,Loaded,200,p/a,%s,1,text/plain' % MD5, 'line 3'),
])
def test_bad_lines_name_their_line(line, message):
    text = 'DateTime,File,Status,Code,Key,MD5,Bytes,Content-Type\nT,ok,Loaded,200,p/ok,%s,1,text/plain\n%s\n' % (MD5, line)
    with pytest.raises(importlog.ImportLogError, match=message):
        importlog.parse(text, name='L')
    lenient = importlog.parse(text, name='L', strict=False)
    assert [e['File'] for e in lenient.entries] == ['ok'] and message in lenient.problems[0]


def test_not_a_log_at_all():
    with pytest.raises(importlog.ImportLogError, match='is empty'):
        importlog.parse(b'\n\n', name='L')
    with pytest.raises(importlog.ImportLogError, match='no File, Status column'):
        importlog.parse(b'<html>oops</html>\n', name='L', kind='import')
    with pytest.raises(importlog.ImportLogError, match='line 2: byte 0xFF is not UTF-8'):
        importlog.parse(b'DateTime,File,Status\n\xff,a,Loaded\n', name='L')


def test_a_file_logged_twice_counts_once_last_wins():
    text = 'DateTime,File,Status,Code,Key,MD5,Bytes,Content-Type\nT,a,Error,500,p/a,,,\nT,a,Loaded,200,p/a,%s,1,x\n' % MD5
    log = importlog.parse(text)
    assert log.by('File')['a']['Status'] == 'Loaded' and log.duplicates == 1
