# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Controller side of ie_manifest: read, validate and render the manifest here; send only the
finished text to the managed host, which writes it when O(dest) is set."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ansible_collections.awsie.importexport.plugins.module_utils.manifest import (
    ManifestError, detect_kind, load_and_validate, load_fields, redact, redacted_text, render_manifest, size_problem)
from ansible_collections.awsie.importexport.plugins.module_utils.manifest_lib.argspec import ie_manifest_spec
from ansible_collections.awsie.importexport.plugins.plugin_utils.controller_files import read_controller_file


class ActionModule(ActionBase):

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        try:
            _spec, args = self.validate_argument_spec(**ie_manifest_spec())
        except AnsibleActionFail as exc:
            result.update(failed=True, msg=to_text(exc))
            return result

        try:
            manifest, problems = self._load(args)
        except (AnsibleError, ManifestError) as exc:
            result.update(failed=True, msg=to_text(exc))
            return result
        job_type = args['job_type']
        kind = args['kind'] or detect_kind(manifest if manifest is not None else {}, job_type)
        content = None
        if not problems:
            content = render_manifest(manifest, job_type, kind)
            problems = [p for p in [size_problem(content, 'the rendered manifest')] if p is not None]
        result.update(job_type=job_type, kind=kind, problems=[p.as_dict() for p in problems])
        if problems:
            result.update(failed=True, changed=False, msg='the manifest%s has %d problem%s, nothing was written: %s' % (
                ' in %s' % args['src'] if args['src'] else '', len(problems), '' if len(problems) == 1 else 's',
                '; '.join(str(p) for p in problems)))
            return result

        result.update(content=redacted_text(manifest, job_type, kind), manifest=redact(manifest),
                      device_id=manifest.get('deviceId'), changed=False)
        if args['dest'] is None:
            return result

        # The finished text goes to the host as a file in the remote temporary directory (as the
        # copy action does), so no option of the module ever carries the manifest or its secrets.
        if not self._connection._shell.tmpdir:
            self._make_tmp_path()
        try:
            remote = self._connection._shell.join_path(self._connection._shell.tmpdir, 'manifest')
            self._transfer_data(remote, content)
            self._fixup_perms2((self._connection._shell.tmpdir, remote))
            module_args = dict(src=remote, dest=args['dest'], backup=args['backup'], job_type=job_type, kind=kind,
                               strict=args['strict'], mode=args['mode'])
            outcome = self._execute_module(module_name='awsie.importexport.ie_manifest', module_args=module_args,
                                           task_vars=task_vars)
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        outcome.pop('invocation', None)
        result.update(outcome)
        return result

    def _load(self, args):
        """(normalised manifest, problems) of the task's fields or src file."""
        if args['fields'] is not None:
            return load_fields(args['fields'], args['job_type'], args['kind'], args['strict'])
        data = read_controller_file(self, args['src'], 'src')
        return load_and_validate(data, args['job_type'], args['kind'], args['strict'])
