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
    JOB_TYPES, KINDS, MANIFEST_VERSION, ManifestError, detect_kind, load_and_validate, normalise, redact,
    redact_text, render_manifest)
from ansible_collections.awsie.importexport.plugins.plugin_utils.controller_files import read_controller_file

ARGUMENT_SPEC = dict(
    job_type=dict(type='str', choices=list(JOB_TYPES), default='Import'),
    kind=dict(type='str', choices=list(KINDS)),
    fields=dict(type='dict'),
    src=dict(type='path'),
    dest=dict(type='path'),
    strict=dict(type='bool', default=True),
    backup=dict(type='bool', default=False),
)


class ActionModule(ActionBase):

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        try:
            _spec, args = self.validate_argument_spec(
                argument_spec=ARGUMENT_SPEC, mutually_exclusive=[('fields', 'src')],
                required_one_of=[('fields', 'src')])
        except AnsibleActionFail as exc:
            result.update(failed=True, msg=to_text(exc))
            return result

        try:
            raw, manifest, problems = self._load(args)
        except (AnsibleError, ManifestError) as exc:
            result.update(failed=True, msg=to_text(exc))
            return result
        job_type = args['job_type']
        kind = args['kind'] or detect_kind(manifest if manifest is not None else {}, job_type)
        result.update(job_type=job_type, kind=kind, problems=[p.as_dict() for p in problems])
        if problems:
            result.update(failed=True, changed=False, msg='the manifest has %d problem%s, nothing was written: %s' % (
                len(problems), '' if len(problems) == 1 else 's', '; '.join(str(p) for p in problems)))
            return result

        content = render_manifest(manifest, job_type, kind)
        result.update(content=redact_text(content), manifest=redact(manifest),
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
                               strict=args['strict'])
            outcome = self._execute_module(module_name='awsie.importexport.ie_manifest', module_args=module_args,
                                           task_vars=task_vars)
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        outcome.pop('invocation', None)
        result.update(outcome)
        return result

    def _load(self, args):
        """(raw mapping or None, normalised manifest, problems)."""
        job_type, kind, strict = args['job_type'], args['kind'], args['strict']
        if args['fields'] is not None:
            raw = dict(args['fields'])
            kind = kind or detect_kind(raw, job_type)
            raw.setdefault('manifestVersion', MANIFEST_VERSION[kind])
            manifest, problems = normalise(raw, job_type, kind, strict)
            return raw, manifest, problems
        data = read_controller_file(self, args['src'], 'src')
        manifest, problems = load_and_validate(data, job_type, kind, strict)
        return manifest, manifest, problems
