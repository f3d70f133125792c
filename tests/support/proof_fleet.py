"""A small fleet for the fault proofs (issue 11): hosts on ``ansible_connection=local``, each with
its loop drive(s), playbooks/prepare_drives.yml against a local service, and the figures of the
proof read back from the drives themselves (mounted read-only after the run):

* ``jobs``: the jobs the service holds for the account (must equal the drives);
* ``signatures_partial``: SIGNATURE files that do not parse or do not match their job's manifest
  and key (must be 0), ``signatures_missing``;
* ``files_differ``: files on a drive that differ from the source, plus ledger records the drive
  contradicts (missing file or other MD5) (must be 0); ``temp_files`` left under load names.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

from ansible_collections.awsie.importexport.plugins.module_utils import api, ledger, load, signing
from tests.support.drives import LoopDrive, unmount

RETURN_ADDRESS = {'name': 'Test Operator', 'street1': '1 Test St', 'city': 'Seattle', 'stateOrProvince': 'WA',
                  'postalCode': '98104', 'phoneNumber': '206-555-0100', 'country': 'USA'}


def write_tree(root, files):
    """files: {relative path: size}; random bytes."""
    for rel, size in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as handle:
            handle.write(os.urandom(size))
    return root


class Fleet:
    """``hosts`` local hosts with ``drives_per_host`` ext4 loop drives each, in ``workdir``."""

    def __init__(self, workdir, service, hosts=1, drives_per_host=1, files=None, size_mb=48, **group_vars):
        self.workdir = str(workdir)
        self.service = service
        self.bucket = service.new_bucket('flt')
        self.drives = {}
        self.sources = {}
        self.mount_root = os.path.join(self.workdir, 'mnt')
        files = files or dict(('part%02d.bin' % i, 512 * 1024) for i in range(16))
        spec = {}
        for number in range(1, hosts + 1):
            host = 'host%d' % number
            spec[host] = []
            for index in range(1, drives_per_host + 1):
                name = 'd%d' % index
                drive = LoopDrive(self.workdir, 'ext4', size_mb, name='%s-%s' % (host, name))
                self.drives[(host, name)] = drive
                src = write_tree(os.path.join(self.workdir, 'data', host, name), files)
                self.sources[(host, name)] = src
                spec[host].append({'name': name, 'device': drive.device, 'data_src': src, 'manifest': {'bucket': self.bucket}})
        self.inventory = self._inventory(spec, group_vars)
        self.out_dir = os.path.join(os.path.dirname(self.inventory), 'ie-manifests')

    def _inventory(self, spec, group_vars):
        values = {'drive_prepare_manifest_defaults': {'accessKeyId': self.service.access_key, 'eraseDevice': True,
                                                      'returnAddress': RETURN_ADDRESS},
                  'drive_prepare_endpoint_url': self.service.url, 'drive_prepare_access_key': self.service.access_key,
                  'drive_prepare_secret_key': self.service.secret_key, 'drive_prepare_progress_interval': 1,
                  'drive_prepare_manifest_dir': os.path.join(self.workdir, 'inventory', 'ie-manifests')}
        values.update(group_vars)
        inv = {'ie_drive_hosts': {'vars': values, 'hosts': {
            host: {'ansible_connection': 'local', 'ansible_python_interpreter': '{{ ansible_playbook_python }}',
                   'drive_prepare_mount_root': os.path.join(self.mount_root, host), 'drive_prepare_drives': drives}
            for host, drives in spec.items()}}}
        directory = os.path.join(self.workdir, 'inventory')
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, 'hosts.yml')
        with open(path, 'w') as handle:
            json.dump(inv, handle)
        return path

    # ------------------------------------------------------------ figures
    def jobs(self):
        client = api.QueryClient(self.service.access_key, self.service.secret_key, endpoint_url=self.service.url,
                                 max_attempts=30, backoff_base=0.05, backoff_cap=0.5)
        try:
            return list(client.iter_jobs())
        finally:
            client.close()

    def sheet(self, host):
        path = os.path.join(self.out_dir, '%s-jobs.json' % host)
        if not os.path.exists(path):
            return {}
        with open(path) as handle:
            return dict((entry['drive'], entry) for entry in json.load(handle))

    def figures(self):
        """The proof's figures over every drive (read with debugfs, see ``device_figures``)."""
        self.release()
        out = new_figures(len(self.drives), len(self.jobs()))
        for (host, name), drive in sorted(self.drives.items()):
            ledger_default = os.path.join(self.out_dir, '%s-%s.ledger.jsonl' % (host, name))
            device_figures(drive.device, '%s/%s' % (host, name), self.sources[(host, name)], self.sheet(host).get(name, {}),
                           self.service.secret_key, ledger_default, self.workdir, out)
        return out

    # ------------------------------------------------------------ clean-up
    def release(self):
        """Unmount whatever a (killed) run left mounted under the mount root."""
        with open('/proc/mounts') as handle:
            points = [line.split()[1] for line in handle if line.split()[1].startswith(self.mount_root + '/')]
        for point in sorted(points, reverse=True):
            unmount(point.replace('\\040', ' '))

    def wait_for_loads(self, timeout=300):
        """Wait until no async load of this fleet runs (a killed run leaves its load going on)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            busy = subprocess.run(['pgrep', '-f', '%s.*ie_load' % re.escape(self.workdir)], capture_output=True,
                                  check=False).returncode == 0
            if not busy:
                return
            time.sleep(0.5)

    def close(self):
        self.wait_for_loads(60)
        try:
            self.release()
        finally:
            for drive in self.drives.values():
                drive.close(remove_image=True)


def new_figures(drives, jobs):
    return dict(drives=drives, jobs=jobs, signatures_partial=0, signatures_missing=0, files_differ=0, temp_files=0,
                problems=[])


def device_figures(device, where, src, entry, secret_key, ledger_default, workdir, out):
    """Add one ext4 drive's figures to ``out``. The drive is read from the block device with debugfs,
    not mounted: a mount namespace made meanwhile by another process may hold a copy of the role's
    mount, and mounting again would then be refused as busy. ``entry``: the drive's row of the
    host's job sheet (job_id, manifest, ledger)."""
    look = tempfile.mkdtemp(prefix='look-', dir=workdir)
    try:
        subprocess.run(['debugfs', '-R', 'rdump / %s' % look, device], capture_output=True, check=True)
        files = {}
        for directory, dirs, names in os.walk(look):
            dirs[:] = [d for d in dirs if not (directory == look and d == 'lost+found')]
            for item in names:
                full = os.path.join(directory, item)
                with open(full, 'rb') as handle:
                    files[os.path.relpath(full, look).replace(os.sep, '/')] = handle.read()
    finally:
        shutil.rmtree(look, ignore_errors=True)
    signature = files.pop('SIGNATURE', None)
    if signature is None:
        out['signatures_missing'] += 1
    else:
        manifest, ok = entry.get('manifest'), False
        if manifest and os.path.exists(manifest) and entry.get('job_id'):
            with open(manifest, 'rb') as handle:
                ok = signing.verify_signature_file(signature, secret_key, handle.read(), entry['job_id'])[0]
        if not ok:
            out['signatures_partial'] += 1
            out['problems'].append('%s: SIGNATURE does not match (%r)' % (where, signature[:200]))
    for rel, data in files.items():
        if load.is_temp_name(rel.rsplit('/', 1)[-1]):
            out['temp_files'] += 1
            continue
        path = os.path.join(src, rel)
        same = False
        if os.path.exists(path):
            with open(path, 'rb') as handle:
                same = handle.read() == data
        if not same:
            out['files_differ'] += 1
            out['problems'].append('%s: %s differs from the source' % (where, rel))
    for rel, record in ledger.read_latest(entry.get('ledger') or ledger_default).items():
        data = files.get(rel)
        if data is None or hashlib.md5(data).hexdigest() != record.get('md5'):
            out['files_differ'] += 1
            out['problems'].append('%s: the ledger records %s, the drive disagrees' % (where, rel))
