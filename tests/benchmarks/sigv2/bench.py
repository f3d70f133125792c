#!/usr/bin/env python
"""SigV2 benchmark: signing a typical GetStatus request with the collection vs botocore's SigV2Auth.

Both sign the same parameters (Action, Version, JobId; the auth parameters and a fresh
timestamp added by each) for the same key and host, in the same run: botocore with
``SigV2Auth.add_auth`` on one request object, the collection with
``signing.sigv2_sign_params``. The two are measured in alternating batches, in CPU time of
this process (the machines here are shared and noisy), and the best batch of each side
counts. First both sign once with the same timestamp and must give the same signature.

Prints a human report and, last, one JSON line. Target: ratio (collection / botocore) <= 1.0.
``--quick``: fewer batches.
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, REPO)

from tests.collection_path import link_collection  # noqa: E402  pylint: disable=wrong-import-position

link_collection()

from botocore.auth import SigV2Auth  # noqa: E402  pylint: disable=wrong-import-position
from botocore.awsrequest import AWSRequest  # noqa: E402  pylint: disable=wrong-import-position
from botocore.credentials import Credentials  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.awsie.importexport.plugins.module_utils import signing  # noqa: E402  pylint: disable=wrong-import-position

ACCESS_KEY = 'AKIAIOSFODNN7EXAMPLE'
SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
HOST = 'importexport.amazonaws.com'
URL = 'https://%s/' % HOST
PARAMS = {'Action': 'GetStatus', 'Version': '2010-06-01', 'JobId': 'ABCDE'}
TARGET = 1.0


def same_signature():
    """Both sides sign the same request with the same timestamp: the signatures must agree."""
    timestamp = '2026-11-23T12:00:00.000Z'
    request = AWSRequest(method='POST', url=URL, data=dict(PARAMS, Timestamp=timestamp))
    auth = SigV2Auth(Credentials(ACCESS_KEY, SECRET_KEY))
    params = dict(PARAMS, AWSAccessKeyId=ACCESS_KEY, SignatureVersion='2', SignatureMethod='HmacSHA256',
                  Timestamp=timestamp)
    _query, theirs = auth.calc_signature(request, params)
    ours = signing.sigv2_sign_params(PARAMS, ACCESS_KEY, SECRET_KEY, HOST, '/', 'POST', timestamp=timestamp)['Signature']
    return ours == theirs, ours, theirs


def batch(func, number):
    start = time.process_time()
    for _call in range(number):
        func()
    return (time.process_time() - start) / number


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--quick', action='store_true', help='10 batches of each side instead of 40')
    parser.add_argument('--batches', type=int, help='batches of each side (default 40, 10 with --quick)')
    parser.add_argument('--calls', type=int, default=2000, help='signatures per batch (default 2000)')
    args = parser.parse_args()
    batches = args.batches or (10 if args.quick else 40)

    agree, ours, theirs = same_signature()
    auth = SigV2Auth(Credentials(ACCESS_KEY, SECRET_KEY))
    request = AWSRequest(method='POST', url=URL, data=dict(PARAMS))

    def botocore_sign():
        auth.add_auth(request)

    def collection_sign():
        signing.sigv2_sign_params(PARAMS, ACCESS_KEY, SECRET_KEY, HOST, '/', 'POST')

    botocore_sign()
    collection_sign()  # warm-up of both
    theirs_s, ours_s = [], []
    for _batch in range(batches):
        theirs_s.append(batch(botocore_sign, args.calls))
        ours_s.append(batch(collection_sign, args.calls))
    best_theirs, best_ours = min(theirs_s), min(ours_s)
    ratio = best_ours / best_theirs
    report = {
        'benchmark': 'sigv2', 'request': 'GetStatus', 'batches': batches, 'calls_per_batch': args.calls,
        'collection_us': round(best_ours * 1e6, 2), 'botocore_us': round(best_theirs * 1e6, 2),
        'sigv2_ratio': round(ratio, 3), 'target_ratio': TARGET, 'ratio_ok': ratio <= TARGET,
        'same_signature': agree,
    }
    print('SigV2 benchmark: a GetStatus request, %d batches of %d signatures per side (CPU time, best batch)'
          % (batches, args.calls))
    print('  botocore SigV2Auth.add_auth:      %.2f us per signature' % (best_theirs * 1e6))
    print('  collection sigv2_sign_params:     %.2f us per signature' % (best_ours * 1e6))
    print('  ratio collection / botocore:      %.3f (target <= %.1f: %s)' % (ratio, TARGET, 'ok' if ratio <= TARGET else 'MISSED'))
    print('  same signature for the same input: %s%s' % (agree, '' if agree else ' (%s vs %s)' % (ours, theirs)))
    print(json.dumps(report, sort_keys=True))
    return 0 if agree and ratio <= TARGET else 1


if __name__ == '__main__':
    sys.exit(main())
