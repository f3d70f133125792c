"""The local Import/Export service for tests, the demo and benchmarks: start, talk to, stop.

``IEService``: one ``ie-service serve`` process on 127.0.0.1 with its own state dir (and, unless
an S3 endpoint is given, its own moto S3 server child), in a process group of its own so that
stopping it ends the S3 child too. ``MotoServer``: moto's S3 API server in this process, to share
between services. ``import_manifest``/``export_manifest``: valid manifests for the demo account.
"""
import importlib.util
import json
import logging
import os
import selectors
import shutil
import subprocess
import sys
import time
import uuid

from tests.support.processes import end_group

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
if importlib.util.find_spec('ie_service') is None:
    # not installed into this venv (scripts/setup.sh does: pip install -e service): use the repository's
    sys.path.insert(0, os.path.join(REPO, 'service'))
from ie_service.accounts import DEMO_ACCESS_KEY, DEMO_SECRET_KEY  # noqa: E402  pylint: disable=wrong-import-position
from ie_service.clock import Clock  # noqa: E402  pylint: disable=wrong-import-position
from ie_service.faults import write_faults  # noqa: E402  pylint: disable=wrong-import-position

__all__ = ['DEMO_ACCESS_KEY', 'DEMO_SECRET_KEY', 'IEService', 'MotoServer', 'ie_service_command',
           'import_manifest', 'export_manifest']


def ie_service_command():
    found = shutil.which('ie-service', path=BIN) or shutil.which('ie-service')
    if found:
        return [found]
    return [sys.executable, '-m', 'ie_service']


class IEService:
    """A running ``ie-service serve``: ``.url``, ``.s3_url``, ``.access_key``, ``.secret_key``, ``.state_dir``."""

    def __init__(self, state_dir, s3_url=None, accounts=None, faults=(), clock_speed=None, step_seconds=None,
                 admin_token=None, tls=False, extra_args=(), start_timeout=20):
        self.state_dir = str(state_dir)
        os.makedirs(self.state_dir, exist_ok=True)
        if accounts is None:
            accounts = [(DEMO_ACCESS_KEY, DEMO_SECRET_KEY)]
        elif isinstance(accounts, dict):
            accounts = list(accounts.items())
        self.accounts = [tuple(a.split(':', 1)) if isinstance(a, str) else tuple(a) for a in accounts]
        self.access_key, self.secret_key = self.accounts[0]
        self.admin_token = admin_token
        self.ca_bundle = None
        cmd = ie_service_command() + ['serve', '--host', '127.0.0.1', '--port', '0', '--state-dir', self.state_dir]
        for key, secret in self.accounts:
            cmd += ['--account', '%s:%s' % (key, secret)]
        if s3_url:
            cmd += ['--s3-endpoint', s3_url]
        for spec in faults:
            cmd += ['--fault', spec]
        if clock_speed is not None:
            cmd += ['--clock-speed', str(clock_speed)]
        if step_seconds is not None:
            cmd += ['--step-seconds', str(step_seconds)]
        if admin_token:
            cmd += ['--admin-token', admin_token]
        if tls:
            cmd.append('--tls')
        cmd += list(extra_args)
        self.stderr_path = os.path.join(self.state_dir, 'service.stderr')
        self._stderr = open(self.stderr_path, 'wb')  # pylint: disable=consider-using-with
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._stderr,  # pylint: disable=consider-using-with
                                     start_new_session=True)
        lines = self._read_lines(3 if tls else 2, start_timeout)
        if len(lines) < 2 or not lines[0].startswith('ie-service listening on '):
            self.stop()
            with open(self.stderr_path, encoding='utf-8', errors='replace') as handle:
                raise RuntimeError('ie-service did not start: %r\n%s' % (lines, handle.read()[-4000:]))
        self.url = lines[0].split(' on ', 1)[1].strip()
        self.s3_url = lines[1].split('endpoint ', 1)[1].split()[0].rstrip('/')
        if tls:
            self.ca_bundle = lines[2].split('certificate ', 1)[1].strip()

    def _read_lines(self, count, timeout):
        lines = []
        buf = b''
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while len(lines) < count and time.monotonic() < deadline:
            if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                break
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
            while b'\n' in buf and len(lines) < count:
                line, buf = buf.split(b'\n', 1)
                lines.append(line.decode())
        sel.close()
        return lines

    # ------------------------------------------------------------ admin
    def cli(self, *args, check=True):
        """Run ``ie-service ARGS... --state-dir STATE_DIR``; returns the CompletedProcess."""
        proc = subprocess.run(ie_service_command() + list(args) + ['--state-dir', self.state_dir],
                              capture_output=True, text=True, check=False)
        if check and proc.returncode != 0:
            raise AssertionError('ie-service %s failed (%d):\n%s\n%s' % (' '.join(args), proc.returncode, proc.stdout, proc.stderr))
        return proc

    def set_faults(self, *specs):
        """Replace the faults in force with SPECs (``[Action:]kind=value``)."""
        write_faults(self.state_dir, list(specs), replace=True)

    def clear_faults(self):
        self.set_faults()

    def advance_clock(self, days=0, hours=0, seconds=0):
        Clock(self.state_dir).advance(days * 86400 + hours * 3600 + seconds)

    def receive(self, job_id, path, check=True):
        """``ie-service receive``; returns the parsed JSON summary (or the process when it failed and check is False)."""
        proc = self.cli('receive', job_id, str(path), check=check)
        if proc.returncode != 0:
            return proc
        return json.loads(proc.stdout)

    # ------------------------------------------------------------ clients
    def client(self, access_key=None, secret_key=None, sigv2=False, **kwargs):
        """boto3's own ``importexport`` client on this service (SigV4 as botocore sends it; SigV2 when asked)."""
        import boto3  # pylint: disable=import-outside-toplevel
        from botocore.config import Config  # pylint: disable=import-outside-toplevel
        kwargs.setdefault('config', Config(retries={'total_max_attempts': 1, 'mode': 'standard'}))
        client = boto3.session.Session().client(
            'importexport', endpoint_url=self.url, region_name='us-east-1', verify=self.ca_bundle or True,
            aws_access_key_id=access_key or self.access_key, aws_secret_access_key=secret_key or self.secret_key, **kwargs)
        if sigv2:
            client.meta.events.register_first('choose-signer.importexport', lambda **kw: 'v2')
        return client

    def s3_client(self):
        import boto3  # pylint: disable=import-outside-toplevel
        from botocore.config import Config  # pylint: disable=import-outside-toplevel
        return boto3.session.Session().client(
            's3', endpoint_url=self.s3_url, region_name='us-east-1', aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key, config=Config(s3={'addressing_style': 'path'}))

    def new_bucket(self, stem='ie'):
        """Create a fresh, uniquely named bucket on the S3 server and return its name."""
        name = '%s-%s' % (stem, uuid.uuid4().hex[:12])
        self.s3_client().create_bucket(Bucket=name)
        return name

    def stop(self):
        """End the service and its S3 child (the whole process group); safe to call twice."""
        if self.proc.poll() is None:
            end_group(self.proc)
        if self.proc.stdout:
            self.proc.stdout.close()
        self._stderr.close()

    def __repr__(self):
        return '<IEService %s state=%s>' % (getattr(self, 'url', '?'), self.state_dir)


class MotoServer:
    """moto's S3 API server on a free loopback port, in this process (``.url``, ``.stop()``)."""

    def __init__(self):
        from moto.server import ThreadedMotoServer  # pylint: disable=import-outside-toplevel
        logging.getLogger('werkzeug').setLevel(logging.ERROR)  # one log line per S3 request drowns reports
        self.server = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.url = 'http://%s:%d' % (host, port)

    def stop(self):
        self.server.stop()


RETURN_ADDRESS = ('returnAddress:\n    name: Joe Random\n    street1: 123 Any Street\n    city: Seattle\n'
                  '    stateOrProvince: WA\n    postalCode: "98104"\n    phoneNumber: 206-555-0100\n    country: USA\n')


def import_manifest(access_key, bucket, extra='', device_id='DEV001'):
    """A valid S3 import manifest (text); ``extra`` is more YAML lines placed before returnAddress."""
    return ('manifestVersion: 2.0\naccessKeyId: %s\ndeviceId: %s\nbucket: %s\neraseDevice: yes\n%s%s'
            % (access_key, device_id, bucket, extra, RETURN_ADDRESS))


def export_manifest(access_key, operations, log_bucket, file_system='EXT4', extra='', device_id='DEV002'):
    """A valid S3 export manifest; ``operations`` is a list of dicts (exportBucket, prefix, ...)."""
    ops = ''
    for op in operations:
        items = list(op.items())
        ops += '    - %s: %s\n' % items[0]
        ops += ''.join('      %s: %s\n' % kv for kv in items[1:])
    return ('manifestVersion: 2.0\naccessKeyId: %s\ndeviceId: %s\nfileSystem: %s\nlogBucket: %s\n'
            'trueCryptPassword: secret-pass\noperations:\n%s%s%s'
            % (access_key, device_id, file_system, log_bucket, ops, extra, RETURN_ADDRESS))
