"""The execution environment: what ansible-builder finds in the collection, and a build context from
execution-environment.yml (ansible-builder create needs no container engine)."""
import json
import os
import shutil
import subprocess
import sys
import tarfile

import yaml

from tests.integration.fixtures import REPO

BIN = os.path.dirname(sys.executable)
VERSION = yaml.safe_load(open(os.path.join(REPO, 'galaxy.yml')))['version']
TARBALL = 'awsie-importexport-%s.tar.gz' % VERSION


def run(cmd, **kw):
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)
    assert proc.returncode == 0, '%s failed (%d):\n%s\n%s' % (' '.join(cmd), proc.returncode, proc.stdout, proc.stderr)
    return proc


def build_tarball(dest):
    run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'build', '--force', '--output-path', str(dest), REPO])
    path = os.path.join(str(dest), TARBALL)
    assert os.path.isfile(path)
    return path


def introspect(folder):
    """``ansible-builder introspect FOLDER`` as {'python': [...], 'system': [...]} of this collection's lines."""
    proc = run([os.path.join(BIN, 'ansible-builder'), 'introspect', str(folder)])
    found = yaml.safe_load(proc.stdout)
    mark = '  # from collection awsie.importexport'
    return {kind: [line[:-len(mark)] for line in found.get(kind) or [] if line.endswith(mark)]
            for kind in ('python', 'system')}


def install(tarball, dest):
    run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'install', '--offline', '--force', '-p', str(dest), str(tarball)])
    assert os.path.isfile(os.path.join(str(dest), 'ansible_collections', 'awsie', 'importexport', 'MANIFEST.json')), \
        'the collection was not installed from %s' % tarball


def test_introspect_finds_the_python_and_system_needs_of_the_installed_collection(tmp_path):
    """What the builder stage does: introspect the collection as installed from its tarball."""
    tarball = build_tarball(tmp_path / 'dist')
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    for needed in ('meta/execution-environment.yml', 'requirements.txt', 'bindep.txt'):
        assert needed in names, '%s is not in the collection tarball' % needed
    installed = tmp_path / 'collections'
    install(tarball, installed)
    found = introspect(installed)
    # PyYAML is in requirements.txt too; ansible-builder leaves it out (every base image has it)
    assert found['python'] == ['requests>=2.25']
    assert found['system'][:2] == ['openssh-client [platform:dpkg]', 'openssh-clients [platform:rpm]']
    assert 'ntfs-3g [managed]' in found['system'] and 'fusefat [managed platform:dpkg]' in found['system']
    # introspect of the source tree (what a collection author runs) finds the same
    assert introspect(os.environ['ANSIBLE_COLLECTIONS_PATH']) == found


def test_bindep_profiles_keep_managed_host_packages_out_of_the_execution_environment():
    """The build installs `bindep -l newline` (default profile); the managed hosts' packages need profile managed."""
    bindep = os.path.join(BIN, 'bindep')
    default = run([bindep, '-f', os.path.join(REPO, 'bindep.txt'), '-l', 'newline'], cwd=REPO).stdout.split()
    managed = run([bindep, '-f', os.path.join(REPO, 'bindep.txt'), '-l', 'newline', 'managed'], cwd=REPO).stdout.split()
    # bindep -l lists what is missing here: the SSH client is installed on this Debian machine
    assert 'ntfs-3g' not in default and 'util-linux' not in default
    assert set(managed) - set(default) >= {'python3', 'util-linux', 'e2fsprogs', 'dosfstools', 'rsync', 'ntfs-3g',
                                           'fusefat', 'exfat-fuse', 'udev'}
    assert 'fuse-exfat' not in managed  # rpm only


def test_ansible_builder_create_makes_a_build_context_that_installs_the_collection(tmp_path):
    work = tmp_path / 'project'
    work.mkdir()
    shutil.copy(os.path.join(REPO, 'execution-environment.yml'), str(work))
    tarball = build_tarball(work / '.build' / 'dist')
    context = tmp_path / 'context'
    run([os.path.join(BIN, 'ansible-builder'), 'create', '-f', str(work / 'execution-environment.yml'), '-c',
         str(context), '--output-filename', 'Containerfile'])
    containerfile = (context / 'Containerfile').read_text()
    for stage in ('AS base', 'AS galaxy', 'AS builder', 'AS final'):
        assert stage in containerfile
    assert 'ansible-core==2.19.14 ansible-runner==2.4.3' in containerfile
    assert 'introspect.py introspect --user-pip=requirements.txt' in containerfile
    assert 'ansible-galaxy collection install' in containerfile and 'COPY _build /build' in containerfile
    # the galaxy stage installs exactly the tarball copied into the context
    requirements = yaml.safe_load((context / '_build' / 'requirements.yml').read_text())
    assert requirements == {'collections': [{'name': '/build/collections/%s' % TARBALL, 'type': 'file'}]}
    copied = context / '_build' / 'collections' / TARBALL
    assert copied.read_bytes() == open(tarball, 'rb').read()
    with tarfile.open(str(copied)) as tar:
        manifest = json.load(tar.extractfile('MANIFEST.json'))['collection_info']
    assert (manifest['namespace'], manifest['name'], manifest['version']) == ('awsie', 'importexport', VERSION)
    assert (context / '_build' / 'requirements.txt').read_text().split() == ['boto3>=1.28']

    # Run the context's own introspect script the way the builder stage does, on the tarball installed
    installed = tmp_path / 'installed'
    install(copied, installed)
    pip_out, bindep_out = tmp_path / 'pip.txt', tmp_path / 'bindep.txt'
    run([sys.executable, str(context / '_build' / 'scripts' / 'introspect.py'), 'introspect', str(installed),
         '--user-pip=%s' % (context / '_build' / 'requirements.txt'), '--write-pip=%s' % pip_out,
         '--write-bindep=%s' % bindep_out])
    pip_lines = pip_out.read_text()
    assert 'requests>=2.25  # from collection awsie.importexport' in pip_lines
    assert 'boto3>=1.28  # from collection user' in pip_lines
    assert 'openssh-clients [platform:rpm]  # from collection awsie.importexport' in bindep_out.read_text()


def test_the_execution_environment_names_the_tarball_of_galaxy_yml_version():
    ee = yaml.safe_load(open(os.path.join(REPO, 'execution-environment.yml')))
    assert ee['version'] == 3
    assert ee['dependencies']['galaxy']['collections'][0]['name'].endswith('/' + TARBALL)
    assert ee['additional_build_files'][0]['src'].endswith('/' + TARBALL)
