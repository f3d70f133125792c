# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The S3 side: a boto3 client on the configured S3 API server (moto's server on loopback).

boto3 is imported on first use so the service starts fast.
"""

import threading

from .errors import ApiError

_LOCK = threading.Lock()
_CLIENTS = {}


def client(endpoint, access_key, secret_key):
    key = (endpoint, access_key)
    with _LOCK:
        found = _CLIENTS.get(key)
        if found is None:
            import boto3  # pylint: disable=import-outside-toplevel
            from botocore.config import Config  # pylint: disable=import-outside-toplevel
            found = boto3.session.Session().client(
                's3', endpoint_url=endpoint, aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                region_name='us-east-1',
                config=Config(s3={'addressing_style': 'path'}, retries={'max_attempts': 3, 'mode': 'standard'},
                              max_pool_connections=32))
            _CLIENTS[key] = found
        return found


def check_buckets(s3, names):
    """NoSuchBucketException / BucketPermissionException / MultipleRegionsException, as CreateJob does."""
    from botocore.exceptions import ClientError, EndpointConnectionError  # pylint: disable=import-outside-toplevel
    regions = {}
    for name in names:
        try:
            s3.head_bucket(Bucket=name)
        except ClientError as exc:
            status = exc.response.get('ResponseMetadata', {}).get('HTTPStatusCode')
            if status == 403:
                raise ApiError('BucketPermissionException', 'You do not have permission to write to bucket %s' % name) from None
            raise ApiError('NoSuchBucketException', 'The specified bucket does not exist: %s' % name) from None
        except EndpointConnectionError:
            raise ApiError('InternalError', 'The S3 storage behind this service is not reachable', status=500) from None
        if len(names) > 1:
            location = s3.get_bucket_location(Bucket=name).get('LocationConstraint') or 'us-east-1'
            regions[name] = location
    if len(set(regions.values())) > 1:
        raise ApiError('MultipleRegionsException', 'The buckets of this job are in more than one region: %s'
                       % ', '.join('%s (%s)' % kv for kv in sorted(regions.items())))
