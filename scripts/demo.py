#!/usr/bin/env python
"""``make demo``: the main job of awsie.importexport end to end, on built-in defaults.

1. starts the local Import/Export service (``ie-service serve``) and creates the S3 buckets on
   its S3 server;
2. makes three disk images (ext4, FAT32, NTFS) on loop devices: the drives of two inventory
   hosts (``ansible_connection=local``);
3. runs ``playbooks/prepare_drives.yml`` (role drive_prepare: probe, mount, load, manifest, job,
   SIGNATURE, verify, unmount), then again to show it changes nothing;
4. polls the jobs (``playbooks/poll_jobs.yml``, role job_status), "ships" each drive
   (``ie-service receive JOB_ID IMAGE``), polls until every job is terminal;
5. prints the report and the objects that landed in S3.

``--offline`` runs version 1 instead (no service): drives signed from the sample manifests in
docs/examples/manifests with fixed job ids, verified in check mode.

Everything it creates (service, mounts, loop devices, images, temporary files) is removed on
the way out, on success, on failure and on SIGINT/SIGTERM/SIGHUP. Exit status 0 means every
step passed. Run as root (loop devices and mounts).
"""
import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(os.path.abspath(sys.executable))
EXAMPLES = os.path.join(REPO, 'docs', 'examples')
DEMO_ACCESS_KEY = 'AKIAIOSFODNN7EXAMPLE'
DEMO_SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'

# name, file system, manifest, data directory, image size (MiB), job id for the offline demo
DRIVES = [
    ('photos', 'ext4', 'photos.yml', 'photos', 32, '53XTY'),
    ('ledgers', 'fat32', 'ledgers.yml', 'ledgers', 40, 'X452D'),
]


class DemoError(Exception):
    pass


def log(msg):
    print('[demo] %s' % msg, flush=True)


def run(cmd, check=True, quiet=True, **kw):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False, **kw)
    if check and proc.returncode != 0:
        raise DemoError('command failed (rc=%d): %s\n%s%s' % (
            proc.returncode, ' '.join(cmd), proc.stdout[-4000:], proc.stderr[-4000:]))
    return proc


def run_group(cmd, **kw):
    """Run cmd in its own process group; on any interruption end the whole group (forks too)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, **kw)
    try:
        out, err = proc.communicate()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        time.sleep(0.5)  # let the group's workers exit before mounts and files go
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _raise_on_signal(signum, _frame):
    raise KeyboardInterrupt('signal %d' % signum)


class Cleanup(contextlib.ExitStack):
    """An ExitStack whose callbacks never raise: every clean-up step runs and is reported."""

    def add(self, what, func, *args):
        def safe():
            try:
                func(*args)
            except Exception as exc:  # pylint: disable=broad-except
                log('clean-up of %s failed: %s' % (what, exc))
        self.callback(safe)


def umount(path):
    for _attempt in range(50):
        if not os.path.ismount(path):
            return
        if subprocess.run(['umount', path], capture_output=True, check=False).returncode == 0:
            return
        time.sleep(0.1)
    raise DemoError('could not unmount %s' % path)


def detach(device):
    run(['losetup', '-d', device], check=False)


class Drive:
    def __init__(self, workdir, name, fstype, manifest, data, size_mb, job_id):
        self.name, self.fstype, self.size_mb, self.job_id = name, fstype, size_mb, job_id
        self.manifest = os.path.join(EXAMPLES, 'manifests', manifest) if manifest else None
        self.data = os.path.join(EXAMPLES, 'data', data)
        self.image = os.path.join(workdir, '%s.img' % name)
        self.mountpoint = os.path.join(workdir, 'mnt', name)
        self.device = None

    def create(self, cleanup):
        with open(self.image, 'wb') as handle:
            handle.truncate(self.size_mb * 1024 * 1024)
        self.device = run(['losetup', '-f', '--show', self.image]).stdout.strip()
        cleanup.add('loop device %s' % self.device, detach, self.device)
        if self.fstype == 'fat32':
            # No volume label: fusefat (used here and by ie-service receive) lists a FAT label as a file.
            run(['mkfs.vfat', '-F', '32', self.device])
        elif self.fstype == 'ntfs':
            run(['mkfs.ntfs', '-F', '-Q', '-q', '-L', self.name, self.device])
        else:
            run(['mkfs.' + self.fstype, '-q', '-F', '-L', self.name, self.device])

    def mount(self, cleanup):
        os.makedirs(self.mountpoint, exist_ok=True)
        if self.fstype == 'fat32' and not _kernel_has('vfat'):
            run(['fusefat', '-o', 'rw+,fsname=%s,subtype=fusefat' % self.device, self.device, self.mountpoint])
        else:
            run(['mount', self.device, self.mountpoint])
        cleanup.add('mount %s' % self.mountpoint, umount, self.mountpoint)

    def load(self):
        for root, _dirs, files in os.walk(self.data):
            rel = os.path.relpath(root, self.data)
            dest = os.path.normpath(os.path.join(self.mountpoint, rel))
            os.makedirs(dest, exist_ok=True)
            for name in files:
                shutil.copyfile(os.path.join(root, name), os.path.join(dest, name))


def _kernel_has(fstype):
    with open('/proc/filesystems') as handle:
        return any(line.split()[-1] == fstype for line in handle if line.strip())


SIGN_PLAYBOOK = '''---
- name: Write and verify the SIGNATURE of each demo drive
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Write the SIGNATURE
      awsie.importexport.ie_signature:
        dest: "{{ item.mountpoint }}"
        job_id: "{{ item.job_id }}"
        manifest_src: "{{ item.manifest }}"
        secret_key: "{{ demo_secret_key }}"
      loop: "{{ demo_drives }}"
      loop_control:
        label: "{{ item.name }}"
      register: demo_written

    - name: Verify it in check mode (the pre-shipment check)
      awsie.importexport.ie_signature:
        dest: "{{ item.mountpoint }}"
        job_id: "{{ item.job_id }}"
        manifest_src: "{{ item.manifest }}"
        secret_key: "{{ demo_secret_key }}"
      check_mode: true
      loop: "{{ demo_drives }}"
      loop_control:
        label: "{{ item.name }}"
      register: demo_verified
      failed_when: demo_verified is changed

    - name: Save the results for the summary
      ansible.builtin.copy:
        content: "{{ {'written': demo_written.results, 'verified': demo_verified.results} | to_json }}"
        dest: "{{ demo_result_file }}"
        mode: "0600"
'''


def ansible_env(workdir):
    collections = os.path.join(workdir, 'collections')
    link = os.path.join(collections, 'ansible_collections', 'awsie', 'importexport')
    if not os.path.exists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(REPO, link)
    env = dict(os.environ)
    env.update({
        'PATH': BIN + os.pathsep + env.get('PATH', ''),
        'ANSIBLE_COLLECTIONS_PATH': collections,
        'ANSIBLE_HOME': os.path.join(workdir, 'ansible-home'),
        'ANSIBLE_LOCAL_TEMP': os.path.join(workdir, 'ansible-tmp'),
        'ANSIBLE_REMOTE_TMP': os.path.join(workdir, 'ansible-tmp'),
        'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
        'ANSIBLE_RETRY_FILES_ENABLED': '0',
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_PIPELINING': '1',
    })
    return env


def ansible_playbook(workdir, playbook, inventory, extra_vars, label, env=None):
    cmd = [os.path.join(BIN, 'ansible-playbook'), '-i', inventory, playbook]
    for item in ([extra_vars] if isinstance(extra_vars, str) else extra_vars or []):
        cmd += ['-e', '@' + item if os.path.isfile(item) else item]
    log('ansible-playbook %s: %s' % (os.path.relpath(playbook, REPO) if playbook.startswith(REPO) else
                                     os.path.basename(playbook), label))
    started = time.monotonic()
    full_env = ansible_env(workdir)
    full_env.update(env or {})
    proc = run_group(cmd, cwd=REPO, env=full_env)
    with open(os.path.join(workdir, 'ansible.log'), 'a') as handle:
        handle.write('### %s\n%s\n%s\n' % (label, proc.stdout, proc.stderr))
    recap = proc.stdout[proc.stdout.rfind('PLAY RECAP'):] if 'PLAY RECAP' in proc.stdout else ''
    for line in recap.splitlines()[1:]:
        if line.strip():
            log('  %s' % ' '.join(line.split()))
    log('  (%.1f s, rc=%d)' % (time.monotonic() - started, proc.returncode))
    if proc.returncode != 0:
        raise DemoError('ansible-playbook %s failed (rc=%d)\n%s\n%s' % (
            label, proc.returncode, proc.stdout[-8000:], proc.stderr[-3000:]))
    return proc


def demo_offline(workdir, cleanup):
    """Version 1: drives signed from sample manifests with fixed job ids; no service."""
    drives = [Drive(workdir, *spec) for spec in DRIVES]
    for drive in drives:
        drive.create(cleanup)
        drive.mount(cleanup)
        drive.load()
        log('drive %-8s %-5s %s mounted at %s, sample data copied' % (
            drive.name, drive.fstype, drive.device, drive.mountpoint))
    inventory = os.path.join(workdir, 'inventory.ini')
    with open(inventory, 'w') as handle:
        handle.write('localhost ansible_connection=local ansible_python_interpreter=%s\n' % sys.executable)
    playbook = os.path.join(workdir, 'sign.yml')
    with open(playbook, 'w') as handle:
        handle.write(SIGN_PLAYBOOK)
    result_file = os.path.join(workdir, 'result.json')
    extra = os.path.join(workdir, 'vars.json')
    with open(extra, 'w') as handle:
        json.dump({'demo_drives': [dict(name=d.name, mountpoint=d.mountpoint, job_id=d.job_id, manifest=d.manifest)
                                   for d in drives],
                   'demo_secret_key': DEMO_SECRET_KEY, 'demo_result_file': result_file}, handle)
    os.chmod(extra, 0o600)
    ansible_playbook(workdir, playbook, inventory, extra, 'write and verify SIGNATUREs')
    with open(result_file) as handle:
        results = json.load(handle)
    print()
    print('=' * 78)
    print('Demo summary: %d drives prepared' % len(drives))
    print('-' * 78)
    print('%-8s %-6s %-11s %-6s %-8s %-8s %s' % ('drive', 'fs', 'device', 'job', 'written', 'verified', 'files'))
    for drive, written, verified in zip(drives, results['written'], results['verified']):
        files = sum(len(f) for _r, _d, f in os.walk(drive.mountpoint))
        print('%-8s %-6s %-11s %-6s %-8s %-8s %d' % (
            drive.name, drive.fstype, drive.device, drive.job_id, 'changed' if written['changed'] else 'ok',
            'ok' if not verified['changed'] else 'MISMATCH', files))
    print('-' * 78)
    for drive in drives:
        with open(os.path.join(drive.mountpoint, 'SIGNATURE')) as handle:
            print('%s:/SIGNATURE\n    %s' % (drive.name, handle.read().strip().replace('\n', '\n    ')))
    print('=' * 78)
    return True


# --------------------------------------------------------------------------- version 2
# host, drive name, file system, data directory, image size (MiB), bucket
FLEET = [
    ('ingest-a', 'photos', 'ext4', 'photos', 32, 'demo-photos'),
    ('ingest-a', 'ledgers', 'fat32', 'ledgers', 40, 'demo-ledgers'),
    ('ingest-b', 'archive', 'ntfs', 'archive', 24, 'demo-archive'),
]
LOG_BUCKET = 'demo-logs'
RETURN_ADDRESS = {'name': 'Demo Operator', 'street1': '120 Example Ave S.', 'city': 'Seattle',
                  'stateOrProvince': 'WA', 'postalCode': '98104', 'phoneNumber': '206-555-0100', 'country': 'USA'}


def ie_service_command():
    found = shutil.which('ie-service', path=BIN) or shutil.which('ie-service')
    return [found] if found else None


class Service:
    """``ie-service serve`` on 127.0.0.1 with its own state dir; stopped by clean-up."""

    def __init__(self, workdir, cleanup, step_seconds=2):
        self.state_dir = os.path.join(workdir, 'service')
        cmd = ie_service_command() + ['serve', '--port', '0', '--state-dir', self.state_dir,
                                      '--step-seconds', str(step_seconds)]
        self.stderr = open(os.path.join(workdir, 'service.stderr'), 'wb')  # pylint: disable=consider-using-with
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.stderr,  # pylint: disable=consider-using-with
                                     start_new_session=True)
        cleanup.add('ie-service', self.stop)
        lines = [self.proc.stdout.readline().decode().strip() for _i in range(2)]
        if not lines[0].startswith('ie-service listening on '):
            raise DemoError('ie-service did not start: %r (see %s)' % (lines, self.stderr.name))
        self.url = lines[0].split(' on ', 1)[1]
        self.s3_url = lines[1].split('endpoint ', 1)[1].split()[0].rstrip('/')

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.stderr.close()

    def receive(self, job_id, image):
        proc = run(ie_service_command() + ['receive', job_id, image, '--state-dir', self.state_dir], check=False)
        if proc.returncode != 0:
            raise DemoError('ie-service receive %s %s failed: %s%s' % (job_id, image, proc.stdout, proc.stderr))
        return json.loads(proc.stdout)

    def s3(self):
        import boto3  # pylint: disable=import-outside-toplevel
        return boto3.client('s3', endpoint_url=self.s3_url, region_name='us-east-1',
                            aws_access_key_id=DEMO_ACCESS_KEY, aws_secret_access_key=DEMO_SECRET_KEY)


def recap(proc):
    """host -> {ok, changed, failed, ...} from the PLAY RECAP of the last play."""
    out = {}
    text = proc.stdout[proc.stdout.rfind('PLAY RECAP'):]
    for line in text.splitlines()[1:]:
        if ':' in line:
            host, rest = line.split(':', 1)
            out[host.strip()] = {k: int(v) for k, v in (f.split('=') for f in rest.split())}
    return out


def changed_tasks(proc):
    """(task name, host) pairs reported changed, from the default callback's output."""
    task, found = None, []
    for line in proc.stdout.splitlines():
        if line.startswith('TASK ['):
            task = line[6:line.rindex(']')].split(' : ', 1)[-1]
        elif line.startswith('changed: [') and task:
            found.append((task, line[10:line.index(']')].split(' -> ')[0]))
    return found


def write_inventory(workdir, drives, service):
    hosts = {}
    for drive in drives:
        host = hosts.setdefault(drive.host, {
            'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
            'drive_prepare_mount_root': os.path.join(workdir, 'mnt', drive.host), 'drive_prepare_drives': []})
        host['drive_prepare_drives'].append({
            'name': drive.name, 'device': drive.device, 'data_src': drive.data,
            'manifest': {'bucket': drive.bucket, 'prefix': drive.name + '/'}})
    inventory = {'all': {'children': {'ie_drive_hosts': {'hosts': hosts, 'vars': {
        'drive_prepare_manifest_dir': os.path.join(workdir, 'manifests'),
        'drive_prepare_manifest_defaults': {
            'accessKeyId': DEMO_ACCESS_KEY, 'generator': 'awsie.importexport make demo', 'eraseDevice': True,
            'logBucket': LOG_BUCKET, 'logPrefix': 'logs/', 'returnAddress': RETURN_ADDRESS},
        'job_status_report_path': os.path.join(workdir, 'report.md'),
        'job_status_poll_interval': 1,
        'job_status_wait_timeout': 120,
    }}}}}
    path = os.path.join(workdir, 'inventory.json')
    with open(path, 'w') as handle:
        json.dump(inventory, handle, indent=1)
    return path


def demo_service(workdir, cleanup, rerun=True):
    """Version 2: the main job against the local service."""
    service = Service(workdir, cleanup)
    log('ie-service listening on %s (S3 at %s)' % (service.url, service.s3_url))
    s3 = service.s3()
    buckets = sorted(set([LOG_BUCKET] + [spec[5] for spec in FLEET]))
    for bucket in buckets:
        s3.create_bucket(Bucket=bucket)
    log('S3 buckets created: %s' % ', '.join(buckets))
    drives = []
    for host, name, fstype, data, size_mb, bucket in FLEET:
        drive = Drive(workdir, name, fstype, None, data, size_mb, None)
        drive.host, drive.bucket = host, bucket
        drive.create(cleanup)
        # The role mounts and unmounts; this only makes sure nothing stays mounted on the way out.
        cleanup.add('mount %s' % drive.name, umount, os.path.join(workdir, 'mnt', host, name))
        drives.append(drive)
        log('drive %-8s %-5s on %-11s for host %s' % (name, fstype, drive.device, host))
    inventory = write_inventory(workdir, drives, service)
    env = {'AWS_URL': service.url, 'AWS_ACCESS_KEY_ID': DEMO_ACCESS_KEY, 'AWS_SECRET_ACCESS_KEY': DEMO_SECRET_KEY,
           'ANSIBLE_CACHE_PLUGIN': 'ansible.builtin.jsonfile',
           'ANSIBLE_CACHE_PLUGIN_CONNECTION': os.path.join(workdir, 'facts')}
    prepare = os.path.join(REPO, 'playbooks', 'prepare_drives.yml')
    poll = os.path.join(REPO, 'playbooks', 'poll_jobs.yml')
    first = recap(ansible_playbook(workdir, prepare, inventory, [], 'prepare every drive', env))
    second = {}
    if rerun:
        proc = ansible_playbook(workdir, prepare, inventory, [], 'again: only mount and unmount change', env)
        second = recap(proc)
        unexpected = [c for c in changed_tasks(proc) if c[0] not in ('Mount the drive', 'Unmount the drive')]
        if unexpected:
            raise DemoError('the second prepare_drives run changed more than mounts: %s' % unexpected)
    jobs = []
    for host in sorted(set(d.host for d in drives)):
        with open(os.path.join(workdir, 'manifests', '%s-jobs.json' % host)) as handle:
            jobs += json.load(handle)
    ansible_playbook(workdir, poll, inventory, [], 'poll before shipping', env)
    shipped = {}
    for job in jobs:
        drive = next(d for d in drives if d.name == job['drive'] and d.host == job['host'])
        shipped[job['job_id']] = service.receive(job['job_id'], drive.image)
        log('shipped %-8s job %s: %s, %s' % (drive.name, job['job_id'], shipped[job['job_id']].get(
            'file_system'), shipped[job['job_id']].get('signature', '?')))
    ansible_playbook(workdir, poll, inventory, ['job_status_wait=true'], 'poll until every job is terminal', env)
    with open(os.path.join(workdir, 'report.md')) as handle:
        report = handle.read()
    with open(os.path.join(workdir, 'report.md.state.json')) as handle:
        final = {j['job_id']: j for j in json.load(handle)}

    print()
    print('=' * 78)
    print('make demo: %d drives on %d hosts through the local Import/Export service' % (
        len(drives), len(set(d.host for d in drives))))
    print('-' * 78)
    print('prepare_drives.yml  1st run: %s' % ', '.join('%s changed=%d' % (h, r['changed']) for h, r in sorted(first.items())))
    if rerun:
        print('prepare_drives.yml  2nd run: %s (only the mount and unmount of each drive)' % ', '.join(
            '%s changed=%d' % (h, r['changed']) for h, r in sorted(second.items())))
    print('-' * 78)
    print(report.rstrip())
    print('-' * 78)
    print('Objects in S3:')
    for bucket in buckets:
        keys = [o['Key'] for o in s3.list_objects_v2(Bucket=bucket).get('Contents', [])]
        print('  s3://%s/ (%d)' % (bucket, len(keys)))
        for key in keys:
            print('    %s' % key)
    print('=' * 78)
    ok = True
    for job in jobs:
        drive = next(d for d in drives if d.name == job['drive'])
        expected = sum(len(f) for _r, _d, f in os.walk(drive.data))
        got = len(s3.list_objects_v2(Bucket=drive.bucket, Prefix=drive.name + '/').get('Contents', []))
        progress = final[job['job_id']]['progress_code']
        if progress != 'Complete' or got != expected:
            log('job %s (%s): progress %s, %d of %d files in s3://%s' % (
                job['job_id'], drive.name, progress, got, expected, drive.bucket))
            ok = False
    return ok


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--keep-workdir', action='store_true', help='do not delete the work directory (debugging)')
    parser.add_argument('--offline', action='store_true', help='version 1: sign drives without the service')
    parser.add_argument('--no-rerun', action='store_true', help='skip the second (idempotency) prepare run')
    args = parser.parse_args(argv)
    if not args.offline and not ie_service_command():
        log('ie-service is not installed (make setup); running the offline demo')
        args.offline = True
    if os.geteuid() != 0:
        print('make demo needs root (loop devices and mounts)', file=sys.stderr)
        return 2
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_on_signal)
    workdir = tempfile.mkdtemp(prefix='ie-demo-')
    started = time.monotonic()
    ok = False
    try:
        with Cleanup() as cleanup:
            if not args.keep_workdir:
                cleanup.add('work directory', shutil.rmtree, workdir)
            ok = demo_offline(workdir, cleanup) if args.offline else demo_service(workdir, cleanup, not args.no_rerun)
            log('cleaning up')
    except DemoError as exc:
        log('FAILED: %s' % exc)
    except Exception:  # pylint: disable=broad-except
        log('FAILED with an unexpected error:\n%s' % traceback.format_exc())
    except KeyboardInterrupt as exc:
        log('interrupted (%s); cleaned up' % (exc or 'SIGINT'))
        return 130
    log('%s in %.1f s; mounts, loop devices and images removed' % (
        'PASSED' if ok else 'FAILED', time.monotonic() - started))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
