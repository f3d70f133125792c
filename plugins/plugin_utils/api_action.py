# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Query API modules run in the controller's own process, through their action plugins.

No module file is sent anywhere and no ``ansible-tmp-*`` directory ever holds the task's
arguments (the secret key among them), so a run killed in the middle leaves no key on disk;
and no Python process starts per task. ``ApiTask`` stands in for AnsibleModule (after
community.crypto's ``AnsibleActionModule``): it validates the task's arguments with the
module's own argument spec (``api_module.module_kwargs``), environment fallbacks read from
the controller's environment, the shared numeric ranges, check mode, and ``no_log``: every
result, warning and ``invocation`` goes through ``remove_values`` with the values of the
``no_log`` options (and any value a task adds, such as a manifest's secrets).

Files named by these modules are controller paths, found like ``copy``'s ``src``; a path on
the managed host is fetched through the connection (``stat``, then ``slurp``).
"""

from __future__ import annotations

import base64
import os
import stat
import traceback

from ansible.errors import AnsibleError
from ansible.module_utils.basic import remove_values
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import NoLogError, UnsupportedError
from ansible.parsing.vault import is_encrypted
from ansible.plugins.action import ActionBase

from ansible_collections.awsie.importexport.plugins.module_utils.api import HAS_REQUESTS, ApiError, check_endpoint_url
from ansible_collections.awsie.importexport.plugins.module_utils.api_module import build_client, check_limits, module_kwargs
from ansible_collections.awsie.importexport.plugins.module_utils.fileio import (
    FileReadError, FileTooLargeError, FileWriteError, file_kind, read_regular_file)
from ansible_collections.awsie.importexport.plugins.module_utils.jobs import JobError, normalize_job_ids
from ansible_collections.awsie.importexport.plugins.module_utils.signing import InvalidJobId


_KINDS = (('isdir', 'a directory'), ('isfifo', 'a FIFO (named pipe)'), ('issock', 'a socket'),
          ('isblk', 'a block device'), ('ischr', 'a character device'))


def plain(value):
    """A deep copy of task arguments in plain Python types, as a module receives them (Ansible's
    tagged strings are refused by some C code, such as libyaml's parser)."""
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(v) for v in value]
    for kind in (bool, str, int, float, bytes):
        if isinstance(value, kind):
            return kind(value) if kind is not bool else value
    return value


class _Done(Exception):
    def __init__(self, result):
        super().__init__()
        self.result = result


class ApiTask:
    """What an API module's code sees: validated ``params``, ``check_mode``, ``client``, and
    ``exit_json``/``fail_json``/``warn``/``deprecate`` as on AnsibleModule."""

    def __init__(self, action, name):
        self.name = name
        self.check_mode = bool(action._task.check_mode)
        self.no_log_values = set()
        self.params = {}
        self._warnings, self._deprecations = [], []
        self._client = None
        kwargs = module_kwargs(name)
        validator = ArgumentSpecValidator(
            kwargs['argument_spec'], kwargs.get('mutually_exclusive'), kwargs.get('required_together'),
            kwargs.get('required_one_of'), kwargs.get('required_if'), kwargs.get('required_by'))
        outcome = validator.validate(plain(action._task.args))
        self.params = outcome.validated_parameters
        self.no_log_values.update(outcome._no_log_values)
        for warning in outcome._warnings:
            self.warn('Both option %s and its alias %s are set.' % (warning['option'], warning['alias']))
        for deprecation in outcome._deprecations:
            self.deprecate(deprecation.get('msg') or 'Alias %r is deprecated.' % deprecation.get('name'),
                           deprecation.get('version'), deprecation.get('collection_name'))
        if outcome.error_messages:
            # ansible's no_log pass says 'dictionary requested, could not parse JSON or key=value' without
            # naming the option; the type error after it names it (address given as a list)
            named = [e for e in outcome.errors.errors if not isinstance(e, NoLogError)] or outcome.errors.errors
            msg = named[0].error_message
            if isinstance(named[0], UnsupportedError):
                msg = 'Unsupported parameters for (%s) module: %s' % (name, msg)
            self.fail_json(msg=msg)
        if not HAS_REQUESTS:
            self.fail_json(msg='the Python library requests is needed on the controller: pip install requests')
        self._check_endpoint()
        problem = check_limits(self.params)
        if problem:
            self.fail_json(msg=problem)

    def _check_endpoint(self):
        url = self.params.get('endpoint_url')
        try:
            check_endpoint_url(url)
        except ValueError as exc:
            if isinstance(url, str) and '@' in url:
                self.no_log_values.add(url)  # user info in it: the whole URL is masked wherever it appears
                self.no_log_values.add(url.split('://', 1)[-1].split('@', 1)[0])
            self.fail_json(msg=str(exc))

    # -- AnsibleModule's interface
    def warn(self, warning):
        self._warnings.append(warning)

    def deprecate(self, msg, version=None, collection_name='awsie.importexport'):
        self._deprecations.append(dict(msg=msg, version=version, collection_name=collection_name))

    def exit_json(self, **result):
        result.setdefault('changed', False)
        result.setdefault('api_calls', self.api_stats())
        self._finish(result)

    def fail_json(self, msg, **result):
        result.update(failed=True, msg=msg)
        result.setdefault('changed', False)
        result.setdefault('api_calls', self.api_stats())
        self._finish(result)

    def _finish(self, result):
        result['invocation'] = dict(module_args=self.params)
        if self._warnings:
            result['warnings'] = list(self._warnings)
        if self._deprecations:
            result['deprecations'] = list(self._deprecations)
        raise _Done(remove_values(result, self.no_log_values))

    def job_ids(self, **result):
        """The ``job_ids`` option upper-cased, each once; an invalid id fails the task naming it."""
        try:
            return normalize_job_ids(self.params['job_ids'])
        except InvalidJobId as exc:
            self.fail_json(msg='job_ids: %s' % exc, **result)

    # -- the API
    @property
    def client(self):
        if self._client is None:
            try:
                self._client = build_client(self.params)
            except ValueError as exc:
                self.fail_json(msg=str(exc))
        return self._client

    def api_stats(self):
        if self._client is None:
            return dict(requests=0, retries=0, by_action={})
        return dict(self._client.stats)

    def fail_api(self, exc, **result):
        """Fail with what went wrong; the error's facts go into result keys."""
        if isinstance(exc, JobError):
            result.update(exc.facts)
            self.fail_json(msg=str(exc), **result)
        if isinstance(exc, ApiError):
            self.fail_json(msg=str(exc), error=exc.as_dict(), **result)
        raise exc

    def close(self):
        if self._client is not None:
            self._client.close()


class ApiAction(ActionBase):
    """The action plugin of an API module: ``run_task(task, task_vars)`` does the module's work."""

    NAME = None
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        task = None
        try:
            task = ApiTask(self, self.NAME)
            self.run_task(task, task_vars or {})
            task.exit_json()
        except _Done as done:
            result.update(done.result)
        except Exception as exc:  # pylint: disable=broad-except
            values = task.no_log_values if task is not None else set()
            result.update(remove_values(dict(failed=True, msg='%s failed unexpectedly: %s: %s' % (
                self.NAME, type(exc).__name__, exc), exception=traceback.format_exc()), values))
        finally:
            if task is not None:
                task.close()
            if self._connection._shell.tmpdir:
                self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def run_task(self, task, task_vars):
        raise NotImplementedError

    # -- files
    def controller_file(self, path):
        """The controller file an option names (relative paths searched like copy's src), or None."""
        try:
            return self._find_needle('files', path)
        except AnsibleError:
            return None

    def read_controller_file(self, path, max_bytes):
        """Bytes of a regular controller file (vault-decrypted); FileReadError for anything else."""
        data = read_regular_file(path, max_bytes)
        if data is None:
            raise FileReadError('cannot read %s: it does not exist on the controller' % path, path)
        if is_encrypted(data):
            data = self._loader._vault.decrypt(data, filename=path)
        return data

    def read_remote_file(self, path, max_bytes, task_vars):
        """Bytes of a regular file on the managed host (``stat`` first: a FIFO is never opened)."""
        found = self._execute_module(module_name='ansible.legacy.stat', task_vars=task_vars, module_args=dict(
            path=path, follow=True, get_checksum=False, get_mime=False, get_attributes=False))
        info = found.get('stat') or {}
        if found.get('failed') or not info.get('exists'):
            raise FileReadError('cannot read %s on %s: %s' % (path, task_vars.get('inventory_hostname', 'the managed host'),
                                                              found.get('msg') or 'it does not exist'), path)
        if not info.get('isreg'):
            kind = next((words for key, words in _KINDS if info.get(key)), 'not a regular file')
            raise FileReadError('cannot read %s on the managed host: it is %s, not a regular file' % (path, kind), path)
        if info.get('size', 0) > max_bytes:
            raise FileTooLargeError(path, info['size'], max_bytes)
        slurped = self._execute_module(module_name='ansible.legacy.slurp', module_args=dict(src=path),
                                       task_vars=task_vars)
        if slurped.get('failed'):
            raise FileReadError('cannot read %s on the managed host: %s' % (path, slurped.get('msg')), path)
        data = base64.b64decode(slurped['content'])
        if len(data) > max_bytes:
            raise FileTooLargeError(path, len(data), max_bytes)
        return data


def check_destination(path):
    """What is at ``path`` on the controller, ``absent``, ``file`` or ``symlink`` (to be replaced,
    never followed), once a file can surely be written there: FileWriteError when its directory
    is missing or not writable, or a directory, FIFO, socket or device is at ``path``."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileWriteError(path, reason='its directory %s does not exist (or is not a directory); create it first'
                             % directory)
    if not os.access(directory, os.W_OK | os.X_OK):
        raise FileWriteError(path, reason='the directory %s is not writable by the controller user' % directory)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return 'absent'
    except OSError as exc:
        raise FileWriteError(path, exc)
    if stat.S_ISLNK(info.st_mode):
        return 'symlink'
    if not stat.S_ISREG(info.st_mode):
        raise FileWriteError(path, reason='it is %s, not a regular file; remove it or choose another path'
                             % file_kind(info.st_mode), kind=file_kind(info.st_mode))
    return 'file'
