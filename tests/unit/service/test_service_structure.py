"""The shape of the local service: no import cycle, every module importable on its own, one version."""
import ast
import os
import re
import subprocess
import sys

import pytest

import ie_service

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SERVICE = os.path.join(REPO, 'service')
# package name -> directory: the service and the collection library it imports
PACKAGES = {
    'ie_service': os.path.join(SERVICE, 'ie_service'),
    'ansible_collections.awsie.importexport.plugins.module_utils': os.path.join(REPO, 'plugins', 'module_utils'),
}


def _modules():
    """{module name: (path, is_package)} for every .py file of the packages, at any depth."""
    found = {}
    for prefix, root in PACKAGES.items():
        for dirpath, _dirs, names in os.walk(root):
            for name in names:
                if not name.endswith('.py'):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, name), root)[:-3].split(os.sep)
                package = rel[-1] == '__init__'
                parts = rel[:-1] if package else rel
                found['.'.join([prefix] + parts)] = (os.path.join(dirpath, name), package)
    return found


def import_graph():
    """{module: {modules it imports}}, counting imports anywhere in the file (inside functions too)."""
    modules = _modules()
    graph = {}
    for module, (path, package) in modules.items():
        with open(path, encoding='utf-8') as handle:
            tree = ast.parse(handle.read(), path)
        edges = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = module if package else module.rsplit('.', 1)[0]
                    for dummy in range(node.level - 1):
                        base = base.rsplit('.', 1)[0]
                    base = base + ('.' + node.module if node.module else '')
                else:
                    base = node.module
                targets = [base + '.' + alias.name if base + '.' + alias.name in modules else base
                           for alias in node.names]
            else:
                continue
            edges.update(t for t in targets if t in modules and t != module)
        graph[module] = edges
    return graph


def cycles(graph):
    """Every import cycle, as a list of modules (first == last); empty when there is none."""
    found, state = [], {}

    def visit(node, stack):
        state[node] = 'open'
        stack.append(node)
        for child in sorted(graph[node]):
            if state.get(child) == 'open':
                found.append(stack[stack.index(child):] + [child])
            elif child not in state:
                visit(child, stack)
        stack.pop()
        state[node] = 'done'

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    return found


def test_the_graph_sees_imports_inside_functions():
    graph = {'a': {'b'}, 'b': {'a'}}
    assert cycles(graph) == [['a', 'b', 'a']]
    built = import_graph()
    assert 'ie_service.collection' in built['ie_service.drive']
    assert 'ansible_collections.awsie.importexport.plugins.module_utils.signing' in built['ie_service.collection']


def test_no_import_cycle_in_the_service_or_the_collection_library():
    assert cycles(import_graph()) == []


def _service_modules():
    return sorted(m for m in _modules() if m.startswith('ie_service.') and m != 'ie_service.__main__')


@pytest.mark.parametrize('module', _service_modules())
def test_each_service_module_imports_alone_in_a_fresh_interpreter(module):
    proc = subprocess.run([sys.executable, '-c', 'import %s' % module], cwd=SERVICE, capture_output=True, text=True,
                          check=False, env=dict(os.environ, PYTHONPATH=SERVICE))
    assert proc.returncode == 0, proc.stderr[-3000:]


def _galaxy_version():
    with open(os.path.join(REPO, 'galaxy.yml'), encoding='utf-8') as handle:
        return re.search(r'^version:\s*(\S+)', handle.read(), re.M).group(1)


def test_the_service_version_is_the_collection_version_from_galaxy_yml():
    version = _galaxy_version()
    assert ie_service.__version__ == version
    proc = subprocess.run([sys.executable, '-m', 'ie_service', '--version'], cwd=SERVICE, capture_output=True, text=True,
                          check=False, env=dict(os.environ, PYTHONPATH=SERVICE))
    assert proc.stdout.strip() == 'ie-service %s' % version
    with open(os.path.join(SERVICE, 'pyproject.toml'), encoding='utf-8') as handle:
        pyproject = handle.read()
    assert re.search(r'^dynamic = \["version"\]$', pyproject, re.M) and not re.search(r'^version\s*=', pyproject, re.M)
