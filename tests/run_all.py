"""Run every test suite and end with one line: ``N passed, N failed``.

Suites: unit and integration tests (pytest, one session, junit XML), and ansible-test sanity
on a copy of the collection at ansible_collections/awsie/importexport. Exit status is
non-zero when anything failed or nothing ran.
"""
import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.abspath(os.environ.get('IE_BUILD_DIR', os.path.join(REPO, '.build')))
BIN = os.path.dirname(sys.executable)


def junit_counts(path):
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == 'testsuite' else root.findall('testsuite')
    total = failed = skipped = 0
    for suite in suites:
        total += int(suite.get('tests', 0))
        failed += int(suite.get('failures', 0)) + int(suite.get('errors', 0))
        skipped += int(suite.get('skipped', 0))
    return total - failed - skipped, failed, skipped


def run_pytest(paths, extra):
    xml = os.path.join(BUILD, 'junit-pytest.xml')
    cmd = [sys.executable, '-m', 'pytest', '-p', 'no:cacheprovider', '--junitxml', xml] + extra + paths
    print('+ ' + ' '.join(cmd), flush=True)
    rc = subprocess.call(cmd, cwd=REPO)
    if not os.path.exists(xml):
        return 0, 1, 0
    passed, failed, skipped = junit_counts(xml)
    if rc not in (0, 5) and failed == 0:
        failed = 1  # pytest itself failed (collection error, crash)
    return passed, failed, skipped


def sanity_copy():
    dest = os.path.join(BUILD, 'sanity', 'ansible_collections', 'awsie', 'importexport')
    shutil.rmtree(dest, ignore_errors=True)
    files = subprocess.check_output(['git', 'ls-files', '-co', '--exclude-standard', '-z'], cwd=REPO).decode().split('\0')
    for name in filter(None, files):
        src = os.path.join(REPO, name)
        if not os.path.isfile(src):
            continue
        os.makedirs(os.path.dirname(os.path.join(dest, name)), exist_ok=True)
        shutil.copy2(src, os.path.join(dest, name))
    # ansible-test lists files with git; without a repository of its own here it would use the
    # outer checkout, where .build is ignored, and find nothing to test.
    git = ['git', '-c', 'user.name=sanity', '-c', 'user.email=sanity@localhost']
    subprocess.run(git + ['init', '-q'], cwd=dest, check=True)
    subprocess.run(git + ['add', '-A'], cwd=dest, check=True)
    subprocess.run(git + ['commit', '-q', '-m', 'sanity copy'], cwd=dest, check=True)
    return dest


def run_sanity(quiet=False):
    """ansible-test sanity on a copy; returns (passed, failed, skipped), and its output when quiet."""
    dest = sanity_copy()
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ['PATH'])
    cmd = [os.path.join(BIN, 'ansible-test'), 'sanity', '--python', '3.11', '--color', 'no']
    header = '+ (cd %s) %s\n' % (dest, ' '.join(cmd))
    proc = subprocess.run(cmd, cwd=dest, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    if not quiet:
        sys.stdout.write(header + proc.stdout)
    ran = len(re.findall(r'^Running sanity test "', proc.stdout, re.M))
    skipped = len(re.findall(r'^WARNING: Skipping sanity test "', proc.stdout, re.M))
    fatal = re.search(r'^FATAL: The (\d+) sanity test\(s\) listed below \(out of (\d+)\) failed', proc.stdout, re.M)
    failed = int(fatal.group(1)) if fatal else 0
    if proc.returncode != 0 and failed == 0:
        failed = 1
    counts = (max(ran - failed, 0), failed, skipped)
    return (counts, header + proc.stdout) if quiet else counts


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--suite', action='append', choices=['pytest', 'sanity'],
                        help='run only these suites (default: all)')
    parser.add_argument('pytest_args', nargs='*', help='extra arguments and paths for pytest')
    args = parser.parse_args()
    suites = args.suite or ['pytest', 'sanity']
    os.makedirs(BUILD, exist_ok=True)
    totals = {}
    # The suites are independent: sanity (one subprocess) runs beside pytest, and pytest spreads
    # test files over PYTEST_WORKERS processes (most tests wait on subprocesses, not the CPU).
    background = {}
    if 'sanity' in suites:
        background['sanity'] = concurrent.futures.ThreadPoolExecutor(1).submit(run_sanity, quiet=True)
    if 'pytest' in suites:
        paths = [a for a in args.pytest_args if not a.startswith('-')] or ['tests/unit', 'tests/integration']
        extra = [a for a in args.pytest_args if a.startswith('-')]
        workers = os.environ.get('PYTEST_WORKERS', '3')
        if workers != '0' and not any(a.startswith('-n') for a in extra):
            extra = ['-n', workers, '--dist', 'loadfile'] + extra
        totals['pytest'] = run_pytest(paths, extra)
    for name, future in background.items():
        result, output = future.result()
        sys.stdout.write(output)
        totals[name] = result
    passed = sum(t[0] for t in totals.values())
    failed = sum(t[1] for t in totals.values())
    skipped = sum(t[2] for t in totals.values())
    for name, (p, f, s) in totals.items():
        print('%s: %d passed, %d failed, %d skipped' % (name, p, f, s))
    print('%d passed, %d failed, %d skipped' % (passed, failed, skipped))
    return 1 if failed or not passed else 0


if __name__ == '__main__':
    sys.exit(main())
