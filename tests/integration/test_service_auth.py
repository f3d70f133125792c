"""Request authentication: the collection's SigV2 signer and boto3 (SigV4, and SigV2 forced) get in;
tampered signatures, wrong keys, stale and future timestamps do not. Every refusal is counted."""
import datetime
from unittest import mock
import urllib.parse
import xml.etree.ElementTree as ET

import pytest
import requests

from ansible_collections.awsie.importexport.plugins.module_utils import signing
from tests.integration.service_fixtures import import_manifest


def _code(response):
    root = ET.fromstring(response.content)
    return next(el.text for el in root.iter() if el.tag.endswith('Code'))


class Raw:
    """Signs with the collection's own SigV2 signer and posts with requests (keep-alive)."""

    def __init__(self, svc):
        self.svc = svc
        split = urllib.parse.urlsplit(svc.url)
        self.host = split.netloc
        self.session = requests.Session()

    def params(self, action, extra=None, secret=None, access_key=None, method='HmacSHA256', timestamp=None):
        params = {'Action': action, 'Version': '2010-06-01'}
        params.update(extra or {})
        return signing.sigv2_sign_params(params, access_key or self.svc.access_key, secret or self.svc.secret_key,
                                         self.host, '/', 'POST', method, timestamp)

    def post(self, params, headers=None):
        return self.session.post(self.svc.url, data=params, headers=headers or {}, timeout=10)


@pytest.fixture
def raw(ie_service_factory):
    return Raw(ie_service_factory(admin_token='test-admin-token'))


@pytest.mark.parametrize('method', ['HmacSHA256', 'HmacSHA1'])
def test_collection_sigv2_signer_drives_the_api(raw, method):
    bucket = raw.svc.new_bucket()
    manifest = import_manifest(raw.svc.access_key, bucket) + 'generator: café ~*()!\n'
    created = raw.post(raw.params('CreateJob', {'JobType': 'Import', 'Manifest': manifest, 'ValidateOnly': 'false'},
                                  method=method))
    assert created.status_code == 200, created.text
    root = ET.fromstring(created.content)
    assert root.tag == '{http://importexport.amazonaws.com/doc/2010-06-01/}CreateJobResponse'
    job_id = root.find('.//{*}JobId').text
    status = raw.post(raw.params('GetStatus', {'JobId': job_id}, method=method))
    assert status.status_code == 200
    assert ET.fromstring(status.content).find('.//{*}CurrentManifest').text == manifest


def test_boto3_sigv2_and_sigv4_both_accepted(ie_service):
    for client in (ie_service.client(), ie_service.client(sigv2=True)):
        assert client.list_jobs()['Jobs'] == []


def test_refusals_are_counted(raw):
    """Tampered signatures, unknown keys, wrong secrets, stale and future timestamps: each one refused."""
    now = datetime.datetime.now(datetime.timezone.utc)
    refused = {}

    def expect(response, status, code, label):
        assert response.status_code == status, (label, response.status_code, response.text)
        assert _code(response) == code, (label, response.text)
        refused[label] = refused.get(label, 0) + 1

    good = raw.params('ListJobs')
    assert raw.post(good).status_code == 200
    # tampered: the signature itself, a signed parameter, an added parameter
    for index in range(0, 40, 4):
        sig = good['Signature']
        flipped = sig[:index] + ('A' if sig[index] != 'A' else 'B') + sig[index + 1:]
        expect(raw.post(dict(good, Signature=flipped)), 403, 'SignatureDoesNotMatch', 'tampered-signature')
    expect(raw.post(dict(good, MaxJobs='5')), 403, 'SignatureDoesNotMatch', 'tampered-parameter')
    expect(raw.post(dict(good, Timestamp=good['Timestamp'].replace('Z', '1Z').replace('.', '.0', 1)[:-2] + 'Z')), 403,
           'SignatureDoesNotMatch', 'tampered-timestamp')
    expect(raw.post(raw.params('ListJobs'), headers={'Host': 'LOCALHOST.example:1'}), 403, 'SignatureDoesNotMatch',
           'wrong-host')
    # keys
    expect(raw.post(raw.params('ListJobs', access_key='AKIAUNKNOWNKEY000000')), 403, 'InvalidClientTokenId', 'unknown-key')
    expect(raw.post(raw.params('ListJobs', secret='not-the-secret')), 403, 'SignatureDoesNotMatch', 'wrong-secret')
    # time
    for minutes in (16, 60, 60 * 24 * 3):
        for sign in (-1, 1):
            stamp = signing.sigv2_timestamp(now + datetime.timedelta(minutes=sign * minutes))
            expect(raw.post(raw.params('ListJobs', timestamp=stamp)), 400, 'RequestExpired',
                   'stale-timestamp' if sign < 0 else 'future-timestamp')
    for minutes in (-14, 14):
        assert raw.post(raw.params('ListJobs', timestamp=signing.sigv2_timestamp(
            now + datetime.timedelta(minutes=minutes)))).status_code == 200
    past = (now - datetime.timedelta(seconds=5)).strftime('%Y-%m-%dT%H:%M:%SZ')
    future = (now + datetime.timedelta(hours=1)).strftime('%Y-%m-%dT%H:%M:%SZ')
    expired = {k: v for k, v in raw.params('ListJobs').items() if k not in ('Timestamp', 'Signature')}
    expired['Expires'] = past
    expired['Signature'] = signing.sigv2_signature(raw.svc.secret_key, 'POST', raw.host, '/', expired)
    expect(raw.post(expired), 400, 'RequestExpired', 'expired-expires')
    valid = dict(expired, Expires=future)
    valid['Signature'] = signing.sigv2_signature(raw.svc.secret_key, 'POST', raw.host, '/', valid)
    assert raw.post(valid).status_code == 200
    both = dict(valid, Timestamp=signing.sigv2_timestamp())
    both['Signature'] = signing.sigv2_signature(raw.svc.secret_key, 'POST', raw.host, '/', both)
    expect(raw.post(both), 400, 'InvalidParameterCombination', 'timestamp-and-expires')
    # missing auth parameters
    for name in ('AWSAccessKeyId', 'Signature', 'SignatureMethod', 'SignatureVersion', 'Timestamp'):
        expect(raw.post({k: v for k, v in good.items() if k != name}), 400, 'MissingParameter', 'missing-' + name)
    total = sum(refused.values())
    print('refusals:', total, refused)
    assert total == 28
    stats = requests.get(raw.svc.url + '_admin/stats', headers={'X-Admin-Token': 'test-admin-token'}, timeout=10).json()
    assert sum(stats['refusals'].values()) == total
    assert stats['refusals'] == {'SignatureDoesNotMatch': 14, 'InvalidClientTokenId': 1, 'RequestExpired': 7,
                                 'InvalidParameterCombination': 1, 'MissingParameter': 5}
    assert requests.get(raw.svc.url + '_admin/stats', headers={'X-Admin-Token': 'wrong'}, timeout=10).status_code == 403


def test_boto3_with_wrong_credentials_gets_modelled_auth_errors(ie_service):
    from botocore.exceptions import ClientError
    with pytest.raises(ClientError) as info:
        ie_service.client(secret_key='wrong-secret').list_jobs()
    assert info.value.response['Error']['Code'] == 'SignatureDoesNotMatch'
    assert info.value.response['ResponseMetadata']['HTTPStatusCode'] == 403
    with pytest.raises(ClientError) as info:
        ie_service.client(access_key='AKIANOSUCHKEY0000000').list_jobs()
    assert info.value.response['Error']['Code'] == 'InvalidClientTokenId'


def test_stale_sigv4_request_is_refused(ie_service):
    from botocore.awsrequest import AWSRequest
    from botocore.auth import SigV4Auth
    from botocore.credentials import Credentials
    request = AWSRequest(method='POST', url=ie_service.url, data='Action=ListJobs&Version=2010-06-01',
                         headers={'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8'})
    auth = SigV4Auth(Credentials(ie_service.access_key, ie_service.secret_key), 'IngestionService', 'us-east-1')
    stale = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(minutes=20)
    with mock.patch('botocore.auth.get_current_datetime', return_value=stale):
        auth.add_auth(request)
    prepared = request.prepare()
    response = requests.post(prepared.url, data=prepared.body, headers=dict(prepared.headers), timeout=10)
    assert response.status_code == 403 and _code(response) == 'SignatureDoesNotMatch'
    assert 'expired' in response.text
    wrong_region = SigV4Auth(Credentials(ie_service.access_key, ie_service.secret_key), 'IngestionService', 'eu-west-1')
    request2 = AWSRequest(method='POST', url=ie_service.url, data='Action=ListJobs&Version=2010-06-01',
                          headers={'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8'})
    wrong_region.add_auth(request2)
    prepared = request2.prepare()
    response = requests.post(prepared.url, data=prepared.body, headers=dict(prepared.headers), timeout=10)
    assert response.status_code == 403 and _code(response) == 'SignatureDoesNotMatch'


def test_unknown_action_and_version(raw):
    response = raw.post(raw.params('DescribeJobs'))
    assert (response.status_code, _code(response)) == (400, 'InvalidAction')
    response = raw.post(raw.params('ListJobs', {'Version': '2012-01-01'}))
    assert (response.status_code, _code(response)) == (400, 'NoSuchVersion')
