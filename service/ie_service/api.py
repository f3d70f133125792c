# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The six actions of the Query API 2010-06-01: parameters in, XML results or ErrorResponse out."""

import os
import re
import secrets
import uuid

from . import pdf, s3, validation
from .collection import manifest as mlib
from .collection import manifest_rules
from .collection import signing
from .errors import ApiError
from .state import iso

NAMESPACE = 'http://importexport.amazonaws.com/doc/2010-06-01/'
API_VERSION = '2010-06-01'
ACTIONS = ('CreateJob', 'UpdateJob', 'CancelJob', 'GetStatus', 'ListJobs', 'GetShippingLabel')
JOB_TYPES = ('Import', 'Export')
DAY = 86400.0
EXPIRY_SECONDS = 30 * DAY
DAILY_QUOTA = 50
AWS_ADDRESS = ('AWS Import/Export', 'JOBID {job_id}', '2646 Rainier Ave South Suite 1060', 'Seattle, WA 98144')
_APIVERSION_RE = re.compile(r'^(\d{4}-\d{2}-\d{2}|\d+(\.\d+){0,3})$')
_MEMBER_RE = re.compile(r'^jobIds\.member\.(\d+)$')

LOCATION_MESSAGES = {
    'NotReceived': 'AWS has not received your device.',
    'AtAWS': 'Your device is at AWS.',
    'Returned': 'Your device has been returned. The {carrier} tracking number is {tracking}.',
}
PROGRESS_MESSAGES = {
    'Pending': 'The specified job has not started.',
    'InProgress': 'The data transfer is in progress.',
    'Complete': 'The data transfer is complete. The log is at {log_key} in {log_bucket}.',
    'SuccessWithErrors': 'The data transfer completed with {errors} errors. The log is at {log_key} in {log_bucket}.',
    'Canceled': 'The specified job has been canceled.',
    'Expired': 'The specified job has expired.',
    'MissingSignature': 'The SIGNATURE file is missing from the root of your device.',
    'InvalidSignature': 'The SIGNATURE file on your device is not valid for this job.',
    'UnsupportedFileFormat': 'The file system on your device is not supported.',
    'DeviceError': 'Your device could not be read.',
    'MissingDevice': 'Your device, power supply or connectors are missing.',
}


def escape(text):
    """XML text escape; CR becomes ``&#13;`` so CRLF manifests survive XML parsing byte for byte."""
    return (str(text).replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;').replace('\r', '&#13;'))


def _elements(pairs):
    out = []
    for name, value in pairs:
        if value is None:
            continue
        if isinstance(value, bool):
            value = 'true' if value else 'false'
        if isinstance(value, list):
            out.append('<%s>%s</%s>' % (name, ''.join('<member>%s</member>' % _elements(m) for m in value), name))
        else:
            out.append('<%s>%s</%s>' % (name, escape(value), name))
    return ''.join(out)


def render_result(action, pairs, request_id):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<%sResponse xmlns="%s"><%sResult>%s</%sResult>'
            '<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>'
            % (action, NAMESPACE, action, _elements(pairs), action, request_id, action)).encode('utf-8')


def render_error(error, request_id):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code>'
            '<Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>'
            % (NAMESPACE, error.error_type, escape(error.code), escape(error.message), request_id)).encode('utf-8')


def request_id():
    return str(uuid.uuid4())


def job_view(job, now):
    """Location/progress of a job at service time ``now``."""
    view = {'location': 'NotReceived', 'progress': 'Pending', 'carrier': None, 'tracking': None,
            'log_bucket': None, 'log_key': None, 'error_count': 0}
    if job['canceled'] is not None:
        view['progress'] = 'Canceled'
    elif job['received'] is not None:
        for when, location, progress in job['events']:
            if when <= now:
                view['location'], view['progress'] = location, progress
        if view['progress'] in ('Complete', 'SuccessWithErrors'):
            view.update(log_bucket=job['log_bucket'], log_key=job['log_key'], error_count=job['error_count'] or 0)
        if view['location'] == 'Returned':
            view.update(carrier=job['carrier'], tracking=job['tracking'])
    elif now >= job['created'] + EXPIRY_SECONDS:
        view['progress'] = 'Expired'
    view['location_message'] = LOCATION_MESSAGES.get(view['location'], '').format(
        carrier=view['carrier'], tracking=view['tracking'])
    view['progress_message'] = PROGRESS_MESSAGES.get(view['progress'], view['progress']).format(
        log_key=view['log_key'], log_bucket=view['log_bucket'], errors=view['error_count'])
    return view


class Service:
    """Holds the store, clock and S3 settings; ``call(action, params, account)`` -> result pairs."""

    def __init__(self, store, clock, s3_endpoint, state_dir, base_url=''):
        self.store = store
        self.clock = clock
        self.s3_endpoint = s3_endpoint
        self.state_dir = state_dir
        self.base_url = base_url.rstrip('/')
        self.daily_quota = DAILY_QUOTA
        self.labels_dir = os.path.join(state_dir, 'labels')
        os.makedirs(self.labels_dir, exist_ok=True)

    # ------------------------------------------------------------ helpers
    def s3_client(self, account):
        return s3.client(self.s3_endpoint, account, self.store.secret_of(account) or 'unused')

    @staticmethod
    def _required(params, name, code='MissingParameterException'):
        value = params.get(name)
        if value is None or value == '':
            raise ApiError(code, 'The request must contain the parameter %s' % name)
        return value

    @staticmethod
    def _bool(params, name, default=False):
        value = params.get(name)
        if value is None or value == '':
            return default
        if value.lower() in ('true', 'false'):
            return value.lower() == 'true'
        raise ApiError('InvalidParameterException', 'Value %r for parameter %s is invalid: use true or false' % (value, name))

    @staticmethod
    def _check_api_version(params):
        value = params.get('APIVersion')
        if value not in (None, '') and not _APIVERSION_RE.match(value):
            raise ApiError('InvalidVersionException', 'The client tool version %r is invalid' % value)

    def _job_type(self, params):
        value = self._required(params, 'JobType')
        if value not in JOB_TYPES:
            raise ApiError('InvalidParameterException', 'Value %r for parameter JobType is invalid: use Import or Export' % value)
        return value

    def _own_job(self, params, account, name='JobId', value=None):
        raw = value if value is not None else self._required(params, name)
        try:
            job_id = signing.normalize_job_id(raw)
        except signing.InvalidJobId:
            raise ApiError('InvalidJobIdException', 'No such job %s for your account' % raw) from None
        job = self.store.get(job_id)
        if job is None or job['account'] != account:
            raise ApiError('InvalidJobIdException', 'No such job %s for your account' % job_id)
        return job

    def _usable_job(self, job, now):
        if job['canceled'] is not None:
            raise ApiError('CanceledJobIdException', 'The job %s has been canceled and is no longer valid' % job['job_id'])
        if job['received'] is None and now >= job['created'] + EXPIRY_SECONDS:
            raise ApiError('ExpiredJobIdException', 'The job %s has expired' % job['job_id'])

    def _check_manifest(self, text, job_type, account):
        manifest, kind = validation.validate(text, job_type)
        if str(manifest.get('accessKeyId', '')).strip() != account:
            raise ApiError('InvalidAccessKeyIdException', 'The accessKeyId in the manifest (%s) is not the access key that '
                           'signed this request' % manifest.get('accessKeyId'))
        names = validation.buckets_of(manifest, job_type, kind)
        if names:
            s3.check_buckets(self.s3_client(account), names)
        return manifest, kind, self._warnings(manifest, names)

    @staticmethod
    def _warnings(manifest, buckets):
        warnings = []
        for name in buckets:
            if not re.match(r'^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$', name) or '..' in name:
                warnings.append('The bucket name %s is not DNS-compatible; some Amazon S3 features will not work with it.' % name)
        if manifest.get('eraseDevice') is True:  # the manifest as the schema reads it: yes/true only
            warnings.append('**** Device will be erased before being returned. ****')
        return ' '.join(warnings) or None

    def _artifacts(self, job_id, kind):
        if kind == 's3':
            return []
        path = self._write_pdf('barcode-%s' % job_id, [
            ('AWS Import/Export - %s import' % kind.upper() if kind == 'ebs' else 'AWS Import/Export - Glacier import', 16),
            'Job ID: %s' % job_id,
            'Print this page and tape it to your device; it replaces the SIGNATURE file.',
            'Barcode: *%s*' % job_id,
        ])
        return [[('Description', 'Barcode and shipping instructions'), ('URL', path)]]

    def _write_pdf(self, name, lines):
        token = secrets.token_hex(12)
        filename = '%s-%s.pdf' % (name, token)
        data = pdf.text_pdf(lines)
        tmp = os.path.join(self.labels_dir, '.%s.tmp' % filename)
        with open(tmp, 'wb') as handle:
            handle.write(data)
        os.replace(tmp, os.path.join(self.labels_dir, filename))
        return '%s/labels/%s' % (self.base_url, filename)

    def _signature(self, job):
        secret = self.store.secret_of(job['account'])
        sig = signing.compute_signature(secret, job['job_id'], job['manifest'])
        return sig, signing.render_signature_file(job['job_id'], sig, '2.0').decode('utf-8')

    # ------------------------------------------------------------ actions
    def call(self, action, params, account):
        handler = getattr(self, 'do_' + action)
        self._check_api_version(params)
        return handler(params, account)

    def do_CreateJob(self, params, account):  # pylint: disable=invalid-name
        job_type = self._job_type(params)
        text = self._required(params, 'Manifest')
        validate_only = self._bool(params, 'ValidateOnly')
        manifest, kind, warning = self._check_manifest(text, job_type, account)
        del manifest
        if validate_only:
            return [('JobType', job_type), ('WarningMessage', warning)]
        now = self.clock.now()
        day_start = (now // DAY) * DAY
        job_id = self.store.create(account, job_type, kind, text.encode('utf-8'), now, day_start, self.daily_quota)
        if job_id is None:
            raise ApiError('CreateJobQuotaExceededException', 'You have exceeded the quota of %d CreateJob requests per day; '
                           'try again tomorrow' % self.daily_quota)
        job = self.store.get(job_id)
        pairs = [('JobId', job_id), ('JobType', job_type)]
        if kind == 's3':
            sig, contents = self._signature(job)
            pairs += [('Signature', sig), ('SignatureFileContents', contents)]
        pairs += [('WarningMessage', warning), ('ArtifactList', self._artifacts(job_id, kind))]
        return pairs

    def do_UpdateJob(self, params, account):  # pylint: disable=invalid-name
        job = self._own_job(params, account)
        text = self._required(params, 'Manifest')
        job_type = self._job_type(params)
        validate_only = self._bool(params, 'ValidateOnly')
        now = self.clock.now()
        self._usable_job(job, now)
        if job['received'] is not None:
            raise ApiError('UnableToUpdateJobIdException', 'The job %s can no longer be updated: its device has arrived' % job['job_id'])
        _manifest, kind, warning = self._check_manifest(text, job_type, account)
        if not validate_only:
            changed = self.store.update_fields(job['job_id'], 'received IS NULL AND canceled IS NULL',
                                               manifest=text.encode('utf-8'), job_type=job_type, kind=kind)
            if not changed:
                raise ApiError('UnableToUpdateJobIdException', 'The job %s can no longer be updated' % job['job_id'])
        return [('Success', True), ('WarningMessage', warning), ('ArtifactList', self._artifacts(job['job_id'], kind))]

    def do_CancelJob(self, params, account):  # pylint: disable=invalid-name
        job = self._own_job(params, account)
        now = self.clock.now()
        self._usable_job(job, now)
        if job['received'] is not None:
            raise ApiError('UnableToCancelJobIdException', 'The job %s can no longer be canceled: its device has arrived' % job['job_id'])
        if not self.store.update_fields(job['job_id'], 'received IS NULL AND canceled IS NULL', canceled=now):
            raise ApiError('UnableToCancelJobIdException', 'The job %s can no longer be canceled' % job['job_id'])
        return [('Success', True)]

    def do_GetStatus(self, params, account):  # pylint: disable=invalid-name
        job = self._own_job(params, account)
        view = job_view(job, self.clock.now())
        pairs = [('JobId', job['job_id']), ('JobType', job['job_type']),
                 ('LocationCode', view['location']), ('LocationMessage', view['location_message']),
                 ('ProgressCode', view['progress']), ('ProgressMessage', view['progress_message']),
                 ('Carrier', view['carrier']), ('TrackingNumber', view['tracking']),
                 ('LogBucket', view['log_bucket']), ('LogKey', view['log_key']), ('ErrorCount', view['error_count'])]
        if job['kind'] == 's3':
            sig, contents = self._signature(job)
            pairs += [('Signature', sig), ('SignatureFileContents', contents)]
        pairs += [('CurrentManifest', job['manifest'].decode('utf-8')), ('CreationDate', iso(job['created'])),
                  ('ArtifactList', [])]
        return pairs

    def do_ListJobs(self, params, account):  # pylint: disable=invalid-name
        raw = params.get('MaxJobs')
        limit = 1000
        if raw not in (None, ''):
            try:
                limit = int(raw)
            except ValueError:
                raise ApiError('InvalidParameterException', 'Value %r for parameter MaxJobs is invalid: use a whole number '
                               'from 0 to 1000' % raw) from None
            if not 0 <= limit <= 1000:
                raise ApiError('InvalidParameterException', 'Value %r for parameter MaxJobs is invalid: use a whole number '
                               'from 0 to 1000' % raw)
            limit = limit or 1000
        after = None
        marker = params.get('Marker')
        if marker:
            try:
                marker_job = self._own_job(params, account, value=marker)
            except ApiError:
                raise ApiError('InvalidParameterException', 'Value %r for parameter Marker is not one of your job ids' % marker) from None
            after = (marker_job['created'], marker_job['seq'])
        jobs, truncated = self.store.list_jobs(account, after, limit)
        members = [[('JobId', j['job_id']), ('CreationDate', iso(j['created'])), ('IsCanceled', j['canceled'] is not None),
                    ('JobType', j['job_type'])] for j in jobs]
        return [('Jobs', members), ('IsTruncated', truncated)]

    def do_GetShippingLabel(self, params, account):  # pylint: disable=invalid-name
        numbered = sorted((int(m.group(1)), v) for k, v in params.items() for m in [_MEMBER_RE.match(k)] if m)
        if not numbered:
            raise ApiError('MissingParameterException', 'The request must contain the parameter jobIds')
        now = self.clock.now()
        jobs = []
        for _number, value in numbered:
            job = self._own_job(params, account, value=value)
            self._usable_job(job, now)
            jobs.append(job)
        address = {k: params.get(k) for k in mlib.ADDRESS_FIELDS if params.get(k)}
        warning = None
        if not address:
            try:
                given = mlib.parse_manifest(jobs[0]['manifest']).get('returnAddress') or {}
            except mlib.ManifestError:
                given = {}
            address = {k: str(given[k]) for k in mlib.ADDRESS_FIELDS if given.get(k) not in (None, '')}
            warning = 'No address given: the label uses the returnAddress of job %s.' % jobs[0]['job_id']
        for field in mlib.ADDRESS_REQUIRED:
            if not address.get(field):
                raise ApiError('InvalidAddressException', 'The address is invalid: %s is required' % field)
        for field, message, _code in manifest_rules.address_rules(address, address, ''):
            # the manifest's returnAddress rules: state/province for USA and Canada, ZIP/postal code, phone, no PO box
            raise ApiError('InvalidAddressException', 'The address is invalid: %s %s' % (field, message))
        ids = [j['job_id'] for j in jobs]
        tracking = '1Z' + ''.join(secrets.choice('0123456789ABCDEFGHJKLMNPQRSTUVWXYZ') for dummy in range(16))
        lines = [('UPS pre-paid shipping label', 18), ('AWS Import/Export', 14), '',
                 'Job IDs: %s' % ', '.join(ids), 'Tracking number: %s' % tracking, '', ('Ship from:', 13)]
        lines += [str(address[k]) for k in mlib.ADDRESS_FIELDS if address.get(k)]
        lines += ['', ('Ship to:', 13)] + [line.format(job_id=', '.join(ids)) for line in AWS_ADDRESS]
        # One label for a whole fleet: 50 job ids in the file name were longer than a file name may be.
        url = self._write_pdf('shipping-label-%s' % ('-'.join(ids) if len(ids) <= 4 else '%s-and-%d-more' % (ids[0], len(ids) - 1)),
                              lines)
        return [('ShippingLabelURL', url), ('Warning', warning)]
