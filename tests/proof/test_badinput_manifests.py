"""Bad input, part two: every malformed manifest of the corpus through ``ie_manifest`` (and ``ie_job``
with a few), malformed SIGNATURE contents through ``ie_signature``, and bad variables at the two role
entry points (``drive_prepare``, ``job_status``). Same rules and the same single playbook run per
file as tests/proof/test_badinput_modules.py: a clear error naming the field, nothing touched.
"""
import pytest

from tests.manifest_corpus import corpus
from tests.proof.test_badinput_modules import API, KIND_FIGURES, Case, SECRET_KEY, files, judge, params, run_cases, selected_names

SIG = dict(dest='{d}/drive', require_mount=False)
FAST_CORPUS = ('alias-bomb.manifest', 'non-utf8.manifest', 'nul-byte.manifest', 'duplicate-key.manifest', 'comments-only.manifest',
               'customs-bad-deviceType.manifest', 'canada-without-province.manifest')


def corpus_cases():
    found = []
    for name, case in sorted(corpus.cases().items()):
        field = case['path'].rsplit('.', 1)[-1].split('[')[0]
        says = [case['says']] + ([field] if case['path'] != '(manifest)' else [])
        data = corpus.case_bytes(name)
        big = len(data) > 1 << 20
        found.append(Case('ie_manifest src: %s' % name, 'ie_manifest',
                          {'src': '{d}/in.manifest', 'job_type': case['job_type'], 'kind': case['kind'], 'dest': '{d}/out/m.yml'},
                          ['in.manifest', '1 MiB'] if big else says, setup=files({'in.manifest': data}), fast=name in FAST_CORPUS))
    for name in ('duplicate-key.manifest', 'alias-bomb.manifest', 'non-utf8.manifest', 'ten-megabytes.manifest'):
        case = corpus.cases()[name]
        data = corpus.case_bytes(name)
        big = len(data) > 1 << 20
        field = case['path'].rsplit('.', 1)[-1].split('[')[0]
        says = {'duplicate-key.manifest': ['deviceId'], 'non-utf8.manifest': ['UTF-8', 'in.manifest']}.get(name, [field])
        found.append(Case('ie_job manifest_src: %s' % name, 'ie_job', {'manifest_src': '{d}/in.manifest'},
                          ['in.manifest'] if big else says, setup=files({'in.manifest': data})))
        found.append(Case('ie_signature manifest_src: %s' % name, 'ie_signature',
                          dict(SIG, job_id='ABCDE', secret_key=SECRET_KEY, manifest_src='{d}/in.manifest'),
                          ['in.manifest'] if big else ['manifest'], setup=files({'in.manifest': data})))
    return found


GOOD_2_0 = 'version:2.0\nsigningMethod:HmacSHA1\njobId:WXSPP\nsignature:jLbLVp54vBa/vuh/XW1MOMdZUxw=\n'
# Malformed SignatureFileContents: (contents, words the message must hold).
BAD_SIGNATURES = {
    'empty': ('', ['SIGNATURE', 'version', 'signingMethod', 'jobId', 'signature']),
    'only a version': ('version:2.0\n', ['SIGNATURE', 'signingMethod', 'jobId']),
    'no signature line': ('version:2.0\nsigningMethod:HmacSHA1\njobId:WXSPP\n', ['SIGNATURE', 'lacks', 'signature']),
    'no jobId line': ('version:2.0\nsigningMethod:HmacSHA1\nsignature:jLbLVp54vBa/vuh/XW1MOMdZUxw=\n', ['SIGNATURE', 'jobId']),
    'a bad job id': (GOOD_2_0.replace('WXSPP', 'WX/PP'), ['job id', 'WX/PP']),
    'signing method MD5': (GOOD_2_0.replace('HmacSHA1', 'HmacMD5'), ['signingMethod', 'HmacMD5']),
    'a NUL byte in the job id': (GOOD_2_0.replace('WXSPP', 'WX\0PP'), ['job id']),
    'a YAML document': ('manifestVersion: 2.0\nbucket: b\n', ['SIGNATURE', 'manifestVersion']),
    'a line without a colon': (GOOD_2_0 + 'garbage\n', ['SIGNATURE', 'line 5', 'garbage']),
    'a key twice': (GOOD_2_0 + 'jobId:ABCDE\n', ['SIGNATURE', 'jobId', 'twice']),
    'an unknown key': (GOOD_2_0 + 'extra:1\n', ['SIGNATURE', 'extra']),
}


def signature_cases():
    found = []
    for why, (text, says) in sorted(BAD_SIGNATURES.items()):
        found.append(Case('ie_signature signature_file_contents: %s' % why, 'ie_signature', dict(SIG, signature_file_contents=text),
                          says, fast=why in ('no signature line', 'a bad job id')))
    return found


MAIL = {'smtp_host': '127.0.0.1', 'imap_host': '127.0.0.1'}
DRIVE = {'name': 'd1', 'device': '/dev/no-such-drive', 'data_src': '{d}/data', 'manifest': {'bucket': 'my-import-bucket'}}
PREPARE = {'drive_prepare_drives': [DRIVE], 'drive_prepare_endpoint_url': API['endpoint_url'], 'drive_prepare_access_key': API['access_key'],
           'drive_prepare_secret_key': SECRET_KEY, 'drive_prepare_state_dir': '{d}/out/state',
           'drive_prepare_manifest_dir': '{d}/out/manifests', 'drive_prepare_mount_root': '{d}/out/mnt'}
STATUS = {'job_status_jobs': [{'job_id': 'ABCDE'}], 'job_status_endpoint_url': API['endpoint_url'],
          'job_status_access_key': API['access_key'], 'job_status_secret_key': SECRET_KEY, 'job_status_output_dir': '{d}/out/report',
          'job_status_discover': 'never', 'job_status_state_fact': False}


def role_cases():
    found = []

    def prepare(why, changes, says, **kw):
        args = dict(PREPARE, **changes)
        for name in [k for k, v in changes.items() if v is None]:
            del args[name]
        found.append(Case('drive_prepare: %s' % why, 'role:drive_prepare', args, says, **kw))

    def status(why, changes, says, **kw):
        args = dict(STATUS, **changes)
        for name in [k for k, v in changes.items() if v is None]:
            del args[name]
        found.append(Case('job_status: %s' % why, 'role:job_status', args, says, **kw))

    prepare('drives missing (the default: no drive, only the empty job list)', {'drive_prepare_drives': None}, [], fast=True,
            kind='contained', may_change=['out/manifests'])
    prepare('drives a string', {'drive_prepare_drives': '/dev/sdb'}, ['drive_prepare_drives'])
    prepare('drives a list of strings', {'drive_prepare_drives': ['/dev/sdb']}, ['drive_prepare_drives'])
    prepare('job_type not a choice', {'drive_prepare_job_type': 'Upload'}, ['drive_prepare_job_type'], fast=True)
    prepare('kind not a choice', {'drive_prepare_kind': 'ebs'}, ['drive_prepare_kind'])
    prepare('signature not a choice', {'drive_prepare_signature': 'forged'}, ['drive_prepare_signature'])
    prepare('transport not a choice', {'drive_prepare_transport': 'pigeon'}, ['drive_prepare_transport'])
    prepare('free_margin_bytes not a number', {'drive_prepare_free_margin_bytes': 'a little'}, ['drive_prepare_free_margin_bytes'])
    prepare('create_jobs not a boolean', {'drive_prepare_create_jobs': 'perhaps'}, ['drive_prepare_create_jobs'])
    prepare('format not a boolean', {'drive_prepare_format': 'sure'}, ['drive_prepare_format'])
    prepare('manifest_defaults a list', {'drive_prepare_manifest_defaults': ['bucket']}, ['drive_prepare_manifest_defaults'])
    prepare('mail a string', {'drive_prepare_mail': 'smtp://x'}, ['drive_prepare_mail'])
    prepare('load_timeout not a number', {'drive_prepare_load_timeout': 'an hour'}, ['drive_prepare_load_timeout'])
    prepare('a drive without a device', {'drive_prepare_drives': [{'name': 'd1', 'data_src': '{d}/data'}]}, ['device'], fast=True)
    prepare('a drive name with ../', {'drive_prepare_drives': [dict(DRIVE, name='../../outside/x')]}, ['drive_prepare_drives', 'name'])
    prepare('a drive name with a /', {'drive_prepare_drives': [dict(DRIVE, name='a/b')]}, ['drive_prepare_drives', 'name'])
    prepare('a drive named ..', {'drive_prepare_drives': [dict(DRIVE, name='..')]}, ['drive_prepare_drives', 'name'])
    prepare('a drive without a name', {'drive_prepare_drives': [{'device': '/dev/x', 'data_src': '{d}/data'}]}, ['name'])
    prepare('two drives with one name', {'drive_prepare_drives': [DRIVE, dict(DRIVE, device='/dev/other')]}, ['d1'])
    # The role makes its manifest directory (drive_prepare_manifest_dir) before it probes the drives.
    prepare('two drives with one device', {'drive_prepare_drives': [DRIVE, dict(DRIVE, name='d2')]}, ['/dev/no-such-drive'],
            may_change=['out/manifests'])
    prepare('a drive with a device that does not exist', {}, ['/dev/no-such-drive'], may_change=['out/manifests'])
    status('report_path a directory (checked before any request)', {'job_status_report_path': '{d}/data'},
           ['job_status_report_path', 'directory'])
    status('state_path under a file (checked before any request)', {'job_status_state_path': '{d}/good.yml/state.json'},
           ['job_status_state_path', 'good.yml'])
    status('output_dir a file (checked before any request)', {'job_status_output_dir': '{d}/good.yml'}, ['good.yml', 'file'])
    status('html_report_path the state file', {'job_status_html_report_path': '{d}/out/report/s.json',
                                               'job_status_state_path': '{d}/out/report/s.json'}, ['job_status_state_path'])
    status('jobs a string', {'job_status_jobs': 'ABCDE'}, ['job_status_jobs'], fast=True)
    status('jobs a list of strings', {'job_status_jobs': ['ABCDE']}, ['job_status_jobs'])
    status('a job without job_id', {'job_status_jobs': [{'host': 'h1'}]}, ['job_id'])
    status('a bad job id', {'job_status_jobs': [{'job_id': '../x'}]}, ['job id'], fast=True)
    status('discover not a choice', {'job_status_discover': 'sometimes'}, ['job_status_discover'])
    status('discover_days not a number', {'job_status_discover_days': 'ninety'}, ['job_status_discover_days'])
    status('wait not a boolean', {'job_status_wait': 'a bit'}, ['job_status_wait'])
    status('wait_timeout not a number', {'job_status_wait_timeout': 'long'}, ['job_status_wait_timeout'])
    status('poll_interval not a number', {'job_status_poll_interval': 'often'}, ['job_status_poll_interval'])
    status('alert_codes a string', {'job_status_alert_codes': {'a': 1}}, ['job_status_alert_codes'])
    status('transport not a choice', {'job_status_transport': 'fax'}, ['job_status_transport'])
    status('mail a list', {'job_status_mail': ['x']}, ['job_status_mail'])
    status('expiry_warning_days not a number', {'job_status_expiry_warning_days': 'soon'}, ['job_status_expiry_warning_days'])
    return found


CASES = {case.name: case for case in corpus_cases() + signature_cases() + role_cases()}


@pytest.fixture(scope='module')
def results(request, tmp_path_factory):
    return run_cases(CASES, selected_names(request, __name__), str(tmp_path_factory.mktemp('badinput-manifests')))


@pytest.mark.parametrize('name', params(CASES))
def test_bad_manifest_signature_or_role_input(results, name, proof_record):
    case = CASES[name]
    judge(case, results[name])
    proof_record(KIND_FIGURES[case.kind], 1, 'cases')
