"""A multi-host test bed: N managed hosts reached over real SSH, each with its own loop drives.

Every host is a network namespace with its own ``sshd``, its own hostname (UTS namespace) and
its own mount namespace (propagation private: a drive mounted on one host is invisible to the
others and to the caller), plus a private ``/mnt``. Ansible runs from a controller namespace
whose bridge joins one veth pair per host. Addresses come from 10.213.0.0/16, and exist only
inside the namespaces made here; the caller's network is never touched.

    with Testbed(hosts=3, fstypes=['ext4', 'fat32', 'ntfs']) as bed:
        run = bed.run_playbook('site.yml')
        assert run.stats['host01']['failed'] == 0
        print(bed.exec_on('host01', 'findmnt -rn').stdout)

Teardown removes everything (also on an exception, SIGTERM, SIGINT and at exit):
processes in the namespaces (sshd, its sessions, FUSE daemons, ControlPersist helpers), the
mounts in the hosts' namespaces, the namespaces (with the bridge and veths), the loop devices
and the run directory. ``cleanup_stale()`` does the same for runs whose owner died (SIGKILL).

CLI (the bed outlives the command; ``down`` removes it):
    python -m tests.support.testbed up --hosts 5 --state DIR
    python -m tests.support.testbed run --state DIR -- ansible-playbook play.yml
    python -m tests.support.testbed exec --state DIR host01 -- findmnt
    python -m tests.support.testbed down --state DIR
    python -m tests.support.testbed cleanup           # leftovers of killed runs
    python -m tests.support.testbed measure --hosts 3,5,20
"""
import argparse
import atexit
import ctypes
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
PREFIX = 'ietb-'
NETNS_DIR = '/run/netns'
SUBNET = '10.213'
CTL_ADDRESS = SUBNET + '.0.1'
STATE_FILE = 'state.json'
SBIN_PATH = '/usr/sbin:/sbin:/usr/bin:/bin'

MKFS = {
    'ext4': ['mkfs.ext4', '-q', '-F'],
    'ext3': ['mkfs.ext3', '-q', '-F'],
    'ext2': ['mkfs.ext2', '-q', '-F'],
    'fat32': ['mkfs.vfat', '-F', '32'],
    'ntfs': ['mkntfs', '-F', '-Q', '-q'],
    'exfat': ['mkfs.exfat'],
}
RECAP = re.compile(r'^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)'
                   r'\s+skipped=(\d+)\s+rescued=(\d+)\s+ignored=(\d+)', re.M)
RECAP_KEYS = ('ok', 'changed', 'unreachable', 'failed', 'skipped', 'rescued', 'ignored')

_libc = ctypes.CDLL(None, use_errno=True)
_CLONE_NEWNET = 0x40000000


class TestbedError(RuntimeError):
    """The bed could not be set up or used; the message says what and where."""


def _base_dir():
    return os.environ.get('IE_TESTBED_TMP') or tempfile.gettempdir()


_INFLIGHT = set()  # commands running now; a signal handler lets them finish before teardown


def _run(cmd, check=True, input=None, env=None, timeout=60):  # pylint: disable=redefined-builtin
    with subprocess.Popen(cmd, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env=env) as child:
        _INFLIGHT.add(child)
        try:
            out, err = child.communicate(input, timeout=timeout)
        except BaseException:
            child.kill()
            child.wait()
            raise
        finally:
            _INFLIGHT.discard(child)
    proc = subprocess.CompletedProcess(cmd, child.returncode, out, err)
    if check and proc.returncode != 0:
        raise TestbedError('%s exited %d: %s' % (' '.join(cmd), proc.returncode, proc.stderr.strip()[-2000:]))
    return proc


def _let_inflight_finish(timeout=10.0):
    """Wait (without reaping: the interrupted caller may hold the Popen's lock) until running commands end.

    A losetup that attaches a drive after teardown looked would leave it behind.
    """
    deadline = time.monotonic() + timeout
    for child in list(_INFLIGHT):
        start = _start_time(child.pid)
        while start is not None and _alive(child.pid, start) and time.monotonic() < deadline:
            time.sleep(0.02)


def _which(name):
    path = shutil.which(name, path=SBIN_PATH + os.pathsep + os.environ.get('PATH', ''))
    if not path:
        raise TestbedError('%s not found: install the Debian packages of scripts/setup.sh (openssh-server, iproute2)' % name)
    return path


def _start_time(pid):
    """The start time of a process (clock ticks since boot), or None if it is gone."""
    try:
        with open('/proc/%d/stat' % pid) as handle:
            return int(handle.read().rsplit(')', 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _ns_inode(path):
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def _pids():
    return [int(name) for name in os.listdir('/proc') if name.isdigit()]


def _pids_in_netns(name):
    """PIDs of the processes whose network namespace is /run/netns/<name> (like ``ip netns pids``)."""
    inode = _ns_inode(os.path.join(NETNS_DIR, name))
    if inode is None:
        return []
    return [pid for pid in _pids() if pid != os.getpid() and _ns_inode('/proc/%d/ns/net' % pid) == inode]


def netns_list():
    try:
        return sorted(os.listdir(NETNS_DIR))
    except FileNotFoundError:
        return []


def loop_devices():
    """{loop device: backing file} for every attached loop device."""
    proc = _run(['losetup', '--list', '--json', '--output', 'NAME,BACK-FILE'], check=False)
    if proc.returncode != 0 or not proc.stdout.strip():
        return {}
    return {dev['name']: (dev.get('back-file') or '') for dev in json.loads(proc.stdout).get('loopdevices', [])}


def in_netns(name, func):
    """Call func() in a thread of its own that has joined the network namespace <name>.

    Sockets made there stay in that namespace after the thread ends; the caller's thread and
    namespace are not touched.
    """
    box = {}

    def target():
        try:
            fd = os.open(os.path.join(NETNS_DIR, name), os.O_RDONLY)
            try:
                if _libc.setns(fd, _CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, 'setns into network namespace %s: %s' % (name, os.strerror(err)))
            finally:
                os.close(fd)
            box['value'] = func()
        except BaseException as exc:  # pylint: disable=broad-except
            box['error'] = exc

    thread = threading.Thread(target=target, name='netns-' + name, daemon=True)
    thread.start()
    thread.join()
    if 'error' in box:
        raise box['error']
    return box.get('value')


def _kill_pids(pids, grace=2.0):
    """SIGTERM, then SIGKILL what is left after <grace> seconds; reap our own children."""
    pids = [pid for pid in pids if pid != os.getpid()]
    starts = {pid: _start_time(pid) for pid in pids}
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, grace)):
        live = [pid for pid in pids if starts[pid] is not None and _start_time(pid) == starts[pid]]
        for pid in live:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait
        while live and time.monotonic() < deadline:
            # Reap our own children (nsenter, the parent of a host's sshd) as they end: a host's
            # PID 1 cannot finish exiting while a process of its PID namespace is an unreaped zombie.
            for pid in pids:
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass
            live = [pid for pid in live if _alive(pid, starts[pid])]
            if live:
                time.sleep(0.02)
        if not live:
            return


def _alive(pid, start):
    if _start_time(pid) != start:
        return False
    try:
        with open('/proc/%d/stat' % pid) as handle:
            return handle.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


def _mountinfo(pid='self'):
    """Mount points (unescaped) of a process's mount namespace, in mount order."""
    points = []
    try:
        with open('/proc/%s/mountinfo' % pid) as handle:
            for line in handle:
                point = line.split()[4]
                points.append(re.sub(r'\\([0-7]{3})', lambda m: chr(int(m.group(1), 8)), point))
    except OSError:
        pass
    return points


# PID 1 of a host: reaps every orphan (daemonised FUSE drivers), ends on SIGTERM (and with it the host).
_INIT = """import os, signal
signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGCHLD])
while True:
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass
    signal.sigtimedwait([signal.SIGCHLD], 60)
"""


def _children(pid):
    try:
        with open('/proc/%d/task/%d/children' % (pid, pid)) as handle:
            return [int(child) for child in handle.read().split()]
    except (OSError, ValueError):
        return []


def _is_ns_init(pid):
    """True for the PID 1 of a PID namespace below ours."""
    try:
        with open('/proc/%d/status' % pid) as handle:
            numbers = next(line for line in handle if line.startswith('NSpid:')).split()[1:]
        return len(numbers) > 1 and numbers[-1] == '1'
    except (OSError, StopIteration):
        return False


def _catches(pid, signum):
    try:
        with open('/proc/%d/status' % pid) as handle:
            caught = next(line for line in handle if line.startswith('SigCgt:')).split()[1]
        return bool(int(caught, 16) & (1 << (signum - 1)))
    except (OSError, StopIteration, ValueError, IndexError):
        return False


def _exe(pid):
    try:
        return os.readlink('/proc/%d/exe' % pid)
    except OSError:
        return None


def _cmdline(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as handle:
            return handle.read().replace(b'\0', b' ').decode(errors='replace')
    except OSError:
        return ''


def _orphans(run_id):
    """Processes in network namespaces of the run whose names were already deleted.

    Found through a process that names the run's directory on its command line (sshd -f
    .../ietb-<id>/...); every process sharing its network namespace belongs to the run. The
    caller's and PID 1's namespaces are never taken.
    """
    needle = '/%s%s/' % (PREFIX, run_id)
    spared = {_ns_inode('/proc/self/ns/net'), _ns_inode('/proc/1/ns/net'), None}
    inodes = {_ns_inode('/proc/%d/ns/net' % pid) for pid in _pids() if needle in _cmdline(pid)} - spared
    if not inodes:
        return set()
    return {pid for pid in _pids() if pid != os.getpid() and _ns_inode('/proc/%d/ns/net' % pid) in inodes}


def destroy_run(run_id, rundir=None, grace=2.0):
    """Remove everything of run <run_id>: processes, mounts, namespaces, loop devices, run dir."""
    rundir = rundir or os.path.join(_base_dir(), PREFIX + run_id)
    names = [name for name in netns_list() if name.startswith(PREFIX + run_id + '-')]
    pids = set()
    for name in names:
        pids.update(_pids_in_netns(name))
    pids.update(_orphans(run_id))
    # 1. Unmount what was mounted inside the hosts' mount namespaces (FUSE daemons then exit):
    #    only in mount namespaces that no process outside the run's network namespaces uses.
    outside = {_ns_inode('/proc/%d/ns/mnt' % pid) for pid in _pids() if pid not in pids}
    own_points = set(_mountinfo())
    done = set()
    for pid in sorted(pids):
        mnt = _ns_inode('/proc/%d/ns/mnt' % pid)
        if mnt is None or mnt in outside or mnt in done:
            continue
        done.add(mnt)
        # (The bed's own binds, /mnt and the empty ~/.bashrc, go with the namespace; mounts below /mnt do not.)
        extra = [point for point in _mountinfo(pid) if point not in own_points and point != '/mnt' and not point.endswith('/.bashrc')]
        if extra:
            subprocess.run(['nsenter', '-t', str(pid), '-m', '--', 'umount', '-l'] + extra[::-1],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, timeout=30)
    # 2. End every process in the run's namespaces (verified by namespace, so by PID); the hosts'
    #    PID 1 last, so it reaps the others (an exiting PID 1 waits for every zombie of its namespace).
    for name in names:
        pids.update(_pids_in_netns(name))
    inits = {pid for pid in pids if _is_ns_init(pid)}
    _kill_pids(sorted(pids - inits), grace)
    _kill_pids(sorted(inits), grace)
    # 3. The namespaces (the bridge and the veth pairs go with them).
    for name in names:
        subprocess.run(['ip', 'netns', 'delete', name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    # 4. Mounts of the caller's namespace on the run's files (should be none), then loop devices.
    marker = os.path.join(rundir, '')
    for point in reversed(_mountinfo()):
        if point.startswith(marker):
            subprocess.run(['umount', '-l', point], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    run_path = re.compile('/' + re.escape(PREFIX + run_id) + '/')
    deadline = time.monotonic() + 10
    while True:
        ours = [dev for dev, back in loop_devices().items() if back.startswith(marker) or run_path.search(back)]
        if not ours or time.monotonic() > deadline:
            break
        for dev in ours:
            subprocess.run(['losetup', '-d', dev], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        time.sleep(0.05)
    shutil.rmtree(rundir, ignore_errors=True)
    left = [name for name in netns_list() if name.startswith(PREFIX + run_id + '-')]
    return {'netns': names, 'left_netns': left, 'left_loops': ours}


def _run_alive(rundir):
    """True if the run's owner process still lives, or the run was handed over (CLI ``up``)."""
    try:
        with open(os.path.join(rundir, STATE_FILE)) as handle:
            state = json.load(handle)
    except (OSError, ValueError):
        # No state yet: a run being created this instant (its directory is new) counts as alive.
        try:
            return time.time() - os.stat(rundir).st_mtime < 60, False
        except OSError:
            return False, False
    owner = state.get('owner') or {}
    alive = bool(owner.get('pid')) and _start_time(owner['pid']) == owner.get('start')
    return alive, bool(state.get('detached'))


def cleanup_stale(include_detached=False, base=None):
    """Remove the leftovers of runs whose owner process died (e.g. SIGKILL). Returns their run ids.

    Runs whose owner still lives are left alone (parallel runs). Runs handed over by the CLI
    (``up``) are removed only with include_detached=True.
    """
    base = base or _base_dir()
    rundirs = {}
    for name in netns_list():
        match = re.match(re.escape(PREFIX) + r'([0-9a-f]{6,})-', name)
        if match:
            rundirs.setdefault(match.group(1), os.path.join(base, PREFIX + match.group(1)))
    for back in loop_devices().values():
        # The run directory of a run made with another IE_TESTBED_TMP: from its images' paths.
        match = re.search(r'^(.*/' + re.escape(PREFIX) + r'([0-9a-f]{6,}))/images/', back)
        if match:
            rundirs[match.group(2)] = match.group(1)
    for pid in _pids():
        # Processes of a run whose namespace names are gone (sshd -f <rundir>/hosts/...).
        match = re.search(r'(/\S*/' + re.escape(PREFIX) + r'([0-9a-f]{6,}))/hosts/', _cmdline(pid))
        if match:
            rundirs.setdefault(match.group(2), match.group(1))
    try:
        for entry in os.listdir(base):
            match = re.match(re.escape(PREFIX) + r'([0-9a-f]{6,})$', entry)
            if match:
                rundirs[match.group(1)] = os.path.join(base, entry)
    except OSError:
        pass
    removed = []
    for run_id, rundir in sorted(rundirs.items()):
        alive, detached = _run_alive(rundir)
        if alive or (detached and not include_detached):
            continue
        destroy_run(run_id, rundir)
        removed.append(run_id)
    return removed


class Drive:
    def __init__(self, name, image, fstype, size_mb, device=None):
        self.name = name
        self.image = image
        self.fstype = fstype
        self.size_mb = size_mb
        self.device = device

    def as_dict(self):
        return {'name': self.name, 'device': self.device, 'image': self.image, 'fstype': self.fstype, 'size_mb': self.size_mb}


class Host:
    def __init__(self, name, index, run_id, rundir):
        self.name = name
        self.hostname = name
        self.index = index
        self.address = '%s.%d.%d' % (SUBNET, (index + 10) // 256, (index + 10) % 256)
        self.netns = '%s%s-%s' % (PREFIX, run_id, name)
        self.workdir = os.path.join(rundir, 'hosts', name)
        self.mnt = os.path.join(self.workdir, 'mnt')        # the host's /mnt
        self.remote_tmp = os.path.join(self.workdir, 'tmp')  # ansible_remote_tmp
        self.drives = []
        self.anchor_pid = None  # the host's PID 1, as the caller's PID namespace numbers it
        self.anchor_proc = None
        self.anchor_start = None
        self.sshd_pid = None

    def as_dict(self):
        return {'name': self.name, 'hostname': self.hostname, 'address': self.address, 'netns': self.netns,
                'workdir': self.workdir, 'mnt': self.mnt, 'remote_tmp': self.remote_tmp,
                'anchor_pid': self.anchor_pid, 'anchor_start': self.anchor_start, 'sshd_pid': self.sshd_pid,
                'drives': [drive.as_dict() for drive in self.drives]}


class PlaybookRun:
    """A finished ansible-playbook: the process, its PLAY RECAP per host, and the wall time."""

    def __init__(self, proc, seconds):
        self.proc = proc
        self.seconds = seconds
        self.stats = {m.group(1): dict(zip(RECAP_KEYS, map(int, m.groups()[1:]))) for m in RECAP.finditer(proc.stdout)}

    returncode = property(lambda self: self.proc.returncode)
    stdout = property(lambda self: self.proc.stdout)
    stderr = property(lambda self: self.proc.stderr)


_LIVE = []
_HANDLERS = {}


_IN_HANDLER = []


def _on_signal(signum, frame):
    if _IN_HANDLER:
        return  # a second signal while tearing down: finish the teardown first
    _IN_HANDLER.append(signum)
    try:
        _let_inflight_finish()
        for bed in list(_LIVE):
            bed.close()
    finally:
        _IN_HANDLER.remove(signum)
    previous = _HANDLERS.pop(signum, signal.SIG_DFL)
    signal.signal(signum, previous)
    if callable(previous):
        previous(signum, frame)
    elif previous == signal.SIG_DFL:
        os.kill(os.getpid(), signum)


def _at_exit():
    for bed in list(_LIVE):
        bed.close()


atexit.register(_at_exit)


class Testbed:
    """N SSH hosts in network namespaces, each with its own loop drives. Use as a context manager."""

    __test__ = False  # not a pytest test class

    def __init__(self, hosts=3, drives_per_host=1, drive_size_mb=64, fstypes=('ext4',), groups=(),
                 host_vars=None, control_persist=True, name_format=None, on_step=None, clean_shell_rc=True):
        if hosts < 1:
            raise ValueError('hosts must be at least 1')
        unknown = [fs for fs in fstypes if fs and fs not in MKFS]
        if unknown:
            raise ValueError('unknown fstypes %s (known: %s; None for a blank drive)' % (unknown, ', '.join(sorted(MKFS))))
        self.count = hosts
        self.drives_per_host = drives_per_host
        self.drive_size_mb = drive_size_mb
        self.fstypes = list(fstypes) or [None]
        self.groups = list(groups)
        self.host_vars = host_vars
        self.control_persist = control_persist
        self.clean_shell_rc = clean_shell_rc
        self.name_format = name_format or ('host{:02d}' if hosts < 100 else 'host{:03d}')
        self.on_step = on_step or (lambda step: None)
        self.run_id = None
        self.rundir = None
        self.hosts = []
        self.ctl_netns = None
        self.detached = False
        self.closed = False
        self.timings = {}
        self._procs = []
        self._forwards = []

    # ------------------------------------------------------------------ set up
    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()
        return False

    def start(self):
        if os.geteuid() != 0:
            raise TestbedError('the test bed needs root (network namespaces, loop devices, mounts)')
        self.sshd = _which('sshd')
        _which('ssh')
        _which('ip')
        _which('nsenter')
        while True:
            self.run_id = secrets.token_hex(3)
            self.rundir = os.path.join(_base_dir(), PREFIX + self.run_id)
            if not os.path.exists(self.rundir) and not any(n.startswith(PREFIX + self.run_id + '-') for n in netns_list()):
                break
        os.makedirs(self.rundir, mode=0o700)
        self.ctl_netns = '%s%s-ctl' % (PREFIX, self.run_id)
        self.hosts = [Host(self.name_format.format(i), i, self.run_id, self.rundir) for i in range(1, self.count + 1)]
        _LIVE.append(self)
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                if signal.getsignal(signum) is not _on_signal:
                    _HANDLERS[signum] = signal.getsignal(signum)
                    signal.signal(signum, _on_signal)
        self._write_state()
        try:
            self.on_step('begin')
            self._setup()
        except BaseException:
            self.close()
            raise
        return self

    def _step(self, name, started):
        self.timings[name] = round(time.monotonic() - started, 3)
        self.on_step(name)
        return time.monotonic()

    def _setup(self):
        t0 = started = time.monotonic()
        self._make_keys()
        started = self._step('keys', started)
        self._make_network()
        started = self._step('network', started)
        self._make_drives()
        started = self._step('drives', started)
        self._start_hosts()
        started = self._step('sshd', started)
        self._wait_ready()
        self._write_ansible_files()
        self._write_state()
        self._step('ready', started)
        self.timings['total'] = round(time.monotonic() - t0, 3)

    def _make_keys(self):
        ssh = os.path.join(self.rundir, 'ssh')
        os.makedirs(ssh, mode=0o700)
        for host in self.hosts:
            for path in (host.workdir, host.mnt, host.remote_tmp):
                os.makedirs(path, mode=0o700, exist_ok=True)
        jobs = [['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'testbed-' + self.run_id, '-f', os.path.join(ssh, 'id_ed25519')]]
        jobs += [['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', host.name, '-f', os.path.join(host.workdir, 'ssh_host_ed25519_key')]
                 for host in self.hosts]
        self._parallel(jobs)
        shutil.copy(os.path.join(ssh, 'id_ed25519.pub'), os.path.join(ssh, 'authorized_keys'))
        with open(os.path.join(ssh, 'known_hosts'), 'w') as handle:
            for host in self.hosts:
                with open(os.path.join(host.workdir, 'ssh_host_ed25519_key.pub')) as pub:
                    handle.write('%s %s\n' % (host.address, ' '.join(pub.read().split()[:2])))

    def _parallel(self, cmds, width=8):
        """Run commands, <width> at a time; raise on the first failure."""
        pending = list(cmds)
        running = []
        try:
            while pending or running:
                while pending and len(running) < width:
                    cmd = pending.pop(0)
                    running.append((cmd, subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)))
                    _INFLIGHT.add(running[-1][1])
                cmd, proc = running.pop(0)
                _out, err = proc.communicate()
                _INFLIGHT.discard(proc)
                if proc.returncode != 0:
                    raise TestbedError('%s exited %d: %s' % (' '.join(cmd), proc.returncode, err.strip()[-2000:]))
        finally:
            for _cmd, proc in running:
                proc.kill()
                proc.wait()
                _INFLIGHT.discard(proc)

    def _make_network(self):
        names = [self.ctl_netns] + [host.netns for host in self.hosts]
        _run(['ip', '-batch', '-'], input=''.join('netns add %s\n' % name for name in names))
        ctl = ['link set lo up', 'link add br0 type bridge', 'link set br0 up',
               'addr add %s/16 dev br0' % CTL_ADDRESS]
        for host in self.hosts:
            veth = 'v' + host.name[-11:]
            ctl += ['link add %s type veth peer name eth0 netns %s' % (veth, host.netns),
                    'link set %s master br0' % veth, 'link set %s up' % veth]
        _run(['ip', '-n', self.ctl_netns, '-batch', '-'], input='\n'.join(ctl) + '\n')
        jobs = []
        for host in self.hosts:
            batch = self._write(os.path.join(host.workdir, 'ip.batch'),
                                'link set lo up\naddr add %s/16 dev eth0\nlink set eth0 up\n' % host.address)
            jobs.append(['ip', '-n', host.netns, '-batch', batch])
        self._parallel(jobs)

    @staticmethod
    def _write(path, text, mode=0o600):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, 'w') as handle:
            handle.write(text)
        return path

    def _make_drives(self):
        images = os.path.join(self.rundir, 'images')
        os.makedirs(images, mode=0o700)
        mkfs, serials = [], []
        for host in self.hosts:
            for number in range(1, self.drives_per_host + 1):
                fstype = self.fstypes[((host.index - 1) * self.drives_per_host + number - 1) % len(self.fstypes)]
                drive = Drive('d%d' % number, os.path.join(images, '%s-d%d.img' % (host.name, number)), fstype, self.drive_size_mb)
                with open(drive.image, 'wb') as handle:
                    handle.truncate(self.drive_size_mb * 1024 * 1024)
                if fstype:
                    mkfs.append(MKFS[fstype] + [drive.image])
                if fstype == 'ntfs':
                    # mkntfs seeds the volume serial (the file system UUID, hence the deviceId) with the
                    # time: images made in the same second would be clones. Real drives differ.
                    serials.append(['ntfslabel', '--new-serial=%s' % secrets.token_hex(8), drive.image])
                host.drives.append(drive)
        self._parallel(mkfs, width=2)
        self._parallel(serials, width=2)
        for host in self.hosts:
            for drive in host.drives:
                drive.device = _run(['losetup', '--find', '--show', drive.image]).stdout.strip()

    def _start_hosts(self):
        ssh = os.path.join(self.rundir, 'ssh')
        for host in self.hosts:
            self._write(os.path.join(host.workdir, 'sshd_config'), '\n'.join([
                'ListenAddress %s:22' % host.address,
                'HostKey %s' % os.path.join(host.workdir, 'ssh_host_ed25519_key'),
                'PidFile %s' % os.path.join(host.workdir, 'sshd.pid'),
                'AuthorizedKeysFile %s' % os.path.join(ssh, 'authorized_keys'),
                'PermitRootLogin prohibit-password', 'PubkeyAuthentication yes',
                'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'UsePAM no',
                'StrictModes no', 'UseDNS no', 'PrintMotd no', 'PrintLastLog no', 'LogLevel ERROR',
                'MaxStartups 500:30:1000', 'MaxSessions 100', 'Subsystem sftp internal-sftp',
                # A session whose client vanished (its namespace gone) ends by itself.
                'ClientAliveInterval 10', 'ClientAliveCountMax 3', '']))
        os.makedirs('/run/sshd', mode=0o755, exist_ok=True)  # sshd's privilege separation directory
        # bash run by sshd reads ~/.bashrc; this machine's runs `pyenv init` (~0.4 s per SSH command,
        # once per task and host). A fleet host has no such thing: the hosts see an empty one.
        rc_files = [path for path in (os.path.expanduser('~root/.bashrc'),) if self.clean_shell_rc and os.path.isfile(path)]
        empty = self._write(os.path.join(self.rundir, 'empty-rc'), '', 0o644)
        python = os.path.realpath(sys.executable)
        for host in self.hosts:
            # The anchor is the host's PID 1 (a reaper): it holds the host's PID, UTS and mount
            # namespaces, so sshd can stop and the host stays; when it ends, so does every process
            # of the host.
            # The new mount namespace starts as a copy of the machine's: drop the copies of drives
            # mounted elsewhere at this moment (loop devices, FUSE), or they stay busy for as long
            # as this host lives, whoever unmounts them in the root namespace.
            script = ("findmnt -rn -o TARGET,SOURCE,FSTYPE | awk '$2 ~ /^\\/dev\\/loop/ || $3 ~ /^fuse(blk|\\.|$)/ {print $1}' "
                      "| sort -r | while read -r t; do umount -l \"$t\" 2>/dev/null; done; ")
            script += 'echo %s > /proc/sys/kernel/hostname && mount --bind %s /mnt' % (host.hostname, host.mnt)
            script += ''.join(' && mount --bind %s %s' % (empty, path) for path in rc_files)
            script += ' && exec %s -S -E -c "$0"' % python
            proc = self._popen(['ip', 'netns', 'exec', host.netns, 'unshare', '--uts', '--mount', '--propagation', 'private',
                                '--pid', '--fork', '--mount-proc', '--', 'sh', '-c', script, _INIT],
                               os.path.join(host.workdir, 'anchor.log'))
            host.anchor_proc = proc
        deadline = time.monotonic() + 10
        for host in self.hosts:
            while True:
                init = _children(host.anchor_proc.pid)
                if init and _exe(init[0]) == python and _catches(init[0], signal.SIGTERM):
                    break  # PID 1 runs its loop (a SIGTERM sent earlier would be ignored)
                if time.monotonic() > deadline or host.anchor_proc.poll() is not None:
                    raise TestbedError('host %s did not start (%s)' % (host.name, self._log(host, 'anchor.log')))
                time.sleep(0.005)
            host.anchor_pid, host.anchor_start = init[0], _start_time(init[0])
        self._parallel([self._sshd_command(host) for host in self.hosts])

    def _popen(self, cmd, log):
        with open(log, 'ab') as handle:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=handle, stderr=handle, start_new_session=True)
        self._procs.append(proc)
        return proc

    @staticmethod
    def _comm(pid):
        try:
            with open('/proc/%d/comm' % pid) as handle:
                return handle.read().strip()
        except OSError:
            return None

    @staticmethod
    def _log(host, name):
        try:
            with open(os.path.join(host.workdir, name)) as handle:
                return handle.read().strip()[-1000:] or 'no output'
        except OSError:
            return 'no log'

    def _wait_ready(self, hosts=None, timeout=15):
        hosts = hosts or self.hosts

        def probe():
            waiting = list(hosts)
            deadline = time.monotonic() + timeout
            while waiting:
                host = waiting[0]
                try:
                    with socket.create_connection((host.address, 22), timeout=1) as conn:
                        conn.settimeout(2)
                        if not conn.recv(64).startswith(b'SSH-'):
                            raise OSError('no SSH banner')
                    waiting.pop(0)
                except OSError:
                    if time.monotonic() > deadline:
                        return host
                    time.sleep(0.01)
            return None

        late = in_netns(self.ctl_netns, probe)
        if late:
            raise TestbedError('sshd of %s (%s) did not answer within %d s: %s'
                               % (late.name, late.address, timeout, self._log(late, 'sshd.log')))
        for host in hosts:
            listener = [pid for pid in _children(host.anchor_pid) if self._comm(pid) == 'sshd']
            host.sshd_pid = listener[0] if listener else None

    # ------------------------------------------------------------------ Ansible
    @property
    def inventory_path(self):
        return os.path.join(self.rundir, 'inventory.json')

    @property
    def ansible_cfg(self):
        return os.path.join(self.rundir, 'ansible.cfg')

    def inventory(self, host_vars=None, groups=None, group_vars=None):
        """The inventory as a dict; host_vars(host) -> dict, groups and group_vars (for 'all') add to the bed's own."""
        hosts = {}
        for host in self.hosts:
            hostvars = {'ansible_host': host.address, 'ansible_remote_tmp': host.remote_tmp,
                        'testbed_hostname': host.hostname, 'testbed_drives': [d.as_dict() for d in host.drives]}
            for hook in (self.host_vars, host_vars):
                if hook:
                    hostvars.update(hook(host) or {})
            hosts[host.name] = hostvars
        children = {'testbed': {'hosts': hosts}}
        for group in list(self.groups) + list(groups or ()):
            children[group] = {'hosts': {host.name: {} for host in self.hosts}}
        all_vars = {'ansible_connection': 'ssh', 'ansible_user': 'root', 'ansible_port': 22,
                    'ansible_ssh_private_key_file': os.path.join(self.rundir, 'ssh', 'id_ed25519'),
                    'ansible_python_interpreter': sys.executable}
        all_vars.update(group_vars or {})
        return {'all': {'children': children, 'vars': all_vars}}

    def write_inventory(self, path=None, host_vars=None, groups=None, group_vars=None):
        """Write an inventory of the bed's hosts; returns its path.

        Without arguments: (re)writes the bed's own (after changing bed.groups or bed.host_vars).
        With a path: a separate inventory with added host_vars/groups/group_vars (the bed's own
        stays as it is, e.g. for the shared session fixture); pass it as run_playbook(inventory=).
        """
        path = path or self.inventory_path
        self._write(path, json.dumps(self.inventory(host_vars, groups, group_vars), indent=1) + '\n')
        return path

    def _write_ansible_files(self):
        self.write_inventory()
        ssh = os.path.join(self.rundir, 'ssh')
        cp_dir = os.path.join(self.rundir, 'cp')
        os.makedirs(cp_dir, mode=0o700, exist_ok=True)
        os.makedirs(os.path.join(self.rundir, 'ctl-tmp'), mode=0o700, exist_ok=True)
        args = ['-F /dev/null', '-o IdentitiesOnly=yes', '-o BatchMode=yes',
                '-o UserKnownHostsFile=%s' % os.path.join(ssh, 'known_hosts'),
                '-o GlobalKnownHostsFile=/dev/null', '-o StrictHostKeyChecking=yes']
        if self.control_persist:
            args += ['-o ControlMaster=auto', '-o ControlPersist=60s']
        else:
            args += ['-o ControlMaster=no', '-o ControlPath=none']
        self._write(self.ansible_cfg, '\n'.join([
            '# Written by tests/support/testbed.py for run %s; removed with the run.' % self.run_id,
            '[defaults]',
            'inventory = %s' % self.inventory_path,
            'forks = %d' % min(max(len(self.hosts), 5), 50),
            'interpreter_python = %s' % sys.executable,
            'host_key_checking = True',
            'retry_files_enabled = False',
            'local_tmp = %s' % os.path.join(self.rundir, 'ctl-tmp'),
            'timeout = 10',
            '[ssh_connection]',
            'pipelining = True',
            'ssh_args = %s' % ' '.join(args),
            'control_path_dir = %s' % cp_dir,
            'control_path = %s/%%%%C' % cp_dir,
            '']))

    @property
    def ansible_env(self):
        """Environment for ansible-playbook in the controller namespace (see ctl_command)."""
        env = dict(os.environ)
        env.update({
            'ANSIBLE_CONFIG': self.ansible_cfg,
            'ANSIBLE_INVENTORY': self.inventory_path,
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_FORCE_COLOR': '0',
            'ANSIBLE_DEPRECATION_WARNINGS': '0',
            'PATH': BIN + os.pathsep + env.get('PATH', ''),
        })
        return env

    def ctl_command(self, argv):
        """argv prefixed to run in the controller namespace (where the hosts are reachable)."""
        # nsenter --net, not `ip netns exec`: that also gives the command a private copy of the
        # machine's mounts (they are not shared here), which keeps every drive mounted elsewhere at
        # that moment busy for the command's life - another test's unmount, then its mount -o ro,
        # failed with EBUSY in CI.
        return ['nsenter', '--net=/run/netns/' + self.ctl_netns, '--'] + list(argv)

    def run_playbook(self, playbook, extra_args=(), extra_vars=None, check=False, env=None, cwd=None,
                     expect_rc=0, timeout=1800, inventory=None):
        """Run ansible-playbook from the controller namespace; returns a PlaybookRun.

        playbook: a path, or YAML text (when it contains a newline). expect_rc=None accepts any status.
        inventory: another inventory file (see write_inventory) instead of the bed's own.
        """
        if '\n' in playbook:
            path = self._write(os.path.join(self.rundir, 'play-%s.yml' % secrets.token_hex(4)), playbook)
            playbook = path
        cmd = [os.path.join(BIN, 'ansible-playbook'), '-i', inventory or self.inventory_path, playbook]
        if extra_vars:
            cmd += ['-e', json.dumps(extra_vars)]
        if check:
            cmd.append('--check')
        cmd += list(extra_args)
        run_env = self.ansible_env
        run_env.update(env or {})
        started = time.monotonic()
        proc = subprocess.run(self.ctl_command(cmd), cwd=cwd or REPO, env=run_env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, check=False, timeout=timeout)
        result = PlaybookRun(proc, time.monotonic() - started)
        if expect_rc is not None and proc.returncode != expect_rc:
            raise AssertionError('ansible-playbook exited %d (expected %d)\nSTDOUT:\n%s\nSTDERR:\n%s'
                                 % (proc.returncode, expect_rc, proc.stdout[-20000:], proc.stderr[-5000:]))
        return result

    # ------------------------------------------------------------------ hosts
    def host(self, name):
        if isinstance(name, Host):
            return name
        for host in self.hosts:
            if host.name == name:
                return host
        raise KeyError('no host %r in this test bed (hosts: %s)' % (name, ', '.join(h.name for h in self.hosts)))

    def exec_on(self, host, cmd, check=True, input=None, timeout=120):
        """Run cmd (list, or a shell string) inside the host's PID, mount, UTS and network namespaces."""
        host = self.host(host)
        argv = ['sh', '-c', cmd] if isinstance(cmd, str) else list(cmd)
        return _run(self._enter(host) + argv, check=check, input=input, timeout=timeout)

    @staticmethod
    def _enter(host):
        return ['nsenter', '-t', str(host.anchor_pid), '-p', '-m', '-u', '-n', '--']

    def start_sshd(self, host, wait=True):
        """Start the host's sshd (again, after stop_sshd); wait until it answers."""
        host = self.host(host)
        _run(self._sshd_command(host))
        if wait:
            self._wait_ready([host])
            self._write_state()
        return host.sshd_pid

    def _sshd_command(self, host):
        # Not -D: sshd detaches, so its parent is the host's PID 1 (which reaps it), not nsenter.
        return self._enter(host) + [self.sshd, '-f', os.path.join(host.workdir, 'sshd_config'),
                                    '-E', os.path.join(host.workdir, 'sshd.log')]

    def stop_sshd(self, host, sessions=True):
        """Stop the host's sshd (and, by default, its open sessions): the host goes away for Ansible."""
        host = self.host(host)
        inode = _ns_inode('/proc/%d/ns/net' % host.anchor_pid)
        pids = [pid for pid in _pids() if self._comm(pid) == 'sshd' and _ns_inode('/proc/%d/ns/net' % pid) == inode]
        if not sessions:
            pids = [pid for pid in pids if pid == host.sshd_pid]
        _kill_pids(pids, grace=1.0)
        host.sshd_pid = None

    def forward_port(self, port, to_port=None):
        """Make 127.0.0.1:<port> in the controller namespace reach 127.0.0.1:<to_port> of the caller.

        For services the test runs itself (the local Import/Export service): controller-side
        tasks of a play run in the controller namespace. Ends with the bed.
        """
        to_port = to_port or port
        listener = in_netns(self.ctl_netns, lambda: socket.create_server(('127.0.0.1', port)))
        listener.settimeout(0.5)
        self._forwards.append(listener)

        def pump(src, dst):
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for sock in (src, dst):
                    try:
                        sock.shutdown(socket.SHUT_RDWR)  # wakes the other direction's recv
                    except OSError:
                        pass
                    sock.close()

        def serve():
            while listener.fileno() != -1:
                try:
                    conn, _addr = listener.accept()
                except socket.timeout:
                    continue
                except OSError:
                    return
                try:
                    upstream = socket.create_connection(('127.0.0.1', to_port), timeout=10)
                    upstream.settimeout(None)
                except OSError:
                    conn.close()
                    continue
                conn.settimeout(None)
                threading.Thread(target=pump, args=(conn, upstream), daemon=True).start()
                threading.Thread(target=pump, args=(upstream, conn), daemon=True).start()

        threading.Thread(target=serve, name='forward-%d' % port, daemon=True).start()
        return port

    # ------------------------------------------------------------------ state and teardown
    def state(self):
        return {'run_id': self.run_id, 'rundir': self.rundir, 'ctl_netns': self.ctl_netns,
                'owner': {'pid': os.getpid(), 'start': _start_time(os.getpid())}, 'detached': self.detached,
                'inventory_path': self.inventory_path, 'ansible_cfg': self.ansible_cfg,
                'ctl_command': self.ctl_command([]), 'timings': self.timings,
                'hosts': [host.as_dict() for host in self.hosts]}

    def _write_state(self):
        if self.rundir and os.path.isdir(self.rundir):
            path = os.path.join(self.rundir, STATE_FILE)
            self._write(path + '.new', json.dumps(self.state(), indent=1) + '\n')
            os.replace(path + '.new', path)  # never half-written for a cleanup_stale running now

    def detach(self):
        """Hand the bed over (CLI ``up``): no teardown at exit; ``destroy_run`` or ``down`` removes it."""
        self.detached = True
        self._write_state()
        if self in _LIVE:
            _LIVE.remove(self)

    def close(self):
        """Remove everything of this run. Safe to call more than once, and from a signal handler."""
        if self.closed or self.run_id is None:
            return
        self.closed = True
        if self in _LIVE:
            _LIVE.remove(self)
        for listener in self._forwards:
            listener.close()
        for proc in self._procs:
            if proc.poll() is None:
                try:
                    proc.kill()
                except OSError:
                    pass
        destroy_run(self.run_id, self.rundir)
        for proc in self._procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        if not _LIVE:
            for signum, previous in list(_HANDLERS.items()):
                if signal.getsignal(signum) is _on_signal and threading.current_thread() is threading.main_thread():
                    signal.signal(signum, previous)
                _HANDLERS.pop(signum, None)


# ---------------------------------------------------------------------- CLI
def _load_state(state_dir):
    path = os.path.join(state_dir, 'testbed.json')
    try:
        with open(path) as handle:
            return json.load(handle)
    except OSError as exc:
        raise SystemExit('no test bed state in %s (%s): run "up --state %s" first' % (state_dir, exc.strerror, state_dir))


def _cli_env(state):
    env = dict(os.environ)
    env.update({'ANSIBLE_CONFIG': state['ansible_cfg'], 'ANSIBLE_INVENTORY': state['inventory_path'],
                'ANSIBLE_NOCOLOR': '1', 'PATH': BIN + os.pathsep + env.get('PATH', '')})
    return env


def _collections_env():
    sys.path.insert(0, REPO)
    from tests.collection_path import link_collection  # pylint: disable=import-outside-toplevel
    os.environ.setdefault('ANSIBLE_COLLECTIONS_PATH', link_collection())


def measure(counts, drives_per_host=1, fstypes=('ext4',)):
    """Bring-up and teardown time per host count; one ansible.builtin.ping over SSH across each bed
    (first run, and again with the SSH connections kept), and across as many local hosts."""
    figures = {'loadavg_before': os.getloadavg()[0], 'bring_up_s': {}, 'teardown_s': {}, 'ping_ssh_s': {}, 'ping_local_s': {}}
    play = '- hosts: testbed\n  gather_facts: false\n  tasks:\n    - ansible.builtin.ping:\n'
    for count in counts:
        started = time.monotonic()
        bed = Testbed(hosts=count, drives_per_host=drives_per_host, fstypes=fstypes, drive_size_mb=64)
        with bed:
            figures['bring_up_s'][count] = round(time.monotonic() - started, 2)
            runs = [bed.run_playbook(play).seconds for _attempt in range(2)]
            figures['ping_ssh_s'][count] = {'first': round(runs[0], 2), 'again': round(runs[1], 2)}
            local = bed.write_inventory(os.path.join(bed.rundir, 'local.json'), group_vars={'ansible_connection': 'local'})
            figures['ping_local_s'][count] = round(bed.run_playbook(play, inventory=local).seconds, 2)
            stopping = time.monotonic()
        figures['teardown_s'][count] = round(time.monotonic() - stopping, 2)
    figures['loadavg_after'] = os.getloadavg()[0]
    return figures


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m tests.support.testbed', description=__doc__.split('\n', maxsplit=1)[0])
    sub = parser.add_subparsers(dest='command', required=True)
    up = sub.add_parser('up', help='bring a bed up and leave it running')
    up.add_argument('--hosts', type=int, default=3)
    up.add_argument('--drives-per-host', type=int, default=1)
    up.add_argument('--drive-size-mb', type=int, default=64)
    up.add_argument('--fstypes', default='ext4,fat32,ntfs', help='comma-separated, cycled over the drives')
    up.add_argument('--group', action='append', default=[], help='extra inventory group holding every host')
    up.add_argument('--state', required=True, help='directory for testbed.json (inventory, config, hosts)')
    for name, text in (('down', 'remove the bed of --state'), ('run', 'run a command in the controller namespace'),
                       ('exec', 'run a command on one host (its namespaces)')):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument('--state', required=True)
        if name == 'exec':
            cmd.add_argument('host')
        if name != 'down':
            cmd.add_argument('argv', nargs=argparse.REMAINDER)
    clean = sub.add_parser('cleanup', help='remove leftovers of runs whose owner died')
    clean.add_argument('--all', action='store_true', help='also beds left running by "up"')
    meas = sub.add_parser('measure', help='time bring-up and a ping over SSH; prints one JSON line')
    meas.add_argument('--hosts', default='3,5,20')
    args = parser.parse_args(argv)

    if args.command == 'up':
        _collections_env()
        os.makedirs(args.state, exist_ok=True)
        bed = Testbed(hosts=args.hosts, drives_per_host=args.drives_per_host, drive_size_mb=args.drive_size_mb,
                      fstypes=[fs if fs != 'blank' else None for fs in args.fstypes.split(',')], groups=args.group)
        bed.start()
        bed.detach()
        state = bed.state()
        state['ansible_env'] = {k: v for k, v in bed.ansible_env.items() if k.startswith('ANSIBLE_') or k == 'PATH'}
        with open(os.path.join(args.state, 'testbed.json'), 'w') as handle:
            json.dump(state, handle, indent=1)
        print(json.dumps({'run_id': bed.run_id, 'inventory': bed.inventory_path, 'hosts': len(bed.hosts),
                          'seconds': bed.timings.get('total')}))
        return 0
    if args.command == 'cleanup':
        print(json.dumps({'removed': cleanup_stale(include_detached=args.all)}))
        return 0
    if args.command == 'measure':
        _collections_env()
        print(json.dumps(measure([int(n) for n in args.hosts.split(',')])))
        return 0
    state = _load_state(args.state)
    if args.command == 'down':
        result = destroy_run(state['run_id'], state['rundir'])
        os.unlink(os.path.join(args.state, 'testbed.json'))
        print(json.dumps(result))
        return 0 if not result['left_netns'] and not result['left_loops'] else 1
    argv = args.argv[1:] if args.argv[:1] == ['--'] else args.argv
    if not argv:
        parser.error('give the command after --')
    if args.command == 'run':
        return subprocess.call(state['ctl_command'] + argv, env=_cli_env(state), cwd=os.getcwd())
    host = next((h for h in state['hosts'] if h['name'] == args.host), None)
    if host is None:
        parser.error('no host %s (hosts: %s)' % (args.host, ', '.join(h['name'] for h in state['hosts'])))
    return subprocess.call(['nsenter', '-t', str(host['anchor_pid']), '-p', '-m', '-u', '-n', '--'] + argv)


if __name__ == '__main__':
    sys.exit(main())
