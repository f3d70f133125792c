"""The multi-host test bed (tests/support/testbed.py): real SSH hosts in network namespaces.

Each test runs real ansible-playbook over SSH from the controller namespace, or checks what a
bed leaves behind on the machine (namespaces, loop devices, mounts, processes).
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.support import testbed as tb

REPO = tb.REPO
PY = sys.executable


def _leftovers(run_id, rundir, pids=()):
    """What of run <run_id> is still on the machine (empty lists when nothing)."""
    marker = os.path.join(rundir, '')
    mounts = subprocess.run(['findmnt', '-rn', '-o', 'TARGET,SOURCE'], capture_output=True, text=True, check=False).stdout
    procs = []
    for pid in tb._pids():  # pylint: disable=protected-access
        cmdline = tb._cmdline(pid)  # pylint: disable=protected-access
        if marker in cmdline or (tb.PREFIX + run_id) in cmdline:
            procs.append('%d %s' % (pid, cmdline))
    procs += ['%d (recorded) %s %s' % (pid, tb._cmdline(pid), _proc_state(pid))  # pylint: disable=protected-access
              for pid, start in pids if tb._alive(pid, start)]  # pylint: disable=protected-access
    return {
        'netns': [name for name in tb.netns_list() if name.startswith(tb.PREFIX + run_id + '-')],
        'loops': ['%s %s' % item for item in tb.loop_devices().items() if item[1].startswith(marker)],
        'mounts': [line for line in mounts.splitlines() if marker in line or (tb.PREFIX + run_id) in line],
        'processes': procs,
        'rundir': [rundir] if os.path.exists(rundir) else [],
    }


def _proc_state(pid):
    try:
        with open('/proc/%d/status' % pid) as handle:
            return ' '.join(line.strip() for line in handle if line.startswith(('State:', 'PPid:')))
    except OSError:
        return 'gone'


def _nothing_left(run_id, rundir, pids=()):
    left = _leftovers(run_id, rundir, pids)
    assert not any(left.values()), 'left behind by run %s: %s' % (run_id, left)


def _pids_of(bed):
    """(pid, start time) of every process in the bed's namespaces right now."""
    pids = []
    for name in [bed.ctl_netns] + [host.netns for host in bed.hosts]:
        pids += [(pid, tb._start_time(pid)) for pid in tb._pids_in_netns(name)]  # pylint: disable=protected-access
    return pids


MOUNT_PLAY = textwrap.dedent('''\
    - hosts: testbed
      gather_facts: false
      vars:
        drive: "{{ testbed_drives[0] }}"
        point: /mnt/probe-{{ inventory_hostname }}
      tasks:
        - ansible.builtin.file:
            path: "{{ point }}"
            state: directory
        - name: Mount the host's own drive (kernel for ext4, FUSE for FAT32 and NTFS)
          ansible.builtin.command:
            argv: "{{ cmd[drive.fstype] }}"
          vars:
            cmd:
              ext4: [mount, "{{ drive.device }}", "{{ point }}"]
              fat32: [fusefat, -o, rw+, "{{ drive.device }}", "{{ point }}"]
              ntfs: [ntfs-3g, "{{ drive.device }}", "{{ point }}"]
          when: mount | default(true) | bool
        - ansible.builtin.command: findmnt -rn -o SOURCE,TARGET
          register: mounts
          changed_when: false
        - name: Each host sees its own drive's mount and no other host's
          ansible.builtin.assert:
            that:
              - (point in mounts.stdout) == (mount | default(true) | bool)
              - others | select('in', mounts.stdout) | list == []
          vars:
            others: "{{ groups.testbed | difference([inventory_hostname]) | map('regex_replace', '^', '/mnt/probe-') | list }}"
    ''')


def test_every_host_answers_over_ssh_with_its_own_hostname(testbed):
    play = textwrap.dedent('''\
        - hosts: testbed
          gather_facts: false
          tasks:
            - ansible.builtin.command: hostname
              register: name
              changed_when: false
            - ansible.builtin.command: printenv SSH_CONNECTION
              register: conn
              changed_when: false
            - ansible.builtin.assert:
                that:
                  - name.stdout == inventory_hostname
                  - conn.stdout.split()[2] == ansible_host
                  - conn.stdout.split()[0] == '10.213.0.1'
        ''')
    run = testbed.run_playbook(play)
    assert sorted(run.stats) == ['host01', 'host02', 'host03']
    assert all(s['ok'] == 3 and s['failed'] == 0 and s['unreachable'] == 0 for s in run.stats.values()), run.stats
    assert [h.hostname for h in testbed.hosts] == ['host01', 'host02', 'host03']
    assert [h.drives[0].fstype for h in testbed.hosts] == ['ext4', 'fat32', 'ntfs']
    for host in testbed.hosts:
        assert testbed.exec_on(host, 'hostname').stdout.strip() == host.name
        # The machine's ~/.bashrc (pyenv init) is not run for every SSH command on the hosts.
        assert testbed.exec_on(host, 'cat ~root/.bashrc').stdout == ''
    # The caller's hostname is not one of them.
    assert socket.gethostname() not in ('host01', 'host02', 'host03')


def test_a_drive_mounted_on_one_host_is_seen_only_there(testbed):
    devices = {host.name: host.drives[0].device for host in testbed.hosts}
    try:
        # Only host01 mounts: the others must not see it.
        testbed.run_playbook(MOUNT_PLAY, extra_args=['-e', 'mount=false', '--limit', 'host02,host03'])
        testbed.run_playbook(MOUNT_PLAY, extra_args=['--limit', 'host01'])
        assert '/mnt/probe-host01' in testbed.exec_on('host01', 'findmnt -rn -o TARGET').stdout
        for other in ('host02', 'host03'):
            view = testbed.exec_on(other, 'findmnt -rn -o SOURCE,TARGET').stdout
            assert devices['host01'] not in view and 'probe-host01' not in view
        root_view = subprocess.run(['findmnt', '-rn', '-o', 'SOURCE,TARGET'], capture_output=True, text=True, check=True).stdout
        assert devices['host01'] not in root_view and 'probe-host01' not in root_view
        # Then every host mounts its own (FUSE daemons for FAT32 and NTFS run inside their host).
        run = testbed.run_playbook(MOUNT_PLAY, extra_args=['--limit', 'host02,host03'])
        assert run.stats['host02']['failed'] == 0 and run.stats['host03']['failed'] == 0
        run = testbed.run_playbook(MOUNT_PLAY, extra_args=['-e', 'mount=false', '-e', 'point=/mnt/none'], expect_rc=None)
        # The assert task checks each host sees no other host's mount point.
        assert all(s['failed'] == 0 for s in run.stats.values()), run.stdout[-3000:]
        # Each host has its own process list: host02 runs a fusefat daemon and sees no ntfs-3g (host03's).
        assert testbed.exec_on('host02', 'pgrep -x fusefat', check=False).stdout.strip()
        assert not testbed.exec_on('host02', 'pgrep -x ntfs-3g', check=False).stdout.strip()
        assert testbed.exec_on('host03', 'pgrep -x ntfs-3g', check=False).stdout.strip()
        assert not testbed.exec_on('host03', 'pgrep -x fusefat', check=False).stdout.strip()
        root_view = subprocess.run(['findmnt', '-rn', '-o', 'SOURCE,TARGET'], capture_output=True, text=True, check=True).stdout
        assert 'probe-host' not in root_view
        assert not any(dev + ' ' in root_view for dev in devices.values())
        # /mnt is the host's own: what a play creates there is not in the caller's /mnt.
        assert os.path.isdir(os.path.join(testbed.host('host01').mnt, 'probe-host01'))
        assert not os.path.exists('/mnt/probe-host01')
    finally:
        for host in testbed.hosts:
            testbed.exec_on(host, 'umount /mnt/probe-%s' % host.name, check=False)


def test_an_inventory_of_its_own_adds_vars_and_groups_without_changing_the_beds(testbed, tmp_path):
    path = testbed.write_inventory(str(tmp_path / 'inv.json'), groups=['ie_drive_hosts'], group_vars={'site': 'dock'},
                                   host_vars=lambda h: {'drive_prepare_drives': [{'name': d.name, 'device': d.device} for d in h.drives]})
    play = textwrap.dedent('''\
        - hosts: ie_drive_hosts
          gather_facts: false
          tasks:
            - ansible.builtin.assert:
                that:
                  - site == 'dock'
                  - drive_prepare_drives[0].device == testbed_drives[0].device
                  - drive_prepare_drives[0].device.startswith('/dev/loop')
        ''')
    run = testbed.run_playbook(play, inventory=path)
    assert sorted(run.stats) == ['host01', 'host02', 'host03'] and all(s['ok'] == 1 for s in run.stats.values())
    with open(testbed.inventory_path) as handle:
        assert 'ie_drive_hosts' not in handle.read()


def test_hosts_work_at_the_same_time(testbed, record_property):
    play = '- hosts: testbed\n  gather_facts: false\n  tasks:\n    - ansible.builtin.command: sleep 3\n'
    one = testbed.run_playbook(play, extra_args=['--limit', 'host01'])
    three = testbed.run_playbook(play)
    assert len(one.stats) == 1 and len(three.stats) == 3
    record_property('sleep3_one_host_s', round(one.seconds, 2))
    record_property('sleep3_three_hosts_s', round(three.seconds, 2))
    print('sleep 3 s: one host %.2f s, three hosts %.2f s' % (one.seconds, three.seconds))
    # Serial would be about one.seconds + 6 s.
    assert three.seconds < 2 * one.seconds, (one.seconds, three.seconds)


def test_a_stopped_sshd_makes_its_host_unreachable_and_can_come_back(testbed):
    play = '- hosts: testbed\n  gather_facts: false\n  tasks:\n    - ansible.builtin.ping:\n'
    testbed.stop_sshd('host03')
    try:
        run = testbed.run_playbook(play, expect_rc=4)
        assert run.stats['host03']['unreachable'] == 1
        assert run.stats['host01']['ok'] == 1 and run.stats['host02']['ok'] == 1
        # The host itself is still there (its mounts and files), only SSH is gone.
        assert testbed.exec_on('host03', 'hostname').stdout.strip() == 'host03'
    finally:
        testbed.start_sshd('host03')
    run = testbed.run_playbook(play)
    assert run.stats['host03']['ok'] == 1


def test_a_service_of_the_test_is_reachable_from_the_controller_only_through_forward_port(testbed):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            body = b'from the test process'
            self.send_response(200)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        def connect():
            with socket.create_connection(('127.0.0.1', port), timeout=2):
                return True
        with pytest.raises(ConnectionRefusedError):
            tb.in_netns(testbed.ctl_netns, connect)
        testbed.forward_port(port)
        play = textwrap.dedent('''\
            - hosts: localhost
              connection: local
              gather_facts: false
              tasks:
                - ansible.builtin.uri:
                    url: http://127.0.0.1:{port}/
                    return_content: true
                  register: page
                - ansible.builtin.assert:
                    that: page.content == 'from the test process'
            ''').format(port=port)
        run = testbed.run_playbook(play)
        assert run.stats['localhost']['failed'] == 0 and run.stats['localhost']['ok'] == 2
    finally:
        server.shutdown()
        server.server_close()


def test_teardown_removes_mounts_fuse_daemons_control_persist_and_everything(testbed_factory):
    bed = testbed_factory(hosts=2, fstypes=['ext4', 'fat32'])
    run_id, rundir = bed.run_id, bed.rundir
    # Leave drives mounted (kernel ext4 on host01, a fusefat daemon on host02) and SSH masters alive.
    bed.run_playbook(MOUNT_PLAY)
    # (pgrep would also list other tests' FUSE daemons: the PID namespace is the machine's.)
    fuse = [(pid, start) for pid, start in _pids_of(bed) if tb.Testbed._comm(pid) == 'fusefat']  # pylint: disable=protected-access
    assert fuse, 'no fusefat daemon on host02'
    assert any(tb.Testbed._comm(pid) == 'ssh' for pid, _start in _pids_of(bed))  # pylint: disable=protected-access
    pids = _pids_of(bed)
    assert _leftovers(run_id, rundir, pids)['netns'], 'the bed was not there to begin with'
    bed.close()
    _nothing_left(run_id, rundir, pids + fuse)


def test_teardown_after_an_exception_in_the_with_block():
    if os.geteuid() != 0:
        pytest.skip('needs root')
    seen = {}
    with pytest.raises(ZeroDivisionError):
        with tb.Testbed(hosts=2, fstypes=['ntfs']) as bed:
            seen.update(run_id=bed.run_id, rundir=bed.rundir, pids=_pids_of(bed))
            assert tb.netns_list() and len(seen['pids']) >= 4
            raise ZeroDivisionError('a test failing inside the with block')
    _nothing_left(seen['run_id'], seen['rundir'], seen['pids'])


CHILD = textwrap.dedent('''\
    import json, os, sys, time
    sys.path.insert(0, {repo!r})
    from tests.support import testbed as tb
    stop_at = sys.argv[1]

    def step(name):
        pids = [(h.anchor_pid, tb._start_time(h.anchor_pid)) for h in bed.hosts if h.anchor_pid]
        pids += [(h.sshd_pid, tb._start_time(h.sshd_pid)) for h in bed.hosts if h.sshd_pid]
        print(json.dumps({{'step': name, 'run_id': bed.run_id, 'rundir': bed.rundir, 'pids': pids}}), flush=True)
        if name == stop_at:
            time.sleep(60)

    bed = tb.Testbed(hosts=3, fstypes=['ext4', 'fat32', 'ntfs'], on_step=step)
    bed.start()
    if stop_at == 'mounted':
        for host in bed.hosts:
            drive = host.drives[0]
            cmd = {{'ext4': 'mount', 'fat32': 'fusefat -o rw+', 'ntfs': 'ntfs-3g'}}[drive.fstype]
            bed.exec_on(host, 'mkdir -p /mnt/d && %s %s /mnt/d' % (cmd, drive.device))
        bed.run_playbook('- hosts: testbed\\n  gather_facts: false\\n  tasks:\\n    - ansible.builtin.ping:\\n')
        step('mounted')
    if stop_at == 'end':
        time.sleep(60)
    ''').format(repo=REPO)


def _ended(proc):
    """Wait for a child of _child_until; keep the end of its stderr in proc.stderr_text; close its pipes."""
    code = proc.wait(timeout=30)
    proc.stderr_text = proc.stderr.read()[-3000:]
    proc.stdout.close()
    proc.stderr.close()
    return code


def _child_until(step, tmp_path, stop_at=None):
    script = tmp_path / 'child.py'
    script.write_text(CHILD)
    proc = subprocess.Popen([PY, str(script), stop_at or step], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    last = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        last = json.loads(line)
        if last['step'] == step:
            return proc, last
    proc.kill()
    raise AssertionError('child never reached %s (last %s): %s' % (step, last, proc.stderr.read()[-3000:]))


SIGNALS_AND_STEPS = [(signal.SIGTERM, 'network'), (signal.SIGTERM, 'drives'), (signal.SIGTERM, 'sshd'),
                     (signal.SIGTERM, 'ready'), (signal.SIGINT, 'drives'), (signal.SIGINT, 'ready')]


@pytest.mark.parametrize('signum, step', SIGNALS_AND_STEPS,
                         ids=['SIGTERM-network', 'SIGTERM-drives', 'SIGTERM-sshd', 'SIGTERM-ready', 'SIGINT-drives', 'SIGINT-ready'])
def test_a_signal_during_setup_leaves_nothing(signum, step, tmp_path):
    if os.geteuid() != 0:
        pytest.skip('needs root')
    proc, state = _child_until(step, tmp_path)
    assert _leftovers(state['run_id'], state['rundir'])['netns'], 'nothing was set up before the signal'
    proc.send_signal(signum)
    # The process still ends by the signal (SIGINT: KeyboardInterrupt, which Python turns back into SIGINT).
    assert _ended(proc) == -signum, proc.stderr_text
    _nothing_left(state['run_id'], state['rundir'], [tuple(p) for p in state['pids']])


def test_sigterm_at_any_moment_of_setup_leaves_nothing(tmp_path, record_property):
    """SIGTERM at moments spread over the whole bring-up (mkfs, losetup, ip, sshd in flight)."""
    if os.geteuid() != 0:
        pytest.skip('needs root')
    # How long a bring-up takes here, from the child's first step to its last.
    proc, state = _child_until('begin', tmp_path, 'end')
    started = time.monotonic()
    while json.loads(proc.stdout.readline())['step'] != 'ready':
        pass
    setup = time.monotonic() - started
    proc.send_signal(signal.SIGTERM)
    assert _ended(proc) == -signal.SIGTERM, proc.stderr_text
    _nothing_left(state['run_id'], state['rundir'])
    record_property('setup_3_hosts_s', round(setup, 2))
    for fraction in (0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95):
        proc, state = _child_until('begin', tmp_path, 'end')
        time.sleep(setup * fraction)
        proc.send_signal(signal.SIGTERM)
        assert _ended(proc) == -signal.SIGTERM, proc.stderr_text
        _nothing_left(state['run_id'], state['rundir'])


def test_cleanup_stale_removes_a_sigkilled_run_and_spares_live_ones(testbed, tmp_path):
    proc, state = _child_until('mounted', tmp_path)
    run_id, rundir = state['run_id'], state['rundir']
    pids = [tuple(p) for p in state['pids']]
    proc.kill()
    _ended(proc)
    left = _leftovers(run_id, rundir, pids)
    assert left['netns'] and left['loops'] and left['rundir'] and left['processes'], left
    fuse = [(pid, tb._start_time(pid)) for name in tb.netns_list() if name.startswith(tb.PREFIX + run_id)  # pylint: disable=protected-access
            for pid in tb._pids_in_netns(name) if tb.Testbed._comm(pid) in ('fusefat', 'ntfs-3g')]  # pylint: disable=protected-access
    assert len(fuse) == 2, fuse
    removed = tb.cleanup_stale()
    assert run_id in removed
    assert testbed.run_id not in removed
    _nothing_left(run_id, rundir, pids + fuse)
    # The live bed of this session is untouched.
    assert all(host.netns in tb.netns_list() for host in testbed.hosts)
    assert testbed.run_playbook('- hosts: testbed\n  gather_facts: false\n  tasks:\n    - ansible.builtin.ping:\n').returncode == 0


def test_cli_up_run_exec_down(tmp_path):
    if os.geteuid() != 0:
        pytest.skip('needs root')
    state_dir = str(tmp_path / 'bed')
    cli = [PY, '-m', 'tests.support.testbed']
    out = subprocess.run(cli + ['up', '--hosts', '2', '--fstypes', 'ext4', '--group', 'ie_drive_hosts', '--state', state_dir],
                         cwd=REPO, capture_output=True, text=True, check=True).stdout
    summary = json.loads(out.splitlines()[-1])
    with open(os.path.join(state_dir, 'testbed.json')) as handle:
        state = json.load(handle)
    try:
        # The bed outlives the command, and cleanup_stale leaves a handed-over bed alone.
        assert summary['run_id'] not in tb.cleanup_stale()
        ping = subprocess.run(cli + ['run', '--state', state_dir, '--', os.path.join(tb.BIN, 'ansible'), 'ie_drive_hosts', '-m', 'ansible.builtin.ping'],
                              cwd=REPO, capture_output=True, text=True, check=False)
        assert ping.returncode == 0 and ping.stdout.count('SUCCESS') == 2, ping.stdout + ping.stderr
        name = subprocess.run(cli + ['exec', '--state', state_dir, 'host02', '--', 'hostname'], cwd=REPO, capture_output=True, text=True, check=True)
        assert name.stdout.strip() == 'host02'
    finally:
        down = subprocess.run(cli + ['down', '--state', state_dir], cwd=REPO, capture_output=True, text=True, check=False)
    assert down.returncode == 0, down.stdout + down.stderr
    _nothing_left(state['run_id'], state['rundir'], [(h['anchor_pid'], h['anchor_start']) for h in state['hosts']])


def test_twenty_hosts_answer_one_ping_over_ssh(testbed_factory, record_property):
    started = time.monotonic()
    bed = testbed_factory(hosts=20, fstypes=['ext4'])
    bring_up = time.monotonic() - started
    play = '- hosts: testbed\n  gather_facts: false\n  tasks:\n    - ansible.builtin.ping:\n'
    run = bed.run_playbook(play)
    assert len(run.stats) == 20 and all(s['ok'] == 1 for s in run.stats.values()), run.stats
    again = bed.run_playbook(play)
    addresses = {h.address for h in bed.hosts}
    assert len(addresses) == 20 and all(re.match(r'^10\.213\.\d+\.\d+$', a) for a in addresses)
    record_property('bring_up_20_s', round(bring_up, 2))
    record_property('ping_20_s', round(run.seconds, 2))
    record_property('ping_20_again_s', round(again.seconds, 2))
    print('20 hosts: bring-up %.2f s, ping %.2f s, again %.2f s' % (bring_up, run.seconds, again.seconds))


def test_every_drive_has_a_file_system_uuid_of_its_own(testbed_factory):
    """The deviceId of a drive without a serial comes from its file system UUID: NTFS images made in the
    same second were clones (mkntfs seeds the volume serial with the time), two drives with one deviceId."""
    bed = testbed_factory(hosts=4, drives_per_host=2, drive_size_mb=16, fstypes=['ntfs', 'ext4', 'fat32'])
    uuids = [subprocess.run(['blkid', '-o', 'value', '-s', 'UUID', drive.device], capture_output=True, text=True,
                            check=True).stdout.strip() for host in bed.hosts for drive in host.drives]
    assert all(uuids) and len(set(uuids)) == len(uuids), uuids


def test_a_controller_command_holds_no_copy_of_the_machines_mounts(testbed, loop_drive):
    """A playbook running in the controller namespace must not keep a drive mounted in the root
    namespace busy: unmounted there, the drive mounts again read-only at once (EBUSY before, when
    the command had its own copy of the machine's mounts)."""
    drive = loop_drive('ext4', size_mb=40)
    with subprocess.Popen(testbed.ctl_command(['sleep', '60'])) as sleeper:
        try:
            deadline = time.monotonic() + 10
            while os.readlink('/proc/%d/exe' % sleeper.pid).rpartition('/')[2] != 'sleep' and time.monotonic() < deadline:
                time.sleep(0.05)
            assert os.readlink('/proc/%d/ns/mnt' % sleeper.pid) == os.readlink('/proc/self/ns/mnt')
            assert os.readlink('/proc/%d/ns/net' % sleeper.pid) != os.readlink('/proc/self/ns/net')
            drive.umount()
            drive.mount(readonly=True)
        finally:
            sleeper.kill()
