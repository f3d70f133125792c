"""The collection as users get it: every module documented, the tarball builds and installs,
roles and playbooks pass ansible-lint."""
import glob
import os
import subprocess
import sys
import tarfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
MODULES = sorted(os.path.splitext(os.path.basename(p))[0]
                 for p in glob.glob(os.path.join(REPO, 'plugins', 'modules', 'ie_*.py')))


def run(cmd, **kw):
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ['PATH'], ANSIBLE_NOCOLOR='1')
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False, **kw)


def test_there_are_modules_to_document():
    assert 'ie_signature' in MODULES


@pytest.mark.parametrize('module', MODULES)
def test_ansible_doc_renders(module):
    proc = run([os.path.join(BIN, 'ansible-doc'), 'awsie.importexport.' + module])
    assert proc.returncode == 0, proc.stderr
    assert 'awsie.importexport.' + module in proc.stdout
    assert 'EXAMPLES' in proc.stdout and 'RETURN VALUES' in proc.stdout
    assert '[WARNING]' not in proc.stderr, proc.stderr


def test_galaxy_build_leaves_tests_and_service_out_and_installs(tmp_path):
    proc = run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'build', '--output-path', str(tmp_path), REPO])
    assert proc.returncode == 0, proc.stderr + proc.stdout
    tarballs = glob.glob(str(tmp_path / 'awsie-importexport-*.tar.gz'))
    assert len(tarballs) == 1
    with tarfile.open(tarballs[0]) as tar:
        names = tar.getnames()
    assert 'plugins/modules/ie_signature.py' in names
    assert 'meta/runtime.yml' in names
    assert not [n for n in names if n.startswith(('service/', 'tests/benchmarks', '.venv', '.build', '.git/'))]
    proc = run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'install', '--offline', '--force', '-p', str(tmp_path / 'c'),
                tarballs[0]])
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert os.path.exists(tmp_path / 'c' / 'ansible_collections' / 'awsie' / 'importexport' / 'MANIFEST.json')


def test_ansible_lint_passes_on_roles_and_playbooks():
    targets = [d for d in ('roles', 'playbooks') if glob.glob(os.path.join(REPO, d, '*'))]
    if not targets:
        pytest.skip('no roles or playbooks yet')
    proc = run([os.path.join(BIN, 'ansible-lint'), '--offline', '-q'] + targets)
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-4000:]
