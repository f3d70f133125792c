"""Run every test suite and end with one line: ``N passed, N failed``.

Suites: unit and integration tests (pytest, one session, junit XML), and ansible-test sanity
on a copy of the collection at ansible_collections/awsie/importexport: with the venv's
ansible-core (``sanity``), and with the oldest ansible-core that meta/runtime.yml allows and the
newest release (``sanity-oldest``, ``sanity-newest``: each in its own venv under the build
directory, pinned by requirements/sanity-*.txt). Exit status is non-zero when anything failed
or nothing ran.
"""
import argparse
import concurrent.futures
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
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


def sanity_copy(name='sanity'):
    dest = os.path.join(BUILD, name, 'ansible_collections', 'awsie', 'importexport')
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


def run_sanity(quiet=False, bin_dir=BIN, python='3.11', name='sanity'):
    """ansible-test sanity on a copy; returns (passed, failed, skipped), and its output when quiet."""
    dest = sanity_copy(name)
    env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ['PATH'])
    cmd = [os.path.join(bin_dir, 'ansible-test'), 'sanity', '--python', python, '--color', 'no']
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


# More ansible-core releases: (requirements file, Python version).
CORES = {
    'sanity-oldest': ('requirements/sanity-oldest.txt', '3.11'),
    'sanity-newest': ('requirements/sanity-newest.txt', '3.13'),
}


def find_python(version):
    """An interpreter of ``version`` (``3.13``): python3.13 on PATH, else the newest pyenv build."""
    root = os.environ.get('PYENV_ROOT') or os.path.expanduser('~/.pyenv')
    found = sorted(glob.glob(os.path.join(root, 'versions', version + '.*', 'bin', 'python' + version)),
                   key=lambda p: [int(x) for x in re.findall(r'\d+', p.split('/versions/')[1].split('/')[0])])
    candidates = [shutil.which('python' + version)] + found[::-1]
    for candidate in filter(None, candidates):
        proc = subprocess.run([candidate, '-c', 'import sys; print("%d.%d" % sys.version_info[:2])'],
                              capture_output=True, text=True, check=False)
        if proc.returncode == 0 and proc.stdout.strip() == version:
            return candidate
    return None


def core_venv(name, requirements, version):
    """The venv of one core (made or remade when its requirements change); returns its bin dir."""
    venv = os.path.join(BUILD, 'venv-' + name)
    python = find_python(version)
    if python is None:
        raise RuntimeError('no Python %s for %s (pyenv versions lists it on this machine kind)' % (version, name))
    with open(os.path.join(REPO, requirements), 'rb') as handle:
        stamp = hashlib.sha256(handle.read() + python.encode()).hexdigest()
    stamp_file = os.path.join(venv, '.installed')
    if not os.path.exists(stamp_file) or open(stamp_file, encoding='ascii').read() != stamp:
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([python, '-m', 'venv', venv], check=True)
        proc = subprocess.run([os.path.join(venv, 'bin', 'python'), '-m', 'pip', 'install', '-q', '--disable-pip-version-check',
                               '-r', os.path.join(REPO, requirements)], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError('pip install -r %s failed:\n%s' % (requirements, proc.stderr[-3000:]))
        with open(stamp_file, 'w', encoding='ascii') as handle:
            handle.write(stamp)
    # ansible-test downloads get-pip from a host that is not reachable here: the stand-in, under
    # the name of the pip version this core pins (as scripts/setup.sh does for the main venv).
    internal = glob.glob(os.path.join(venv, 'lib', 'python*', 'site-packages', 'ansible_test', '_internal',
                                      'python_requirements.py'))[0]
    with open(internal, encoding='utf-8') as handle:
        pip_version = re.search(r"pip=.(\d+(?:\.\d+)+)", handle.read()).group(1)
    cache = os.path.expanduser('~/.ansible/test/cache')
    os.makedirs(cache, exist_ok=True)
    shutil.copy(os.path.join(REPO, 'scripts', 'get_pip_standin.py'),
                os.path.join(cache, 'get_pip_%s.py' % pip_version.replace('.', '_')))
    return os.path.join(venv, 'bin')


def run_core_sanity(name):
    """ansible-test sanity with one more core; the oldest must be the one requires_ansible names."""
    requirements, version = CORES[name]
    with open(os.path.join(REPO, requirements), encoding='utf-8') as handle:
        core = re.search(r'^ansible-core==(\d+\.\d+)\.', handle.read(), re.M).group(1)
    header = '+ %s: ansible-core %s, Python %s\n' % (name, core, version)
    if name == 'sanity-oldest':
        with open(os.path.join(REPO, 'meta', 'runtime.yml'), encoding='utf-8') as handle:
            wanted = re.search(r"^requires_ansible:\s*['\"]?>=\s*(\d+\.\d+)", handle.read(), re.M).group(1)
        if wanted != core:
            return (0, 1, 0), header + 'meta/runtime.yml requires_ansible names %s, %s pins %s\n' % (wanted, requirements, core)
    start = time.monotonic()
    try:
        bin_dir = core_venv(name, requirements, version)
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        return (0, 1, 0), header + 'cannot make the venv: %s\n' % exc
    made = time.monotonic()
    counts, output = run_sanity(quiet=True, bin_dir=bin_dir, python=version, name=name)
    done = time.monotonic()
    timing = '%s: %.0f s (venv %.0f s, ansible-test sanity %.0f s)\n' % (name, done - start, made - start, done - made)
    return counts, header + output + timing


def figures(since):
    """Lines for the figures the docs and release tests wrote in this run (for the closing note)."""
    lines = []
    path = os.path.join(BUILD, 'docs-browser-check.json')
    if os.path.exists(path) and os.path.getmtime(path) >= since:
        with open(path, encoding='utf-8') as handle:
            found = json.load(handle)
        lines.append('docs site: %s pages opened in Chromium (%s site pages), %s links (%s internal checked, %s anchors, '
                     '%s external not followed), %s images, %s console errors, %s broken links, %s missing images'
                     % tuple(found.get(k) for k in ('pages', 'site_pages', 'links', 'internal_links', 'fragments',
                                                    'external_links', 'images', 'console_errors', 'broken_links',
                                                    'missing_images')))
    path = os.path.join(BUILD, 'release-check.json')
    if os.path.exists(path) and os.path.getmtime(path) >= since:
        with open(path, encoding='utf-8') as handle:
            found = json.load(handle)
        lines.append('release: ' + ', '.join('%s=%s' % item for item in sorted(found.items())))
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--suite', action='append', choices=['pytest', 'sanity'] + sorted(CORES),
                        help='run only these suites (default: all)')
    parser.add_argument('pytest_args', nargs='*', help='extra arguments and paths for pytest')
    args = parser.parse_args()
    # Every suite by default: ansible-test sanity on the venv's core and on the oldest and newest
    # (issue 12), each beside pytest. Cost: about 1.5 CPU-minutes each (venv ~25 s when new;
    # ansible-test's own venvs are cached under ~/.ansible/test, on a new machine first installed
    # from the package index).
    suites = args.suite or ['pytest', 'sanity'] + sorted(CORES)
    os.makedirs(BUILD, exist_ok=True)
    since = time.time()
    totals = {}
    # The suites are independent: sanity (one subprocess) runs beside pytest, and pytest spreads
    # test files over PYTEST_WORKERS processes (most tests wait on subprocesses, not the CPU).
    background = {}
    if 'sanity' in suites:
        background['sanity'] = concurrent.futures.ThreadPoolExecutor(1).submit(run_sanity, quiet=True)
    for name in sorted(CORES):
        if name in suites:
            background[name] = concurrent.futures.ThreadPoolExecutor(1).submit(run_core_sanity, name)
    if 'pytest' in suites:
        paths = [a for a in args.pytest_args if not a.startswith('-')] or ['tests/unit', 'tests/integration', 'tests/proof']
        extra = [a for a in args.pytest_args if a.startswith('-')]
        workers = os.environ.get('PYTEST_WORKERS', '3')
        if workers != '0' and not any(a.startswith('-n') for a in extra):
            extra = ['-n', workers, '--dist', 'loadfile'] + extra
        totals['pytest'] = run_pytest(paths, extra)
    for name, future in background.items():
        result, output = future.result()
        sys.stdout.write(output)
        totals[name] = result
    for line in figures(since):
        print(line)
    passed = sum(t[0] for t in totals.values())
    failed = sum(t[1] for t in totals.values())
    skipped = sum(t[2] for t in totals.values())
    for name, (p, f, s) in totals.items():
        print('%s: %d passed, %d failed, %d skipped' % (name, p, f, s))
    print('%d passed, %d failed, %d skipped' % (passed, failed, skipped))
    return 1 if failed or not passed else 0


if __name__ == '__main__':
    sys.exit(main())
