"""Bad input to every module and role entry point: a clear error naming the problem, nothing touched.

Each case is one task (or one role inclusion) with bad input: wrong types, missing and conflicting
options, ``../`` paths, symbolic links out of the drive, a ``dest`` on the root file system, huge
values, bad job ids, hostile file names in the data. All the cases of a file run in ONE
ansible-playbook run (``ignore_errors`` and ``register`` per case, role inclusions in a
block/rescue), on localhost; each case works in a directory of its own (a data tree, a "drive"
directory, a directory outside it with a file that must never be read or written, a valid
manifest), hashed before and after the run, with /etc/fstab. Then each case is judged on its own
(one parametrized test per case): the task failed, with a message that names the option or field
(words listed per case), no traceback, and its directory byte-for-byte as it was.

The cases chosen for ``make test`` (``fast``) run in a playbook of their own, as only the selected
cases go into the run; ``make proof`` runs them all.
"""
import hashlib
import json
import os
import stat

import pytest
import yaml

from tests.support.playbooks import PlaybookRunner

CLOSED_ENDPOINT = 'http://127.0.0.1:9/'  # nothing listens: a case that reaches the network fails with another message
ACCESS_KEY, SECRET_KEY = 'AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
API = dict(endpoint_url=CLOSED_ENDPOINT, access_key=ACCESS_KEY, secret_key=SECRET_KEY, max_attempts=1, connect_timeout=2)
GOOD_MANIFEST = ('manifestVersion: 2.0\naccessKeyId: AKIAIOSFODNN7EXAMPLE\ndeviceId: DEV001\nbucket: my-import-bucket\n'
                 'eraseDevice: yes\nreturnAddress:\n    name: Joe Random\n    street1: 123 Any Street\n    city: Seattle\n'
                 '    stateOrProvince: WA\n    postalCode: "98104"\n    phoneNumber: 206-555-0100\n    country: USA\n')
ADDRESS = {'name': 'Joe Random', 'street1': '123 Any Street', 'city': 'Seattle', 'stateOrProvince': 'WA',
           'postalCode': '98104', 'phoneNumber': '206-555-0100', 'country': 'USA'}
FIELDS = {'accessKeyId': ACCESS_KEY, 'deviceId': 'DEV001', 'bucket': 'my-import-bucket', 'eraseDevice': True,
          'returnAddress': ADDRESS}
HUGE = 'x' * (2 << 20)
WATCHED = ['/etc/fstab']


class Case:
    """One bad input: a task (``module``: a module name, or ``role:NAME``), words its message must hold."""

    def __init__(self, name, module, args, says, fast=False, setup=None, check=False, kind='refused', may_change=(),
                 absent=(), present=()):
        self.name, self.module, self.args, self.says = name, module, args, says
        self.fast, self.setup, self.check = fast, setup, check
        # refused: the task fails naming the problem, nothing changes. contained: the collection handles
        # the input safely by design (a link replaced, never followed; a name made safe), changing only
        # ``may_change``. finding: the run goes on and reports a finding that names the file, which is
        # not copied (``absent``).
        self.kind, self.may_change, self.absent, self.present = kind, tuple(may_change), tuple(absent), tuple(present)


def fill(value, directory):
    """``value`` with ``{d}`` replaced by the case directory, in strings, lists and dicts."""
    if isinstance(value, str):
        return value.replace('{d}', directory)
    if isinstance(value, list):
        return [fill(v, directory) for v in value]
    if isinstance(value, dict):
        return {fill(k, directory): fill(v, directory) for k, v in value.items()}
    return value


def make_case_dir(directory, setup=None):
    """The files a case could touch: data/, drive/ (a "drive" directory), outside/, good.yml, out/."""
    files = {'data/a.txt': b'alpha\n', 'data/sub/b.txt': b'beta\n', 'drive/keep.txt': b'on the drive\n',
             'outside/precious.txt': b'never read, never written\n', 'good.yml': GOOD_MANIFEST.encode(),
             'out/.keep': b''}
    for rel, data in files.items():
        path = os.path.join(directory, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as handle:
            handle.write(data)
    if setup:
        setup(directory)


def tree_digest(directory):
    """{relative path: (kind, sha256 or link target, mode)} of everything under ``directory`` (links not followed)."""
    found = {}
    for top, dirs, files in os.walk(directory):
        for name in dirs + files:
            path = os.path.join(top, name)
            info = os.lstat(path)
            rel = os.path.relpath(path, directory)
            if stat.S_ISLNK(info.st_mode):
                found[rel] = ('link', os.readlink(path), 0)
            elif stat.S_ISREG(info.st_mode):
                with open(path, 'rb') as handle:
                    found[rel] = ('file', hashlib.sha256(handle.read()).hexdigest(), stat.S_IMODE(info.st_mode))
            else:
                found[rel] = ('dir' if stat.S_ISDIR(info.st_mode) else 'other', '', stat.S_IMODE(info.st_mode))
    return found


def file_digest(path):
    try:
        with open(path, 'rb') as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError as exc:
        return 'unreadable: %s' % exc


def key(index):
    return 'case_%03d' % index


def task_for(case, index, directory):
    args = fill(case.args, directory)
    if case.module.startswith('role:'):
        role = case.module[5:]
        return {'name': 'case %d: %s' % (index, case.name), 'block': [
            {'ansible.builtin.include_role': {'name': 'awsie.importexport.' + role}, 'vars': args},
            {'ansible.builtin.set_fact': {key(index): {'failed': False, 'msg': 'the role ran to its end'}}}],
            'rescue': [{'ansible.builtin.set_fact': {key(index): '{{ ansible_failed_result }}'}}]}
    task = {'name': 'case %d: %s' % (index, case.name), 'awsie.importexport.' + case.module: args,
            'register': key(index), 'ignore_errors': True}
    if case.check:
        task['check_mode'] = True
    return task


def run_cases(cases, names, workdir):
    """Run the ``names`` of ``cases`` in one playbook; returns {name: (result, before, after, watched before/after)}."""
    runner = PlaybookRunner(workdir)
    chosen = [(i, cases[n]) for i, n in enumerate(sorted(cases)) if n in names]
    dirs = {}
    for index, case in chosen:
        directory = os.path.join(workdir, 'cases', key(index))
        make_case_dir(directory, case.setup)
        dirs[case.name] = directory
    before = {case.name: tree_digest(dirs[case.name]) for unused, case in chosen}
    watched = {path: file_digest(path) for path in WATCHED}
    results_file = os.path.join(workdir, 'results.json')
    tasks = [task_for(case, index, dirs[case.name]) for index, case in chosen]
    collect = ', '.join("'%s': %s | default(none)" % (key(index), key(index)) for index, unused in chosen)
    tasks.append({'name': 'Save the results', 'ansible.builtin.copy': {
        'dest': results_file, 'content': '{{ {%s} | to_json }}' % collect}})
    play = [{'name': 'Bad input', 'hosts': 'localhost', 'gather_facts': False,
             'module_defaults': {'group/awsie.importexport.ie': dict(API)}, 'tasks': tasks}]
    playbook = os.path.join(workdir, 'badinput.yml')
    with open(playbook, 'w', encoding='utf-8') as handle:
        yaml.safe_dump(play, handle, default_flow_style=False, allow_unicode=True, width=1000)
    proc = runner.run(playbook, expect_rc=None, timeout=3600)
    if not os.path.exists(results_file):
        raise AssertionError('the playbook of bad inputs did not finish (rc %d):\n%s\n%s'
                             % (proc.returncode, proc.stdout[-6000:], proc.stderr[-3000:]))
    with open(results_file, encoding='utf-8') as handle:
        results = json.load(handle)
    watched_after = {path: file_digest(path) for path in WATCHED}
    return {case.name: (results.get(key(index)), before[case.name], tree_digest(dirs[case.name]), watched, watched_after)
            for index, case in chosen}


def message_of(result):
    parts = [str(result.get('msg', ''))]
    for item in result.get('results', []) or []:
        if isinstance(item, dict) and item.get('failed'):
            parts.append(str(item.get('msg', '')))
    return ' '.join(parts)


def judge(case, outcome):
    result, before, after, watched, watched_after = outcome
    assert result is not None, '%s: the task did not run' % case.name
    msg = message_of(result)
    dump = json.dumps(result)[:1500]
    for bad in ('Traceback', 'MODULE FAILURE', 'Unexpected failure during module execution', 'Connection refused',
                '127.0.0.1:9'):
        assert bad not in msg, '%s: %r in the message: %s' % (case.name, bad, msg[:1500])
    assert len(msg) < 20000, '%s: a message of %d characters' % (case.name, len(msg))
    if case.kind == 'refused':
        assert result.get('failed') is True, '%s: accepted (%s)' % (case.name, dump)
        assert msg.strip(), '%s: failed without a message: %s' % (case.name, dump)
        lowered = msg.lower()
        missing = [word for word in case.says if word.lower() not in lowered]
        assert not missing, '%s: the message does not name %s: %s' % (case.name, missing, msg[:1500])
    elif case.kind == 'finding':
        findings = [f for f in result.get('findings') or [] if any(w.lower() in json.dumps(f).lower() for w in case.says)]
        assert findings, '%s: no finding naming %s: %s' % (case.name, case.says, dump)
    for rel in case.absent:
        assert rel not in after, '%s: %s was written' % (case.name, rel)
    for rel, kind in case.present:
        assert after.get(rel, ('missing',))[0] == kind, '%s: %s is %s, not a %s' % (case.name, rel, after.get(rel), kind)
    changed = sorted(set(before) ^ set(after) | {k for k in set(before) & set(after) if before[k] != after[k]})
    changed = [rel for rel in changed if not rel.startswith(case.may_change)]
    assert not changed, '%s: files changed: %s' % (case.name, changed)
    assert watched == watched_after, '%s: %s changed' % (case.name, WATCHED)
    return msg


KIND_FIGURES = {
    'refused': 'refused with an error naming the problem, every file unchanged',
    'contained': 'handled safely by design (a link replaced, never followed; a name made safe), nothing outside touched',
    'finding': 'reported as a finding naming the file, the file not copied, nothing outside touched',
}


def selected_names(request, module_name):
    return {item.callspec.params['name'] for item in request.session.items
            if item.module.__name__ == module_name and hasattr(item, 'callspec') and 'name' in item.callspec.params}


def params(cases):
    return [pytest.param(name, marks=() if cases[name].fast else pytest.mark.proof_full, id=name) for name in sorted(cases)]


# ------------------------------------------------------------------ cases

def symlink(rel, target):
    def setup(directory):
        path = os.path.join(directory, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.symlink(fill(target, directory), path)
    return setup


def files(mapping):
    def setup(directory):
        for rel, data in mapping.items():
            path = os.path.join(directory.encode(), rel if isinstance(rel, bytes) else rel.encode())
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'wb') as handle:
                handle.write(data)
    return setup


def both(*setups):
    def setup(directory):
        for one in setups:
            one(directory)
    return setup


SIG = dict(dest='{d}/drive', require_mount=False, secret_key=SECRET_KEY)
REC = dict(ledger='{d}/ledger.csv', log_src='{d}/log.csv')
LOG = files({'ledger.csv': b'', 'log.csv': b'DateTime,File,Status,Code,Key,MD5,Bytes,Content-Type\n'})


def module_cases():
    found = []

    def add(name, module, args, says, **kw):
        found.append(Case(name, module, args, says, **kw))

    # --- wrong types, missing, unknown, conflicting options: every module
    add('ie_device_info: device missing', 'ie_device_info', {}, ['device'], fast=True)
    add('ie_device_info: job_type not a choice', 'ie_device_info', {'device': '/dev/null', 'job_type': 'Imp0rt'}, ['job_type'])
    add('ie_device_info: kind not a choice', 'ie_device_info', {'device': '/dev/null', 'kind': 'tape'}, ['kind'])
    add('ie_device_info: unknown option', 'ie_device_info', {'device': '/dev/null', 'devise': '/dev/sda'}, ['devise'])
    add('ie_device_info: device a list', 'ie_device_info', {'device': ['/dev/a', '/dev/b']}, ['device'])
    add('ie_fit: src missing', 'ie_fit', {'device': '/dev/null'}, ['src'], fast=True)
    add('ie_fit: device missing', 'ie_fit', {'src': '{d}/data'}, ['device'])
    add('ie_fit: margin_bytes not a number', 'ie_fit', {'src': '{d}/data', 'device': '/dev/null', 'margin_bytes': 'lots'},
        ['margin_bytes'])
    add('ie_fit: fail_when_short not a boolean', 'ie_fit', {'src': '{d}/data', 'device': '/dev/null', 'fail_when_short': 'perhaps'},
        ['fail_when_short'])
    add('ie_fit: src does not exist', 'ie_fit', {'src': '{d}/no-such-dir', 'device': '/dev/null'}, ['no-such-dir'])
    add('ie_format: filesystem missing', 'ie_format', {'device': '/dev/null'}, ['filesystem'], fast=True)
    add('ie_format: filesystem not a choice', 'ie_format', {'device': '/dev/null', 'filesystem': 'ZFS'}, ['filesystem'])
    add('ie_format: force not a boolean', 'ie_format', {'device': '/dev/null', 'filesystem': 'EXT4', 'force': 'always'}, ['force'])
    add('ie_format: device is a regular file', 'ie_format', {'device': '{d}/good.yml', 'filesystem': 'EXT4', 'format': True},
        ['good.yml'])
    add('ie_format: device missing', 'ie_format', {'filesystem': 'EXT4'}, ['device'])
    add('ie_job: state not a choice', 'ie_job', {'manifest_src': '{d}/good.yml', 'state': 'gone'}, ['state'], fast=True)
    add('ie_job: manifest_src and manifest_content together', 'ie_job',
        {'manifest_src': '{d}/good.yml', 'manifest_content': GOOD_MANIFEST}, ['manifest_src', 'manifest_content'], fast=True)
    add('ie_job: max_attempts not a number', 'ie_job', {'manifest_src': '{d}/good.yml', 'max_attempts': 'ten'}, ['max_attempts'])
    add('ie_job: transport not a choice', 'ie_job', {'manifest_src': '{d}/good.yml', 'transport': 'pigeon'}, ['transport'])
    add('ie_job: smtp_port not a number', 'ie_job', {'manifest_src': '{d}/good.yml', 'transport': 'email', 'smtp_port': 'twenty-five'},
        ['smtp_port'])
    add('ie_job: job_type not a choice', 'ie_job', {'manifest_src': '{d}/good.yml', 'job_type': 'Both'}, ['job_type'])
    add('ie_job: manifest_src does not exist', 'ie_job', {'manifest_src': '{d}/nope.yml'}, ['nope.yml'])
    add('ie_job: manifest_src is a directory', 'ie_job', {'manifest_src': '{d}/data'}, ['data'])
    add('ie_job: concurrency a list', 'ie_job', {'manifest_src': '{d}/good.yml', 'concurrency': [1, 2]}, ['concurrency'])
    add('ie_job: unknown option', 'ie_job', {'manifest_src': '{d}/good.yml', 'manifest_source': 'x'}, ['manifest_source'])
    add('ie_job: signature_method not a choice', 'ie_job', {'manifest_src': '{d}/good.yml', 'signature_method': 'HmacMD5'},
        ['signature_method'])
    add('ie_job_info: max_jobs not a number', 'ie_job_info', {'max_jobs': 'all'}, ['max_jobs'], fast=True)
    add('ie_job_info: job_type not a choice', 'ie_job_info', {'job_type': 'import-ish'}, ['job_type'])
    add('ie_job_info: include_status not a boolean', 'ie_job_info', {'include_status': 'sometimes'}, ['include_status'])
    add('ie_job_info: canceled not a boolean', 'ie_job_info', {'canceled': 'maybe'}, ['canceled'])
    add('ie_job_info: unknown option', 'ie_job_info', {'max_job': 3}, ['max_job'])
    add('ie_job_status: job_ids missing', 'ie_job_status', {}, ['job_ids'], fast=True)
    add('ie_job_status: poll_interval not a number', 'ie_job_status', {'job_ids': ['ABCDE'], 'poll_interval': 'often'},
        ['poll_interval'])
    add('ie_job_status: wait_timeout not a number', 'ie_job_status', {'job_ids': ['ABCDE'], 'wait_timeout': 'forever'},
        ['wait_timeout'])
    add('ie_job_status: transport not a choice', 'ie_job_status', {'job_ids': ['ABCDE'], 'transport': 'fax'}, ['transport'])
    add('ie_job_status: wait_for not a progress code', 'ie_job_status', {'job_ids': ['ABCDE'], 'wait_for': ['Finished']},
        ['wait_for', 'Finished'])
    add('ie_job_status: wait_for a code in the wrong case', 'ie_job_status', {'job_ids': ['ABCDE'], 'wait_for': ['complete']},
        ['wait_for', 'Complete'])
    add('ie_job_status: fail_on_job_error not a boolean', 'ie_job_status', {'job_ids': ['ABCDE'], 'fail_on_job_error': 'no way'},
        ['fail_on_job_error'])
    add('ie_load: dest missing', 'ie_load', {'src': '{d}/data'}, ['dest'], fast=True)
    add('ie_load: src missing', 'ie_load', {'dest': '{d}/drive', 'require_mount': False}, ['src'])
    add('ie_load: include not a list', 'ie_load', {'src': '{d}/data', 'dest': '{d}/drive', 'require_mount': False,
                                                   'include': {'a': 1}}, ['include'])
    add('ie_load: substitutions not a dict', 'ie_load', {'src': '{d}/data', 'dest': '{d}/drive', 'require_mount': False,
                                                         'substitutions': ['a', 'b']}, ['substitutions'])
    add('ie_load: require_mount not a boolean', 'ie_load', {'src': '{d}/data', 'dest': '{d}/drive', 'require_mount': 'if you like'},
        ['require_mount'])
    add('ie_manifest: fields a string', 'ie_manifest', {'fields': 'bucket=x'}, ['bucket'], fast=True)
    add('ie_manifest: fields a list', 'ie_manifest', {'fields': ['bucket', 'x']}, ['fields'])
    add('ie_manifest: job_type not a choice', 'ie_manifest', {'fields': FIELDS, 'job_type': 'Importt'}, ['job_type'])
    add('ie_manifest: kind not a choice', 'ie_manifest', {'fields': FIELDS, 'kind': 'cloud'}, ['kind'])
    add('ie_manifest: src does not exist', 'ie_manifest', {'src': '{d}/missing.yml'}, ['missing.yml'], fast=True)
    add('ie_manifest: src is a directory', 'ie_manifest', {'src': '{d}/data'}, ['data'])
    add('ie_manifest: strict not a boolean', 'ie_manifest', {'fields': FIELDS, 'strict': 'very'}, ['strict'])
    add('ie_mount: path missing', 'ie_mount', {'src': '/dev/null'}, ['path'], fast=True)
    add('ie_mount: state mounted without src', 'ie_mount', {'path': '{d}/mnt'}, ['src'])
    add('ie_mount: state not a choice', 'ie_mount', {'path': '{d}/mnt', 'src': '/dev/null', 'state': 'attached'}, ['state'])
    add('ie_mount: path a symlink out', 'ie_mount', {'path': '{d}/drive/link', 'src': '/dev/null'}, ['link'],
        setup=symlink('drive/link', '{d}/outside'))
    add('ie_mount: src a regular file', 'ie_mount', {'path': '{d}/mnt', 'src': '{d}/good.yml'}, ['good.yml'])
    add('ie_mount: path under a file', 'ie_mount', {'path': '{d}/good.yml/mnt', 'src': '/dev/null'}, ['good.yml'])
    add('ie_packing_slip: drives missing', 'ie_packing_slip', {'dest': '{d}/out'}, ['drives'], fast=True)
    add('ie_packing_slip: drives not a list of dicts', 'ie_packing_slip', {'dest': '{d}/out', 'drives': 'ABCDE'}, ['drives'])
    add('ie_packing_slip: drive without job_id', 'ie_packing_slip', {'dest': '{d}/out', 'drives': [{'drive': 'd1'}]}, ['job id'])
    add('ie_packing_slip: return_address not a dict', 'ie_packing_slip',
        {'dest': '{d}/out', 'drives': [{'job_id': 'ABCDE'}], 'return_address': 'Seattle'}, ['return_address'])
    add('ie_packing_slip: dest missing', 'ie_packing_slip', {'drives': [{'job_id': 'ABCDE'}]}, ['dest'])
    add('ie_packing_slip: mode not a mode (rwx)', 'ie_packing_slip', {'dest': '{d}/out', 'drives': [{'job_id': 'ABCDE'}], 'mode': 'rwx'},
        ['mode', 'rwx'])
    add('ie_packing_slip: mode out of range (99999)', 'ie_packing_slip', {'dest': '{d}/out', 'drives': [{'job_id': 'ABCDE'}], 'mode': '99999'},
        ['mode'])
    add('ie_plan: src missing', 'ie_plan', {'drive_size': 1000000}, ['src'], fast=True)
    add('ie_plan: neither drives nor drive_size', 'ie_plan', {'src': '{d}/data'}, ['drives', 'drive_size'])
    add('ie_plan: drive_size not a number', 'ie_plan', {'src': '{d}/data', 'drive_size': '1 TB'}, ['drive_size'])
    add('ie_plan: filesystem not a choice', 'ie_plan', {'src': '{d}/data', 'drive_size': 1000000, 'filesystem': 'zfs'}, ['filesystem'])
    add('ie_plan: recheck not a choice', 'ie_plan', {'src': '{d}/data', 'drive_size': 1000000, 'recheck': 'sometimes'}, ['recheck'])
    add('ie_plan: src does not exist', 'ie_plan', {'src': '{d}/nothing-here', 'drive_size': 1000000}, ['nothing-here'])
    add('ie_reconcile: head_workers not a number', 'ie_reconcile', dict(REC, head_workers='many'), ['head_workers'], fast=True,
        setup=LOG)
    add('ie_reconcile: job_type not a choice', 'ie_reconcile', dict(REC, job_type='Sideways'), ['job_type'], setup=LOG)
    add('ie_reconcile: unknown option', 'ie_reconcile', dict(REC, ledgers='x'), ['ledgers'], setup=LOG)
    add('ie_reconcile: neither log_src nor log_bucket', 'ie_reconcile', {'ledger': '{d}/ledger.csv'}, ['log_src', 'log_bucket'],
        setup=LOG)
    add('ie_reconcile: log_src not an import log', 'ie_reconcile', dict(REC, log_src='{d}/good.yml'), ['header'], setup=LOG)
    add('ie_shipping_label: job_ids missing', 'ie_shipping_label', {}, ['job_ids'], fast=True)
    add('ie_shipping_label: address without street1', 'ie_shipping_label',
        {'job_ids': ['ABCDE'], 'address': {'name': 'A', 'city': 'B', 'country': 'USA', 'phone_number': '1', 'postal_code': '2'}},
        ['street1'])
    add('ie_shipping_label: address a list', 'ie_shipping_label', {'job_ids': ['ABCDE'], 'address': ['Joe Random', 'Seattle']},
        ['address'])
    add('ie_shipping_label: force not a boolean', 'ie_shipping_label', {'job_ids': ['ABCDE'], 'force': 'hard'}, ['force'])
    add('ie_signature: dest missing', 'ie_signature', {'job_id': 'ABCDE', 'manifest_src': '{d}/good.yml'}, ['dest'], fast=True)
    add('ie_signature: state not a choice', 'ie_signature', dict(SIG, job_id='ABCDE', manifest_src='{d}/good.yml', state='signed'),
        ['state'])
    add('ie_signature: signature_version not a choice', 'ie_signature',
        dict(SIG, job_id='ABCDE', manifest_src='{d}/good.yml', signature_version='3.0'), ['signature_version'])
    add('ie_signature: manifest_src and manifest_content together', 'ie_signature',
        dict(SIG, job_id='ABCDE', manifest_src='{d}/good.yml', manifest_content=GOOD_MANIFEST), ['manifest_src', 'manifest_content'],
        fast=True)
    add('ie_signature: manifest and signature_file_contents together', 'ie_signature',
        dict(SIG, manifest_src='{d}/good.yml', signature_file_contents='version:2.0\n'), ['signature_file_contents'])
    add('ie_signature: job_id missing with a manifest', 'ie_signature', dict(SIG, manifest_src='{d}/good.yml'), ['job_id'])
    add('ie_signature: no manifest and no signature_file_contents', 'ie_signature', dict(SIG, job_id='ABCDE'),
        ['manifest_src'])
    add('ie_signature: backup not a boolean', 'ie_signature', dict(SIG, job_id='ABCDE', manifest_src='{d}/good.yml', backup='twice'),
        ['backup'])
    add('ie_wait: jobs missing', 'ie_wait', {}, ['jobs'], fast=True)
    add('ie_wait: jobs not a list', 'ie_wait', {'jobs': 'all of them'}, ['jobs'])
    add('ie_wait: timeout not a number', 'ie_wait', {'jobs': [], 'timeout': 'long'}, ['timeout'])
    add('ie_wait: interval not a number', 'ie_wait', {'jobs': [], 'interval': 'short'}, ['interval'])

    # --- bad job ids
    for job_id, why in (('ABCD', 'four characters'), ('ABCDEF', 'six characters'), ('AB CD', 'a space'), ('AB/CD', 'a slash'),
                        ('../..', 'a path'), ('ABCD\u00c9', 'not ASCII'), ('', 'empty')):
        add('ie_signature: job id with %s' % why, 'ie_signature', dict(SIG, job_id=job_id, manifest_src='{d}/good.yml'),
            ['job_id' if why == 'empty' else 'job id'], fast=why == 'a path')
        add('ie_job_status: job id with %s' % why, 'ie_job_status', {'job_ids': [job_id]}, ['job'], fast=why == 'six characters')
    for job_id, why in (('ABCD', 'four characters'), ('A;B=C', 'punctuation'), ('ABC\nD', 'a new line')):
        add('ie_job: update with a job id with %s' % why, 'ie_job', {'manifest_src': '{d}/good.yml', 'job_id': job_id}, ['job id'])
        add('ie_shipping_label: job id with %s' % why, 'ie_shipping_label', {'job_ids': [job_id]}, ['job'])
    add('ie_job_status: job_ids not a list of strings', 'ie_job_status', {'job_ids': [{'id': 'ABCDE'}]}, ['job'])
    add('ie_shipping_label: 2000 job ids', 'ie_shipping_label', {'job_ids': ['ABC%02d' % (i % 100) for i in range(2000)]}, ['job'])

    # --- ../ paths, symlinks out of the drive, a dest on the root file system
    add('ie_signature: dest on the root file system (not a mount)', 'ie_signature',
        {'dest': '{d}/drive', 'job_id': 'ABCDE', 'manifest_src': '{d}/good.yml', 'secret_key': SECRET_KEY}, ['mount'], fast=True)
    add('ie_load: dest on the root file system (not a mount)', 'ie_load', {'src': '{d}/data', 'dest': '{d}/drive'}, ['mount'],
        fast=True)
    add('ie_signature: SIGNATURE a symlink out of the drive (replaced, never followed)', 'ie_signature',
        dict(SIG, job_id='ABCDE', manifest_src='{d}/good.yml'), [], setup=symlink('drive/SIGNATURE', '{d}/outside/precious.txt'),
        fast=True, kind='contained', may_change=['drive/'], present=[('drive/SIGNATURE', 'file')])
    add('ie_signature: absent, SIGNATURE a symlink out of the drive (the link goes, not its target)', 'ie_signature',
        dict(SIG, state='absent'), [], setup=symlink('drive/SIGNATURE', '{d}/outside/precious.txt'), kind='contained',
        may_change=['drive/'], absent=['drive/SIGNATURE'])
    add('ie_signature: backup of a SIGNATURE that is a symlink out (never copied)', 'ie_signature',
        dict(SIG, job_id='ABCDE', manifest_src='{d}/good.yml', backup=True), [], setup=symlink('drive/SIGNATURE', '{d}/outside/precious.txt'),
        kind='contained', may_change=['drive/'], present=[('drive/SIGNATURE', 'file')])
    add('ie_signature: dest a symlink to a directory out of the drive', 'ie_signature',
        dict(SIG, dest='{d}/drive/out', job_id='ABCDE', manifest_src='{d}/good.yml', require_mount=True), ['mount'],
        setup=symlink('drive/out', '{d}/outside'))
    add('ie_signature: dest with ../ out of the drive', 'ie_signature',
        dict(SIG, dest='{d}/drive/../outside', job_id='ABCDE', manifest_src='{d}/good.yml', require_mount=True), ['mount'])
    add('ie_signature: manifest_src a symlink to a FIFO', 'ie_signature', dict(SIG, job_id='ABCDE', manifest_src='{d}/fifo.yml'),
        ['fifo.yml'], setup=lambda d: os.mkfifo(os.path.join(d, 'fifo.yml')))
    add('ie_load: a file of the drive is a symlink out of it', 'ie_load',
        {'src': '{d}/data', 'dest': '{d}/drive', 'require_mount': False}, [], setup=symlink('drive/a.txt', '{d}/outside/precious.txt'),
        kind='contained', may_change=['drive/'])
    add('ie_load: drive_ledger with ../ (refused: the ledger would be data)', 'ie_load',
        {'src': '{d}/data', 'dest': '{d}/drive', 'require_mount': False, 'drive_ledger': '../outside/ledger.csv'},
        ['../outside/ledger.csv'], fast=True)
    add('ie_load: drive_ledger absolute out of the drive (refused: the ledger would be data)', 'ie_load',
        {'src': '{d}/data', 'dest': '{d}/drive', 'require_mount': False, 'drive_ledger': '{d}/outside/ledger.csv'}, ['ledger.csv'])
    add('ie_load: a data file is a symlink out of the data (not followed)', 'ie_load',
        {'src': '{d}/data', 'dest': '{d}/drive', 'require_mount': False}, ['link.txt'], setup=symlink('data/link.txt', '{d}/outside/precious.txt'),
        kind='finding', may_change=['drive/'], absent=['drive/link.txt'])
    add('ie_load: files_from not a list of the data', 'ie_load', {'src': '{d}/data', 'dest': '{d}/drive', 'require_mount': False,
                                                                  'files_from': '{d}/list.txt'}, ['list.txt'],
        setup=files({'list.txt': b'a.txt\n../outside/precious.txt\n'}))
    add('ie_load: files_from does not exist', 'ie_load', {'src': '{d}/data', 'dest': '{d}/drive', 'require_mount': False,
                                                          'files_from': '{d}/nolist.txt'}, ['nolist.txt'])
    add('ie_load: src does not exist', 'ie_load', {'src': '{d}/nodata', 'dest': '{d}/drive', 'require_mount': False}, ['nodata'])
    add('ie_load: src is a file', 'ie_load', {'src': '{d}/good.yml', 'dest': '{d}/drive', 'require_mount': False}, ['good.yml'])
    add('ie_load: dest does not exist', 'ie_load', {'src': '{d}/data', 'dest': '{d}/nodrive', 'require_mount': False}, ['nodrive'])
    add('ie_manifest: dest a symlink out (replaced, never followed)', 'ie_manifest', {'fields': FIELDS, 'dest': '{d}/out/m.yml'}, [],
        setup=symlink('out/m.yml', '{d}/outside/precious.txt'), fast=True, kind='contained', may_change=['out/'],
        present=[('out/m.yml', 'file')])
    add('ie_manifest: dest a directory', 'ie_manifest', {'fields': FIELDS, 'dest': '{d}/out'}, ['out'])
    add('ie_manifest: dest under a file', 'ie_manifest', {'fields': FIELDS, 'dest': '{d}/good.yml/m.yml'}, ['good.yml'])
    add('ie_packing_slip: dest is a file', 'ie_packing_slip', {'dest': '{d}/good.yml', 'drives': [{'job_id': 'ABCDE'}]}, ['good.yml'])
    add('ie_packing_slip: job_id with ../ (names a file)', 'ie_packing_slip', {'dest': '{d}/out', 'drives': [{'job_id': '../../x'}]},
        [], kind='contained', may_change=['out/'])
    add('ie_packing_slip: drive name with ../', 'ie_packing_slip',
        {'dest': '{d}/out', 'drives': [{'job_id': 'ABCDE', 'drive': '../outside/precious.txt'}]}, [], kind='contained',
        may_change=['out/'])
    add('ie_shipping_label: dest a directory', 'ie_shipping_label', {'job_ids': ['ABCDE'], 'dest': '{d}/out'}, ['dest'])
    add('ie_reconcile: ledger does not exist', 'ie_reconcile', dict(REC, ledger='{d}/none.csv'), ['none.csv'], setup=LOG)
    add('ie_reconcile: ledger is not a ledger', 'ie_reconcile', dict(REC, ledger='{d}/good.yml'), ['good.yml'], setup=LOG)
    add('ie_fit: dest a symlink out', 'ie_fit', {'src': '{d}/data', 'device': '/dev/null', 'dest': '{d}/drive/l'}, ['l'],
        setup=symlink('drive/l', '{d}/outside'))

    # --- huge values
    add('ie_manifest: a 2 MiB bucket name', 'ie_manifest', {'fields': dict(FIELDS, bucket=HUGE)}, ['bucket'])
    add('ie_manifest: a 2 kB field name', 'ie_manifest', {'fields': dict(FIELDS, **{'y' * 2000: 1})}, ['yyyy'])
    add('ie_signature: a 2 MiB manifest_content', 'ie_signature', dict(SIG, job_id='ABCDE', manifest_content=GOOD_MANIFEST + '#' + HUGE),
        ['manifest_content'], fast=True)
    add('ie_signature: a manifest_src over 1 MiB', 'ie_signature', dict(SIG, job_id='ABCDE', manifest_src='{d}/big.yml'),
        ['big.yml'], setup=files({'big.yml': GOOD_MANIFEST.encode() + b'#' + HUGE.encode() + b'\n'}))
    add('ie_job: a 2 MiB manifest_content', 'ie_job', {'manifest_content': GOOD_MANIFEST + '#' + HUGE}, ['manifest'])
    add('ie_job: concurrency a billion', 'ie_job', {'manifest_src': '{d}/good.yml', 'concurrency': 10 ** 9}, ['concurrency'])
    add('ie_job: negative max_attempts', 'ie_job', {'manifest_src': '{d}/good.yml', 'max_attempts': -3}, ['max_attempts'])
    add('ie_job_status: 100000 job ids', 'ie_job_status', {'job_ids': ['A%04d' % (i % 10000) for i in range(100000)]}, ['job'])
    add('ie_job_status: negative poll_interval', 'ie_job_status', {'job_ids': ['ABCDE'], 'wait_for': ['Complete'], 'poll_interval': -1},
        ['poll_interval'])
    add('ie_job_info: max_jobs negative', 'ie_job_info', {'max_jobs': -5}, ['max_jobs'])
    add('ie_job_info: created_since not a date', 'ie_job_info', {'created_since': 'last tuesday-ish'}, ['created_since'])
    add('ie_plan: drive_size 0', 'ie_plan', {'src': '{d}/data', 'drive_size': 0}, ['drive_size'])
    add('ie_plan: drive_size negative', 'ie_plan', {'src': '{d}/data', 'drive_size': -1}, ['drive_size'])
    add('ie_plan: margin_bytes 10^30', 'ie_plan', {'src': '{d}/data', 'drive_size': 1000000, 'margin_bytes': 10 ** 30}, ['margin'])

    # --- hostile file names in the data (and non-UTF-8 names)
    hostile = {
        'a name that is not UTF-8': {b'data/caf\xe9.txt': b'x'},
        'a key over 1024 bytes': {b'data/' + b'/'.join([b'd' * 200] * 6) + b'/f.txt': b'x'},
        'a name that is the SIGNATURE': {b'data/SIGNATURE': b'version: 1.0\n'},
    }
    for why, tree in hostile.items():
        if why in ('a name that is not UTF-8', 'a key over 1024 bytes', 'a name that is the SIGNATURE'):
            add('ie_load: data with %s' % why, 'ie_load', {'src': '{d}/data', 'dest': '{d}/drive', 'require_mount': False},
                [], setup=files(tree), fast=why == 'a name that is not UTF-8', kind='finding', may_change=['drive/'],
                absent=['drive/' + os.fsdecode(rel[len(b'data/'):]) for rel in tree])
        add('ie_plan: data with %s' % why, 'ie_plan', {'src': '{d}/data', 'drive_size': 10 ** 9, 'filesystem': 'ntfs'}, [],
            setup=files(tree), kind='finding')
    return found


MODULE_CASES = {case.name: case for case in module_cases()}
# The words each hostile-name case must find in the message: the file's name as far as it prints.
HOSTILE_WORDS = {
    'a name that is not UTF-8': ['caf'], 'a name with a new line': ['two'], 'a name with a backslash': ['back'],
    'a name with a control character': ['bell'], 'a key over 1024 bytes': ['key-too-long', '1024'],
    'a name that is the SIGNATURE': ['SIGNATURE'],
}
for case_name, case_value in MODULE_CASES.items():
    for why_name, words in HOSTILE_WORDS.items():
        if case_name.endswith(why_name):
            case_value.says = words


@pytest.fixture(scope='module')
def module_results(request, tmp_path_factory):
    names = selected_names(request, __name__)
    return run_cases(MODULE_CASES, names, str(tmp_path_factory.mktemp('badinput-modules')))


@pytest.mark.parametrize('name', params(MODULE_CASES))
def test_bad_module_input(module_results, name, proof_record):
    case = MODULE_CASES[name]
    judge(case, module_results[name])
    proof_record(KIND_FIGURES[case.kind], 1, 'cases')


def test_enough_cases():
    assert len(MODULE_CASES) >= 150
    modules = {case.module for case in MODULE_CASES.values()}
    listed = {name[:-3] for name in os.listdir(os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'modules'))
              if name.endswith('.py') and not name.startswith('_')}
    assert listed <= modules, 'modules without a bad-input case: %s' % sorted(listed - modules)
    assert len([c for c in MODULE_CASES.values() if c.fast]) >= 25
