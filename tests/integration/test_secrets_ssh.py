"""Secrets over SSH: ``playbooks/ship.yml`` at ``-vvvv`` with ``ANSIBLE_KEEP_REMOTE_FILES=1`` on the
multi-host test bed (three hosts: ext4, FAT32, NTFS), a run that succeeds and a run where modules
fail half-way, then a search for the secret key, the ``pinCode`` and the ``trueCryptPassword``:

- in the output of both runs (stdout and stderr at -vvvv), and in the command lines and
  environments of every process on the machine while they ran (sampled);
- on every managed host (inside its own mount namespace): its ``/mnt`` (mount points, the role's
  state directory), the kept remote files (``ansible_remote_tmp``), its drive mounted read-only
  (every file) and the drive's raw bytes (deleted and free blocks too);
- in the trees the hosts and the controller share on this bed (``/tmp``, ``/var/tmp``,
  ``/dev/shm``, ``/root``: every file changed since the test started), which hold the controller's
  ``~/.ansible`` (kept files of controller-side modules), ``ANSIBLE_HOME``, the bed's run directory
  (local tmp, SSH logs, the bed's own inventory) and the role's output directory (manifests, job
  sheets, ledgers, packing slips, label).

Each secret is searched for as written, UTF-16 (NTFS names) and base64 (any alignment). Allowed:
the user's own inventory (where the secrets were put); the job manifests the role writes (mode 0600,
the text CreateJob sends, which must hold the pinCode/trueCryptPassword - never the secret key);
and, only because ANSIBLE_KEEP_REMOTE_FILES is set, the kept arguments of modules that ran on the
controller (as with amazon.aws). Everything else is a leak. The test prints what it searched
(places, files, bytes) and what it found where.
"""
import base64
import json
import os
import re
import secrets
import shutil
import stat
import string
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

from tests.integration.fixtures import REPO

SHIP = os.path.join(REPO, 'playbooks', 'ship.yml')
ACCESS_KEY = 'AKIASECRETSTEST00001'
RETURN_ADDRESS = {'name': 'Secrets Test', 'street1': '1 Test St', 'city': 'Seattle', 'stateOrProvince': 'WA',
                  'postalCode': '98104', 'phoneNumber': '206-555-0100', 'country': 'USA'}
MAX_FILE = 512 << 20
# Modules whose kept files on the controller may hold their arguments (ANSIBLE_KEEP_REMOTE_FILES only).
CONTROLLER_MODULES = ('ie_job', 'ie_job_status', 'ie_job_info', 'ie_shipping_label', 'ie_manifest', 'ie_packing_slip')

# Searches roots for needles; runs in this process, and on a host (its namespaces) through exec_on.
SEARCH = r'''
import json, os, stat, sys
spec = json.load(sys.stdin)
needles = {name: [bytes.fromhex(h) for h in forms] for name, forms in spec['needles'].items()}
longest = max(len(f) for forms in needles.values() for f in forms)
out = {'files': 0, 'bytes': 0, 'skipped': [], 'hits': [], 'roots': {}}
def scan(path, handle, size):
    tail = b''
    offset = 0
    found = set()
    while True:
        chunk = handle.read(4 << 20)
        if not chunk:
            break
        block = tail + chunk
        for name, forms in needles.items():
            if name not in found and any(f in block for f in forms):
                found.add(name)
        tail = block[-longest:]
        offset += len(chunk)
    out['bytes'] += offset
    for name in sorted(found):
        out['hits'].append({'path': path, 'secret': name})
def one(path, since):
    try:
        info = os.lstat(path)
    except OSError:
        return
    if not stat.S_ISREG(info.st_mode):
        return
    if since and max(info.st_mtime, info.st_ctime) < since:
        return
    if info.st_size > spec['max_file']:
        out['skipped'].append([path, info.st_size])
        return
    try:
        with open(path, 'rb') as handle:
            out['files'] += 1
            scan(path, handle, info.st_size)
    except OSError as exc:
        out['skipped'].append([path, str(exc)])
for root in spec['roots']:
    before = (out['files'], out['bytes'])
    path, since, kind = root['path'], root.get('since'), root.get('kind', 'tree')
    if kind == 'device':
        with open(path, 'rb') as handle:
            out['files'] += 1
            scan(path, handle, None)
    elif os.path.isfile(path):
        one(path, since)
    else:
        skip = tuple(os.path.join(p, '') for p in root.get('skip', []))
        for top, dirs, files in os.walk(path):
            dirs[:] = [d for d in dirs if not os.path.join(top, d, '').startswith(skip)]
            for name in files:
                one(os.path.join(top, name), since)
    out['roots'][path] = [out['files'] - before[0], out['bytes'] - before[1]]
print(json.dumps(out))
'''


def random_secret(length):
    alphabet = string.ascii_letters + string.digits
    return ''.join(secrets.choice(alphabet) for unused in range(length))


def forms(value):
    """The byte strings that would give the secret away: as written, UTF-16-LE, base64 at each alignment."""
    raw = value.encode()
    found = [raw, value.encode('utf-16-le')]
    for pad in range(3):
        encoded = base64.b64encode(b'\0' * pad + raw)
        first = -(-8 * pad // 6)
        last = (8 * (pad + len(raw)) - 6) // 6
        found.append(encoded[first:last + 1])
    return [f.hex() for f in found]


def search(roots, needles, runner=None):
    spec = json.dumps({'roots': roots, 'needles': needles, 'max_file': MAX_FILE})
    if runner is None:
        proc = subprocess.run([sys.executable, '-c', SEARCH], input=spec, capture_output=True, text=True, check=True)
    else:
        proc = runner([sys.executable, '-c', SEARCH], spec)
    return json.loads(proc.stdout)


class ProcSampler:
    """Reads every process's command line and environment while the playbooks run."""

    def __init__(self, needles, spare_group=None):
        self.spare_group = spare_group  # the service's process group: "AWS" holds the key on its command line
        self.needles = {name: [bytes.fromhex(h) for h in hexes] for name, hexes in needles.items()}
        self.samples = self.reads = 0
        self.hits = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self):
        while not self._stop.is_set():
            self.samples += 1
            for pid in [p for p in os.listdir('/proc') if p.isdigit()]:
                try:
                    if os.getpgid(int(pid)) == self.spare_group:
                        continue
                except OSError:
                    continue
                for part in ('cmdline', 'environ'):
                    try:
                        with open('/proc/%s/%s' % (pid, part), 'rb') as handle:
                            data = handle.read()
                    except OSError:
                        continue
                    self.reads += 1
                    for name, needles in self.needles.items():
                        if any(n in data for n in needles):
                            self.hits.append((pid, part, name, data[:200]))
            self._stop.wait(0.2)


def mount_ro(bed, host, drive, point):
    command = {'ext4': 'mount -o ro {dev} {mnt}', 'fat32': 'fusefat -o ro {dev} {mnt}',
               'ntfs': 'ntfs-3g -o ro {dev} {mnt}'}[drive.fstype]
    bed.exec_on(host, 'mkdir -p {mnt} && '.format(mnt=point) + command.format(dev=drive.device, mnt=point))


def unmount(bed, host, point):
    for _attempt in range(20):
        if bed.exec_on(host, 'umount %s' % point, check=False).returncode == 0:
            return
        time.sleep(0.25)
    raise AssertionError('could not unmount %s on %s' % (point, host))


def replace_signature_with_directory(bed, host):
    """A directory where the SIGNATURE goes: ie_signature then fails on the host after the load and the job."""
    drive = bed.host(host).drives[0]
    point = '/mnt/secrets-edit'
    command = {'ext4': 'mount {dev} {mnt}', 'fat32': 'fusefat -o rw+ {dev} {mnt}', 'ntfs': 'ntfs-3g {dev} {mnt}'}[drive.fstype]
    bed.exec_on(host, 'mkdir -p {mnt} && '.format(mnt=point) + command.format(dev=drive.device, mnt=point))
    try:
        bed.exec_on(host, 'rm -f {mnt}/SIGNATURE && mkdir {mnt}/SIGNATURE && touch {mnt}/SIGNATURE/keep'.format(mnt=point))
    finally:
        unmount(bed, host, point)


def plant_canaries(bed, canary, tmp_path):
    """A fourth secret, put (as written, UTF-16 or base64) in each kind of place searched, so the test
    proves the search reaches every place and reads every encoding. Returns the controller files."""
    encodings = [canary.encode(), canary.encode('utf-16-le'), base64.b64encode(b'x' + canary.encode())]
    for number, host in enumerate(bed.hosts):
        bed.exec_on(host.name, 'mkdir -p /mnt/canary && cat > /mnt/canary/c', input=encodings[number % 3].decode('latin-1'))
        with open(os.path.join(host.remote_tmp, 'canary'), 'wb') as handle:
            handle.write(encodings[(number + 1) % 3])
        drive, point = host.drives[0], '/mnt/secrets-edit'
        command = {'ext4': 'mount {dev} {mnt}', 'fat32': 'fusefat -o rw+ {dev} {mnt}', 'ntfs': 'ntfs-3g {dev} {mnt}'}[drive.fstype]
        bed.exec_on(host.name, 'mkdir -p {mnt} && '.format(mnt=point) + command.format(dev=drive.device, mnt=point))
        try:
            bed.exec_on(host.name, 'cat > %s/canary.txt' % point, input=encodings[(number + 2) % 3].decode('latin-1'))
        finally:
            unmount(bed, host.name, point)
    planted = [str(tmp_path / 'canary.txt'), os.path.expanduser('~/.ansible/tmp/ie-secrets-canary-%s' % canary[:8])]
    for number, path in enumerate(planted):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as handle:
            handle.write(encodings[number % 3])
    return planted


def chattr(flag, path):
    subprocess.run(['chattr', flag, path], check=True, capture_output=True)


def write_inventory(bed, path, data_src, bucket, service, secret_key, pin, password, host_overrides=None):
    overrides = host_overrides or {}

    def host_vars(host):
        found = {'drive_prepare_drives': [{'name': d.name, 'device': d.device, 'data_src': data_src,
                                           'manifest': dict({'bucket': bucket, 'prefix': host.name + '/'},
                                                            **overrides.get(host.name, {}).get('manifest', {}))}
                                          for d in host.drives]}
        found.update({k: v for k, v in overrides.get(host.name, {}).items() if k != 'manifest'})
        return found

    # The user's own vars: the only place the test puts the secrets.
    return bed.write_inventory(path, host_vars=host_vars, group_vars={
        'drive_prepare_endpoint_url': service.url, 'drive_prepare_access_key': ACCESS_KEY,
        'drive_prepare_secret_key': secret_key, 'drive_prepare_progress_interval': 2,
        'drive_prepare_manifest_defaults': {'accessKeyId': ACCESS_KEY, 'eraseDevice': True, 'returnAddress': RETURN_ADDRESS,
                                            'pinCode': pin, 'trueCryptPassword': password}})


def kept_controller_module(path, bed):
    """The module whose kept files on the controller (outside the hosts' remote tmp) hold ``path``, else None."""
    directory = os.path.dirname(path)
    if not os.path.basename(directory).startswith('ansible-tmp-') or directory.startswith(os.path.join(bed.rundir, 'hosts', '')):
        return None
    try:
        modules = [re.match(r'AnsiballZ_(\w+)\.py$', name) for name in os.listdir(directory)]
    except OSError:
        return None
    modules = [m.group(1) for m in modules if m]
    return modules[0] if len(modules) == 1 else None


def remove_kept_controller_files(since, markers):
    """Remove the ansible-tmp-* directories ANSIBLE_KEEP_REMOTE_FILES left in ~/.ansible/tmp for this test
    (made since it started and naming one of its directories)."""
    base = os.path.expanduser('~/.ansible/tmp')
    try:
        names = os.listdir(base)
    except FileNotFoundError:  # another run removed ~/.ansible/tmp meanwhile
        return
    for name in names:
        directory = os.path.join(base, name)
        if not name.startswith('ansible-tmp-'):
            continue
        try:
            if os.stat(directory).st_mtime < since:
                continue
            ours = False
            for entry in os.listdir(directory):
                path = os.path.join(directory, entry)
                if not os.path.isfile(path):
                    continue
                with open(path, 'rb') as handle:
                    data = handle.read()
                ours = ours or any(marker.encode() in data for marker in markers)
        except FileNotFoundError:  # another run's directory (or file), gone meanwhile
            continue
        if ours:
            remove_tree(directory)


def remove_tree(directory):
    """shutil.rmtree that tolerates files another run removes meanwhile; any other error is raised."""
    for attempt in range(5):
        try:
            shutil.rmtree(directory)
        except FileNotFoundError:
            if attempt == 4:
                raise
        if not os.path.lexists(directory):
            return


def failed_tasks(stdout):
    """{(host, task): the failure line} from the default callback's output."""
    task, found = None, {}
    lines = stdout.splitlines()
    for number, line in enumerate(lines):
        if line.startswith('TASK ['):
            task = line[6:line.rindex(']')].split(' : ', 1)[-1]
        match = re.match(r'^(?:fatal|failed): \[([^\]]+)\]', line)
        if match and task:
            text = '\n'.join(lines[number:number + 200])
            msg = re.search(r'"msg": "(.*)"', text)
            found.setdefault((match.group(1).split(' -> ')[0], task), msg.group(1)[:2000] if msg else line[:2000])
    return found


def test_secrets_appear_in_no_output_no_host_file_and_no_controller_file_but_the_users_vars(
        testbed_factory, ie_service_factory, tmp_path):
    started = time.time() - 2
    secret_key, pin, password, canary = random_secret(40), random_secret(12), random_secret(24), random_secret(20)
    needles = {'secret key': forms(secret_key), 'pinCode': forms(pin), 'trueCryptPassword': forms(password)}
    service = ie_service_factory(accounts=[(ACCESS_KEY, secret_key)])
    bucket = service.new_bucket('secrets')
    bed = testbed_factory(hosts=3, drives_per_host=1, drive_size_mb=64, fstypes=['ext4', 'fat32', 'ntfs'],
                          groups=['ie_drive_hosts'])
    bed.forward_port(urlsplit(service.url).port)
    data_src = str(tmp_path / 'data')
    for rel, size in (('photos/a.jpg', 50000), ('photos/b.jpg', 70000), ('notes.txt', 300)):
        os.makedirs(os.path.dirname(os.path.join(data_src, rel)), exist_ok=True)
        with open(os.path.join(data_src, rel), 'wb') as handle:
            handle.write(os.urandom(size))
    inventory = str(tmp_path / 'inventory' / 'hosts.json')
    os.makedirs(os.path.dirname(inventory))
    env = {'ANSIBLE_KEEP_REMOTE_FILES': '1'}
    manifests = str(tmp_path / 'inventory' / '.awsie-importexport' / 'manifests')

    with ProcSampler(needles, spare_group=service.proc.pid) as sampler:
        # Run 1: the whole main job; host03 signs with a SIGNATURE 1.0 computed from the secret key.
        write_inventory(bed, inventory, data_src, bucket, service, secret_key, pin, password,
                        {'host03': {'drive_prepare_signature': 'computed'}})
        first = bed.run_playbook(SHIP, inventory=inventory, extra_args=['-vvvv'], env=env, expect_rc=None)
        assert first.returncode == 0, '\n'.join('%s %s: %s' % (k + (v,)) for k, v in failed_tasks(first.stdout).items())
        assert os.path.exists(os.path.join(manifests, 'fleet-jobs.csv'))

        # Run 2: modules fail half-way. host01: its manifest must be rewritten (a new field) but the file
        # is immutable, so ie_manifest fails between writing its temporary file and renaming it.
        # host02, host03: SIGNATURE 1.0 computed with the secret key on the controller, after the mount,
        # the load and the job; the write on the host fails (a directory stands where the file goes).
        manifest01 = os.path.join(manifests, 'host01-d1.yml')
        chattr('+i', manifest01)
        try:
            for host in ('host02', 'host03'):
                replace_signature_with_directory(bed, host)
            write_inventory(bed, inventory, data_src, bucket, service, secret_key, pin, password, {
                'host01': {'manifest': {'notificationEmail': 'ops@example.com'}},
                'host02': {'drive_prepare_signature': 'computed'}, 'host03': {'drive_prepare_signature': 'computed'}})
            second = bed.run_playbook(SHIP, inventory=inventory, extra_args=['-vvvv'], env=env, expect_rc=None)
        finally:
            chattr('-i', manifest01)
    failures = failed_tasks(second.stdout)
    expected = [('host01', "Write each manifest with the drive's deviceId on the controller (mode 0600)"),
                ('host02', 'Write the SIGNATUREs'), ('host03', 'Write the SIGNATUREs')]
    assert sorted(failures) == expected, '\n'.join('%s %s: %s' % (k + (v,)) for k, v in failures.items())

    report = {'outputs': {}, 'places': [], 'found': []}
    leaks = []
    # 1. Outputs.
    for label, run in (('run 1', first), ('run 2 (failing)', second)):
        for stream in ('stdout', 'stderr'):
            text = getattr(run, stream).encode()
            report['outputs']['%s %s' % (label, stream)] = len(text)
            for name, hexes in needles.items():
                if any(bytes.fromhex(h) in text for h in hexes):
                    leaks.append(('%s %s' % (label, stream), name))
    assert sampler.samples >= 2
    leaks += sorted(set(('process %s %s' % (pid, part), name) for pid, part, name, _data in sampler.hits))
    report['processes'] = {'samples': sampler.samples, 'reads': sampler.reads}

    # 2. Each host, inside its own namespaces: /mnt, kept remote files, its drive (files and raw bytes).
    planted = plant_canaries(bed, canary, tmp_path)
    needles['canary'] = forms(canary)
    canaries = set()
    kept_on_hosts = 0
    for host in bed.hosts:
        drive = host.drives[0]
        point = '/mnt/secrets-search'
        kept_on_hosts += sum(len(files) for _top, _dirs, files in os.walk(host.remote_tmp))
        mount_ro(bed, host.name, drive, point)
        try:
            found = search([{'path': '/mnt', 'skip': [point]}, {'path': host.remote_tmp}, {'path': point},
                            {'path': drive.device, 'kind': 'device'}], needles,
                           runner=lambda argv, spec, h=host.name: bed.exec_on(h, argv, input=spec))
        finally:
            unmount(bed, host.name, point)
        for root, (files, size) in found['roots'].items():
            where = {point: 'drive %s (%s) mounted read-only' % (drive.device, drive.fstype), drive.device: 'raw bytes of %s' % drive.device,
                     host.remote_tmp: 'kept remote files', '/mnt': '/mnt'}.get(root, root)
            report['places'].append(('%s: %s' % (host.name, where), files, size))
        for hit in found['hits']:
            if hit['secret'] == 'canary':
                canaries.update('%s: %s' % (host.name, root) for root in found['roots']
                                if hit['path'] == root or hit['path'].startswith(os.path.join(root, '')))
            else:
                leaks.append(('%s:%s' % (host.name, hit['path']), hit['secret']))
        missed = [root for root in found['roots'] if '%s: %s' % (host.name, root) not in canaries]
        assert not missed, 'the search missed the canary in %s on %s' % (missed, host.name)
    assert kept_on_hosts > 0, 'ANSIBLE_KEEP_REMOTE_FILES left nothing in the hosts\' remote tmp: the search would prove nothing'

    # 3. What hosts and controller share here, changed since the test started.
    # (The service's state directory is AWS's side: it keeps the account's key and the manifests.)
    shared = [{'path': p, 'since': started, 'skip': [service.state_dir]} for p in ('/tmp', '/var/tmp', '/dev/shm', os.path.expanduser('~'))]
    try:
        found = search(shared, needles)
        modules = {hit['path']: kept_controller_module(hit['path'], bed) for hit in found['hits']}
    finally:
        remove_kept_controller_files(started, [str(tmp_path), bed.rundir])
        os.unlink(planted[1])
    for root, (files, size) in found['roots'].items():
        report['places'].append(('shared (hosts and controller): %s, changed since the start' % root, files, size))
    report['skipped_large'] = found['skipped'][:20]
    # The bed's run directory is in /tmp too: its hosts' /mnt, remote tmp and drive images hold their canaries.
    found_canaries = set(hit['path'] for hit in found['hits'] if hit['secret'] == 'canary')
    assert set(planted) <= found_canaries and all(p in planted or p.startswith(os.path.join(bed.rundir, '')) for p in found_canaries), \
        'the search of the shared trees found the canaries in %s, planted in %s' % (sorted(found_canaries), planted)
    for hit in found['hits']:
        path = hit['path']
        module = modules[path]
        if hit['secret'] == 'canary':
            continue
        if path == inventory:
            report['found'].append(('allowed: the user\'s own vars', path, hit['secret']))
        elif os.path.dirname(path) == manifests and path.endswith('.yml') and hit['secret'] != 'secret key':
            mode = stat.S_IMODE(os.stat(path).st_mode)
            assert mode == 0o600, '%s holds the %s with mode %o' % (path, hit['secret'], mode)
            report['found'].append(('allowed: job manifest (0600) as sent to the service', path, hit['secret']))
        elif module in CONTROLLER_MODULES:
            report['found'].append(('allowed while ANSIBLE_KEEP_REMOTE_FILES is set: kept input of %s on the controller'
                                    % module, path, hit['secret']))
        else:
            leaks.append((path, hit['secret']))

    places = report['places']
    print('\nSecrets searched for: secret key (%d chars), pinCode (%d), trueCryptPassword (%d), each as written, '
          'UTF-16 and base64; a canary planted in every kind of place was found in each (%d places)'
          % (len(secret_key), len(pin), len(password), len(canaries) + len(planted)))
    print('Outputs: %s' % ', '.join('%s %d bytes' % item for item in report['outputs'].items()))
    print('Processes: %(samples)d samples, %(reads)d command lines and environments read' % report['processes'])
    for where, files, size in places:
        print('  %-90s %7d files %12d bytes' % (where, files, size))
    print('Total: %d places, %d files, %d bytes; %d files too large skipped: %s'
          % (len(places), sum(p[1] for p in places), sum(p[2] for p in places), len(found['skipped']), report['skipped_large']))
    print('Found (allowed):')
    grouped = {}
    for why, path, name in report['found']:
        grouped.setdefault(why, []).append('%s in %s' % (name, path))
    for why, items in grouped.items():
        print('  %s (%d):\n    %s' % (why, len(items), '\n    '.join(items)))
    print('Leaks: %s' % (leaks or 'none'))
    assert not leaks, leaks
    assert any(why.startswith("allowed: the user's own vars") for why, _path, _name in report['found']), \
        'the search did not even find the secrets where the test put them'


def test_remove_kept_controller_files_tolerates_another_run_removing_files(tmp_path, monkeypatch):
    """~/.ansible/tmp is shared with other runs: a directory listed, then gone before it is read, is
    skipped (it crashed with FileNotFoundError); this run's directory still goes, another run's stays."""
    base = tmp_path / 'home' / '.ansible' / 'tmp'
    for name, text in (('ansible-tmp-ours', 'x MARKER-ours y'), ('ansible-tmp-theirs', 'nothing of ours')):
        (base / name).mkdir(parents=True)
        (base / name / 'AnsiballZ_x.py').write_text(text)
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    real = os.listdir

    def listing(path='.'):
        names = real(path)
        return ['ansible-tmp-gone'] + names if os.fspath(path) == str(base) else names
    monkeypatch.setattr(os, 'listdir', listing)
    remove_kept_controller_files(0, ['MARKER-ours'])
    assert sorted(real(str(base))) == ['ansible-tmp-theirs']
    shutil.rmtree(str(tmp_path / 'home'))
    remove_kept_controller_files(0, ['MARKER-ours'])  # ~/.ansible/tmp itself gone: nothing to do
