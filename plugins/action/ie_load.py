# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Controller side of ie_load: the drive's ledger lives on the controller, beside its manifest.

The previous ledger goes to the host as a file in the task's temporary directory (never as an
argument: it can hold millions of lines); the new one comes back the same way and replaces the
controller's copy atomically. When the load fails or is killed, the part of the new ledger the
host had written (``.partial``) is merged into the controller's copy, so the next run does not
copy those files again. With ``async`` the module cannot hand anything back: the previous ledger
is still sent, and the new one stays at ``ledger_dest`` on the host for ``ansible.builtin.fetch``.
"""

from __future__ import annotations

import os
import tempfile

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ansible_collections.awsie.importexport.plugins.module_utils import fileio, ledger

MODULE = 'awsie.importexport.ie_load'


class ActionModule(ActionBase):

    TRANSFERS_FILES = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        path = args.pop('ledger', None)
        wrap_async = bool(self._task.async_val) and not self._connection.has_native_async
        if path is None:
            result.update(self._execute_module(MODULE, module_args=args, task_vars=task_vars, wrap_async=wrap_async))
            return self._finish(result, wrap_async)
        path = os.path.abspath(os.path.expanduser(to_text(path)))
        try:
            if args.get('previous_ledger'):
                raise AnsibleError('set either ledger (on the controller) or previous_ledger (on the host), not both')
            if wrap_async and not args.get('ledger_dest'):
                raise AnsibleError('with async, set ledger_dest (a path on the managed host) and fetch it to %s '
                                   'with ansible.builtin.fetch when the load is done' % path)
            previous = ledger.read_latest(path)
            tmpdir = self._connection._shell.tmpdir
            if previous:
                args['previous_ledger'] = self._send(previous, tmpdir)
            if not args.get('ledger_dest'):
                args['ledger_dest'] = self._connection._shell.join_path(tmpdir, 'ledger.jsonl')
        except (AnsibleError, ledger.LedgerError, OSError) as exc:
            result.update(failed=True, msg='ledger %s: %s' % (path, to_text(exc)))
            return self._finish(result, False)
        result.update(self._execute_module(MODULE, module_args=args, task_vars=task_vars, wrap_async=wrap_async))
        if wrap_async or self._task.check_mode:
            return self._finish(result, wrap_async)
        try:
            result['ledger_changed'] = self._bring_back(args['ledger_dest'], path, previous)
            result['ledger'] = path
            result['changed'] = bool(result.get('changed') or result['ledger_changed'])
        except (AnsibleError, ledger.LedgerError, fileio.FileError, OSError) as exc:
            result.update(failed=True, msg='%s; and the new ledger could not be brought back to %s: %s'
                          % (result.get('msg', 'the load finished'), path, to_text(exc)))
        return self._finish(result, False)

    def _finish(self, result, wrap_async):
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def _send(self, records, tmpdir):
        handle, local = tempfile.mkstemp(prefix='ie-ledger-', suffix='.jsonl')
        try:
            with os.fdopen(handle, 'wb') as out:
                out.write(ledger.dumps(records.values()))
            remote = self._connection._shell.join_path(tmpdir, 'previous.jsonl')
            self._transfer_file(local, remote)
            self._fixup_perms2((tmpdir, remote))
            return remote
        finally:
            os.unlink(local)

    def _fetch(self, remote):
        """Bytes of a host file, or None when it is not there."""
        handle, local = tempfile.mkstemp(prefix='ie-ledger-', suffix='.jsonl')
        os.close(handle)
        try:
            try:
                self._connection.fetch_file(remote, local)
            except AnsibleError:
                return None
            with open(local, 'rb') as data:
                return data.read()
        finally:
            os.unlink(local)

    def _bring_back(self, remote, path, previous):
        """Replace the controller's ledger with the host's new one (merged with the previous one
        when the load stopped early); returns whether its content changed."""
        data = self._fetch(remote)
        partial = self._fetch(remote + ledger.PARTIAL_SUFFIX)
        if data is not None:
            complete = ledger.loads(data, name='the new ledger from the host').records
        if partial is not None:
            # A run that stopped early: what it did, over what was known before.
            records = ledger.merge(previous, complete if data is not None else {})
            records.update(ledger.loads(partial, name='the partial ledger from the host', tolerant=True).records)
            data = ledger.dumps(records.values())
        if data is None:
            return False
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return fileio.sync_file(path, data)['changed']
