"""Job rules of the local service: expiry, daily quota, persistence, concurrency, faults, TLS."""
import concurrent.futures
import json
import time

import pytest
import requests
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

from tests.integration.service_fixtures import import_manifest


def _create(client, svc, bucket, validate_only=False):
    return client.create_job(JobType='Import', Manifest=import_manifest(svc.access_key, bucket), ValidateOnly=validate_only)


def test_jobs_expire_after_30_days_without_a_device(ie_service):
    ie = ie_service.client()
    bucket = ie_service.new_bucket()
    job_id = _create(ie, ie_service, bucket)['JobId']
    ie_service.cli('clock', 'advance', '--days', '29.9')
    assert ie.get_status(JobId=job_id)['ProgressCode'] == 'Pending'
    ie_service.cli('clock', 'advance', '--hours', '3')
    assert ie.get_status(JobId=job_id)['ProgressCode'] == 'Expired'
    with pytest.raises(ie.exceptions.ExpiredJobIdException):
        ie.cancel_job(JobId=job_id)
    with pytest.raises(ie.exceptions.ExpiredJobIdException):
        ie.update_job(JobId=job_id, Manifest=import_manifest(ie_service.access_key, bucket), JobType='Import',
                      ValidateOnly=False)
    with pytest.raises(ie.exceptions.ExpiredJobIdException):
        ie.get_shipping_label(jobIds=[job_id])
    refused = ie_service.receive(job_id, ie_service.state_dir, check=False)
    assert refused.returncode == 1 and 'expired' in refused.stderr


def test_daily_quota_of_50_create_jobs_resets_next_day(ie_service):
    ie = ie_service.client()
    bucket = ie_service.new_bucket()
    ie_service.advance_clock(seconds=86400 - time.time() % 86400 + 60)  # start of a service day: no midnight mid-test
    _create(ie, ie_service, bucket, validate_only=True)
    ids = {_create(ie, ie_service, bucket)['JobId'] for dummy in range(50)}
    assert len(ids) == 50
    with pytest.raises(ie.exceptions.CreateJobQuotaExceededException) as info:
        _create(ie, ie_service, bucket)
    assert info.value.response['ResponseMetadata']['HTTPStatusCode'] == 400
    assert len(ie.list_jobs()['Jobs']) == 50
    ie_service.cli('clock', 'advance', '--days', '1')
    assert _create(ie, ie_service, bucket)['JobId'] not in ids


def test_jobs_survive_a_restart(ie_service_factory):
    first = ie_service_factory()
    bucket = first.new_bucket()
    created = _create(first.client(), first, bucket)
    first.stop()
    second = ie_service_factory(state_dir=first.state_dir)
    assert second.url != '' and second.state_dir == first.state_dir
    status = second.client().get_status(JobId=created['JobId'])
    assert status['Signature'] == created['Signature']
    assert status['CurrentManifest'] == import_manifest(first.access_key, bucket)


def test_concurrent_create_jobs_are_all_kept(ie_service):
    bucket = ie_service.new_bucket()
    clients = [ie_service.client() for dummy in range(6)]

    def work(client):
        return [_create(client, ie_service, bucket)['JobId'] for dummy in range(6)]

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        ids = [i for batch in pool.map(work, clients) for i in batch]
    assert len(set(ids)) == 36
    assert {j['JobId'] for j in clients[0].list_jobs()['Jobs']} == set(ids)


def test_faults_throttle_5xx_latency_drop_per_action(ie_service_factory):
    svc = ie_service_factory(faults=['GetStatus:throttle=1'])
    ie = svc.client()
    assert ie.list_jobs()['Jobs'] == []  # other actions unaffected
    with pytest.raises(ClientError) as info:
        ie.get_status(JobId='ABCDE')
    assert info.value.response['Error']['Code'] == 'Throttling'
    assert info.value.response['ResponseMetadata']['HTTPStatusCode'] == 400

    svc.cli('fault', '--clear', 'error5xx=1')
    seen = set()
    for dummy in range(20):
        with pytest.raises(ClientError) as info:
            ie.list_jobs()
        seen.add((info.value.response['ResponseMetadata']['HTTPStatusCode'], info.value.response['Error']['Code']))
    assert seen == {(500, 'InternalError'), (503, 'ServiceUnavailable')}

    svc.set_faults('ListJobs:latency=0.4')
    start = time.monotonic()
    ie.list_jobs()
    assert time.monotonic() - start >= 0.4

    svc.set_faults('drop=1')
    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        ie.list_jobs()
    svc.clear_faults()
    assert ie.list_jobs()['Jobs'] == []


def test_fault_rates_are_rates(ie_service):
    ie_service.set_faults('throttle=0.5')
    client = ie_service.client()
    throttled = 0
    for dummy in range(200):
        try:
            client.list_jobs()
        except ClientError as exc:
            assert exc.response['Error']['Code'] == 'Throttling'
            throttled += 1
    assert 60 <= throttled <= 140


def test_admin_endpoint_is_off_by_default_and_needs_its_token(ie_service_factory):
    off = ie_service_factory()
    assert requests.post(off.url + '_admin/faults', json={'specs': ['drop=1']}, timeout=5).status_code == 404
    on = ie_service_factory(admin_token='s3cr3t')
    assert requests.post(on.url + '_admin/faults', json={'specs': ['throttle=1']}, timeout=5).status_code == 403
    response = requests.post(on.url + '_admin/faults', json={'specs': ['throttle=1']}, headers={'X-Admin-Token': 's3cr3t'},
                             timeout=5)
    assert response.status_code == 200 and response.json()['faults'][0]['kind'] == 'throttle'
    with pytest.raises(ClientError):
        on.client().list_jobs()
    requests.post(on.url + '_admin/faults', json={'clear': True}, headers={'X-Admin-Token': 's3cr3t'}, timeout=5)
    assert on.client().list_jobs()['Jobs'] == []
    clock = requests.post(on.url + '_admin/clock', json={'advance_days': 2}, headers={'X-Admin-Token': 's3cr3t'}, timeout=5)
    assert clock.status_code == 200
    shown = json.loads(on.cli('clock', 'show').stdout)
    assert shown['now'] == clock.json()['now'] or shown['now'] > clock.json()['now']


def test_tls_with_generated_certificate_and_own_s3_server(ie_service_factory):
    svc = ie_service_factory(tls=True, own_s3=True)
    assert svc.url.startswith('https://127.0.0.1:')
    bucket = svc.new_bucket()
    assert _create(svc.client(), svc, bucket)['JobType'] == 'Import'
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(svc.url, timeout=5)
    svc.stop()
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(svc.s3_url, timeout=5)  # the S3 child went with the service
