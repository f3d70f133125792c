"""Every module's EXAMPLES, run as written, and every RETURN key seen in a real result.

For each module, its EXAMPLES become one play on localhost, run against the local service and
loop drives. Examples are written for a real fleet (``/dev/sdb1``, ``/mnt/drive1``, job
``53TX4``), so one small, explicit mechanism makes them runnable here, and nothing else changes:

1. ``SUBST``: literal placeholders of the examples (device paths, mount points, job ids, the AWS
   endpoint, bucket names) are replaced, as text, by Jinja expressions over ``ex``, the facts of
   this run (its loop devices, mount points, jobs and buckets), passed as an extra variable.
2. ``VARS``: the variables an example assumes its playbook has (``aws_access_key``,
   ``manifest_fields``, ``return_address``, ...), given as play variables.
3. ``SETUP``: tasks before the examples that make what they assume exists (manifest files, a job,
   a ledger). Credentials and the endpoint come from the controller's ``AWS_*`` environment, as
   the API modules document; ``become`` uses ``su`` (this machine has no sudo).
4. ``EXPECT_FAIL``: examples that fail by design (a manifest with problems); they run with
   ``ignore_errors`` and must fail.

Each example's result is registered (under its own ``register`` or ``example_<n>``) and saved;
the union of the top-level keys a module returned across its examples is compared with its
RETURN. Keys not seen are listed in ``<build>/examples-coverage.json``; ``NOT_COVERED`` names the
ones known not to appear in these runs and why, and the test fails on any other.
"""
import json
import os
import re
import subprocess

import pytest
import yaml

from tests.collection_path import BUILD, REPO
from tests.support.drives import LoopDrive

pytestmark = [pytest.mark.slow, pytest.mark.root]

MODULES = sorted(n[:-3] for n in os.listdir(os.path.join(REPO, 'plugins', 'modules')) if n.endswith('.py'))

SUBST = [
    ('/dev/disk/by-id/usb-WD_Elements_25A3_57584B314134393538353234-0:0', '{{ ex.dev }}'),
    ('/dev/disk/by-id/usb-WD_Elements_25A3_57584B314132333435363738-0:0', '{{ ex.dev_blank }}'),
    ('/dev/disk/by-id/usb-WD_Elements_1234567890-0:0', '{{ ex.dev }}'),
    ('/dev/disk/by-id/usb-WD_Elements_1234-0:0-part1', '{{ ex.dev_spare }}'),
    ('/dev/disk/by-id/usb-WD_Elements_1', '{{ ex.dev }}'),
    ('/dev/sdb1', '{{ ex.dev }}'),
    ('/dev/sdc1', '{{ ex.dev_fat }}'),
    ('/mnt/drive1', '{{ ex.mnt }}/drive1'),
    ('/mnt/ie/', '{{ ex.mnt }}/'),
    ('/srv/ie/drive1.yml', '{{ ex.work }}/manifests/drive1.yml'),
    ('/srv/ie/', '{{ ex.work }}/'),
    ('/srv/data/project1', '{{ ex.data }}'),
    ('/srv/photos', '{{ ex.data }}'),
    ('/var/tmp/', '{{ ex.work }}/'),
    ('53TX4', '{{ ex.job_b }}'),
    ('796CK', '{{ ex.job_c }}'),
    ('https://importexport.amazonaws.com', '{{ ex.url }}'),
    ('my-import-bucket', '{{ ex.bucket }}'),
    ('my-export-bucket', '{{ ex.bucket }}'),
    ('my-log-bucket', '{{ ex.bucket }}'),
]

RETURN_ADDRESS = {'name': 'Jane Ops', 'street1': '1 Main St', 'city': 'Seattle', 'stateOrProvince': 'WA',
                  'postalCode': '98104', 'phoneNumber': '206-555-0100', 'country': 'USA'}

COMMON_VARS = {
    'aws_access_key': '{{ lookup("ansible.builtin.env", "AWS_ACCESS_KEY_ID") }}',
    'vault_aws_access_key': '{{ lookup("ansible.builtin.env", "AWS_ACCESS_KEY_ID") }}',
    'vault_aws_secret_key': '{{ lookup("ansible.builtin.env", "AWS_SECRET_ACCESS_KEY") }}',
    'vault_drive_pin': '1234',
    'return_address': RETURN_ADDRESS,
    'manifest_fields': {'manifestVersion': '2.0', 'accessKeyId': '{{ aws_access_key }}', 'deviceId': 'EXAMPLE01',
                        'bucket': '{{ ex.bucket }}', 'eraseDevice': True, 'returnAddress': RETURN_ADDRESS},
    'ansible_become_method': 'ansible.builtin.su',
}


def manifest_task(path, device='EXAMPLE01', job_type='Import', bucket='{{ ex.bucket }}'):
    fields = {'accessKeyId': '{{ aws_access_key }}', 'deviceId': device, 'returnAddress': RETURN_ADDRESS}
    if job_type == 'Import':
        fields.update(bucket=bucket, eraseDevice=True)
    else:
        fields.update(fileSystem='EXT4', logBucket=bucket, pinCode='1234', operations=[{'exportBucket': bucket}])
    return {'name': 'setup: manifest %s' % path, 'awsie.importexport.ie_manifest': {
        'job_type': job_type, 'kind': 's3', 'dest': path, 'fields': fields}}


def job_task(path, register):
    return {'name': 'setup: job for %s' % path, 'awsie.importexport.ie_job': {'manifest_src': path, 'job_type': 'Import'},
            'register': register}


MKDIRS = {'name': 'setup: directories', 'ansible.builtin.file': {'path': '{{ item }}', 'state': 'directory', 'mode': '0755'},
          'loop': ['{{ ex.work }}/manifests', '{{ ex.work }}/ie-manifests', '{{ ex.work }}/templates', '{{ ex.work }}/labels']}

# Per module: which drives it needs mounted under ex.mnt (name -> file system), extra vars, setup tasks.
SPECS = {
    'ie_device_info': {},
    'ie_manifest': {'setup': [
        {'name': 'setup: an export manifest with problems', 'ansible.builtin.copy': {
            'dest': '{{ ex.work }}/manifests/export-drive7.yml', 'mode': '0644',
            'content': 'manifestVersion: 2.0\naccessKeyId: AKIA\ndeviceId: DRIVE7\nfileSystem: FAT12\n'}}],
        'expect_fail': ['Check an existing export manifest, failing with every problem listed']},
    'ie_signature': {'mounted': {'drive1': 'ext4'}, 'setup': [
        manifest_task('{{ ex.work }}/manifests/drive1.yml'), job_task('{{ ex.work }}/manifests/drive1.yml', 'created')]},
    'ie_job': {'mounted': {'drive1': 'ext4'}, 'setup': [
        manifest_task('{{ ex.work }}/manifests/drive1.yml'), manifest_task('{{ ex.work }}/manifests/drive2.yml', 'EXAMPLE02'),
        {'name': 'setup: export manifest template', 'ansible.builtin.copy': {
            'dest': '{{ ex.work }}/templates/export.yml.j2', 'mode': '0644',
            'content': "{{ lookup('ansible.builtin.file', ex.work ~ '/manifests/export-template.yml') }}\n"}}],
        'pre_setup': [manifest_task('{{ ex.work }}/manifests/export-template.yml', 'EXAMPLE03', 'Export')]},
    'ie_job_info': {},
    # the jobs the wait example waits for are canceled first, so that it returns at once
    # previous_poll: an earlier poll that saw job_a not yet created, so the report example has a move to show
    'ie_job_status': {'facts': {'ie_job_id': '{{ ex.job_a }}', 'previous_poll': []}, 'setup': [
        {'name': 'setup: cancel the jobs to wait for', 'awsie.importexport.ie_job': {'state': 'absent', 'job_id': '{{ item }}'},
         'loop': ['{{ ex.job_b }}', '{{ ex.job_c }}']}]},
    'ie_shipping_label': {},
    'ie_fit': {},
    'ie_format': {},
    'ie_mount': {},
    'ie_plan': {},
    'ie_load': {'wait_async': ['started'], 'mounted': {'drive1': 'ext4', 'drive2': 'ext4'},
                'vars': {'plan': {'drives': [{'items': []}, {'items': ['b.txt']}]}}},
    'ie_wait': {'mounted': {'drive1': 'ext4'},
                'vars': {'drives': [{'name': 'drive1', 'data_src': '{{ ex.data }}'}]}},
    'ie_packing_slip': {'facts': {
        'drive_prepare_jobs': [{'job_id': '{{ ex.job_a }}', 'host': 'localhost', 'drive': 'drive1', 'device_id': 'EXAMPLE01',
                                'serial': 'EX-SERIAL-1', 'signature': 'x'}],
        'drive_prepare_manifest_defaults': {'returnAddress': RETURN_ADDRESS}}},
    'ie_reconcile': {'mounted': {'drive1': 'ext4'}, 'setup': [
        manifest_task('{{ ex.work }}/manifests/drive1.yml'),
        job_task('{{ ex.work }}/manifests/drive1.yml', 'setup_job'),
        {'name': 'setup: load the drive', 'awsie.importexport.ie_load': {
            'src': '{{ ex.data }}', 'dest': '{{ ex.mnt }}/drive1', 'manifest': '{{ manifest_fields }}',
            'ledger': '{{ ex.work }}/ie-manifests/drive1.ledger.jsonl'}},
        {'name': 'setup: sign it', 'awsie.importexport.ie_signature': {
            'dest': '{{ ex.mnt }}/drive1', 'signature_file_contents': '{{ setup_job.signature_file_contents }}'}},
        {'name': 'setup: the service receives it', 'ansible.builtin.command': {
            'argv': ['{{ ex.ie_service }}', 'receive', '{{ setup_job.job_id }}', '{{ ex.mnt }}/drive1', '--state-dir',
                     '{{ ex.state_dir }}']}, 'changed_when': True},
        {'name': 'setup: a day later', 'ansible.builtin.command': {
            'argv': ['{{ ex.ie_service }}', 'clock', 'advance', '--days', '1', '--state-dir', '{{ ex.state_dir }}']},
         'changed_when': True},
        {'name': 'setup: its status', 'awsie.importexport.ie_job_status': {'job_ids': ['{{ setup_job.job_id }}']},
         'register': 'setup_poll'},
        {'name': 'setup: status of that job', 'ansible.builtin.set_fact': {'status': '{{ setup_poll.jobs[0] }}'}}]},
}

# RETURN keys these runs cannot show, and why (the test fails on any other key not seen).
NOT_COVERED = {
    'ie_manifest': {'backup_file': 'only with backup=true, which no example uses (test_ie_manifest.py checks it)'},
    'ie_signature': {'backup_file': 'only with backup=true, which no example uses'},
    'ie_job': {'mail': 'only with transport=email (test_email_flow.py)',
               'recovered_from': 'only when a CreateJob answer was lost (fault injection, test_ie_job_faults.py)',
               'replaced': 'only when an e-mail CREATE JOB replaced a job (test_email_flow.py)'},
    'ie_job_status': {'mail': 'only with transport=email (test_email_flow.py)',
                      'waited_out': 'only when wait_timeout passes (test_ie_job_status.py)'},
}


def module_of(task):
    for key in task:
        if key.startswith('awsie.importexport.') or key.startswith('ansible.builtin.'):
            return key.split('.')[-1]
    return None


def example_tasks(name):
    with open(os.path.join(REPO, 'plugins', 'modules', name + '.py'), encoding='utf-8') as handle:
        text = handle.read().split("EXAMPLES = r'''", 1)[1].split("'''", 1)[0]
    return substitute(yaml.safe_load(text))


def substitute(value):
    """SUBST applied to every string of the parsed examples (keys and values)."""
    if isinstance(value, dict):
        return {substitute(k): substitute(v) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v) for v in value]
    if isinstance(value, str):
        for old, new in SUBST:
            value = value.replace(old, new)
    return value


def flatten(tasks):
    """Tasks with blocks opened (the module_defaults example is a block)."""
    for task in tasks:
        if 'block' in task:
            yield from flatten(task['block'])
        else:
            yield task


def build_play(name, spec):
    tasks = example_tasks(name)
    names = []
    for index, task in enumerate(flatten(tasks)):
        if 'register' not in task:
            task['register'] = 'example_%d' % index
        names.append((task['register'], task.get('name'), module_of(task)))
        if task.get('name') in spec.get('expect_fail', ()):
            task['ignore_errors'] = True
    # host variables the examples read through hostvars (an inventory would hold them)
    facts = [{'name': 'setup: host variables', 'ansible.builtin.set_fact': spec['facts']}] if spec.get('facts') else []
    play = {
        'name': 'EXAMPLES of %s' % name, 'hosts': 'localhost', 'gather_facts': False,
        'vars': dict(COMMON_VARS, **spec.get('vars', {})),
        'tasks': [MKDIRS] + facts + spec.get('pre_setup', []) + spec.get('setup', []) + [
            {'name': 'run the examples', 'block': tasks, 'always': [
                {'name': 'save every example result', 'ansible.builtin.copy': {
                    'dest': '{{ ex.work }}/results.json', 'mode': '0644',
                    'content': "{% set h = hostvars[inventory_hostname] %}{ {% for n in example_names %}{{ n | to_json }}: "
                               "{{ (h[n] if n in h else none) | to_json }}{{ '' if loop.last else ', ' }}{% endfor %} }"},
                 'vars': {'example_names': [entry[0] for entry in names]}},
                {'name': 'wait for what an example started in the background', 'ansible.builtin.async_status': {
                    'jid': '{{ item.ansible_job_id }}'}, 'register': 'background', 'until': 'background is finished',
                 'retries': 120, 'delay': 1, 'loop': "{{ example_names | select('in', hostvars[inventory_hostname])"
                                                     " | map('extract', hostvars[inventory_hostname]) | select('mapping')"
                                                     " | selectattr('ansible_job_id', 'defined') | list }}",
                 'loop_control': {'label': '{{ item.ansible_job_id }}'},
                 'vars': {'example_names': spec.get('wait_async', [])}}]}],
    }
    return [play], names


def return_keys(name):
    with open(os.path.join(REPO, 'plugins', 'modules', name + '.py'), encoding='utf-8') as handle:
        text = handle.read()
    found = re.search(r"^RETURN = r'''(.*?)'''", text, re.M | re.S)
    doc = yaml.safe_load(found.group(1)) if found else None
    return sorted(doc or {})


def result_keys(result):
    keys = set(result or {})
    for item in (result or {}).get('results', []) or []:
        if isinstance(item, dict):
            keys |= set(item)
    return keys


@pytest.fixture
def stage(tmp_path, ie_service, playbook):
    """The run's facts (``ex``): work dir, data tree, buckets, jobs, loop drives made on demand."""
    work = tmp_path / 'work'
    (work / 'data' / 'sub').mkdir(parents=True)
    (work / 'data' / 'a.txt').write_text('a\n')
    (work / 'data' / 'b.txt').write_text('b' * 5000)
    (work / 'data' / 'sub' / 'c.txt').write_text('c\n')
    (work / 'mnt').mkdir()
    bucket = ie_service.new_bucket('examples')
    client = ie_service.client()
    jobs = []
    for device in ('EXJOBA', 'EXJOBB', 'EXJOBC'):
        manifest = ('manifestVersion: 2.0\naccessKeyId: %s\ndeviceId: %s\nbucket: %s\neraseDevice: yes\n'
                    'returnAddress:\n    name: Jane Ops\n    street1: 1 Main St\n    city: Seattle\n'
                    '    stateOrProvince: WA\n    postalCode: "98104"\n    phoneNumber: 206-555-0100\n    country: USA\n'
                    % (ie_service.access_key, device, bucket))
        jobs.append(client.create_job(JobType='Import', Manifest=manifest, ValidateOnly=False)['JobId'])
    drives = []
    yield {'ex': {'work': str(work), 'data': str(work / 'data'), 'mnt': str(work / 'mnt'), 'bucket': bucket,
                  'url': ie_service.url, 'job_a': jobs[0], 'job_b': jobs[1], 'job_c': jobs[2],
                  'state_dir': ie_service.state_dir, 'ie_service': os.path.join(os.path.dirname(playbook_bin()), 'ie-service')},
           'drives': drives, 'service': ie_service, 'work': str(work), 'tmp': str(tmp_path)}
    # what the examples mounted themselves (ie_mount's) goes before the loop devices
    from tests.support.drives import unmount  # pylint: disable=import-outside-toplevel
    with open('/proc/self/mounts', encoding='utf-8') as handle:
        mounted = [line.split()[1] for line in handle]
    for point in reversed(mounted):
        if point.startswith(str(work / 'mnt') + '/') and not any(d.mounted and d.mountpoint == point for d in drives):
            unmount(point)
    for drive in reversed(drives):
        drive.close()


def playbook_bin():
    from tests.support.playbooks import BIN  # pylint: disable=import-outside-toplevel
    return os.path.join(BIN, 'ansible-playbook')


def add_drives(stage, spec):
    ex = stage['ex']
    tmp = stage['tmp']
    made = stage['drives']

    def make(fstype, name, mount_at=None):
        drive = LoopDrive(tmp, fstype, 64 if fstype != 'ntfs' else 32, name=name,
                          mountpoint=mount_at or os.path.join(tmp, 'mnt-' + name))
        made.append(drive)
        if mount_at:
            drive.mount()
        return drive

    first = None
    for name, fstype in spec.get('mounted', {}).items():
        drive = make(fstype, name, os.path.join(ex['mnt'], name))
        first = first or drive
    ex['dev'] = (first or make('ext4', 'probe')).device
    ex['dev_spare'] = make('ext4', 'spare').device
    ex['dev_fat'] = make('fat32', 'fat').device
    ex['dev_blank'] = make(None, 'blank').device


@pytest.mark.parametrize('name', MODULES)
def test_examples_run_as_written(name, stage, playbook):
    spec = SPECS.get(name)
    assert spec is not None, 'no run spec for the EXAMPLES of %s: add it to SPECS' % name
    add_drives(stage, spec)
    play, names = build_play(name, spec)
    path = os.path.join(stage['work'], 'examples-%s.yml' % name)
    with open(path, 'w', encoding='utf-8') as handle:
        yaml.safe_dump(play, handle, sort_keys=False)
    service = stage['service']
    env = playbook.env({'AWS_ACCESS_KEY_ID': service.access_key, 'AWS_SECRET_ACCESS_KEY': service.secret_key,
                        'AWS_URL': service.url, 'AWS_ENDPOINT_URL_S3': service.s3_url})
    proc = subprocess.run([playbook_bin(), '-i', playbook.inventory, path, '-e', json.dumps({'ex': stage['ex']})],
                          cwd=stage['work'], env=env, capture_output=True, text=True, timeout=600, check=False)
    results_path = os.path.join(stage['work'], 'results.json')
    results = {}
    if os.path.exists(results_path):
        with open(results_path, encoding='utf-8') as handle:
            results = json.load(handle)
    record_coverage(name, names, results)
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-3000:]
    for register, task_name, _module in names:
        result = results.get(register)
        assert result is not None, 'example %r left no result' % task_name
        if task_name in spec.get('expect_fail', ()):
            assert result.get('failed'), 'example %r should fail' % task_name
        else:
            assert not result.get('failed'), task_name
    seen = set()
    for register, _task_name, module in names:
        if module == name:
            seen |= result_keys(results.get(register))
    missing = [k for k in return_keys(name) if k not in seen and k not in NOT_COVERED.get(name, {})]
    assert not missing, '%s: RETURN keys no example returned: %s' % (name, ', '.join(missing))


def record_coverage(name, names, results):
    path = os.path.join(BUILD, 'examples-coverage.json')
    data = {}
    if os.path.exists(path):
        with open(path, encoding='utf-8') as handle:
            data = json.load(handle)
    seen = set()
    for register, _task_name, module in names:
        if module == name:
            seen |= result_keys(results.get(register))
    data[name] = {'examples': len(names), 'ran': sum(1 for entry in names if results.get(entry[0]) is not None),
                  'return_keys': return_keys(name), 'not_seen': [k for k in return_keys(name) if k not in seen]}
    with open(path, 'w', encoding='utf-8') as handle:
        json.dump(data, handle, indent=1, sort_keys=True)
