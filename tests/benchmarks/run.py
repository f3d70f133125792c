"""Run every benchmark (tests/benchmarks/*/bench.py) and print their reports.

Each benchmark measures its own baseline in the same run and reports ratios, because the
machines here are noisy; nothing here asserts a time. ``--quick`` is passed through.
"""
import glob
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    summary = {}
    failed = False
    for bench in sorted(glob.glob(os.path.join(HERE, '*', 'bench.py'))):
        name = os.path.basename(os.path.dirname(bench))
        print('=== benchmark %s' % name, flush=True)
        proc = subprocess.run([sys.executable, bench] + sys.argv[1:], stdout=subprocess.PIPE, text=True, check=False)
        sys.stdout.write(proc.stdout)
        failed |= proc.returncode != 0
        lines = [line for line in proc.stdout.strip().splitlines() if line.startswith('{')]
        summary[name] = json.loads(lines[-1]) if lines else {'error': 'exit %d' % proc.returncode}
    print('=== summary')
    print(json.dumps(summary, indent=2, sort_keys=True))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
