"""Tampering: the local Import/Export service refuses what was not signed for it, and counts it.

Requests (SigV2 with the collection's own signer, SigV4 with botocore's): every character of a good
signature flipped, signed parameters and bodies changed after signing, wrong and unknown keys,
credential scopes for another region or service, requests replayed outside the 15-minute window
(and a request replayed byte for byte after its ``Expires``). Drives: a SIGNATURE for another job,
for another manifest, under another key, with its jobId edited; nothing of such a drive is loaded.
Each refusal is checked for its HTTP status and error code, and the totals are recorded.
"""
import datetime
import os
import time
import xml.etree.ElementTree as ET
from unittest import mock

import pytest
import requests

from ansible_collections.awsie.importexport.plugins.module_utils import signing
from tests.integration.service_fixtures import import_manifest
from tests.integration.test_service_auth import Raw

OTHER_KEY, OTHER_SECRET = 'AKIAOTHERACCOUNT0001', 'otherSecretKey/0123456789abcdefghijklmnop'
CONTENT_TYPE = {'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8'}


def error_code(response):
    try:
        root = ET.fromstring(response.content)
    except ET.ParseError:
        return None
    return next((el.text for el in root.iter() if el.tag.endswith('Code')), None)


class Refusals:
    """Sends requests that must be refused; counts them by kind and code."""

    def __init__(self):
        self.counts = {}

    def expect(self, response, status, code, kind):
        assert (response.status_code, error_code(response)) == (status, code), (kind, response.status_code, response.text[:500])
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def total(self):
        return sum(self.counts.values())


def flips(text, step=1):
    """``text`` with one character changed, at every ``step``-th position."""
    for index in range(0, len(text), step):
        other = 'A' if text[index] != 'A' else 'B'
        if text[index] in '0123456789abcdef' and len(text) == 64:  # hex (SigV4): stay hex
            other = '0' if text[index] != '0' else '1'
        yield text[:index] + other + text[index + 1:]


def sigv4(svc, body, access_key=None, secret=None, region='us-east-1', service='IngestionService', when=None):
    """(url, body, headers) of a POST signed with botocore's SigV4 (at ``when``, a naive UTC datetime)."""
    from botocore.auth import SigV4Auth  # pylint: disable=import-outside-toplevel
    from botocore.awsrequest import AWSRequest  # pylint: disable=import-outside-toplevel
    from botocore.credentials import Credentials  # pylint: disable=import-outside-toplevel
    request = AWSRequest(method='POST', url=svc.url, data=body, headers=dict(CONTENT_TYPE))
    auth = SigV4Auth(Credentials(access_key or svc.access_key, secret or svc.secret_key), service, region)
    if when is None:
        auth.add_auth(request)
    else:
        with mock.patch('botocore.auth.get_current_datetime', return_value=when):
            auth.add_auth(request)
    prepared = request.prepare()
    return prepared.url, prepared.body, dict(prepared.headers)


def post4(signed, body=None, headers=None):
    url, original, sent = signed
    return requests.post(url, data=original if body is None else body, headers=headers or sent, timeout=10)


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


@pytest.fixture
def svc(ie_service_factory):
    from tests.support.service import DEMO_ACCESS_KEY, DEMO_SECRET_KEY  # pylint: disable=import-outside-toplevel
    return ie_service_factory(accounts=[(DEMO_ACCESS_KEY, DEMO_SECRET_KEY), (OTHER_KEY, OTHER_SECRET)])


def jobs_of(svc):
    return len(svc.client().list_jobs()['Jobs'])


@pytest.mark.parametrize('method', ['HmacSHA256', 'HmacSHA1'])
def test_tampered_sigv2_requests_are_refused(svc, method, proof_record):
    raw, refused = Raw(svc), Refusals()
    good = raw.params('ListJobs', method=method)
    assert raw.post(good).status_code == 200
    for flipped in flips(good['Signature']):
        refused.expect(raw.post(dict(good, Signature=flipped)), 403, 'SignatureDoesNotMatch', 'signature character changed')
    changes = {'MaxJobs': '5', 'Action': 'GetStatus', 'AWSAccessKeyId': OTHER_KEY,
               'SignatureMethod': 'HmacSHA1' if method == 'HmacSHA256' else 'HmacSHA256',
               'Timestamp': good['Timestamp'][:17] + ('%02d' % ((int(good['Timestamp'][17:19]) + 1) % 60)) + good['Timestamp'][19:]}
    for name, value in changes.items():
        refused.expect(raw.post(dict(good, **{name: value})), 403, 'SignatureDoesNotMatch', 'signed parameter changed')
    refused.expect(raw.post(good, headers={'Host': 'another.example:80'}), 403, 'SignatureDoesNotMatch', 'host changed')
    # A signed CreateJob whose manifest is changed by one byte on the way creates no job.
    bucket = svc.new_bucket('tamper')
    create = raw.params('CreateJob', {'JobType': 'Import', 'Manifest': import_manifest(svc.access_key, bucket),
                                      'ValidateOnly': 'false'}, method=method)
    before = jobs_of(svc)
    for old, new in (('bucket: ', 'bucket: x'), ('eraseDevice: yes', 'eraseDevice: no'), ('DEV001', 'DEV002')):
        refused.expect(raw.post(dict(create, Manifest=create['Manifest'].replace(old, new, 1))), 403, 'SignatureDoesNotMatch',
                       'manifest changed after signing')
    assert jobs_of(svc) == before
    assert raw.post(create).status_code == 200 and jobs_of(svc) == before + 1
    assert refused.counts['signature character changed'] == len(good['Signature'])
    proof_record('SigV2 %s tampered requests refused' % method, refused.total(), 'requests')
    print(method, refused.counts)


def test_tampered_sigv4_requests_are_refused(svc, proof_record):
    refused = Refusals()
    body = 'Action=ListJobs&Version=2010-06-01'
    signed = sigv4(svc, body)
    assert post4(signed).status_code == 200
    headers = signed[2]
    authorization = headers['Authorization']
    signature = authorization.rsplit('Signature=', 1)[1]
    for flipped in flips(signature):
        changed = dict(headers, Authorization=authorization.replace(signature, flipped))
        refused.expect(post4(signed, headers=changed), 403, 'SignatureDoesNotMatch', 'signature character changed')
    for other in ('Action=ListJobs&Version=2010-06-01&MaxJobs=5', 'Action=GetStatus&Version=2010-06-01',
                  'Action=ListJobs&Version=2010-06-02'):
        refused.expect(post4(signed, body=other), 403, 'SignatureDoesNotMatch', 'body changed after signing')
    stamp = headers['X-Amz-Date']
    later = (datetime.datetime.strptime(stamp, '%Y%m%dT%H%M%SZ') + datetime.timedelta(seconds=1)).strftime('%Y%m%dT%H%M%SZ')
    refused.expect(post4(signed, headers=dict(headers, **{'X-Amz-Date': later})), 403, 'SignatureDoesNotMatch', 'date changed')
    for region, service in (('eu-west-1', 'IngestionService'), ('us-east-1', 'importexport'), ('us-east-1', 's3')):
        refused.expect(post4(sigv4(svc, body, region=region, service=service)), 403, 'SignatureDoesNotMatch', 'other scope')
    refused.expect(post4(signed, headers=dict(headers, Authorization=authorization.replace('SignedHeaders=', 'SignedHeaders=x;'))),
                   403, 'SignatureDoesNotMatch', 'signed headers changed')
    refused.expect(post4(signed, headers=dict(headers, Authorization=authorization.split(', Signature=')[0])), 400,
                   'IncompleteSignature', 'signature removed')
    assert refused.counts['signature character changed'] == 64
    proof_record('SigV4 tampered requests refused', refused.total(), 'requests')
    print(refused.counts)


def test_wrong_keys_are_refused_and_one_account_never_sees_anothers_job(svc, proof_record):
    raw, refused = Raw(svc), Refusals()
    body = 'Action=ListJobs&Version=2010-06-01'
    wrong_secrets = [svc.secret_key[:-1] + ('x' if svc.secret_key[-1] != 'x' else 'y'), svc.secret_key.upper(), OTHER_SECRET,
                     svc.secret_key + ' ', 'x']
    for secret in wrong_secrets:
        for method in ('HmacSHA256', 'HmacSHA1'):
            refused.expect(raw.post(raw.params('ListJobs', secret=secret, method=method)), 403, 'SignatureDoesNotMatch',
                           'SigV2 wrong secret')
        refused.expect(post4(sigv4(svc, body, secret=secret)), 403, 'SignatureDoesNotMatch', 'SigV4 wrong secret')
    for key in ('AKIAUNKNOWNKEY000000', svc.access_key.lower(), svc.access_key + 'X'):
        refused.expect(raw.post(raw.params('ListJobs', access_key=key)), 403, 'InvalidClientTokenId', 'SigV2 unknown key')
        refused.expect(post4(sigv4(svc, body, access_key=key)), 403, 'InvalidClientTokenId', 'SigV4 unknown key')
    # The other account's own key is good, but not for this account's job.
    job_id = svc.client().create_job(JobType='Import', Manifest=import_manifest(svc.access_key, svc.new_bucket('own')),
                                     ValidateOnly=False)['JobId']
    other = svc.client(access_key=OTHER_KEY, secret_key=OTHER_SECRET)
    assert all(job['JobId'] != job_id for job in other.list_jobs()['Jobs'])
    for call in (lambda: other.get_status(JobId=job_id), lambda: other.cancel_job(JobId=job_id),
                 lambda: other.get_shipping_label(jobIds=[job_id])):
        with pytest.raises(Exception) as info:  # botocore ClientError: the job is not the caller's
            call()
        assert 'InvalidJobId' in str(info.value) or 'AccessDenied' in str(info.value), str(info.value)
        refused.counts['another account\'s job'] = refused.counts.get('another account\'s job', 0) + 1
    assert svc.client().get_status(JobId=job_id)['ProgressCode'] == 'Pending'
    proof_record('wrong or unknown keys refused', refused.total(), 'requests')
    print(refused.counts)


def test_requests_replayed_outside_the_15_minute_window_are_refused(svc, proof_record):
    raw, refused = Raw(svc), Refusals()
    now = datetime.datetime.now(datetime.timezone.utc)
    accepted = 0
    for minutes in (15.25, 16, 30, 60, 24 * 60, 7 * 24 * 60):
        for sign in (-1, 1):
            stamp = signing.sigv2_timestamp(now + datetime.timedelta(minutes=sign * minutes))
            refused.expect(raw.post(raw.params('ListJobs', timestamp=stamp)), 400, 'RequestExpired', 'SigV2 outside the window')
            when = utcnow() + datetime.timedelta(minutes=sign * minutes)
            refused.expect(post4(sigv4(svc, 'Action=ListJobs&Version=2010-06-01', when=when)), 403, 'SignatureDoesNotMatch',
                           'SigV4 outside the window')
    for minutes in (-14, -1, 0, 1, 14):  # inside the window: the same requests are accepted
        stamp = signing.sigv2_timestamp(now + datetime.timedelta(minutes=minutes))
        assert raw.post(raw.params('ListJobs', timestamp=stamp)).status_code == 200
        when = utcnow() + datetime.timedelta(minutes=minutes)
        assert post4(sigv4(svc, 'Action=ListJobs&Version=2010-06-01', when=when)).status_code == 200
        accepted += 2
    # The very same bytes, accepted before their Expires and refused after it.
    params = {k: v for k, v in raw.params('ListJobs').items() if k not in ('Timestamp', 'Signature')}
    params['Expires'] = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=3)).strftime('%Y-%m-%dT%H:%M:%SZ')
    params['Signature'] = signing.sigv2_signature(svc.secret_key, 'POST', raw.host, '/', params)
    assert raw.post(params).status_code == 200
    time.sleep(4.2)
    refused.expect(raw.post(params), 400, 'RequestExpired', 'SigV2 replayed after Expires')
    proof_record('requests replayed outside the 15-minute window refused', refused.total(), 'requests')
    proof_record('requests inside the window accepted', accepted, 'requests')
    print(refused.counts)


def _write(root, files):
    for rel, data in files.items():
        full = os.path.join(root, *rel.split('/'))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, 'wb') as handle:
            handle.write(data)


DATA = {'a.txt': b'alpha\n', 'dir/b.bin': os.urandom(3000)}


def _swap_job_id(contents, job_id):
    lines = contents.decode().splitlines(True)
    return ''.join(('jobId: %s\n' % job_id) if line.replace(' ', '').startswith('jobId:') else line for line in lines).encode()


def _flip_signature(contents):
    lines = contents.decode().splitlines(True)
    out = []
    for line in lines:
        if line.replace(' ', '').startswith('signature:'):
            key, value = line.split(':', 1)
            value = value.strip()
            line = '%s: %s\n' % (key, ('B' if value[0] != 'B' else 'C') + value[1:])
        out.append(line)
    return ''.join(out).encode()


# What goes on the drive of job B: (kind of tampering, SIGNATURE bytes from (svc, job A, job B)).
DRIVE_CASES = {
    'the SIGNATURE of another job (2.0, as the service issued it)': lambda s, a, b: a['SignatureFileContents'].encode(),
    'the SIGNATURE 1.0 of another job': lambda s, a, b: signing.build_signature_file(s.secret_key, a['JobId'], a['manifest'], '1.0'),
    'SIGNATURE 1.0 for this job but another manifest': lambda s, a, b: signing.build_signature_file(
        s.secret_key, b['JobId'], a['manifest'], '1.0'),
    'SIGNATURE 1.0 for this job and its manifest changed by one byte': lambda s, a, b: signing.build_signature_file(
        s.secret_key, b['JobId'], b['manifest'].replace('eraseDevice: yes', 'eraseDevice: no'), '1.0'),
    'SIGNATURE 1.0 for this job and manifest under another key': lambda s, a, b: signing.build_signature_file(
        OTHER_SECRET, b['JobId'], b['manifest'], '1.0'),
    'another job\'s SIGNATURE 2.0 with its jobId edited to this job': lambda s, a, b: _swap_job_id(
        a['SignatureFileContents'].encode(), b['JobId']),
    'another job\'s SIGNATURE 1.0 with its jobId edited to this job': lambda s, a, b: _swap_job_id(
        signing.build_signature_file(s.secret_key, a['JobId'], a['manifest'], '1.0'), b['JobId']),
    'this job\'s SIGNATURE 2.0 with one character of the signature changed': lambda s, a, b: _flip_signature(
        b['SignatureFileContents'].encode()),
    'this job\'s SIGNATURE 1.0 with one character of the signature changed': lambda s, a, b: _flip_signature(
        signing.build_signature_file(s.secret_key, b['JobId'], b['manifest'], '1.0')),
}
FAST_DRIVE_CASES = ('the SIGNATURE of another job (2.0, as the service issued it)', 'SIGNATURE 1.0 for this job but another manifest')


def _objects(svc, bucket):
    listed = svc.s3_client().list_objects_v2(Bucket=bucket)
    return sorted(o['Key'] for o in listed.get('Contents', []))


def _job(svc, ie, device):
    bucket = svc.new_bucket('drv')
    manifest = import_manifest(svc.access_key, bucket, device_id=device)
    created = ie.create_job(JobType='Import', Manifest=manifest, ValidateOnly=False)
    return dict(created, manifest=manifest, bucket=bucket)


def test_the_right_drive_signature_loads_the_data(svc, tmp_path):
    ie = svc.client()
    job = _job(svc, ie, 'CTRL01')
    root = str(tmp_path / 'control')
    _write(root, dict(DATA, SIGNATURE=signing.build_signature_file(svc.secret_key, job['JobId'], job['manifest'], '1.0')))
    summary = svc.receive(job['JobId'], root)
    # The control: the right SIGNATURE loads, so the refusals below are the tampering's doing.
    assert summary['progress'] == 'Complete', summary
    assert _objects(svc, job['bucket']) == sorted(['a.txt', 'dir/b.bin', 'import-log-%s' % job['JobId']])


@pytest.mark.parametrize('case', [pytest.param(name, marks=() if name in FAST_DRIVE_CASES else pytest.mark.proof_full)
                                  for name in DRIVE_CASES])
def test_drive_tampered_signature(svc, tmp_path, proof_record, case):
    ie = svc.client()
    job_a, job_b = _job(svc, ie, 'DEVA01'), _job(svc, ie, 'DEVB01')
    root = str(tmp_path / 'drive')
    contents = DRIVE_CASES[case](svc, job_a, job_b)
    _write(root, dict(DATA, SIGNATURE=contents))
    summary = svc.receive(job_b['JobId'], root)
    assert summary['progress'] == 'InvalidSignature', (case, summary)
    assert _objects(svc, job_b['bucket']) == [] and _objects(svc, job_a['bucket']) == []
    svc.advance_clock(hours=2)
    status = ie.get_status(JobId=job_b['JobId'])
    assert status['ProgressCode'] == 'InvalidSignature'
    assert ie.get_status(JobId=job_a['JobId'])['ProgressCode'] == 'Pending'  # job A untouched by B's drive
    proof_record('tampered drive refused, nothing loaded', 1, 'drive')
