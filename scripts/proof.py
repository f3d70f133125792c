"""The proof of reliability and security (issue 11): run every check, write docs/reliability.md.

One pytest session runs everything under tests/proof, the long cases too (``-m "proof_full or not
proof_full"``), and the existing tests that belong to a family (FAMILY_TESTS below; for fuzzing,
the hypothesis tests of the unit suite, found by their ``@given``), spread over ``-n`` workers by
file, with a junit report and ``IE_PROOF_DIR`` set (tests write their figures there with
``proof_record``). The page then states, per family, the cases tried, passed, failed and skipped,
the figures recorded, and the command that reruns that family's cases. It is generated and never
edited by hand: ``make proof`` rewrites it. Exit status 1 when any case failed or none ran.

    python scripts/proof.py [--workers 2] [--family secrets ...] [--out docs/reliability.md]
"""
import argparse
import ast
import collections
import datetime
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.abspath(os.environ.get('IE_BUILD_DIR', os.path.join(REPO, '.build')))
FAMILIES = ('secrets', 'badinput', 'faults', 'hostile', 'fuzzing', 'tampering')
TITLES = {
    'secrets': 'Secrets never leak (outputs, hosts, drives, diffs, errors, service logs)',
    'badinput': 'Bad input gives a clear error and touches nothing',
    'faults': 'Faults: the run converges, nothing partial, nothing lost',
    'hostile': 'A hostile service: clear errors in time, memory bounded, credentials kept',
    'fuzzing': 'Fuzzing the parsers: nothing but the documented errors',
    'tampering': 'Tampering: the service refuses what was not signed for it',
}
# Tests outside tests/proof that prove part of a family: a file, or file::test (all its parameters).
FAMILY_TESTS = {
    'secrets': ['tests/integration/test_secrets_ssh.py',
                'tests/integration/test_email_flow.py::test_passwords_never_appear_even_at_vvvv',
                'tests/integration/test_email_flow.py::test_mailbox_errors_name_the_server_and_never_the_password'],
    'badinput': ['tests/unit/plugins/module_utils/test_manifest_corpus.py'],
    'faults': ['tests/integration/test_ie_job_faults.py', 'tests/integration/test_ie_job_kill.py'],
    'hostile': ['tests/unit/plugins/module_utils/test_api_hardening.py'],
    'tampering': ['tests/integration/test_service_auth.py',
                  'tests/integration/test_service_drive.py::test_altered_signature_loads_nothing',
                  'tests/integration/test_service_drive.py::test_missing_signature_loads_nothing'],
}
FUZZ_ROOTS = ('tests/unit', 'tests/integration')


def given_tests(path):
    """Names of the test functions of ``path`` decorated with hypothesis' ``@given``."""
    with open(os.path.join(REPO, path), encoding='utf-8') as handle:
        tree = ast.parse(handle.read())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name.startswith('test'):
            for dec in node.decorator_list:
                func = dec.func if isinstance(dec, ast.Call) else dec
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, 'id', '')
                if name == 'given':
                    found.append(node.name)
    return found


def family_selection():
    """{family: [pytest node ids or paths]}: tests/proof files by name, plus the existing tests."""
    chosen = {family: list(FAMILY_TESTS.get(family, [])) for family in FAMILIES}
    proof = os.path.join(REPO, 'tests', 'proof')
    for name in sorted(os.listdir(proof)):
        match = re.match(r'test_([a-z]+)_\w+\.py$', name)
        if match and match.group(1) in chosen:
            chosen[match.group(1)].append('tests/proof/' + name)
    for root in FUZZ_ROOTS:
        for top, unused, files in os.walk(os.path.join(REPO, root)):
            for name in sorted(files):
                if name.startswith('test_') and name.endswith('.py'):
                    rel = os.path.relpath(os.path.join(top, name), REPO)
                    chosen['fuzzing'] += ['%s::%s' % (rel, test) for test in given_tests(rel)]
    return chosen


def family_of_case(case, selection):
    """The family of a junit testcase (classname ``tests.proof.test_x_y``, name ``test_z[param]``)."""
    path = case_file(case)[:-3]
    test = case.get('name', '').split('[', 1)[0]
    for family, items in selection.items():
        for item in items:
            file_part, unused, func = item.partition('::')
            if file_part[:-3] == path and (not func or func == test):
                return family
    return None


def case_file(case):
    """The test file of a junit testcase; its classname is the module path, plus a class when there is one."""
    parts = case.get('classname', '').split('.')
    for end in range(len(parts), 0, -1):
        path = '/'.join(parts[:end]) + '.py'
        if os.path.exists(os.path.join(REPO, path)):
            return path
    return '/'.join(parts) + '.py'


def read_junit(path, selection):
    """{family: {'passed': [...], 'failed': [...], 'skipped': [...], 'seconds': float}}."""
    found = {family: {'passed': [], 'failed': [], 'skipped': [], 'seconds': 0.0} for family in FAMILIES}
    found['other'] = {'passed': [], 'failed': [], 'skipped': [], 'seconds': 0.0}
    if not os.path.exists(path):
        return found
    for case in ET.parse(path).getroot().iter('testcase'):
        family = family_of_case(case.attrib, selection) or 'other'
        node = '%s::%s' % (case_file(case.attrib), case.get('name', ''))
        if case.find('failure') is not None or case.find('error') is not None:
            outcome = 'failed'
        elif case.find('skipped') is not None:
            outcome = 'skipped'
        else:
            outcome = 'passed'
        found[family][outcome].append(node)
        found[family]['seconds'] += float(case.get('time') or 0)
    return found


# Figures that existing tests outside tests/proof print (they have no proof_record): family, test, pattern, names.
PRINTED_FIGURES = [
    ('secrets', 'test_secrets_ssh', r'^Total: (\d+) places, (\d+) files, (\d+) bytes',
     [('places searched (ship.yml)', 'places'), ('files searched (ship.yml)', 'files'), ('bytes searched (ship.yml)', 'bytes')]),
]


def printed_figures(junit):
    """Figures from the output of the existing tests of PRINTED_FIGURES (junit system-out)."""
    found = collections.defaultdict(list)
    if not os.path.exists(junit):
        return found
    for case in ET.parse(junit).getroot().iter('testcase'):
        out = ''.join(el.text or '' for el in case.iter('system-out'))
        for family, test_file, pattern, names in PRINTED_FIGURES:
            if test_file not in case.get('classname', ''):
                continue
            match = re.search(pattern, out, re.M)
            if match:
                for (name, unit), value in zip(names, match.groups()):
                    found[family].append({'family': family, 'name': name, 'value': int(value), 'unit': unit,
                                          'test': '%s::%s' % (case_file(case.attrib), case.get('name'))})
    return found


def read_figures(path):
    figures = collections.defaultdict(list)
    if os.path.exists(path):
        with open(path, encoding='utf-8') as handle:
            for line in handle:
                if line.strip():
                    item = json.loads(line)
                    figures[item.get('family', 'other')].append(item)
    return figures


def git(*args):
    proc = subprocess.run(['git'] + list(args), cwd=REPO, capture_output=True, text=True, check=False)
    return proc.stdout.strip()


def machine():
    cpus = os.cpu_count()
    memory = ''
    try:
        with open('/proc/meminfo', encoding='ascii') as handle:
            kib = int(re.search(r'MemTotal:\s+(\d+)', handle.read()).group(1))
        memory = ', %.1f GiB RAM' % (kib / 1048576.0)
    except (OSError, AttributeError):
        pass
    values = (platform.node(), platform.system(), platform.release(), platform.machine(), cpus, memory, platform.python_version())
    return '%s (%s %s, %s, %d CPUs%s, Python %s)' % values


def pytest_command(items, workers, junit=None):
    cmd = ['.venv/bin/python', '-m', 'pytest', '-p', 'no:cacheprovider', '-q', '-m', 'proof_full or not proof_full',
           '-o', 'junit_logging=system-out']
    if workers:
        cmd += ['-n', str(workers), '--dist', 'loadfile']
    if junit:
        cmd += ['--junitxml', junit]
    return cmd + list(items)


def value_text(item):
    value = item['value']
    if isinstance(value, float):
        value = ('%.3f' % value).rstrip('0').rstrip('.')
    return '%s %s' % (value, item.get('unit') or '')


def aggregate(items):
    """One row per figure name: a figure recorded by several tests (one per case) is summed."""
    rows = collections.OrderedDict()
    for item in items:
        rows.setdefault((item['name'], item.get('unit') or ''), []).append(item)
    for (name, unit), group in rows.items():
        if len(group) == 1:
            yield dict(group[0], test='`%s`' % group[0]['test'])
        elif all(isinstance(g['value'], (int, float)) and not isinstance(g['value'], bool) for g in group):
            files = sorted(set(g['test'].split('::')[0] for g in group))
            yield {'name': name, 'unit': unit, 'value': sum(g['value'] for g in group),
                   'test': 'sum over %d tests of %s' % (len(group), ', '.join('`%s`' % f for f in files))}
        else:
            for g in group:
                yield dict(g, test='`%s`' % g['test'])


def md_cell(text):
    return str(text).replace('|', '\\|').replace('\n', ' ')


def render(results, figures, selection, families, started, seconds, command, workers, rc):
    lines = ['# Reliability and security, in figures', '',
             '<!-- Generated by scripts/proof.py (make proof). Never edit by hand: run `make proof`. -->', '',
             'This page is **generated** by `make proof` (`scripts/proof.py`) and never written by hand; '
             'rerun it to check every figure below.', '',
             '- Generated: %s UTC, in %d s (pytest exit status %d%s)' % (
                 started.strftime('%Y-%m-%d %H:%M'), seconds, rc,
                 ': INTERRUPTED, the cases still running were not counted' if rc == 2 else ''),
             '- Commit: `%s`%s' % (git('rev-parse', 'HEAD'), ' (with uncommitted changes)' if git('status', '--porcelain', '--untracked-files=no') else ''),
             '- Machine: %s' % machine(),
             '- Command: `%s`' % ' '.join(shlex.quote(c) for c in command), '',
             '## Summary', '',
             '| family | cases tried | passed | failed | skipped | figures | test time (s) |',
             '|---|---:|---:|---:|---:|---:|---:|']
    totals = [0, 0, 0, 0, 0]
    for family in families:
        res = results[family]
        row = [len(res['passed']) + len(res['failed']) + len(res['skipped']), len(res['passed']), len(res['failed']),
               len(res['skipped']), len(figures.get(family, []))]
        totals = [a + b for a, b in zip(totals, row)]
        lines.append('| %s | %d | %d | %d | %d | %d | %.0f |' % ((family,) + tuple(row) + (res['seconds'],)))
    lines.append('| **all** | **%d** | **%d** | **%d** | **%d** | **%d** | |' % tuple(totals))
    lines.append('')
    for family in families:
        res = results[family]
        lines += ['## %s' % family, '', TITLES[family] + '.', '']
        tried = len(res['passed']) + len(res['failed']) + len(res['skipped'])
        counts = (tried, len(res['passed']), len(res['failed']), len(res['skipped']))
        lines.append('%d cases tried, %d passed, %d failed, %d skipped.' % counts)
        lines += ['', 'Rerun this row: `IE_PROOF_DIR=.build/proof %s`'
                  % ' '.join(shlex.quote(c) for c in pytest_command(selection[family], workers)), '']
        per_file = collections.Counter(node.split('::')[0] for outcome in ('passed', 'failed', 'skipped') for node in res[outcome])
        if per_file:
            lines += ['| test file | cases |', '|---|---:|']
            lines += ['| `%s` | %d |' % (name, count) for name, count in sorted(per_file.items())]
            lines.append('')
        if res['failed']:
            lines += ['Failed:', ''] + ['- `%s`' % md_cell(node) for node in sorted(res['failed'])] + ['']
        if res['skipped']:
            lines += ['Skipped:', ''] + ['- `%s`' % md_cell(node) for node in sorted(res['skipped'])] + ['']
        items = figures.get(family, [])
        if items:
            lines += ['Figures:', '', '| figure | value | recorded by |', '|---|---:|---|']
            for item in aggregate(items):
                lines.append('| %s | %s | %s |' % (md_cell(item['name']), md_cell(value_text(item)), md_cell(item['test'])))
            lines.append('')
        else:
            lines += ['No figures recorded.', '']
    other = results['other']
    if any(other[k] for k in ('passed', 'failed', 'skipped')):
        lines += ['## other', '', 'Cases the run collected outside the families: %d passed, %d failed, %d skipped.'
                  % (len(other['passed']), len(other['failed']), len(other['skipped'])), '']
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--workers', type=int, default=int(os.environ.get('PROOF_WORKERS', '2')),
                        help='pytest-xdist workers (0: none); default 2')
    parser.add_argument('--family', action='append', choices=FAMILIES, help='only these families (the page lists only them)')
    parser.add_argument('--out', default=os.path.join(REPO, 'docs', 'reliability.md'), help='the page to write')
    args = parser.parse_args()
    selection = family_selection()
    families = args.family or list(FAMILIES)
    proof_dir = os.path.join(BUILD, 'proof')
    shutil.rmtree(proof_dir, ignore_errors=True)
    os.makedirs(proof_dir)
    junit = os.path.join(proof_dir, 'junit.xml')
    items = [item for family in families for item in selection[family]]
    command = pytest_command(items, args.workers, junit=junit if os.path.relpath(junit, REPO).startswith('..') else os.path.relpath(junit, REPO))
    env = dict(os.environ, IE_PROOF_DIR=proof_dir)
    started = datetime.datetime.now(datetime.timezone.utc)
    clock = time.monotonic()
    print('+ IE_PROOF_DIR=%s %s' % (proof_dir, ' '.join(shlex.quote(c) for c in command)), flush=True)
    rc = subprocess.call([sys.executable] + command[1:], cwd=REPO, env=env)
    seconds = time.monotonic() - clock
    results = read_junit(junit, selection)
    figures = read_figures(os.path.join(proof_dir, 'figures.jsonl'))
    for family, items in printed_figures(junit).items():
        figures[family] = items + figures.get(family, [])
    shown = ['make', 'proof'] if not args.family else ['.venv/bin/python', 'scripts/proof.py'] + ['--family=%s' % f for f in families]
    text = render(results, figures, selection, families, started, seconds, shown, args.workers, rc)
    with open(args.out, 'w', encoding='utf-8') as handle:
        handle.write(text + '\n')
    failed = sum(len(results[f]['failed']) for f in FAMILIES) + len(results['other']['failed'])
    tried = sum(len(results[f][k]) for f in FAMILIES for k in ('passed', 'failed', 'skipped'))
    for family in families:
        res = results[family]
        counts = (family, len(res['passed']), len(res['failed']), len(res['skipped']), len(figures.get(family, [])))
        print('%-10s %4d passed, %d failed, %d skipped, %d figures' % counts)
    print('proof: %d cases, %d failed, pytest exit %d, %.0f s; wrote %s' % (tried, failed, rc, seconds, args.out))
    return 1 if failed or not tried or rc not in (0,) else 0


if __name__ == '__main__':
    sys.exit(main())
