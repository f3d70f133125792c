"""ansible-playbook runs for tests, the demo and benchmarks, with this venv's Python and the collection.

``PlaybookRunner(workdir).run(playbook, ...)`` runs in a process group of its own (an interrupted
caller ends its workers too, before mounts and files go). ``recap`` and ``changed_tasks`` read
the default callback's output.
"""
import json
import os
import sys
import tempfile

from tests.collection_path import BUILD, link_collection
from tests.support.processes import run_group

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def ansible_env(workdir, extra=None):
    """The environment of an ansible-playbook run: this venv first, the collection linked, temp dirs in ``workdir``."""
    env = dict(os.environ)
    env.update({
        'PATH': BIN + os.pathsep + env.get('PATH', ''),
        'ANSIBLE_COLLECTIONS_PATH': link_collection(),
        'ANSIBLE_HOME': env.get('ANSIBLE_HOME') or os.path.join(BUILD, 'ansible-home'),
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_FORCE_COLOR': '0',
        'ANSIBLE_RETRY_FILES_ENABLED': '0',
        'ANSIBLE_LOCAL_TEMP': os.path.join(workdir, 'local-tmp'),
        'ANSIBLE_REMOTE_TMP': os.path.join(workdir, 'remote-tmp'),
        'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
        'ANSIBLE_DEPRECATION_WARNINGS': '0',
    })
    env.update(extra or {})
    return env


class PlaybookRunner:
    """Runs ansible-playbook (against localhost unless an inventory is given) with this venv's Python."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.inventory = os.path.join(workdir, 'inventory.ini')
        with open(self.inventory, 'w') as handle:
            handle.write('localhost ansible_connection=local ansible_python_interpreter=%s\n' % sys.executable)

    def env(self, extra=None):
        return ansible_env(self.workdir, extra)

    def run(self, playbook, extra_vars=None, check=False, diff=False, verbosity=0, env=None,
            inventory=None, expect_rc=0, args=(), timeout=None):
        """Run a playbook (path, or YAML text when it contains a newline) and return the process.

        ``extra_vars``: a dict (passed as JSON) or a list of ``-e`` values (``@file`` or ``k=v``).
        """
        if '\n' in playbook:
            with tempfile.NamedTemporaryFile('w', suffix='.yml', dir=self.workdir, delete=False) as handle:
                handle.write(playbook)
            playbook = handle.name
        cmd = [os.path.join(BIN, 'ansible-playbook'), '-i', inventory or self.inventory, playbook]
        for item in ([json.dumps(extra_vars)] if isinstance(extra_vars, dict) else extra_vars or []):
            cmd += ['-e', item]
        if check:
            cmd.append('--check')
        if diff:
            cmd.append('--diff')
        if verbosity:
            cmd.append('-' + 'v' * verbosity)
        cmd += list(args)
        proc = run_group(cmd, cwd=REPO, env=self.env(env), timeout=timeout)
        if expect_rc is not None and proc.returncode != expect_rc:
            raise AssertionError('ansible-playbook exited %d (expected %d)\nSTDOUT:\n%s\nSTDERR:\n%s'
                                 % (proc.returncode, expect_rc, proc.stdout[-20000:], proc.stderr[-5000:]))
        return proc


def recap(stdout):
    """host -> {ok, changed, failed, ...} from the PLAY RECAP of the last play."""
    found = {}
    for line in stdout[stdout.rfind('PLAY RECAP'):].splitlines()[1:]:
        if ':' in line:
            host, rest = line.split(':', 1)
            found[host.strip()] = {k: int(v) for k, v in (f.split('=') for f in rest.split())}
    return found


def changed_tasks(stdout):
    """(task name, host) pairs reported changed, from the default callback's output."""
    task, found = None, []
    for line in stdout.splitlines():
        if line.startswith('TASK ['):
            task = line[6:line.rindex(']')].split(' : ', 1)[-1]
        elif line.startswith('changed: [') and task:
            found.append((task, line[10:line.index(']')].split(' -> ')[0]))
    return found
