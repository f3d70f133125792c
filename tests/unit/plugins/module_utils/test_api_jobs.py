"""Job rules without a network: polling, waiting, what moved, listing filters, canonical comparison."""
import threading
import time

import pytest

from ansible_collections.awsie.importexport.plugins.module_utils import api, jobs


class FakeClient:
    """GetStatus answers from a dict of job id -> list of successive progress codes."""

    def __init__(self, codes, delay=0.0, errors=None):
        self.codes = {k: list(v) for k, v in codes.items()}
        self.delay = delay
        self.errors = errors or {}
        self.calls = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()

    def get_status(self, job_id):
        with self.lock:
            self.calls.append(job_id)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(self.delay)
            if job_id in self.errors:
                raise api.error_class(self.errors[job_id])('nope', code=self.errors[job_id], status=400)
            seq = self.codes[job_id]
            code = seq.pop(0) if len(seq) > 1 else seq[0]
            return {'job_id': job_id, 'progress_code': code, 'location_code': 'NotReceived',
                    'current_manifest': 'deviceId: 1\ntrueCryptPassword: s3cret\n'}
        finally:
            with self.lock:
                self.in_flight -= 1


def test_terminal_is_everything_but_pending_and_in_progress_including_unknown_codes():
    assert not jobs.is_terminal('Pending') and not jobs.is_terminal('InProgress')
    for code in ('Complete', 'SuccessWithErrors', 'Canceled', 'Expired', 'DeviceError', 'SomethingNew'):
        assert jobs.is_terminal(code)
    assert not jobs.is_terminal(None)


def test_fetch_statuses_is_concurrent_but_bounded():
    client = FakeClient({'AAAA%s' % c: ['Pending'] for c in 'ABCDEFGHIJKL'}, delay=0.05)
    start = time.monotonic()
    out = jobs.fetch_statuses(client, sorted(client.codes), concurrency=4)
    assert sorted(out) == sorted(client.codes) and client.max_in_flight == 4
    assert time.monotonic() - start < 12 * 0.05  # faster than one by one


def test_errors_are_returned_per_job_not_raised():
    client = FakeClient({'AAAAA': ['Pending'], 'AAAAB': ['Pending']}, errors={'AAAAB': 'InvalidJobIdException'})
    out = jobs.fetch_statuses(client, ['AAAAA', 'AAAAB'], 2)
    assert out['AAAAA']['progress_code'] == 'Pending'
    assert isinstance(out['AAAAB'], api.ServiceError) and out['AAAAB'].code == 'InvalidJobIdException'


def test_waiting_asks_again_only_for_jobs_not_there_yet():
    client = FakeClient({'AAAAA': ['Pending', 'Complete'], 'AAAAB': ['Complete'],
                         'AAAAC': ['Pending', 'InProgress', 'DeviceError']})
    sleeps = []
    results, waited_out, rounds = jobs.wait_for_statuses(
        client, ['AAAAA', 'AAAAB', 'AAAAC'], wait_for=['terminal'], timeout=100, interval=5,
        sleep=sleeps.append)
    assert waited_out == [] and rounds == 3 and sleeps == [5, 5]
    assert {j: r['progress_code'] for j, r in results.items()} == {
        'AAAAA': 'Complete', 'AAAAB': 'Complete', 'AAAAC': 'DeviceError'}
    assert client.calls.count('AAAAB') == 1 and client.calls.count('AAAAA') == 2 and client.calls.count('AAAAC') == 3


def test_waiting_for_given_codes_times_out_and_names_the_jobs():
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds
    client = FakeClient({'AAAAA': ['Pending'], 'AAAAB': ['InProgress']})
    results, waited_out, rounds = jobs.wait_for_statuses(
        client, ['AAAAA', 'AAAAB'], wait_for=['InProgress'], timeout=10, interval=3,
        clock=lambda: now[0], sleep=sleep)
    assert waited_out == ['AAAAA'] and rounds == 4 and now[0] == 9


def test_moved_since_compares_location_and_progress_with_a_registered_result():
    previous = {'changed': False, 'jobs': [
        {'job_id': 'aaaaa', 'location_code': 'NotReceived', 'progress_code': 'Pending'},
        {'job_id': 'AAAAB', 'location_code': 'NotReceived', 'progress_code': 'Pending'}]}
    current = [{'job_id': 'AAAAA', 'location_code': 'AtAWS', 'progress_code': 'InProgress'},
               {'job_id': 'AAAAB', 'location_code': 'NotReceived', 'progress_code': 'Pending'},
               {'job_id': 'AAAAC', 'location_code': 'NotReceived', 'progress_code': 'Pending'}]
    moved = jobs.moved_since(previous, current)
    assert [m['job_id'] for m in moved] == ['AAAAA', 'AAAAC']
    assert moved[0]['before'] == {'location_code': 'NotReceived', 'progress_code': 'Pending'}
    assert moved[0]['after'] == {'location_code': 'AtAWS', 'progress_code': 'InProgress'} and not moved[0]['new']
    assert moved[1]['new']
    assert jobs.moved_since(previous['jobs'], current) == moved


def test_summaries_never_carry_the_manifest():
    entry = jobs.summarize_status('AAAAA', FakeClient({'AAAAA': ['Pending']}).get_status('AAAAA'))
    assert 'current_manifest' not in entry and 's3cret' not in repr(entry)
    assert entry['terminal'] is False and entry['job_id'] == 'AAAAA'


def test_canonical_comparison_ignores_crlf_spacing_and_order_but_not_values():
    a = 'manifestVersion: 2.0\r\ndeviceId: "0012"\r\nbucket: b\r\n'
    b = 'deviceId:   "0012"\nmanifestVersion: 2.0\nbucket: b\n'
    assert jobs.manifest_identity(a) == jobs.manifest_identity(b)
    assert jobs.manifest_identity(a) != jobs.manifest_identity(b.replace('bucket: b', 'bucket: c'))
    assert jobs.device_id_of(a) == '0012' and jobs.device_id_of('not: [yaml') is None


def test_parse_time_accepts_dates_zulu_offsets_and_fractions():
    assert jobs.parse_time('2026-11-01') == jobs.parse_time('2026-11-01T00:00:00Z')
    assert jobs.parse_time('2026-11-01T01:00:00+01:00') == jobs.parse_time('2026-11-01T00:00:00.000Z')
    with pytest.raises(ValueError):
        jobs.parse_time('last tuesday')


class ListingClient:
    def __init__(self, listed):
        self.listed = listed
        self.yielded = 0

    def iter_jobs(self, max_jobs=None, page_size=None):
        for job in self.listed:
            self.yielded += 1
            yield job


def test_listing_filters_and_stops_at_the_first_job_older_than_created_since():
    listed = [dict(job_id='AAAA%s' % c, job_type='Import' if i % 2 else 'Export', is_canceled=i == 1,
                   creation_date='2026-11-%02dT00:00:00Z' % (20 - i)) for i, c in enumerate('ABCDEFGH')]
    client = ListingClient(listed)
    got = jobs.list_jobs(client, created_since='2026-11-16', job_type='Import', canceled=False)
    assert [j['job_id'] for j in got] == ['AAAAD']
    assert client.yielded == 6  # stopped at the first job older than the 16th
    assert [j['job_id'] for j in jobs.list_jobs(ListingClient(listed), max_jobs=2, canceled=True)] == ['AAAAB']
    assert len(jobs.list_jobs(ListingClient(listed), max_jobs=3)) == 3


class AccountClient:
    """ListJobs and GetStatus over a dict of job id -> (device id, manifest, progress code)."""

    def __init__(self, jobs_):
        self.jobs = jobs_
        self.get_status_calls = []

    def iter_jobs(self, max_jobs=None, page_size=None):
        for job_id in sorted(self.jobs, reverse=True):
            yield {'job_id': job_id, 'is_canceled': self.jobs[job_id][2] == 'Canceled', 'job_type': 'Import'}

    def get_status(self, job_id):
        self.get_status_calls.append(job_id)
        device, extra, code = self.jobs[job_id]
        return {'job_id': job_id, 'job_type': 'Import', 'progress_code': code, 'creation_date': job_id,
                'current_manifest': 'deviceId: %s\nbucket: b\n%s' % (device, extra)}


def test_the_lookup_cache_spares_getstatus_of_other_drives_and_is_corrected_by_the_service():
    account = AccountClient({'AAAA%s' % c: ('DEV-%s' % c, '', 'Pending') for c in 'ABCDEFGH'})
    cache = {}
    index = jobs.JobIndex(account, 4, cache).refresh()
    assert len(account.get_status_calls) == 8 and sorted(cache) == sorted(account.jobs)
    assert index.same('DEV-C', jobs.manifest_identity('bucket: b\ndeviceId: DEV-C\n'), 'Import')[0] == 'AAAAC'

    # Next run: only the drive's own job is asked for.
    account.get_status_calls = []
    index = jobs.JobIndex(account, 4, cache).refresh()
    assert account.get_status_calls == []
    assert index.same('DEV-C', jobs.manifest_identity('deviceId: DEV-C\nbucket: b\n'), 'Import')[0] == 'AAAAC'
    assert account.get_status_calls == ['AAAAC']

    # Changed elsewhere: job D now carries drive C's id, E was canceled, a new job J appeared.
    account.jobs['AAAAD'] = ('DEV-C', 'prefix: p/\n', 'Pending')
    account.jobs['AAAAE'] = ('DEV-E', '', 'Canceled')
    account.jobs['AAAAJ'] = ('DEV-J', '', 'Pending')
    account.get_status_calls = []
    index = jobs.JobIndex(account, 4, cache).refresh()
    assert account.get_status_calls == ['AAAAJ'] and 'AAAAE' not in cache
    assert [item[0] for item in index.for_device('DEV-C')] == ['AAAAC']  # the cache still says D is DEV-D
    cache['AAAAD']['device_id'] = 'DEV-C'  # a run that saw D's new manifest would have learnt this
    index = jobs.JobIndex(account, 4, cache).refresh()
    assert [item[0] for item in index.for_device('DEV-C')] == ['AAAAD', 'AAAAC']
    # A cache entry that lies is corrected by the service's answer.
    cache['AAAAF']['device_id'] = 'DEV-X'
    account.jobs['AAAAF'] = ('DEV-F', '', 'Pending')
    index = jobs.JobIndex(account, 4, cache).refresh()
    assert index.for_device('DEV-X') == [] and cache['AAAAF']['device_id'] == 'DEV-F'
