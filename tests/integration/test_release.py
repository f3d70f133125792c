"""Release hygiene: the tarball Galaxy would receive, what it ships, and the release tooling.

- galaxy-importer (the check Galaxy runs on upload) accepts the tarball with no warning, with a
  configuration that needs neither network nor a container (written by the test, below);
- the licence files are shipped; galaxy.yml has no placeholder links;
- the tarball ships nothing that cannot run from it (no tests needing the local service, no
  molecule scenarios needing the test bed, no empty integration targets);
- the tarball, installed into a clean path and used from there alone, runs a smoke playbook:
  ie_manifest and ie_signature on a temporary directory, ie_job and ie_job_status against the
  local service;
- antsibull-changelog lint is clean, and a trial release (in a copy) has a release summary and
  lists every module and filter exactly once;
- ansible-lint --profile production passes over the whole tree (.ansible-lint says what is data).
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile

import pytest
import yaml

from tests.collection_path import BUILD, REPO
from tests.support.playbooks import BIN

pytestmark = pytest.mark.slow

GALAXY_IMPORTER_CFG = '''[galaxy-importer]
# Everything galaxy-importer does on upload that needs neither network nor a container:
# ansible-doc on every plugin, ansible-lint (offline), the changelog check.
run_ansible_doc = True
run_ansible_lint = True
offline_ansible_lint = True
run_ansible_test = False
ansible_test_local_image = False
local_image_docker = False
check_changelog = True
run_flake8 = False
'''


def galaxy():
    with open(os.path.join(REPO, 'galaxy.yml'), encoding='utf-8') as handle:
        return yaml.safe_load(handle)


def venv_env(**extra):
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get('PATH', ''), ANSIBLE_NOCOLOR='1')
    env.update(extra)
    return env


def tree_copy(dest):
    """The working tree (tracked and untracked, not ignored) at dest/ansible_collections/awsie/importexport."""
    root = os.path.join(str(dest), 'ansible_collections', 'awsie', 'importexport')
    files = subprocess.check_output(['git', 'ls-files', '-co', '--exclude-standard', '-z'], cwd=REPO).decode().split('\0')
    for name in filter(None, files):
        src = os.path.join(REPO, name)
        if os.path.isfile(src) and not os.path.islink(src):
            os.makedirs(os.path.dirname(os.path.join(root, name)), exist_ok=True)
            shutil.copy2(src, os.path.join(root, name))
    return root


FIGURES = os.path.join(BUILD, 'release-check.json')


def record(**figures):
    """Keep figures of the release checks in <build>/release-check.json (tests/run_all.py prints them)."""
    known = {}
    if os.path.exists(FIGURES):
        with open(FIGURES, encoding='utf-8') as handle:
            known = json.load(handle)
    known.update(figures)
    with open(FIGURES, 'w', encoding='utf-8') as handle:
        json.dump(known, handle, indent=1, sort_keys=True)


@pytest.fixture(scope='module')
def tarball(tmp_path_factory):
    if os.path.exists(FIGURES):
        os.unlink(FIGURES)
    out = tmp_path_factory.mktemp('dist')
    subprocess.run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'build', '--output-path', str(out), REPO],
                   check=True, capture_output=True, env=venv_env())
    found = glob.glob(os.path.join(str(out), 'awsie-importexport-*.tar.gz'))
    assert len(found) == 1
    with tarfile.open(found[0]) as archive:
        files = [m for m in archive.getmembers() if m.isfile()]
    record(tarball=os.path.basename(found[0]), tarball_bytes=os.path.getsize(found[0]), tarball_files=len(files),
           unpacked_bytes=sum(m.size for m in files))
    return found[0]


@pytest.fixture(scope='module')
def members(tarball):
    with tarfile.open(tarball) as archive:
        return archive.getnames()


def test_galaxy_importer_accepts_the_tarball_without_warnings(tarball, tmp_path):
    cfg = tmp_path / 'galaxy-importer.cfg'
    cfg.write_text(GALAXY_IMPORTER_CFG)
    # galaxy-importer gives its ansible-lint call a fixed 180 s; on a machine busy with the rest of
    # make test that can pass. Only that timeout, alone, earns one more try (counted in the figures).
    attempts = 0
    while attempts < 2:
        attempts += 1
        proc = subprocess.run([sys.executable, '-m', 'galaxy_importer.main', tarball], cwd=str(tmp_path),
                              env=venv_env(GALAXY_IMPORTER_CONFIG=str(cfg), ANSIBLE_LOCAL_TEMP=str(tmp_path / 'tmp')),
                              capture_output=True, text=True, timeout=900, check=False)
        output = proc.stdout + proc.stderr
        lines = [line for line in output.splitlines() if re.match(r'^(WARNING|ERROR)\b', line)]
        if lines != ['ERROR: Timeout on call to ansible-lint']:
            break
    record(galaxy_importer_attempts=attempts)
    assert proc.returncode == 0, output[-5000:]
    assert 'Importer processing completed successfully' in output, output[-5000:]
    assert 'Linting collection via ansible-lint' in output and 'ansible-lint not found' not in output
    complaints = [line for line in output.splitlines() if re.match(r'^(WARNING|ERROR)\b', line)]
    record(galaxy_importer_warnings=sum(1 for c in complaints if c.startswith('WARNING')),
           galaxy_importer_errors=sum(1 for c in complaints if c.startswith('ERROR')),
           galaxy_importer_contents=len(re.findall(r'^Loading [a-z_]+ \S+$', output, re.M)))
    assert not complaints, 'galaxy-importer complains:\n' + '\n'.join(complaints)


def test_licence_and_links(members):
    base = 'ansible_collections/awsie/importexport/' if members[0].startswith('ansible_collections') else ''
    for name in ('LICENSES/GPL-3.0-or-later.txt', 'COPYING', 'README.md', 'MANIFEST.json', 'FILES.json'):
        assert base + name in members, name
    meta = galaxy()
    assert meta['license'] == ['GPL-3.0-or-later']
    with open(os.path.join(REPO, 'galaxy.yml'), encoding='utf-8') as handle:
        assert 'example.invalid' not in handle.read()
    for key in ('repository', 'documentation', 'issues', 'homepage'):
        assert meta.get(key) is None or re.match(r'^https://[^/]+\.[a-z]+/', meta[key]), key


def test_tarball_ships_only_what_can_run_from_it(tarball, members):
    files = [m for m in members if not m.endswith('/')]
    assert not [m for m in files if m.startswith(('tests/', 'service/', 'extensions/molecule/', 'scripts/', 'docs/site/'))]
    with tarfile.open(tarball) as archive:
        for member in archive.getmembers():
            if member.isfile() and member.name.endswith('.py'):
                text = archive.extractfile(member).read().decode('utf-8', 'replace')
                assert not re.search(r'^\s*(from|import)\s+(ie_service|tests)\b', text, re.M), member.name
    # Every integration target shipped (none now) would need aliases and tasks to mean anything.
    targets = {m.split('/')[3] for m in files if m.startswith('tests/integration/targets/')}
    for target in targets:
        assert 'tests/integration/targets/%s/aliases' % target in files
    roles = {m.split('/')[1] for m in files if m.startswith('roles/')}
    assert roles and all('roles/%s/README.md' % r in files for r in roles), 'a role has no README.md'


SMOKE = '''
- name: Smoke test of the installed collection
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    work: "{{ lookup('ansible.builtin.env', 'SMOKE_DIR') }}"
  tasks:
    - name: Where the collection comes from
      ansible.builtin.set_fact:
        smoke_path: "{{ lookup('ansible.builtin.pipe', 'ansible-galaxy collection list awsie.importexport --format json') }}"

    - name: Write a manifest
      awsie.importexport.ie_manifest:
        job_type: Import
        kind: s3
        dest: "{{ work }}/manifest.yml"
        fields:
          accessKeyId: "{{ lookup('ansible.builtin.env', 'AWS_ACCESS_KEY_ID') }}"
          deviceId: SMOKE01
          bucket: "{{ lookup('ansible.builtin.env', 'SMOKE_BUCKET') }}"
          eraseDevice: true
          returnAddress: {name: Jane Ops, street1: 1 Main St, city: Seattle, stateOrProvince: WA,
                          postalCode: "98104", phoneNumber: 206-555-0100, country: USA}

    - name: Sign a directory with a job id of our own (computed on the controller)
      awsie.importexport.ie_signature:
        dest: "{{ work }}/drive"
        job_id: 53XTY
        manifest_src: "{{ work }}/manifest.yml"
        require_mount: false
      register: signed

    - name: Create the job on the local service
      awsie.importexport.ie_job:
        manifest_src: "{{ work }}/manifest.yml"
        job_type: Import
      register: job

    - name: Poll it
      awsie.importexport.ie_job_status:
        job_ids: ["{{ job.job_id }}"]
      register: status

    - name: Check
      ansible.builtin.assert:
        that:
          - signed is changed
          - status.jobs[0].job_id == job.job_id
          - status.jobs[0].location_code == 'NotReceived'
          - (smoke_path | from_json).values() | map('list') | flatten | select('equalto', 'awsie.importexport') | list | length == 1
          - (smoke_path | from_json).keys() | first is search(lookup('ansible.builtin.env', 'SMOKE_INSTALL'))
'''


def test_installed_tarball_runs_a_smoke_playbook(tarball, tmp_path, ie_service):
    install = tmp_path / 'install'
    # only the clean path is configured (the tests' own collection path would make it "already installed")
    subprocess.run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'install', '-p', str(install), tarball],
                   check=True, capture_output=True, env=venv_env(ANSIBLE_COLLECTIONS_PATH=str(install),
                                                                 ANSIBLE_COLLECTIONS_SCAN_SYS_PATH='false'))
    installed = install / 'ansible_collections' / 'awsie' / 'importexport'
    assert (installed / 'MANIFEST.json').is_file() and not os.path.islink(str(installed))
    (tmp_path / 'drive').mkdir()
    (tmp_path / 'smoke.yml').write_text(SMOKE)
    bucket = ie_service.new_bucket('smoke')
    env = venv_env(ANSIBLE_COLLECTIONS_PATH=str(install), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH='false',
                   ANSIBLE_HOME=str(tmp_path / 'home'), ANSIBLE_LOCAL_TEMP=str(tmp_path / 'local-tmp'),
                   ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCALHOST_WARNING='false',
                   ANSIBLE_INVENTORY_UNPARSED_WARNING='false', SMOKE_DIR=str(tmp_path), SMOKE_BUCKET=bucket,
                   SMOKE_INSTALL=str(install), AWS_ACCESS_KEY_ID=ie_service.access_key,
                   AWS_SECRET_ACCESS_KEY=ie_service.secret_key, AWS_URL=ie_service.url)
    env.pop('PYTHONPATH', None)
    proc = subprocess.run([os.path.join(BIN, 'ansible-playbook'), str(tmp_path / 'smoke.yml')], cwd=str(tmp_path),
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert 'failed=0' in proc.stdout
    assert (tmp_path / 'drive' / 'SIGNATURE').is_file()
    assert ie_service.secret_key not in proc.stdout


def test_changelog_lint_and_trial_release(tmp_path):
    proc = subprocess.run([os.path.join(BIN, 'antsibull-changelog'), 'lint'], cwd=REPO, capture_output=True, text=True,
                          env=venv_env(), check=False)
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr
    record(changelog_lint_findings=len(proc.stdout.strip().splitlines()))
    copy = tree_copy(tmp_path)
    version = galaxy()['version']
    proc = subprocess.run([os.path.join(BIN, 'antsibull-changelog'), 'release', '--version', version, '--date', '2026-01-01'],
                          cwd=copy, capture_output=True, text=True, check=False,
                          env=venv_env(ANSIBLE_COLLECTIONS_PATH=str(tmp_path), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH='false'))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'WARNING' not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    with open(os.path.join(copy, 'CHANGELOG.rst'), encoding='utf-8') as handle:
        text = handle.read()
    assert 'Release Summary' in text
    modules = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(REPO, 'plugins', 'modules', '*.py')))
    filters = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(REPO, 'plugins', 'filter', '*.py')))
    wrong = []
    for name in modules + filters:
        listed = len(re.findall(r'^- awsie\.importexport\.%s - ' % name, text, re.M))
        announced = len(re.findall(r'^- %s - new (module|filter)' % name, text, re.M))
        if listed != 1 or announced:
            wrong.append('%s: listed %d time(s) under New Modules/Plugins, announced %d time(s) in a fragment'
                         % (name, listed, announced))
    if wrong:
        added = {}
        for path in glob.glob(os.path.join(REPO, 'plugins', 'modules', '*.py')):
            with open(path, encoding='utf-8') as handle:
                found = re.search(r"^version_added: *'?([\d.]+)", handle.read(), re.M)
            added[os.path.basename(path)[:-3]] = found.group(1) if found else None
        others = {m: v for m, v in added.items() if v != version}
        if others:
            wrong.append('modules whose version_added is not the release version %s (never released before): %s'
                         % (version, json.dumps(others, sort_keys=True)))
    record(changelog_release_modules_and_filters=len(modules + filters), changelog_release_wrong=len(wrong))
    assert not wrong, '\n'.join(wrong)


def test_ansible_lint_production_profile_passes_over_the_whole_tree(tmp_path):
    copy = tree_copy(tmp_path)
    subprocess.run(['git', 'init', '-q'], cwd=copy, check=True)
    proc = subprocess.run([os.path.join(BIN, 'ansible-lint'), '--nocolor', '-q'], cwd=copy, capture_output=True,
                          text=True, timeout=900, check=False,
                          env=venv_env(ANSIBLE_COLLECTIONS_PATH=str(tmp_path), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH='false',
                                       ANSIBLE_HOME=str(tmp_path / 'home'), XDG_CACHE_HOME=str(tmp_path / 'cache')))
    passed = re.search(r'Passed: (\d+) failure\(s\), (\d+) warning\(s\) on (\d+) files', proc.stdout + proc.stderr)
    failed = re.search(r'Failed: (\d+) failure\(s\), (\d+) warning\(s\)', proc.stdout + proc.stderr)
    found = passed or failed
    record(ansible_lint_rc=proc.returncode, ansible_lint_failures=int(found.group(1)) if found else 0,
           ansible_lint_warnings=int(found.group(2)) if found else 0,
           ansible_lint_output_lines=len((proc.stdout + proc.stderr).splitlines()))
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-4000:]
