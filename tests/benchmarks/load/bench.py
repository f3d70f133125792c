#!/usr/bin/env python
"""Load benchmark: ie_load's one-pass copy, its no-change re-run, and ie_plan's scan, each against a baseline.

Measured in the same run (needs root: loop devices, mounts, dropping the page cache):

* P4 - first load of a tree (10,000 small files and three 100 MB files) onto a fresh ext4 loop
  drive by the load library in a process of its own (MD5 and ledger included) vs ``cp -a`` of
  the same tree onto a fresh ext4 loop drive of the same size; each timed from its start until a
  ``sync`` after it returned. Caches are dropped before each copy, so both read the source from
  the disk as a first load does. Rounds are interleaved; the best of each is kept.
  ``load_ratio`` = our throughput / cp's (target >= 0.9).
* Re-run - the same load again with the ledger of the first, the source volume and the drive
  unmounted and mounted again and caches dropped (as the role's next run finds them: right after
  a write, ext4 keeps metadata the journal has not checkpointed in memory, which drop_caches
  cannot free, and a re-run measured then reads a fraction of what a later one does): bytes the
  process read from storage (``/proc/self/io`` ``read_bytes``, counted around the load call, so
  the interpreter's own start-up is left out; the whole process is reported too) / bytes of data
  -> ``reread_fraction`` (target <= 0.01). Its parts, each measured alone in the same state: the
  source's metadata (a walk with ``lstat``, what listing the source's sizes reads - the floor,
  ``reread_floor_fraction``), the drive's metadata, and the ledger; ``rerun_other_bytes`` is
  what the re-run read beyond them (file data would show there).

The source tree lives on a volume of its own (an ext4 loop drive, as data would on its own disk):
the machine's root file system is shared with other work, and its large block groups make any
walk of a tree spread over many directories read tens of megabytes of inode tables ahead.
* Plan - the scan and plan of a 100,000-file tree (the library: ``dataset.scan`` +
  ``plan.make_plan``) vs ``find -printf '%s %p\\n'`` over the same tree, caches dropped before
  each (``plan_ratio``, target <= 1.5), and with warm caches (``plan_ratio_warm``). The tree is
  made first and timed once it is more than a minute old, as a finished data set is: files changed
  in the minute before a scan are read a second time (``recheck: recent``, files still being
  written). What that second read costs is measured too, on every file (``recheck: all``, what a
  tree written in the last minute costs): ``plan_ratio_recheck_all`` and its warm twin.

``--quick``: 2,000 small files and two 20 MB files; 10,000 files for the plan. ``--only load`` or
``--only plan`` runs one phase. CPU seconds of the plan and of find are reported beside the wall
times (``plan_cpu_ratio``, ``plan_cpu_ratio_warm``), and the load average before and after: on a
shared machine the wall time of a CPU-bound run mostly measures the others. Prints a human report
and, last, one JSON line. Nothing here asserts a time.
"""
import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, REPO)

from tests.collection_path import link_collection  # noqa: E402  pylint: disable=wrong-import-position

COLLECTIONS = link_collection()

from tests.support.drives import LoopDrive  # noqa: E402  pylint: disable=wrong-import-position

sys.path.insert(0, COLLECTIONS)
from ansible_collections.awsie.importexport.plugins.module_utils import dataset  # noqa: E402  pylint: disable=wrong-import-position

LOAD_CHILD = r'''
import json, sys, time
sys.path.insert(0, sys.argv[1])
from ansible_collections.awsie.importexport.plugins.module_utils import load, s3keys

def io():
    with open('/proc/self/io') as handle:
        return {k: int(v) for k, v in (line.split(': ') for line in handle)}

src, dest, ledger_path = sys.argv[2:5]
before = io()
t0 = time.perf_counter()
result = load.load(src, dest, s3keys.KeyRule('bench/'), ledger_path=ledger_path,
                   previous=load.previous_records(None, ledger_path))
seconds = time.perf_counter() - t0
after = io()
print(json.dumps({'seconds': seconds, 'copied': result['copied'], 'skipped': result['skipped'],
                  'bytes': result['bytes'], 'read_bytes': after['read_bytes'] - before['read_bytes'],
                  'process_read_bytes': after['read_bytes']}))
'''

META_CHILD = r'''
import json, os, sys
def io():
    with open('/proc/self/io') as handle:
        return {k: int(v) for k, v in (line.split(': ') for line in handle)}
before = io()
stack = [sys.argv[2]]
while stack:
    with os.scandir(stack.pop()) as handle:
        for entry in handle:
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
            else:
                entry.stat(follow_symlinks=False)
print(json.dumps({'read_bytes': io()['read_bytes'] - before['read_bytes']}))
'''

PLAN_CHILD = r'''
import json, sys, time
sys.path.insert(0, sys.argv[1])
from ansible_collections.awsie.importexport.plugins.module_utils import dataset, plan, s3keys
t0, c0 = time.perf_counter(), time.process_time()
scan = dataset.scan(sys.argv[2], s3keys.KeyRule('bench/', {}, [r'\.swp$']), recheck=sys.argv[3])
result = plan.make_plan(scan.files, drive_size=4 * 10 ** 12)
print(json.dumps({'seconds': time.perf_counter() - t0, 'cpu': time.process_time() - c0, 'files': len(scan.files),
                  'drives': result['drives_needed']}))
'''


def drop_caches():
    os.sync()
    with open('/proc/sys/vm/drop_caches', 'w') as handle:
        handle.write('3\n')


def make_tree(root, small, big, big_mb, seed=4):
    rng = random.Random(seed)
    total = 0
    for index in range(small):
        path = os.path.join(root, 'd%02d' % (index % 40), 's%d' % (index % 7), 'f%05d.dat' % index)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        size = rng.randint(0, 16384)
        with open(path, 'wb') as handle:
            handle.write(rng.randbytes(size))
        total += size
    chunk = os.urandom(1024 * 1024)
    for index in range(big):
        with open(os.path.join(root, 'big%d.bin' % index), 'wb') as handle:
            for unused in range(big_mb):
                handle.write(chunk)
        total += big_mb * 1024 * 1024
    return total


def make_plan_tree(root, files):
    for index in range(files):
        path = os.path.join(root, 'p%03d' % (index // 1000), 'q%02d' % (index // 100 % 10), 'f%05d' % index)
        if index % 100 == 0:
            os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as handle:
            handle.write(b'x' * (index % 977))


def fresh_drive(workdir, name, size_mb):
    drive = LoopDrive(workdir, 'ext4', size_mb=size_mb, name=name)
    drive.mount()
    return drive


def time_cp(src, workdir, size_mb):
    drive = fresh_drive(workdir, 'cp', size_mb)
    try:
        drop_caches()
        start = time.perf_counter()
        subprocess.run(['cp', '-a', src + '/.', drive.mountpoint + '/'], check=True)
        os.sync()
        return time.perf_counter() - start
    finally:
        drive.close(remove_image=True)


def run_child(script, *args):
    proc = subprocess.run([sys.executable, '-c', script, COLLECTIONS] + list(args), check=True,
                          stdout=subprocess.PIPE, text=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def time_load(src, workdir, size_mb, rerun=None):
    """``rerun``: the source volume; the no-change re-run and its parts are measured too."""
    drive = fresh_drive(workdir, 'ld', size_mb)
    ledger_path = os.path.join(workdir, 'bench.ledger.jsonl')
    for stale in (ledger_path, ledger_path + '.partial'):
        if os.path.exists(stale):
            os.unlink(stale)
    try:
        drop_caches()
        start = time.perf_counter()
        first = run_child(LOAD_CHILD, src, drive.mountpoint, ledger_path)
        os.sync()
        first['wall'] = time.perf_counter() - start  # interpreter start-up and sync included, as for cp
        second = None
        if rerun is not None:
            remount(rerun, drive)
            second = run_child(LOAD_CHILD, src, drive.mountpoint, ledger_path)
            second['ledger_bytes'] = os.path.getsize(ledger_path)
            second['source_metadata_bytes'] = metadata_read_bytes(src, rerun, drive)
            second['drive_metadata_bytes'] = metadata_read_bytes(drive.mountpoint, rerun, drive)
        return first, second
    finally:
        drive.close(remove_image=True)


def remount(*drives):
    """Unmount and mount again (metadata held for the journal is freed), then drop the caches."""
    for drive in drives:
        drive.umount()
        drive.mount()
    drop_caches()


def metadata_read_bytes(root, *drives):
    """Bytes a walk of ``root`` with ``lstat`` of every entry reads, cold (``drives`` remounted first)."""
    remount(*drives)
    return run_child(META_CHILD, root)['read_bytes']


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_find(root):
    """(wall seconds, CPU seconds) of ``find -printf``."""
    cpu = children_cpu()
    start = time.perf_counter()
    subprocess.run(['find', root, '-printf', '%s %p\n'], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start, children_cpu() - cpu


def time_plan(root, recheck='recent'):
    start = time.perf_counter()
    out = run_child(PLAN_CHILD, root, recheck)
    out['wall'] = time.perf_counter() - start
    return out


def load_phase(workdir, rounds, small, big, big_mb):
    """P4 and the no-change re-run: (report lines, figures)."""
    size_mb = int((small * 16384 / 2 + big * big_mb * 1024 * 1024) * 1.6 / 1024 / 1024) + 64
    volume = fresh_drive(workdir, 'source', size_mb)
    try:
        src = os.path.join(volume.mountpoint, 'src')
        data_bytes = make_tree(src, small, big, big_mb)
        small_bytes = data_bytes - big * big_mb * 1024 * 1024
        cps, loads, rerun = [], [], None
        for number in range(rounds):
            cps.append(time_cp(src, workdir, size_mb))
            first, second = time_load(src, workdir, size_mb, rerun=volume if number == 0 else None)
            loads.append(first)
            rerun = rerun or second
    finally:
        volume.close(remove_image=True)
    cp_best = min(cps)
    load_best = min(loads, key=lambda r: r['wall'])
    load_ratio = cp_best / load_best['wall']
    reread_fraction = rerun['read_bytes'] / data_bytes
    floor_bytes = rerun['source_metadata_bytes']
    floor_fraction = floor_bytes / data_bytes
    other_bytes = rerun['read_bytes'] - floor_bytes - rerun['drive_metadata_bytes'] - rerun['ledger_bytes']
    mb = data_bytes / 1e6
    lines = [
        '  tree: %d small files (0-16 KiB, %.1f MB) and %d x %d MB, %.1f MB in all' % (small, small_bytes / 1e6, big, big_mb, mb),
        '  cp -a + sync onto a fresh ext4 loop drive:   %7.2f s  %7.1f MB/s   (rounds: %s)'
        % (cp_best, mb / cp_best, ', '.join('%.2f' % c for c in cps)),
        '  ie_load (MD5, ledger) + sync, same drive:    %7.2f s  %7.1f MB/s   (rounds: %s; %.2f s in the load call)'
        % (load_best['wall'], mb / load_best['wall'], ', '.join('%.2f' % r['wall'] for r in loads), load_best['seconds']),
        '  load_ratio (throughput ie_load / cp): %.2f   (target >= 0.9)' % load_ratio,
        '  no-change re-run (volumes remounted, caches dropped): copied %d, skipped %d, read %d bytes '
        '(%d with interpreter start-up) of %d' % (rerun['copied'], rerun['skipped'], rerun['read_bytes'],
                                                  rerun['process_read_bytes'], data_bytes),
        '  reread_fraction: %.5f   (target <= 0.01); each part alone: listing the source with sizes %d bytes (%.5f),'
        % (reread_fraction, floor_bytes, floor_fraction),
        '    the ledger %d bytes (%.5f), listing the drive with sizes %d bytes (%.5f); the rest %d bytes'
        % (rerun['ledger_bytes'], rerun['ledger_bytes'] / data_bytes, rerun['drive_metadata_bytes'],
           rerun['drive_metadata_bytes'] / data_bytes, other_bytes),
    ]
    figures = {'data_bytes': data_bytes, 'small_files': small, 'small_bytes': small_bytes, 'big_files': big, 'big_mb': big_mb,
               'cp_seconds': round(cp_best, 3), 'load_seconds': round(load_best['wall'], 3),
               'load_ratio': round(load_ratio, 3), 'rerun_read_bytes': rerun['read_bytes'],
               'rerun_process_read_bytes': rerun['process_read_bytes'], 'rerun_copied': rerun['copied'],
               'reread_fraction': round(reread_fraction, 6), 'reread_floor_bytes': floor_bytes,
               'rerun_ledger_bytes': rerun['ledger_bytes'], 'rerun_drive_metadata_bytes': rerun['drive_metadata_bytes'],
               'reread_floor_fraction': round(floor_fraction, 6), 'rerun_other_bytes': other_bytes}
    return lines, figures


RECENT_SECONDS = dataset.RECENT_NS / 1e9 + 1  # past the scan's 'recent' window (recheck: recent)


def plan_phase(plan_root, made_at, rounds):
    """ie_plan's scan and plan against find, cold and warm: (report lines, figures). CPU
    seconds are reported beside the wall times: on a machine loaded by other work, the wall
    time of a CPU-bound run mostly says how much CPU the others left it. ``made_at``: when the
    tree was finished (time.monotonic); the timing waits until it is more than a minute old."""
    waited = max(0.0, made_at + RECENT_SECONDS - time.monotonic())
    time.sleep(waited)
    plan_files = sum(len(names) for unused, unused2, names in os.walk(plan_root))
    finds_cold, plans_cold, finds_warm, plans_warm, all_cold, all_warm = [], [], [], [], [], []
    for unused in range(rounds):
        drop_caches()
        finds_cold.append(time_find(plan_root))
        drop_caches()
        plans_cold.append(time_plan(plan_root))
        finds_warm.append(time_find(plan_root))
        plans_warm.append(time_plan(plan_root))
    for unused in range(max(1, rounds // 2)):
        drop_caches()
        all_cold.append(time_plan(plan_root, 'all'))
        all_warm.append(time_plan(plan_root, 'all'))
    find_cold, find_warm = min(f[0] for f in finds_cold), min(f[0] for f in finds_warm)
    plan_cold = min(p['seconds'] for p in plans_cold)
    plan_warm = min(p['seconds'] for p in plans_warm)
    recheck_cold = min(p['seconds'] for p in all_cold)
    recheck_warm = min(p['seconds'] for p in all_warm)
    find_cpu_cold, find_cpu_warm = min(f[1] for f in finds_cold), min(f[1] for f in finds_warm)
    plan_cpu_cold, plan_cpu_warm = min(p['cpu'] for p in plans_cold), min(p['cpu'] for p in plans_warm)
    plan_ratio, plan_ratio_warm = plan_cold / find_cold, plan_warm / find_warm
    lines = [
        '  plan of %d files (tree more than a minute old; waited %.0f s for that), cold caches: find %.2f s, scan+plan %.2f s '
        '-> plan_ratio %.2f (target <= 1.5); rounds: find %s, plan %s'
        % (plan_files, waited, find_cold, plan_cold, plan_ratio, ', '.join('%.2f' % f[0] for f in finds_cold),
           ', '.join('%.2f' % p['seconds'] for p in plans_cold)),
        '  plan of %d files, warm caches: find %.2f s, scan+plan %.2f s -> plan_ratio_warm %.2f; rounds: find %s, plan %s'
        % (plan_files, find_warm, plan_warm, plan_ratio_warm, ', '.join('%.2f' % f[0] for f in finds_warm),
           ', '.join('%.2f' % p['seconds'] for p in plans_warm)),
        '  CPU seconds (user + system), best round: cold find %.2f, plan %.2f (%.2f); warm find %.2f, plan %.2f (%.2f)'
        % (find_cpu_cold, plan_cpu_cold, plan_cpu_cold / find_cpu_cold, find_cpu_warm, plan_cpu_warm,
           plan_cpu_warm / find_cpu_warm),
        '  every file read twice (recheck: all, as for a tree written in the last minute): cold %.2f s -> '
        'plan_ratio_recheck_all %.2f, warm %.2f s -> %.2f; rounds: cold %s, warm %s'
        % (recheck_cold, recheck_cold / find_cold, recheck_warm, recheck_warm / find_warm,
           ', '.join('%.2f' % p['seconds'] for p in all_cold), ', '.join('%.2f' % p['seconds'] for p in all_warm)),
    ]
    figures = {'plan_files': plan_files, 'find_seconds_cold': round(find_cold, 3), 'plan_seconds_cold': round(plan_cold, 3),
               'plan_ratio': round(plan_ratio, 3), 'find_seconds_warm': round(find_warm, 3),
               'plan_seconds_warm': round(plan_warm, 3), 'plan_ratio_warm': round(plan_ratio_warm, 3),
               'plan_cpu_ratio': round(plan_cpu_cold / find_cpu_cold, 3),
               'plan_cpu_ratio_warm': round(plan_cpu_warm / find_cpu_warm, 3),
               'plan_seconds_recheck_all_cold': round(recheck_cold, 3),
               'plan_ratio_recheck_all': round(recheck_cold / find_cold, 3),
               'plan_ratio_recheck_all_warm': round(recheck_warm / find_warm, 3)}
    return lines, figures


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--quick', action='store_true', help='a smaller tree, one round')
    parser.add_argument('--rounds', type=int, default=None, help='interleaved rounds (default 3, quick 1)')
    parser.add_argument('--workdir', default=None, help='where the trees and drive images go (default /var/tmp)')
    parser.add_argument('--only', choices=['load', 'plan'], default=None,
                        help='run one phase: load (P4 and the re-run) or plan; the JSON line then has only its figures')
    args = parser.parse_args()
    if os.geteuid() != 0:
        print('the load benchmark needs root (loop devices, mounts, dropping caches)')
        print(json.dumps({'benchmark': 'ie-load', 'skipped': 'needs root'}))
        return 0
    rounds = args.rounds or (1 if args.quick else 3)
    small, big, big_mb, plan_files = (2000, 2, 20, 10000) if args.quick else (10000, 3, 100, 100000)
    load_before = os.getloadavg()[0]
    workdir = tempfile.mkdtemp(prefix='ie-bench-load-', dir=args.workdir or '/var/tmp')
    lines, figures = [], {}
    try:
        plan_root, made_at = os.path.join(workdir, 'plan'), None
        if args.only in (None, 'plan'):  # made first: the load phase lets it age past a minute
            make_plan_tree(plan_root, plan_files)
            made_at = time.monotonic()
        for phase, run in (('load', lambda: load_phase(workdir, rounds, small, big, big_mb)),
                           ('plan', lambda: plan_phase(plan_root, made_at, rounds))):
            if args.only in (None, phase):
                more_lines, more = run()
                lines.extend(more_lines)
                figures.update(more)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    load_after = os.getloadavg()[0]
    print('load benchmark (%d CPU cores, best of %d interleaved rounds, caches dropped before each copy; '
          'load average %.1f before, %.1f after)' % (os.cpu_count(), rounds, load_before, load_after))
    for line in lines:
        print(line)
    out = {'benchmark': 'ie-load', 'quick': args.quick, 'only': args.only, 'rounds': rounds, 'cpu_count': os.cpu_count(),
           'loadavg_before': round(load_before, 2), 'loadavg_after': round(load_after, 2)}
    out.update(figures)
    print(json.dumps(out))
    return 0


if __name__ == '__main__':
    sys.exit(main())
