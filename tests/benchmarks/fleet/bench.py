#!/usr/bin/env python
"""Fleet benchmark: ``playbooks/ship.yml`` on many hosts, against a baseline measured in the same run.

Needs root (the multi-host test bed of tests/support/testbed.py: network namespaces, one sshd per
host, loop drives). Starts the local Import/Export service and forwards its port into the bed's
controller namespace, where every ansible-playbook runs.

* P1, re-run with nothing to change: ship.yml is run once on every host (one drive each, ext4,
  FAT32 and NTFS in turn, a small data set), then again, timed; the baseline is a playbook of as
  many ``ansible.builtin.stat`` tasks as ship.yml ran per host on the re-run (counted by a timing
  callback, mean over the hosts), on the same hosts, in the same run. Rounds are interleaved and the
  best of each kept. Once over SSH (``rerun_ratio_ssh``, 20 hosts) and once with
  ``ansible_connection=local`` (``rerun_ratio_local``, 50 hosts). Target <= 1.2 for both.
  Each phase's share of the re-run's wall time comes from the same callback (the span of each task,
  first host's start to last host's end, summed per phase; ``startup_and_between`` is the rest:
  Ansible's start-up, parsing, and the time between tasks).
* Parallel hosts: a first run over 5 hosts with ``--load-mb`` (200) of data per drive.
  ``parallel_ratio`` = the sum of the hosts' load-phase durations (each host's "Start loading" task
  start to its "Wait for the loads" task end) / the wall time from the first load's start to the
  last load's end (serial = 1.0; target >= 3.0).

``--quick``: 5 SSH hosts, 10 local hosts, 40 MB per drive, one round. Prints a human report and,
last, one JSON line (``rerun_ratio_ssh``, ``rerun_ratio_local``, ``parallel_ratio`` and the phase
shares). Nothing here asserts a time.
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from urllib.parse import urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, REPO)

from tests.collection_path import BUILD, link_collection  # noqa: E402  pylint: disable=wrong-import-position

COLLECTIONS = link_collection()

from tests.support.service import IEService  # noqa: E402  pylint: disable=wrong-import-position
from tests.support import testbed as tb  # noqa: E402  pylint: disable=wrong-import-position

SHIP = os.path.join(REPO, 'playbooks', 'ship.yml')
RETURN_ADDRESS = {'name': 'Bench Operator', 'street1': '1 Bench St', 'city': 'Seattle', 'stateOrProvince': 'WA',
                  'postalCode': '98104', 'phoneNumber': '206-555-0100', 'country': 'USA'}

# Task start and end per host (JSON lines in IE_BENCH_TIMING_LOG), and the playbook's own start and end.
CALLBACK = '''
from __future__ import annotations
import json, os, time
from ansible.plugins.callback import CallbackBase
DOCUMENTATION = """
name: ie_bench_timing
type: aggregate
short_description: task start and end per host, for the fleet benchmark
description: JSON lines in IE_BENCH_TIMING_LOG
"""
class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'ie_bench_timing'
    CALLBACK_NEEDS_ENABLED = True
    def __init__(self):
        super().__init__()
        self.starts = {}
    def _write(self, record):
        with open(os.environ['IE_BENCH_TIMING_LOG'], 'a') as handle:
            handle.write(json.dumps(record) + '\\n')
    def v2_playbook_on_start(self, playbook):
        self._write({'event': 'playbook_start', 'time': time.time()})
    def v2_playbook_on_stats(self, stats):
        self._write({'event': 'playbook_end', 'time': time.time()})
    def v2_runner_on_start(self, host, task):
        self.starts[(host.get_name(), task._uuid)] = time.time()
    def _end(self, result, status):
        key = (result._host.get_name(), result._task._uuid)
        task = result._task
        self._write({'event': 'task', 'host': key[0], 'uuid': task._uuid, 'task': task.get_name(),
                     'action': task.action, 'status': status, 'start': self.starts.pop(key, time.time()),
                     'end': time.time()})
    def v2_runner_on_ok(self, result):
        self._end(result, 'changed' if result._result.get('changed') else 'ok')
    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._end(result, 'failed')
    def v2_runner_on_skipped(self, result):
        self._end(result, 'skipped')
    def v2_runner_on_unreachable(self, result):
        self._end(result, 'unreachable')
'''

# Phases of ship.yml, by task name (first match wins).
PHASES = (
    ('argument_spec', ('Validating arguments',)),
    ('probe', ('Probe the drives',)),
    ('checks', ('Check the service reads', 'Validate each manifest', 'Check the credentials', 'Count the room',
                'Say what check mode', 'Check every drive', 'Scan each import', 'Stop on findings', 'share a deviceId',
                'Show each import')),
    ('format', ('export drive is empty',)),
    ('manifest', ('Write each manifest', 'controller directory')),
    ('mount', ('Mount the drives',)),
    ('load', ('Start loading', 'Wait for the loads', 'Wait for loads', 'ledger', 'state directory for the loads')),
    ('job', ('Create the jobs',)),
    ('signature', ('Write the SIGNATURE',)),
    ('verify', ('Verify the SIGNATURE',)),
    ('unmount', ('Unmount',)),
    ('ship', ('shipping label', 'packing slip', 'Say there is nothing', 'Say what to ship')),
    ('record', ('Record', 'job sheet', 'Start this host', 'Work out each drive', 'where AWX keeps facts')),
)


def phase_of(task):
    for phase, needles in PHASES:
        if any(needle in task for needle in needles):
            return phase
    return 'other'


def log(msg):
    print('[fleet-bench] %s' % msg, flush=True)


class Timing:
    """The records of one run of the timing callback."""

    def __init__(self, path):
        with open(path) as handle:
            records = [json.loads(line) for line in handle]
        self.tasks = [r for r in records if r['event'] == 'task']
        starts = [r['time'] for r in records if r['event'] == 'playbook_start']
        ends = [r['time'] for r in records if r['event'] == 'playbook_end']
        self.start, self.end = min(starts), max(ends)

    def ran_per_host(self):
        """host -> tasks that ran there (not skipped)."""
        counts = {}
        for record in self.tasks:
            if record['status'] != 'skipped':
                counts[record['host']] = counts.get(record['host'], 0) + 1
        return counts

    def spans(self):
        """[(task, first start, last end, hosts)] in the order the tasks ran."""
        by_task = {}
        for record in self.tasks:
            item = by_task.setdefault(record['uuid'], [record['task'], record['start'], record['end'], 0])
            item[1], item[2], item[3] = min(item[1], record['start']), max(item[2], record['end']), item[3] + 1
        return sorted((tuple(v) for v in by_task.values()), key=lambda item: item[1])

    def phases(self, wall):
        """phase -> share of the wall time (plus startup_and_between), and the costliest tasks."""
        seconds = {}
        spans = self.spans()
        for task, start, end, _hosts in spans:
            phase = phase_of(task)
            seconds[phase] = seconds.get(phase, 0.0) + (end - start)
        seconds['startup_and_between'] = max(0.0, wall - sum(seconds.values()))
        shares = {phase: round(value / wall, 3) for phase, value in sorted(seconds.items(), key=lambda kv: -kv[1])}
        tasks = [(round(end - start, 2), task.split(' : ', 1)[-1], phase_of(task)) for task, start, end, _hosts in spans]
        return shares, {phase: round(value, 2) for phase, value in seconds.items()}, tasks


class Bench:
    def __init__(self, workdir, service):
        self.workdir = workdir
        self.service = service
        directory = os.path.join(workdir, 'callbacks')
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, 'ie_bench_timing.py'), 'w') as handle:
            handle.write(CALLBACK)
        self.callbacks = directory
        self.runs = 0

    def env(self):
        self.runs += 1
        path = os.path.join(self.workdir, 'timing-%d.jsonl' % self.runs)
        return path, {'ANSIBLE_COLLECTIONS_PATH': COLLECTIONS, 'ANSIBLE_HOME': os.path.join(BUILD, 'ansible-home'),
                      'ANSIBLE_CALLBACK_PLUGINS': self.callbacks, 'ANSIBLE_CALLBACKS_ENABLED': 'ie_bench_timing',
                      'IE_BENCH_TIMING_LOG': path, 'ANSIBLE_LOCAL_TEMP': os.path.join(self.workdir, 'local-tmp')}

    def run(self, bed, playbook, inventory, label):
        path, env = self.env()
        started = time.monotonic()
        run = bed.run_playbook(playbook, inventory=inventory, env=env, expect_rc=None)
        wall = time.monotonic() - started
        bad = {host: stats for host, stats in run.stats.items() if stats['failed'] or stats['unreachable']}
        if bad or run.returncode != 0:
            # What failed, from anywhere in the output (50 hosts' output is long; the tail is only the recap).
            failures = [line[:600] for line in run.stdout.splitlines() if line.startswith(('fatal:', 'failed:', '[ERROR]'))]
            raise RuntimeError('%s: exit %d, hosts failed: %s\n%s\n%s'
                               % (label, run.returncode, sorted(bad), '\n'.join(failures[:10]), run.stderr[-2000:]))
        return wall, run, Timing(path)

    def inventory(self, bed, name, data_src, bucket, local=False):
        group_vars = {
            'drive_prepare_endpoint_url': self.service.url, 'drive_prepare_access_key': self.service.access_key,
            'drive_prepare_secret_key': self.service.secret_key, 'drive_prepare_progress_interval': 5,
            'drive_prepare_manifest_defaults': {'accessKeyId': self.service.access_key, 'eraseDevice': True,
                                                'returnAddress': RETURN_ADDRESS}}
        if local:
            group_vars['ansible_connection'] = 'local'
        mnt = os.path.join(self.workdir, 'mnt-' + name)

        def host_vars(host):
            found = {'drive_prepare_drives': [{'name': drive.name, 'device': drive.device, 'data_src': data_src,
                                               'manifest': {'bucket': bucket, 'prefix': host.name + '/'}}
                                              for drive in host.drives]}
            if local:  # one machine: each "host" mounts below a directory of its own
                found['drive_prepare_mount_root'] = os.path.join(mnt, host.name)
            return found

        directory = os.path.join(self.workdir, 'inventory-' + name)
        os.makedirs(directory, exist_ok=True)
        return bed.write_inventory(os.path.join(directory, 'hosts.json'), host_vars=host_vars, group_vars=group_vars)


def make_tree(root, files, size):
    os.makedirs(root, exist_ok=True)
    for number in range(files):
        sub = os.path.join(root, 'dir%02d' % (number % 4))
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, 'file%04d.bin' % number), 'wb') as handle:
            left = size
            while left > 0:
                chunk = min(left, 4 << 20)
                handle.write(os.urandom(chunk))
                left -= chunk
    return root


def stat_play(count):
    tasks = ''.join('    - name: stat %d\n      ansible.builtin.stat:\n        path: /\n' % n for n in range(count))
    return '- hosts: ie_drive_hosts\n  gather_facts: false\n  tasks:\n' + tasks


def rerun_ratio(bench, hosts, local, rounds, data_src, bucket):
    kind = 'local' if local else 'ssh'
    log('re-run, %d %s hosts: bringing the bed up' % (hosts, kind))
    with tb.Testbed(hosts=hosts, drives_per_host=1, drive_size_mb=40, fstypes=['ext4', 'fat32', 'ntfs'],
                    groups=['ie_drive_hosts']) as bed:
        bed.forward_port(urlsplit(bench.service.url).port)
        inventory = bench.inventory(bed, kind, data_src, bucket, local=local)
        first, _run, _timing = bench.run(bed, SHIP, inventory, 'first ship.yml')
        log('  first ship.yml run: %.1f s' % first)
        ship_times, stat_times, best = [], [], None
        count = None
        for _round in range(rounds):
            wall, run, timing = bench.run(bed, SHIP, inventory, 're-run of ship.yml')
            changed = {host: stats['changed'] for host, stats in run.stats.items() if stats['changed']}
            if changed:
                which = sorted(set('%s: %s' % (r['host'], r['task']) for r in timing.tasks if r['status'] == 'changed'))
                log('  WARNING: the re-run changed something: %s (%s)' % (changed, '; '.join(which)))
            ship_times.append(wall)
            if best is None or wall < best[0]:
                best = (wall, timing)
            ran = timing.ran_per_host()
            if count is None:
                count = int(round(statistics.mean(ran.values())))
                log('  ship.yml re-run ran %d tasks per host (mean; min %d, max %d)' % (count, min(ran.values()), max(ran.values())))
            stat_wall, _run, _timing = bench.run(bed, stat_play(count), inventory, 'stat baseline')
            stat_times.append(stat_wall)
            log('  round %d: ship.yml re-run %.1f s, %d stat tasks %.1f s' % (_round + 1, wall, count, stat_wall))
    wall, timing = best
    shares, seconds, tasks = timing.phases(wall)
    return {'hosts': hosts, 'tasks_per_host': count, 'rerun_s': round(min(ship_times), 2), 'stat_s': round(min(stat_times), 2),
            'ratio': round(min(ship_times) / min(stat_times), 3), 'first_run_s': round(first, 2), 'phase_share': shares,
            'phase_s': seconds, 'tasks': tasks, 'rerun_all_s': [round(t, 2) for t in ship_times],
            'stat_all_s': [round(t, 2) for t in stat_times]}


def parallel_ratio(bench, hosts, load_mb, fstypes, bucket):
    log('parallel: %d SSH hosts, %d MB of data per drive (%s)' % (hosts, load_mb, ','.join(fstypes)))
    files = 8
    data_src = make_tree(os.path.join(bench.workdir, 'data-parallel'), files, load_mb * (1 << 20) // files)
    with tb.Testbed(hosts=hosts, drives_per_host=1, drive_size_mb=load_mb + max(64, load_mb // 4), fstypes=fstypes,
                    groups=['ie_drive_hosts']) as bed:
        bed.forward_port(urlsplit(bench.service.url).port)
        inventory = bench.inventory(bed, 'parallel', data_src, bucket)
        wall, _run, timing = bench.run(bed, SHIP, inventory, 'first ship.yml (parallel)')
    loads = {}
    for record in timing.tasks:
        # Task names carry the role's prefix ("awsie.importexport.drive_prepare : Start loading ...").
        task = record['task'].split(' : ', 1)[-1]
        if task.startswith('Start loading') and record['status'] != 'skipped':
            loads.setdefault(record['host'], [None, None])[0] = record['start']
        elif task.startswith('Wait for the loads') and record['status'] != 'skipped':
            loads.setdefault(record['host'], [None, None])[1] = record['end']
    loads = {host: span for host, span in loads.items() if None not in span}
    if len(loads) != hosts:
        raise RuntimeError('load phases found for %d of %d hosts: %s' % (len(loads), hosts, sorted(loads)))
    durations = {host: end - start for host, (start, end) in loads.items()}
    span = max(end for _start, end in loads.values()) - min(start for start, _end in loads.values())
    shares, _seconds, _top = timing.phases(wall)
    return {'hosts': hosts, 'load_mb': load_mb, 'fstypes': fstypes, 'first_run_s': round(wall, 2),
            'load_s': {host: round(value, 2) for host, value in sorted(durations.items())}, 'load_span_s': round(span, 2),
            'parallel_ratio': round(sum(durations.values()) / span, 3), 'phase_share': shares}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--quick', action='store_true', help='5 SSH hosts, 10 local hosts, 40 MB per drive, one round')
    parser.add_argument('--ssh-hosts', type=int)
    parser.add_argument('--local-hosts', type=int)
    parser.add_argument('--parallel-hosts', type=int, default=5)
    parser.add_argument('--load-mb', type=int)
    parser.add_argument('--parallel-fstypes', default='ext4', help='file systems of the parallel run, cycled (ext4,fat32,ntfs)')
    parser.add_argument('--rounds', type=int)
    parser.add_argument('--only', default='ssh,local,parallel', help='which parts to run (ssh, local, parallel)')
    parser.add_argument('--keep-workdir', action='store_true')
    args = parser.parse_args()
    if os.geteuid() != 0:
        print(json.dumps({'benchmark': 'fleet', 'skipped': 'needs root (network namespaces, loop drives)'}))
        return 0
    ssh_hosts = args.ssh_hosts or (5 if args.quick else 20)
    local_hosts = args.local_hosts or (10 if args.quick else 50)
    load_mb = args.load_mb or (40 if args.quick else 200)
    rounds = args.rounds or (1 if args.quick else 2)
    parts = set(args.only.split(','))
    tb.cleanup_stale()
    workdir = tempfile.mkdtemp(prefix='ie-fleet-bench-')
    service = None
    result = {'benchmark': 'fleet', 'quick': args.quick, 'cpu_count': os.cpu_count(), 'loadavg_before': os.getloadavg()[0]}
    bench = Bench(workdir, None)

    def fresh_service(part):
        # One service (one account) per part: the service allows 50 CreateJob calls a day per account,
        # as AWS did, and 20 SSH hosts + 50 local hosts + the parallel run need more.
        nonlocal service
        if service:
            service.stop()
        service = bench.service = IEService(os.path.join(workdir, 'service-' + part))
        return service.new_bucket('fleet')

    try:
        data_src = make_tree(os.path.join(workdir, 'data-small'), 12, 20000)

        def ssh():
            figures = rerun_ratio(bench, ssh_hosts, False, rounds, data_src, fresh_service('ssh'))
            result.update(rerun_ratio_ssh=figures['ratio'], phase_share_ssh=figures['phase_share'], rerun_ssh=figures)
            report('P1 re-run over SSH', figures)

        def local():
            figures = rerun_ratio(bench, local_hosts, True, rounds, data_src, fresh_service('local'))
            result.update(rerun_ratio_local=figures['ratio'], phase_share_local=figures['phase_share'], rerun_local=figures)
            report('P1 re-run, ansible_connection=local', figures)

        def parallel():
            par = parallel_ratio(bench, args.parallel_hosts, load_mb, args.parallel_fstypes.split(','), fresh_service('parallel'))
            result.update(parallel_ratio=par['parallel_ratio'], parallel=par)
            log('parallel_ratio %.2f: load phases %s s over a span of %.1f s (first run %.1f s)'
                % (par['parallel_ratio'], par['load_s'], par['load_span_s'], par['first_run_s']))

        for name, run in (('ssh', ssh), ('local', local), ('parallel', parallel)):
            if name in parts:
                try:
                    run()
                except Exception as exc:  # pylint: disable=broad-except
                    # The other parts still run, and the JSON line says what failed.
                    log('%s FAILED: %s' % (name, str(exc)[:6000]))
                    result['error_' + name] = str(exc)[:300]
    finally:
        if service:
            service.stop()
        if not args.keep_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    result['loadavg_after'] = os.getloadavg()[0]
    result['targets'] = {'rerun_ratio_ssh': '<= 1.2', 'rerun_ratio_local': '<= 1.2', 'parallel_ratio': '>= 3.0'}
    print(json.dumps(result, sort_keys=True))
    return 1 if [key for key in result if key.startswith('error_')] else 0


def report(title, figures):
    log('%s: %d hosts, %d tasks per host: ship.yml re-run %.1f s vs %d stat tasks %.1f s -> ratio %.2f (target <= 1.2)'
        % (title, figures['hosts'], figures['tasks_per_host'], figures['rerun_s'], figures['tasks_per_host'], figures['stat_s'],
           figures['ratio']))
    log('  phase shares of the re-run: %s' % ', '.join('%s %.0f%%' % (k, v * 100) for k, v in figures['phase_share'].items()))
    log('  each task of the re-run (seconds from the first host\'s start to the last host\'s end):')
    for seconds, task, phase in figures['tasks']:
        log('    %6.2f  %-13s %s' % (seconds, phase, task[:110]))


if __name__ == '__main__':
    sys.exit(main())
