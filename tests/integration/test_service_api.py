"""boto3's own importexport client drives all six actions of the local service and gets the modelled errors."""
import urllib.request

import pytest

from ansible_collections.awsie.importexport.plugins.module_utils import signing
from tests.integration.service_fixtures import import_manifest, export_manifest


@pytest.fixture
def svc(ie_service):
    ie_service.bucket = ie_service.new_bucket()
    ie_service.ie = ie_service.client()
    return ie_service


def test_create_job_returns_id_and_signature_file_of_the_manifest(svc):
    manifest = import_manifest(svc.access_key, svc.bucket).replace('\n', '\r\n')
    result = svc.ie.create_job(JobType='Import', Manifest=manifest, ValidateOnly=False)
    job_id = result['JobId']
    assert signing.JOB_ID_RE.match(job_id)
    assert result['JobType'] == 'Import'
    expected = signing.compute_signature(svc.secret_key, job_id, manifest)
    assert result['Signature'] == expected
    assert result['SignatureFileContents'] == signing.render_signature_file(job_id, expected, '2.0').decode()
    assert signing.verify_signature_file(result['SignatureFileContents'], svc.secret_key, manifest, job_id)[0]
    assert 'erased' in result['WarningMessage']


def test_get_status_echoes_the_manifest_byte_for_byte(svc):
    manifest = import_manifest(svc.access_key, svc.bucket).replace('\n', '\r\n') + '# trailing comment \t\r\n'
    job_id = svc.ie.create_job(JobType='Import', Manifest=manifest, ValidateOnly=False)['JobId']
    status = svc.ie.get_status(JobId=job_id.lower())
    assert status['CurrentManifest'] == manifest
    assert status['JobId'] == job_id
    assert (status['LocationCode'], status['ProgressCode']) == ('NotReceived', 'Pending')
    assert status['ErrorCount'] == 0
    assert status['Signature'] == signing.compute_signature(svc.secret_key, job_id, manifest)
    assert 'Carrier' not in status and 'LogBucket' not in status


def test_validate_only_creates_nothing(svc):
    manifest = import_manifest(svc.access_key, svc.bucket)
    result = svc.ie.create_job(JobType='Import', Manifest=manifest, ValidateOnly=True)
    assert result['JobType'] == 'Import'
    assert 'JobId' not in result and 'Signature' not in result
    assert svc.ie.list_jobs()['Jobs'] == []


def test_update_job_replaces_manifest_and_signature(svc):
    first = import_manifest(svc.access_key, svc.bucket)
    job_id = svc.ie.create_job(JobType='Import', Manifest=first, ValidateOnly=False)['JobId']
    before = svc.ie.get_status(JobId=job_id)['Signature']
    second = import_manifest(svc.access_key, svc.bucket, extra='prefix: imported/\n')
    assert svc.ie.update_job(JobId=job_id, Manifest=second, JobType='Import', ValidateOnly=True)['Success'] is True
    assert svc.ie.get_status(JobId=job_id)['CurrentManifest'] == first
    assert svc.ie.update_job(JobId=job_id, Manifest=second, JobType='Import', ValidateOnly=False)['Success'] is True
    status = svc.ie.get_status(JobId=job_id)
    assert status['CurrentManifest'] == second
    assert status['Signature'] != before
    assert status['Signature'] == signing.compute_signature(svc.secret_key, job_id, second)


def test_update_job_may_change_the_job_type(svc):
    job_id = svc.ie.create_job(JobType='Import', Manifest=import_manifest(svc.access_key, svc.bucket),
                               ValidateOnly=False)['JobId']
    export = export_manifest(svc.access_key, [{'exportBucket': svc.bucket}], svc.bucket)
    svc.ie.update_job(JobId=job_id, Manifest=export, JobType='Export', ValidateOnly=False)
    assert svc.ie.get_status(JobId=job_id)['JobType'] == 'Export'
    assert svc.ie.list_jobs()['Jobs'][0]['JobType'] == 'Export'


def test_cancel_job_then_status_canceled_and_further_changes_refused(svc):
    job_id = svc.ie.create_job(JobType='Import', Manifest=import_manifest(svc.access_key, svc.bucket),
                               ValidateOnly=False)['JobId']
    assert svc.ie.cancel_job(JobId=job_id)['Success'] is True
    assert svc.ie.get_status(JobId=job_id)['ProgressCode'] == 'Canceled'
    assert svc.ie.list_jobs()['Jobs'][0]['IsCanceled'] is True
    with pytest.raises(svc.ie.exceptions.CanceledJobIdException):
        svc.ie.cancel_job(JobId=job_id)
    with pytest.raises(svc.ie.exceptions.CanceledJobIdException):
        svc.ie.update_job(JobId=job_id, Manifest=import_manifest(svc.access_key, svc.bucket), JobType='Import',
                          ValidateOnly=False)
    with pytest.raises(svc.ie.exceptions.CanceledJobIdException):
        svc.ie.get_shipping_label(jobIds=[job_id])


def test_list_jobs_newest_first_with_marker_and_paginator(svc):
    manifest = import_manifest(svc.access_key, svc.bucket)
    created = [svc.ie.create_job(JobType='Import', Manifest=manifest, ValidateOnly=False)['JobId'] for dummy in range(5)]
    listed = svc.ie.list_jobs()
    assert [j['JobId'] for j in listed['Jobs']] == created[::-1]
    assert listed['IsTruncated'] is False
    page = svc.ie.list_jobs(MaxJobs=2)
    assert [j['JobId'] for j in page['Jobs']] == created[::-1][:2] and page['IsTruncated'] is True
    page2 = svc.ie.list_jobs(MaxJobs=2, Marker=page['Jobs'][-1]['JobId'])
    assert [j['JobId'] for j in page2['Jobs']] == created[::-1][2:4]
    pages = svc.ie.get_paginator('list_jobs').paginate(PaginationConfig={'PageSize': 2})
    assert [j['JobId'] for p in pages for j in p['Jobs']] == created[::-1]
    with pytest.raises(svc.ie.exceptions.InvalidParameterException):
        svc.ie.list_jobs(MaxJobs=1001)
    with pytest.raises(svc.ie.exceptions.InvalidParameterException):
        svc.ie.list_jobs(Marker='ZZZZZ')


def test_shipping_label_is_a_pdf_naming_jobs_and_address(svc):
    from ie_service.pdf import pdf_text
    manifest = import_manifest(svc.access_key, svc.bucket)
    ids = [svc.ie.create_job(JobType='Import', Manifest=manifest, ValidateOnly=False)['JobId'] for dummy in range(2)]
    result = svc.ie.get_shipping_label(jobIds=ids, name='Ada Lovelace', company='Engines Ltd', street1='12 Analytical Way',
                                       city='Portland', stateOrProvince='OR', postalCode='97201',
                                       phoneNumber='503-555-0199', country='USA')
    url = result['ShippingLabelURL']
    assert url.startswith(svc.url.rstrip('/') + '/labels/') and url.endswith('.pdf')
    with urllib.request.urlopen(url) as response:  # nosec - loopback
        assert response.headers['Content-Type'] == 'application/pdf'
        data = response.read()
    assert data.startswith(b'%PDF-1.4') and data.rstrip().endswith(b'%%EOF')
    text = pdf_text(data)
    assert any(', '.join(ids) in line for line in text)
    for part in ('Ada Lovelace', 'Engines Ltd', '12 Analytical Way', 'Portland', '97201'):
        assert part in text
    with pytest.raises(svc.ie.exceptions.InvalidAddressException):
        svc.ie.get_shipping_label(jobIds=ids, name='No Street', city='X', postalCode='1', phoneNumber='1', country='USA')


@pytest.mark.parametrize('country, change, field', [
    ('United States of America', {}, 'stateOrProvince'),
    ('U.S.A.', {}, 'stateOrProvince'),
    ('ca', {}, 'stateOrProvince'),
    ('USA', {'stateOrProvince': 'Oregon', 'postalCode': '972'}, 'postalCode'),
    ('USA', {'stateOrProvince': 'OR', 'street1': 'PO Box 12'}, 'street1'),
    ('Germany', {'phoneNumber': 'call me'}, 'phoneNumber'),
])
def test_shipping_label_address_follows_the_manifest_return_address_rules(svc, country, change, field):
    job_id = svc.ie.create_job(JobType='Import', Manifest=import_manifest(svc.access_key, svc.bucket),
                               ValidateOnly=False)['JobId']
    address = dict(name='Ada Lovelace', street1='12 Analytical Way', city='Portland', postalCode='97201',
                   phoneNumber='503-555-0199', country=country)
    with pytest.raises(svc.ie.exceptions.InvalidAddressException) as info:
        svc.ie.get_shipping_label(jobIds=[job_id], **dict(address, **change))
    assert 'The address is invalid: %s ' % field in str(info.value)
    fixed = dict(address, stateOrProvince='ON', postalCode='K1A 0B1') if country == 'ca' else dict(address, stateOrProvince='OR')
    assert svc.ie.get_shipping_label(jobIds=[job_id], **fixed)['ShippingLabelURL']


@pytest.mark.parametrize('mutation, exception', [
    (lambda m, ak, b: m.replace(ak, 'AKIAOTHERKEY0000000'), 'InvalidAccessKeyIdException'),
    (lambda m, ak, b: m.replace(b, b + '-missing'), 'NoSuchBucketException'),
    (lambda m, ak, b: 'INVALID MANIFEST', 'MalformedManifestException'),
    (lambda m, ak, b: m.replace('deviceId: DEV001\n', ''), 'MissingManifestFieldException'),
])
def test_create_job_refusals_are_modelled_exceptions(svc, mutation, exception):
    bad = mutation(import_manifest(svc.access_key, svc.bucket), svc.access_key, svc.bucket)
    with pytest.raises(getattr(svc.ie.exceptions, exception)):
        svc.ie.create_job(JobType='Import', Manifest=bad, ValidateOnly=False)
    assert svc.ie.list_jobs()['Jobs'] == []


def test_export_with_bad_file_system_is_refused(svc):
    bad = export_manifest(svc.access_key, [{'exportBucket': svc.bucket}], svc.bucket, file_system='HFS')
    with pytest.raises(svc.ie.exceptions.InvalidFileSystemException):
        svc.ie.create_job(JobType='Export', Manifest=bad, ValidateOnly=False)


def test_unknown_and_foreign_job_ids_are_invalid(ie_service_factory):
    svc = ie_service_factory(accounts=[('AKIAFIRSTACCOUNT0001', 'first-secret'), ('AKIASECONDACCOUNT002', 'second-secret')])
    bucket = svc.new_bucket()
    mine = svc.client()
    theirs = svc.client('AKIASECONDACCOUNT002', 'second-secret')
    job_id = mine.create_job(JobType='Import', Manifest=import_manifest(svc.access_key, bucket), ValidateOnly=False)['JobId']
    for call in (lambda c: c.get_status(JobId=job_id), lambda c: c.cancel_job(JobId=job_id)):
        with pytest.raises(theirs.exceptions.InvalidJobIdException):
            call(theirs)
    assert theirs.list_jobs()['Jobs'] == []
    with pytest.raises(mine.exceptions.InvalidJobIdException):
        mine.get_status(JobId='0OOOO')
    assert mine.get_status(JobId=job_id)['ProgressCode'] == 'Pending'
