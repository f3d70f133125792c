#!/usr/bin/env python
"""``make demo``: prepare disk images as AWS Import/Export drives with awsie.importexport.

Version 1 (no service needed): makes small disk images (ext4 and FAT32), attaches them to
loop devices, mounts them, copies sample data, writes a SIGNATURE on each from the sample
manifests in docs/examples/manifests through a real ansible-playbook run of
awsie.importexport.ie_signature, verifies them in check mode and prints a summary.

Everything it creates (mounts, loop devices, images, temporary files) is removed on the way
out, on success, on failure and on SIGINT/SIGTERM/SIGHUP. Exit status 0 means every step
passed. Run as root (loop devices and mounts).
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
        raise DemoError('command failed (rc=%d): %s\n%s%s' % (proc.returncode, ' '.join(cmd),
                                                             proc.stdout[-4000:], proc.stderr[-4000:]))
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
        self.manifest = os.path.join(EXAMPLES, 'manifests', manifest)
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
            run(['mkfs.vfat', '-F', '32', '-n', self.name.upper()[:11], self.device])
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
    })
    return env


def ansible_playbook(workdir, playbook, inventory, extra_vars, label):
    cmd = [os.path.join(BIN, 'ansible-playbook'), '-i', inventory, playbook, '-e', '@' + extra_vars]
    log('ansible-playbook: %s' % label)
    started = time.monotonic()
    proc = run_group(cmd, cwd=REPO, env=ansible_env(workdir))
    recap = proc.stdout[proc.stdout.rfind('PLAY RECAP'):] if 'PLAY RECAP' in proc.stdout else ''
    for line in recap.splitlines()[1:]:
        if line.strip():
            log('  %s' % ' '.join(line.split()))
    log('  (%.1f s, rc=%d)' % (time.monotonic() - started, proc.returncode))
    if proc.returncode != 0:
        raise DemoError('ansible-playbook %s failed (rc=%d)\n%s\n%s' % (label, proc.returncode,
                                                                       proc.stdout[-8000:], proc.stderr[-3000:]))
    return proc


def demo_offline(workdir, cleanup):
    """Version 1: drives signed from sample manifests with fixed job ids; no service."""
    drives = [Drive(workdir, *spec) for spec in DRIVES]
    for drive in drives:
        drive.create(cleanup)
        drive.mount(cleanup)
        drive.load()
        log('drive %-8s %-5s %s mounted at %s, sample data copied' % (drive.name, drive.fstype, drive.device,
                                                                     drive.mountpoint))
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--keep-workdir', action='store_true', help='do not delete the work directory (debugging)')
    args = parser.parse_args(argv)
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
            ok = demo_offline(workdir, cleanup)
            log('cleaning up')
    except DemoError as exc:
        log('FAILED: %s' % exc)
    except KeyboardInterrupt as exc:
        log('interrupted (%s); cleaned up' % (exc or 'SIGINT'))
        return 130
    log('%s in %.1f s; mounts, loop devices and images removed' % ('PASSED' if ok else 'FAILED',
                                                                 time.monotonic() - started))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
