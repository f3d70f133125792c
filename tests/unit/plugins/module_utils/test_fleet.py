"""The fleet view (module_utils/fleet.py) without a network: days left, stages, alerts, moved, state, naming."""
import datetime
import json
import os

import pytest

from ansible_collections.awsie.importexport.plugins.module_utils import fleet
from ansible_collections.awsie.importexport.plugins.module_utils.jobs import quick_device_id

NOW = datetime.datetime(2026, 11, 23, 12, 0, 0, tzinfo=datetime.timezone.utc)


def ago(days):
    return fleet.iso(NOW - datetime.timedelta(days=days))


def status(job_id, progress='Pending', location='NotReceived', created_days_ago=1, **extra):
    job = dict(job_id=job_id, job_type='Import', progress_code=progress, location_code=location,
               progress_message='%s message' % progress, creation_date=ago(created_days_ago), tracking_number=None,
               terminal=progress not in ('Pending', 'InProgress'))
    job.update(extra)
    return job


def report(jobs, **kw):
    kw.setdefault('now', NOW)
    return fleet.fleet_report({'jobs': jobs}, **kw)


# ---------------------------------------------------------------- expiry

@pytest.mark.parametrize('created, left', [(0, 30), (1, 29), (25, 5), (25.01, 4), (29.99, 0), (31, 0), (10.25, 19)])
def test_days_left_count_down_from_creation_to_the_30_day_expiry(created, left):
    expires, days = fleet.expiry(status('AAAAA', created_days_ago=created), NOW)
    assert int(days) == left and days == pytest.approx(max(0.0, 30 - created))
    assert report([status('AAAAA', created_days_ago=created)])['rows'][0]['days_left'] == left
    assert expires == fleet.iso(NOW - datetime.timedelta(days=created) + datetime.timedelta(days=30))


@pytest.mark.parametrize('progress, location', [('Pending', 'AtAWS'), ('InProgress', 'AtAWS'), ('Complete', 'Returned'),
                                                ('Expired', 'NotReceived'), ('Canceled', 'NotReceived')])
def test_no_days_left_once_the_device_arrived_or_the_job_is_over(progress, location):
    assert fleet.expiry(status('AAAAA', progress, location), NOW) == (None, None)


def test_no_days_left_without_a_readable_creation_date():
    assert fleet.expiry(status('AAAAA', creation_date='yesterday'), NOW) == (None, None)


# ---------------------------------------------------------------- stages

@pytest.mark.parametrize('progress, location, expected', [
    ('Pending', 'NotReceived', ('created', 20, False)),
    ('Pending', 'AtAWS', ('received', 40, False)),
    ('InProgress', 'AtAWS', ('loading', 60, False)),
    ('Complete', 'AtAWS', ('loaded', 80, False)),
    ('SuccessWithErrors', 'AtAWS', ('loaded', 80, False)),
    ('Complete', 'Returned', ('returned', 100, False)),
    ('InvalidSignature', 'AtAWS', ('received', 40, True)),
    ('DeviceError', 'Returned', ('returned', 100, True)),
    ('Expired', 'NotReceived', ('created', 0, True)),
    ('SomethingNew', 'AtAWS', ('received', 40, True)),
])
def test_stage_and_percent_for_the_progress_bar(progress, location, expected):
    assert fleet.stage(dict(progress_code=progress, location_code=location)) == expected


# ---------------------------------------------------------------- alerts

def test_default_alerts_are_signature_device_expired_and_expiring_soon_in_one_message():
    jobs = [status('AAAAA', 'InvalidSignature', 'AtAWS'), status('AAAAB', 'MissingSignature', 'AtAWS'),
            status('AAAAC', 'DeviceError', 'AtAWS'), status('AAAAD', 'Expired', created_days_ago=31),
            status('AAAAE', created_days_ago=26), status('AAAAF', created_days_ago=24.9),
            status('AAAAG', 'Complete', 'Returned'), status('AAAAH', 'MissingDevice', 'AtAWS'),
            status('AAAAI', 'Canceled')]
    out = report(jobs, known=[dict(job_id='AAAAA', host='h1', drive='d1')])
    assert [(a['job_id'], a['code']) for a in out['alerts']] == [
        ('AAAAA', 'InvalidSignature'), ('AAAAB', 'MissingSignature'), ('AAAAC', 'DeviceError'), ('AAAAD', 'Expired'),
        ('AAAAE', 'ExpiringSoon')]
    # MissingDevice needs action but is not a default alert; Canceled and Complete need nothing.
    assert [(n['job_id'], n['code']) for n in out['needing_action']][-1] == ('AAAAH', 'MissingDevice')
    message = out['alert_message']
    assert message.startswith('5 job(s) in an alert state: ')
    assert 'AAAAA (h1/d1): InvalidSignature' in message and 'AAAAE: ExpiringSoon (still NotReceived, 4 day(s) left' in message
    assert message.count(';') == 4
    assert out['summary']['alerts'] == 5 and out['summary']['alert_codes'] == [
        'DeviceError', 'Expired', 'ExpiringSoon', 'InvalidSignature', 'MissingSignature']


def test_the_user_chooses_the_alert_codes_and_the_warning_days():
    jobs = [status('AAAAA', 'InvalidSignature', 'AtAWS'), status('AAAAB', created_days_ago=20),
            status('AAAAC', 'SuccessWithErrors', 'AtAWS')]
    out = report(jobs, alert_codes=['ExpiringSoon', 'SuccessWithErrors'], expiry_warning_days=10)
    assert [(a['job_id'], a['code']) for a in out['alerts']] == [('AAAAB', 'ExpiringSoon'), ('AAAAC', 'SuccessWithErrors')]
    assert report(jobs, alert_codes=[])['alerts'] == [] and report(jobs, alert_codes=[])['alert_message'] == ''


def test_reconcile_counts_go_to_rows_and_summary_and_files_not_verified_need_action():
    jobs = [status('AAAAA', 'Complete', 'AtAWS', log_bucket='logs', log_key='k'), status('AAAAB', 'Complete', 'AtAWS'),
            status('AAAAC', 'SuccessWithErrors', 'AtAWS')]
    result = dict(counts=dict(verified=10, missing=1, different=0, failed=1, ignored=1, unexpected=0, total=13),
                  all_verified=False, reship_count=2, reship_dest='/x/AAAAA.reship.jsonl', log='s3://logs/k')
    out = report(jobs, reconciled={'AAAAA': result, 'AAAAB': dict(counts=dict(verified=5, total=5)),
                                   'AAAAC': dict(failed=True, msg='no boto3')},
                 alert_codes=['FilesMissing'])
    rows = {r['job_id']: r for r in out['rows']}
    assert rows['AAAAA']['reconcile'] == dict(verified=10, missing=1, different=0, failed=1, ignored=1, total=13,
                                              not_verified=2, reship_count=2, reship_dest='/x/AAAAA.reship.jsonl',
                                              log='s3://logs/k')
    assert rows['AAAAC']['reconcile'] == dict(error='no boto3')
    assert out['summary']['reconciled'] == dict(jobs=2, verified=15, missing=1, different=0, failed=1, not_verified=2)
    assert [(a['job_id'], a['code']) for a in out['alerts']] == [('AAAAA', 'FilesMissing')]
    assert ('AAAAC', 'ReconcileError') in [(n['job_id'], n['code']) for n in out['needing_action']]
    assert 'missing 1, different 0, failed 1' in out['alert_message']


def test_loaded_jobs_with_a_ledger_are_reconciled_once(tmp_path):
    (tmp_path / 'station1-usb1.ledger.jsonl').write_text('{}\n')
    (tmp_path / 'other.ledger.jsonl').write_text('{}\n')
    (tmp_path / 'm').mkdir()
    (tmp_path / 'm' / 'station2-usb2.ledger.jsonl').write_text('{}\n')
    jobs = [status('AAAAA', 'Complete', 'Returned', log_bucket='logs', log_key='import-log-AAAAA'),
            status('AAAAB', 'SuccessWithErrors', 'AtAWS', log_bucket='logs', log_key='import-log-AAAAB'),
            status('AAAAC', 'Complete', 'AtAWS', log_bucket='logs', log_key='import-log-AAAAC'),
            status('AAAAD', 'InProgress', 'AtAWS'), status('AAAAE', 'Complete', 'AtAWS', log_key='k')]
    known = [dict(job_id='AAAAA', host='station1', drive='usb1'),
             dict(job_id='AAAAB', host='station2', drive='usb2', manifest=str(tmp_path / 'm' / 'station2-usb2.yml')),
             dict(job_id='AAAAC', host='h', drive='d', ledger=str(tmp_path / 'other.ledger.jsonl')),
             dict(job_id='AAAAD', host='station1', drive='usb1'), dict(job_id='AAAAE', host='nobody', drive='x')]
    out = report(jobs, known=known, ledger_dirs=[str(tmp_path)])
    assert [(t['job_id'], os.path.relpath(t['ledger'], str(tmp_path)), t['log_key']) for t in out['reconcile_targets']] == [
        ('AAAAA', 'station1-usb1.ledger.jsonl', 'import-log-AAAAA'),
        ('AAAAB', 'm/station2-usb2.ledger.jsonl', 'import-log-AAAAB'),
        ('AAAAC', 'other.ledger.jsonl', 'import-log-AAAAC')]
    assert all('ledger' not in r and 'manifest' not in r for r in out['rows'])
    done = report(jobs, known=known, ledger_dirs=[str(tmp_path)],
                  reconciled={'AAAAA': dict(counts=dict(verified=3, total=3))})
    later = fleet.fleet_report({'jobs': jobs}, known=known, ledger_dirs=[str(tmp_path)], previous=done['state'],
                               now=NOW + datetime.timedelta(hours=1))
    assert [t['job_id'] for t in later['reconcile_targets']] == ['AAAAB', 'AAAAC']  # AAAAA's result is kept
    assert {r['job_id']: r.get('reconcile', {}).get('verified') for r in later['rows']}['AAAAA'] == 3


# ---------------------------------------------------------------- problems

def test_unknown_job_ids_are_problems_with_one_message_and_expired_or_canceled_errors_are_codes():
    poll = {'jobs': [status('AAAAA'),
                     dict(job_id='ZZZZZ', error=dict(code='InvalidJobIdException', message='No such job ZZZZZ')),
                     dict(job_id='AAAAB', error=dict(code='ExpiredJobIdException', message='expired')),
                     dict(job_id='AAAAC', error=dict(code='CanceledJobIdException', message='canceled'))]}
    out = fleet.fleet_report(poll, known=[dict(job_id='ZZZZZ', host='h2', drive='d9')], now=NOW)
    assert [p['job_id'] for p in out['problems']] == ['ZZZZZ']
    assert 'InvalidJobIdException for 1 job(s): ZZZZZ (h2/d9)' in out['problem_message']
    assert 'correct or remove them in job_status_jobs' in out['problem_message']
    assert 'Nothing was written' in out['problem_message']
    codes = {r['job_id']: r['progress_code'] for r in out['rows']}
    assert codes == {'AAAAA': 'Pending', 'AAAAB': 'Expired', 'AAAAC': 'Canceled'}


def test_refused_credentials_say_which_variables_to_check():
    poll = [dict(job_id=j, error=dict(code='InvalidAccessKeyId', message='The AWS Access Key Id you provided does not exist'))
            for j in ('AAAAA', 'AAAAB')]
    message = fleet.fleet_report(poll, now=NOW)['problem_message']
    assert 'InvalidAccessKeyId for 2 job(s): AAAAA, AAAAB' in message and 'job_status_access_key' in message


def test_a_result_that_is_not_a_poll_is_refused():
    with pytest.raises(fleet.FleetError, match='ie_job_status'):
        fleet.fleet_report('nonsense', now=NOW)


# ---------------------------------------------------------------- moved and last change

def test_first_run_then_moved_since_and_last_change_carried_over():
    first = report([status('AAAAA', created_days_ago=2), status('AAAAB', 'InProgress', 'AtAWS')])
    assert first['first_run'] and first['moved'] == []
    rows = {r['job_id']: r for r in first['rows']}
    assert rows['AAAAA']['changed_at'] == ago(2) and rows['AAAAA']['changed_at_exact']  # nothing since creation
    assert rows['AAAAB']['changed_at'] == fleet.iso(NOW) and not rows['AAAAB']['changed_at_exact']  # first seen

    later = NOW + datetime.timedelta(hours=1)
    second = fleet.fleet_report({'jobs': [status('AAAAA', 'Pending', 'AtAWS', created_days_ago=2),
                                          status('AAAAB', 'InProgress', 'AtAWS'), status('AAAAC')]},
                                previous=first['state'], now=later)
    assert not second['first_run'] and second['previous_polled_at'] == fleet.iso(NOW)
    assert [(m['job_id'], m['new'], m['before'], m['after']) for m in second['moved']] == [
        ('AAAAA', False, {'location_code': 'NotReceived', 'progress_code': 'Pending'},
         {'location_code': 'AtAWS', 'progress_code': 'Pending'}),
        ('AAAAC', True, {'location_code': None, 'progress_code': None},
         {'location_code': 'NotReceived', 'progress_code': 'Pending'})]
    rows = {r['job_id']: r for r in second['rows']}
    assert rows['AAAAA']['changed_at'] == fleet.iso(later) and rows['AAAAA']['changed_at_exact']
    assert rows['AAAAB']['changed_at'] == fleet.iso(NOW) and not rows['AAAAB']['changed_at_exact']  # carried over
    assert second['summary']['moved'] == 2


def test_saved_polls_in_every_form_and_the_newest_wins():
    current = {'jobs': [status('AAAAA', 'InProgress', 'AtAWS')]}
    legacy_list = [dict(job_id='AAAAA', progress_code='Pending', location_code='NotReceived')]
    old = dict(version=1, polled_at=ago(2), jobs=[dict(job_id='AAAAA', progress_code='Pending', location_code='AtAWS')])
    new = dict(version=1, polled_at=ago(1), jobs=[dict(job_id='AAAAA', progress_code='InProgress', location_code='AtAWS')])
    assert fleet.newest_state(None, json.dumps(old), new, legacy_list)['polled_at'] == ago(1)
    assert fleet.newest_state(json.dumps(legacy_list), '', None)['version'] == 0
    assert fleet.newest_state('{not json', None) is None
    assert fleet.fleet_report(current, previous=legacy_list, now=NOW)['moved'][0]['before']['progress_code'] == 'Pending'
    assert fleet.fleet_report(current, previous=new, now=NOW)['moved'] == []
    with pytest.raises(fleet.FleetError, match='remove it'):
        fleet.load_state('{not json')


def test_the_state_keeps_codes_names_and_last_change_only():
    out = report([status('AAAAA', tracking_number='1Z999', device_id='WD-1')], known=[dict(job_id='aaaaa', host='h', drive='d')])
    assert out['state']['version'] == fleet.STATE_VERSION and out['state']['polled_at'] == fleet.iso(NOW)
    assert out['state']['jobs'] == [dict(job_id='AAAAA', location_code='NotReceived', progress_code='Pending',
                                         changed_at=ago(1), changed_at_exact=True, host='h', drive='d', device_id='WD-1')]


# ---------------------------------------------------------------- naming and discovery

def test_names_from_the_listed_jobs_then_job_sheets_by_job_then_by_device_then_the_manifest(tmp_path):
    sheet = tmp_path / 'station2-jobs.json'
    sheet.write_text(json.dumps([dict(host='station2', drive='d2', device_id='WD-2', job_id='AAAAB'),
                                 dict(host='station3', drive='d3', device_id='WD-3', job_id='OLD11')]))
    fleet_sheet = tmp_path / 'fleet-jobs.json'
    fleet_sheet.write_text(json.dumps({'jobs': [dict(host='station4', drive='d4', deviceId='WD-4')]}))
    broken = tmp_path / 'broken-jobs.json'
    broken.write_text('{')
    rows, warnings = fleet.read_job_sheets([str(sheet), str(fleet_sheet), str(broken), str(tmp_path / 'none.json')])
    assert len(rows) == 3
    assert warnings == ['job sheet %s was not read (not JSON)' % broken,
                        'job sheet %s was not read (No such file or directory)' % (tmp_path / 'none.json')]
    jobs = [status('AAAAA', device_id='WD-1'), status('AAAAB', device_id='WD-2'), status('AAAAC', device_id='WD-3'),
            status('AAAAD', device_id='WD-4'), status('AAAAE', device_id='WD-5')]
    out = report(jobs, known=[dict(job_id='AAAAA', host='station1', drive='d1')], sheet_rows=rows)
    assert [(r['job_id'], r['host'], r['drive'], r['device_id']) for r in out['rows']] == [
        ('AAAAA', 'station1', 'd1', 'WD-1'), ('AAAAB', 'station2', 'd2', 'WD-2'),
        ('AAAAC', 'station3', 'd3', 'WD-3'),  # new job for the same drive: named by deviceId
        ('AAAAD', 'station4', 'd4', 'WD-4'), ('AAAAE', None, None, 'WD-5')]


def test_discovery_polls_live_jobs_and_once_more_the_ones_alive_last_time():
    info = {'jobs': [
        dict(job_id='AAAAA', is_canceled=False, status=dict(progress_code='Pending')),
        dict(job_id='AAAAB', is_canceled=False, status=dict(progress_code='Expired')),
        dict(job_id='AAAAC', is_canceled=True, status=dict(progress_code='Canceled')),
        dict(job_id='AAAAD', is_canceled=False, status=dict(progress_code='Expired')),
        dict(job_id='AAAAE', is_canceled=False, status=dict(error=dict(code='InternalError'))),
        dict(job_id='AAAAF', is_canceled=False, status=dict(progress_code='Complete'))]}
    saved = dict(version=1, polled_at=ago(1), jobs=[
        dict(job_id='AAAAB', progress_code='Pending'),  # expired since: once more
        dict(job_id='AAAAD', progress_code='Expired'),  # already reported
        dict(job_id='OLD11', progress_code='InProgress')])  # created before the listing window
    assert fleet.discover(info, saved) == ['AAAAA', 'AAAAF', 'AAAAB', 'OLD11']
    assert fleet.discover(info) == ['AAAAA', 'AAAAF']


def test_quick_device_id_reads_the_rendered_line_and_parses_anything_else():
    assert quick_device_id('manifestVersion: 2.0\ndeviceId: WD-WCC4N1\nbucket: b\n') == 'WD-WCC4N1'
    assert quick_device_id('deviceId: "0012"\n') == '0012'
    assert quick_device_id("deviceId: 'A B'\n") == 'A B'
    assert quick_device_id('deviceId: X1 # note\n') == 'X1'
    assert quick_device_id(None) is None and quick_device_id('') is None
    assert quick_device_id('bucket: b\n') is None


def test_nothing_new_keeps_the_saved_poll_and_the_view_so_the_reports_do_not_change():
    jobs = [status('AAAAA', created_days_ago=2.5), status('AAAAB', 'InProgress', 'AtAWS')]
    first = report(jobs)
    assert first['changed'] and first['view'] == dict(polled_at=fleet.iso(NOW), previous_polled_at=None,
                                                      first_run=True, moved=[])
    hour = NOW + datetime.timedelta(hours=1)
    again = fleet.fleet_report({'jobs': jobs}, previous=json.loads(json.dumps(first['state'])), now=hour)
    assert not again['changed'] and again['state'] == first['state'] and again['view'] == first['view']
    assert again['summary']['polled_at'] == fleet.iso(hour) and again['summary']['last_change_at'] == fleet.iso(NOW)

    moved = [status('AAAAA', 'Pending', 'AtAWS', created_days_ago=2.5), jobs[1]]
    third = fleet.fleet_report({'jobs': moved}, previous=again['state'], now=hour)
    assert third['changed'] and third['view']['previous_polled_at'] == fleet.iso(NOW)
    assert [m['job_id'] for m in third['view']['moved']] == ['AAAAA'] and not third['view']['first_run']

    # a day later the days left of a job still waiting for its device change: the reports are rewritten
    day = NOW + datetime.timedelta(days=1)
    assert fleet.fleet_report({'jobs': jobs}, previous=first['state'], now=day)['changed']
