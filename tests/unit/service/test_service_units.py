"""Unit tests of the local service's pure parts: fault specs, clock, PDF, XML, auth checks, job views."""
import datetime
import os
import xml.etree.ElementTree as ET
import zipfile

import pytest

import ie_service
from ie_service import api, auth, faults, pdf
from ie_service.accounts import DEMO_ACCESS_KEY as AK, DEMO_SECRET_KEY as SK
from ie_service.clock import Clock
from ie_service.errors import ApiError
from ie_service.store import Store
from ansible_collections.awsie.importexport.plugins.module_utils import signing


@pytest.mark.parametrize('spec, expected', [
    ('throttle=0.5', {'action': None, 'kind': 'throttle', 'value': 0.5}),
    ('GetStatus:drop=1', {'action': 'GetStatus', 'kind': 'drop', 'value': 1.0}),
    ('CreateJob:latency=2.5', {'action': 'CreateJob', 'kind': 'latency', 'value': 2.5}),
])
def test_fault_specs_parse(spec, expected):
    assert faults.parse_spec(spec) == expected


@pytest.mark.parametrize('spec', ['throttle', 'slow=1', 'Nope:throttle=1', 'throttle=1.5', 'latency=-1', 'drop=x'])
def test_bad_fault_specs_are_refused(spec):
    with pytest.raises(faults.FaultSpecError):
        faults.parse_spec(spec)


def test_per_action_faults_override_global(tmp_path):
    faults.write_faults(str(tmp_path), ['throttle=0.2', 'GetStatus:throttle=0.9', 'latency=0.1'])
    table = faults.Faults(str(tmp_path))
    assert table.for_action('GetStatus') == {'throttle': 0.9, 'latency': 0.1}
    assert table.for_action('ListJobs') == {'throttle': 0.2, 'latency': 0.1}
    faults.write_faults(str(tmp_path), [], replace=True)
    assert table.for_action('GetStatus') == {}


def test_clock_advances_and_speeds_up(tmp_path):
    clock = Clock(str(tmp_path))
    before = clock.now()
    clock.advance(86400 * 30)
    assert clock.now() - before >= 86400 * 30
    with pytest.raises(ValueError):
        clock.advance(-1)
    other = Clock(str(tmp_path))  # another process sees the same clock
    assert abs(other.now() - clock.now()) < 1
    clock.set_speed(1000)
    start = other.now()
    import time
    time.sleep(0.05)
    assert other.now() - start >= 40


def test_pdf_is_well_formed_with_exact_xref(tmp_path):
    data = pdf.text_pdf([('Title (1)', 16), 'Job IDs: ABCDE, FGHIJ', 'back\\slash'])
    assert data.startswith(b'%PDF-1.4') and data.endswith(b'%%EOF\n')
    xref_at = int(data.rsplit(b'startxref\n', 1)[1].split(b'\n')[0])
    assert data[xref_at:xref_at + 4] == b'xref'
    entries = data[xref_at:].split(b'\n')[3:9]
    for number, entry in enumerate(entries, 1):
        offset = int(entry[:10])
        assert data[offset:].startswith(b'%d 0 obj' % number)
    assert pdf.pdf_text(data) == ['Title (1)', 'Job IDs: ABCDE, FGHIJ', 'back\\slash']


def test_xml_keeps_carriage_returns_and_escapes():
    body = api.render_result('GetStatus', [('CurrentManifest', 'a: <b>&\r\nc: d\r\n'), ('ErrorCount', 0),
                                           ('Jobs', [[('JobId', 'ABCDE'), ('IsCanceled', True)]]), ('Carrier', None)], 'rid')
    root = ET.fromstring(body)
    ns = '{%s}' % api.NAMESPACE
    assert root.tag == ns + 'GetStatusResponse'
    assert root.find('.//%sCurrentManifest' % ns).text == 'a: <b>&\r\nc: d\r\n'
    assert root.find('.//%sJobs/%smember/%sIsCanceled' % (ns, ns, ns)).text == 'true'
    assert root.find('.//%sCarrier' % ns) is None
    assert root.find('%sResponseMetadata/%sRequestId' % (ns, ns)).text == 'rid'
    error = ET.fromstring(api.render_error(ApiError('InvalidJobIdException', 'no <job>'), 'r2'))
    assert [el.text for el in error.iter() if el.tag.endswith(('Type', 'Code', 'Message', 'RequestId'))] == \
        ['Sender', 'InvalidJobIdException', 'no <job>', 'r2']


def _authenticator(now):
    return auth.Authenticator({AK: SK}.get, now=lambda: now)


def test_sigv2_accepts_collection_signer_and_refuses_tampering():
    now = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    params = signing.sigv2_sign_params({'Action': 'ListJobs', 'Version': '2010-06-01'}, AK, SK, '127.0.0.1:8080',
                                       timestamp=signing.sigv2_timestamp(now))
    checker = _authenticator(now.timestamp())
    assert checker.authenticate('POST', '/', '', {'host': '127.0.0.1:8080'}, b'', params) == AK
    refusals = []
    for changed in (dict(params, MaxJobs='1'), dict(params, Signature='x' + params['Signature'][1:]),
                    dict(params, AWSAccessKeyId='AKIANOTKNOWN')):
        with pytest.raises(ApiError) as info:
            checker.authenticate('POST', '/', '', {'host': '127.0.0.1:8080'}, b'', changed)
        refusals.append(info.value.code)
    with pytest.raises(ApiError) as info:
        _authenticator(now.timestamp() + 16 * 60).authenticate('POST', '/', '', {'host': '127.0.0.1:8080'}, b'', params)
    refusals.append(info.value.code)
    assert refusals == ['SignatureDoesNotMatch', 'SignatureDoesNotMatch', 'InvalidClientTokenId', 'RequestExpired']


def test_sigv4_from_botocore_is_verified():
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    request = AWSRequest(method='POST', url='http://127.0.0.1:9999/', data=b'Action=ListJobs&Version=2010-06-01',
                         headers={'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8'})
    SigV4Auth(Credentials(AK, SK), 'IngestionService', 'us-east-1').add_auth(request)
    headers = {k.lower(): v for k, v in request.headers.items()}
    headers['host'] = '127.0.0.1:9999'
    checker = auth.Authenticator({AK: SK}.get)
    assert checker.authenticate('POST', '/', '', headers, request.body, {}) == AK
    with pytest.raises(ApiError) as info:
        checker.authenticate('POST', '/', '', headers, request.body + b'&MaxJobs=1', {})
    assert info.value.code == 'SignatureDoesNotMatch' and info.value.status == 403


def test_job_view_follows_events_and_expiry():
    job = {'canceled': None, 'received': None, 'created': 1000.0, 'events': [], 'log_bucket': 'b', 'log_key': 'k',
           'error_count': 2, 'carrier': 'UPS', 'tracking': '1ZX'}
    assert api.job_view(job, 1000.0)['progress'] == 'Pending'
    assert api.job_view(job, 1000.0 + api.EXPIRY_SECONDS)['progress'] == 'Expired'
    job.update(received=2000.0, events=[[2000.0, 'AtAWS', 'Pending'], [3000.0, 'AtAWS', 'InProgress'],
                                        [4000.0, 'AtAWS', 'SuccessWithErrors'], [5000.0, 'Returned', 'SuccessWithErrors']])
    assert api.job_view(job, 3500.0)['progress'] == 'InProgress'
    view = api.job_view(job, 4500.0)
    assert (view['location'], view['progress'], view['error_count'], view['carrier']) == ('AtAWS', 'SuccessWithErrors', 2, None)
    view = api.job_view(job, 1e12)  # received jobs never expire
    assert (view['location'], view['carrier'], view['tracking']) == ('Returned', 'UPS', '1ZX')
    assert '1ZX' in view['location_message'] and '2 errors' in view['progress_message']


def test_store_job_ids_quota_and_order(tmp_path):
    store = Store(str(tmp_path))
    ids = [store.create('A', 'Import', 's3', b'm', 100.0 + i, 0.0, 5) for i in range(5)]
    assert all(len(i) == 5 and set(i) <= set(signing.JOB_ID_ALPHABET) and signing.JOB_ID_RE.match(i) for i in ids)
    assert store.create('A', 'Import', 's3', b'm', 200.0, 0.0, 5) is None
    assert store.create('A', 'Import', 's3', b'm', 200.0, 150.0, 5) is not None  # a new day
    jobs, more = store.list_jobs('A', limit=3)
    assert more and [j['job_id'] for j in jobs][1:] == ids[::-1][:2]
    assert store.get(ids[0])['manifest'] == b'm'


def test_build_backend_writes_an_installable_wheel(tmp_path):
    import importlib.util
    spec = importlib.util.spec_from_file_location('ie_build', os.path.join(os.path.dirname(api.__file__), '..', 'ie_build.py'))
    backend = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(backend)
    name = backend.build_wheel(str(tmp_path))
    with zipfile.ZipFile(str(tmp_path / name)) as archive:
        names = archive.namelist()
        assert 'ie_service/cli.py' in names
        info = 'ie_service-%s.dist-info' % ie_service.__version__
        assert 'ie-service = ie_service.cli:main' in archive.read(info + '/entry_points.txt').decode()
        assert 'Version: %s\n' % ie_service.__version__ in archive.read(info + '/METADATA').decode()
        record = archive.read(info + '/RECORD').decode()
        assert 'ie_service/api.py,sha256=' in record
