"""A device arrives: SIGNATURE checked, then data loaded into S3 (import) or written onto the drive (export).

Real loop-mounted ext4, FAT32 (fusefat) and NTFS (ntfs-3g) drives; real S3 API server (moto) on loopback.
"""
import os

import pytest

from ansible_collections.awsie.importexport.plugins.module_utils import signing
from tests.integration.service_fixtures import import_manifest, export_manifest

FILES = {
    'a.txt': b'alpha\n',
    'dir/b.jpg': b'\xff\xd8\xff binary jpeg-ish \x00\x01',
    'dir/sub/c.bin': os.urandom(70000),
    'notes.swp': b'editor swap file',
    'backup/old.txt': b'old',
}
EXTRA = ('prefix: imp/\nsubstitutions:\n    "dir": "folder"\nignore:\n    - \\.swp$\n    - ^backup/\n'
         'contentTypes:\n    jpg: image/x-test-jpeg\n')


def _objects(s3, bucket):
    found = {}
    for page in s3.get_paginator('list_objects_v2').paginate(Bucket=bucket):
        for obj in page.get('Contents', []):
            found[obj['Key']] = s3.get_object(Bucket=bucket, Key=obj['Key'])['Body'].read()
    return found


def _files(root):
    found = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root).replace(os.sep, '/')
            if rel.startswith('lost+found/'):
                continue
            with open(full, 'rb') as handle:
                found[rel] = handle.read()
    return found


def _write(root, files):
    for rel, data in files.items():
        full = os.path.join(root, *rel.split('/'))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, 'wb') as handle:
            handle.write(data)


def _import_job(svc, ie, extra=EXTRA):
    bucket = svc.new_bucket('imp')
    manifest = import_manifest(svc.access_key, bucket, extra=extra)
    created = ie.create_job(JobType='Import', Manifest=manifest, ValidateOnly=False)
    return bucket, created


@pytest.mark.root
def test_import_from_ext4_loads_exactly_the_expected_objects(ie_service, loop_drive):
    ie = ie_service.client()
    bucket, created = _import_job(ie_service, ie)
    job_id = created['JobId']
    drive = loop_drive('ext4')
    _write(drive.mountpoint, dict(FILES, SIGNATURE=created['SignatureFileContents'].encode()))
    drive.umount()
    summary = ie_service.receive(job_id.lower(), drive.image)
    assert summary['progress'] == 'Complete' and summary['file_system'] == 'ext4'
    expected = {'imp/a.txt': FILES['a.txt'], 'imp/folder/b.jpg': FILES['dir/b.jpg'],
                'imp/folder/sub/c.bin': FILES['dir/sub/c.bin']}
    objects = _objects(ie_service.s3_client(), bucket)
    log_key = 'import-log-%s' % job_id
    log = objects.pop(log_key).decode()
    assert objects == expected
    assert ie_service.s3_client().head_object(Bucket=bucket, Key='imp/folder/b.jpg')['ContentType'] == 'image/x-test-jpeg'
    for rel in ('SIGNATURE', 'notes.swp', 'backup/old.txt'):
        assert '%s,Ignored' % rel in log
    # status steps follow the service clock: AtAWS/Pending -> InProgress -> Complete -> Returned
    status = ie.get_status(JobId=job_id)
    assert (status['LocationCode'], status['ProgressCode']) == ('AtAWS', 'Pending')
    with pytest.raises(ie.exceptions.UnableToCancelJobIdException):
        ie.cancel_job(JobId=job_id)
    with pytest.raises(ie.exceptions.UnableToUpdateJobIdException):
        ie.update_job(JobId=job_id, Manifest=import_manifest(ie_service.access_key, bucket), JobType='Import',
                      ValidateOnly=False)
    seen = []
    for dummy in range(3):
        ie_service.advance_clock(hours=1)
        status = ie.get_status(JobId=job_id)
        seen.append((status['LocationCode'], status['ProgressCode']))
    assert seen == [('AtAWS', 'InProgress'), ('AtAWS', 'Complete'), ('Returned', 'Complete')]
    assert status['ErrorCount'] == 0 and status['LogBucket'] == bucket and status['LogKey'] == log_key
    assert status['Carrier'] == 'UPS' and status['TrackingNumber'].startswith('1Z')
    again = ie_service.receive(job_id, drive.image, check=False)
    assert again.returncode == 1


@pytest.mark.root
@pytest.mark.parametrize('fstype', ['fat32', 'ntfs'])
def test_altered_signature_loads_nothing(ie_service, loop_drive, fstype):
    ie = ie_service.client()
    bucket, created = _import_job(ie_service, ie)
    sig = created['Signature']
    altered = created['SignatureFileContents'].replace(sig, ('B' if sig[0] != 'B' else 'C') + sig[1:])
    drive = loop_drive(fstype)
    _write(drive.mountpoint, dict(FILES, SIGNATURE=altered.encode()))
    drive.umount()
    summary = ie_service.receive(created['JobId'], drive.device)
    assert summary['progress'] == 'InvalidSignature'
    assert _objects(ie_service.s3_client(), bucket) == {}
    ie_service.advance_clock(hours=2)
    status = ie.get_status(JobId=created['JobId'])
    assert (status['LocationCode'], status['ProgressCode']) == ('Returned', 'InvalidSignature')


@pytest.mark.root
def test_signature_1_0_computed_locally_is_accepted_on_fat32(ie_service, loop_drive):
    ie = ie_service.client()
    bucket, created = _import_job(ie_service, ie, extra='')
    status = ie.get_status(JobId=created['JobId'])
    file_1_0 = signing.build_signature_file(ie_service.secret_key, created['JobId'], status['CurrentManifest'], '1.0')
    drive = loop_drive('fat32')
    _write(drive.mountpoint, {'SIGNATURE': file_1_0, 'x/y.txt': b'why\n'})
    drive.umount()
    summary = ie_service.receive(created['JobId'], drive.image)
    assert summary['progress'] == 'Complete', summary
    objects = _objects(ie_service.s3_client(), bucket)
    assert b'SIGNATURE,Ignored' in objects.pop('import-log-%s' % created['JobId'])
    assert objects == {'x/y.txt': b'why\n'}


def test_missing_signature_loads_nothing(ie_service, tmp_path):
    ie = ie_service.client()
    bucket, created = _import_job(ie_service, ie)
    root = tmp_path / 'device'
    _write(str(root), FILES)
    (root / 'signature.txt').write_bytes(created['SignatureFileContents'].encode())  # not the right name
    summary = ie_service.receive(created['JobId'], str(root))
    assert summary['progress'] == 'MissingSignature'
    assert _objects(ie_service.s3_client(), bucket) == {}
    ie_service.advance_clock(hours=1)
    assert ie.get_status(JobId=created['JobId'])['ProgressCode'] == 'MissingSignature'


@pytest.mark.root
def test_unreadable_file_system_is_unsupported(ie_service, loop_drive):
    ie = ie_service.client()
    bucket, created = _import_job(ie_service, ie)
    drive = loop_drive(None, mount=False)
    summary = ie_service.receive(created['JobId'], drive.image)
    assert summary['progress'] == 'UnsupportedFileFormat'
    assert _objects(ie_service.s3_client(), bucket) == {}
    ie_service.advance_clock(hours=1)
    assert ie.get_status(JobId=created['JobId'])['ProgressCode'] == 'UnsupportedFileFormat'


@pytest.mark.root
def test_a_file_system_the_service_does_not_read_is_unsupported_even_if_this_host_mounts_it(ie_service, loop_drive):
    # exFAT mounts here (exfat-fuse), but the service reads only NTFS, ext2/3/4, FAT32 (and HFS+ for
    # imports): the collection's table of what the service reads decides, as ie_device_info says.
    ie = ie_service.client()
    bucket, created = _import_job(ie_service, ie, extra='')
    drive = loop_drive('exfat')
    _write(drive.mountpoint, {'SIGNATURE': created['SignatureFileContents'].encode(), 'a.txt': b'alpha\n'})
    drive.umount()
    summary = ie_service.receive(created['JobId'], drive.image)
    assert summary['progress'] == 'UnsupportedFileFormat', summary
    assert 'exfat' in summary['reason']
    assert _objects(ie_service.s3_client(), bucket) == {}


def _job_in_store(svc, manifest):
    """A job written straight into the service's store, as if its manifest had been accepted earlier."""
    from ie_service.clock import Clock  # pylint: disable=import-outside-toplevel
    from ie_service.store import Store  # pylint: disable=import-outside-toplevel
    return Store(svc.state_dir).create(svc.access_key, 'Import', 's3', manifest.encode(), Clock(svc.state_dir).now(), 0.0, 10 ** 6)


@pytest.mark.parametrize('value, encoded', [('yes', True), ('"TRUE"', True), ('no', False), ('on', False), ('y', False),
                                            ('1', False)])
def test_gzip_content_encoding_reads_yes_no_as_the_manifest_library_does(ie_service, tmp_path, value, encoded):
    bucket = ie_service.new_bucket('gz')
    manifest = import_manifest(ie_service.access_key, bucket, extra='setContentEncodingForGzFiles: %s\n' % value)
    if not encoded and value != 'no':  # CreateJob refuses it: only a job stored earlier can carry it
        ie = ie_service.client()
        with pytest.raises(ie.exceptions.InvalidManifestFieldException):
            ie.create_job(JobType='Import', Manifest=manifest, ValidateOnly=True)
    job_id = _job_in_store(ie_service, manifest)
    root = tmp_path / 'device'
    _write(str(root), {'SIGNATURE': signing.build_signature_file(ie_service.secret_key, job_id, manifest, '1.0'),
                       'logs/a.txt.gz': b'\x1f\x8b\x08\x00 gzip data'})
    summary = ie_service.receive(job_id, str(root))
    assert summary['progress'] == 'Complete', summary
    head = ie_service.s3_client().head_object(Bucket=bucket, Key='logs/a.txt.gz')
    assert head.get('ContentEncoding') == ('gzip' if encoded else None)


@pytest.mark.root
def test_export_writes_exactly_the_expected_files(ie_service, loop_drive):
    ie = ie_service.client()
    s3 = ie_service.s3_client()
    source = ie_service.new_bucket('exp')
    logs = ie_service.new_bucket('logs')
    content = {'images/a.jpg': b'A', 'images/b.jpg': b'B' * 5000, 'images/c.jpg': b'C', 'html/index.html': b'<html/>',
               'html/sub/page.html': b'<p/>', 'other/x': b'x'}
    for key, data in content.items():
        s3.put_object(Bucket=source, Key=key, Body=data)
    manifest = export_manifest(ie_service.access_key, [
        {'exportBucket': source, 'prefix': 'images/', 'beginMarker': 'images/a.jpg', 'endMarker': 'images/b.jpg',
         'targetDirectory': 'out/stuff'},
        {'exportBucket': source, 'prefix': 'html/'},
    ], logs, extra='logPrefix: logs/\n')
    created = ie.create_job(JobType='Export', Manifest=manifest, ValidateOnly=False)
    drive = loop_drive('ext4')
    _write(drive.mountpoint, {'SIGNATURE': created['SignatureFileContents'].encode()})
    drive.umount()
    summary = ie_service.receive(created['JobId'], drive.device)
    assert summary['progress'] == 'Complete', summary
    drive.mount()
    files = _files(drive.mountpoint)
    log_name = 'export-log-%s' % created['JobId']
    log = files.pop(log_name)
    assert files == {'SIGNATURE': created['SignatureFileContents'].encode(), 'out/stuff/images/b.jpg': b'B' * 5000,
                     'html/index.html': b'<html/>', 'html/sub/page.html': b'<p/>'}
    assert s3.get_object(Bucket=logs, Key='logs/' + log_name)['Body'].read() == log
    ie_service.advance_clock(hours=3)
    status = ie.get_status(JobId=created['JobId'])
    assert (status['LocationCode'], status['ProgressCode'], status['LogKey']) == ('Returned', 'Complete', 'logs/' + log_name)
