# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Controller side of ie_signature: compute the SIGNATURE with the secret key here, send
only the finished file to the managed host."""

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.action import ActionBase

from ansible_collections.awsie.importexport.plugins.module_utils.manifest import (
    MAX_MANIFEST_BYTES, ManifestError, check_signable, check_size, parse_manifest)
from ansible_collections.awsie.importexport.plugins.module_utils.signature_task import HOST_OPTIONS, ie_signature_spec
from ansible_collections.awsie.importexport.plugins.module_utils.signing import (
    SigningError, build_signature_file, normalize_job_id, parse_signature_file)
from ansible_collections.awsie.importexport.plugins.plugin_utils.controller_files import read_controller_file


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        try:
            _spec, args = self.validate_argument_spec(**ie_signature_spec())
            # Host paths go as written: the host, not the controller, expands them.
            module_args = {k: v for k, v in self._task.args.items() if k in HOST_OPTIONS}
            if args['state'] == 'present':
                content, facts = self._build(args)
                # The host gets the finished file as the module's verbatim option; the
                # key and the manifest stay here.
                module_args['signature_file_contents'] = to_text(content)
            else:
                facts = {}
        except (AnsibleError, ManifestError, SigningError) as exc:
            result.update(failed=True, msg=to_text(exc))
            return result

        result.update(self._execute_module(module_name='awsie.importexport.ie_signature',
                                           module_args=module_args, task_vars=task_vars))
        if not result.get('failed'):
            result.update(facts)
        return result

    def _build(self, args):
        sources = [k for k in ('manifest_src', 'manifest_content', 'signature_file_contents') if args.get(k) is not None]
        if len(sources) != 1:
            raise AnsibleActionFail('state=present needs exactly one of manifest_src, manifest_content, '
                                    'signature_file_contents (got none)')
        if sources[0] == 'signature_file_contents':
            return self._verbatim(args)

        if not args['job_id']:
            raise AnsibleActionFail('job_id is required to compute a SIGNATURE from a manifest')
        job_id = normalize_job_id(args['job_id'])
        secret = args['secret_key'] or os.environ.get('AWS_SECRET_ACCESS_KEY')
        if not secret:
            raise AnsibleActionFail('secret_key is required to sign a manifest (or set AWS_SECRET_ACCESS_KEY '
                                    'on the controller)')
        if args['manifest_content'] is not None:
            manifest = to_bytes(args['manifest_content'])
            check_size(manifest, 'manifest_content')
        else:
            manifest = read_controller_file(self, args['manifest_src'], 'manifest_src', MAX_MANIFEST_BYTES)
        check_signable(parse_manifest(manifest))
        version = args['signature_version']
        content = build_signature_file(secret, job_id, manifest, version)
        fields = parse_signature_file(content)
        return content, dict(job_id=job_id, signature=fields['signature'], version=version)

    @staticmethod
    def _verbatim(args):
        content = to_bytes(args['signature_file_contents'])
        fields = parse_signature_file(content)
        if args['job_id'] and normalize_job_id(args['job_id']) != fields['jobId']:
            raise AnsibleActionFail('signature_file_contents is for job %s, not %s'
                                    % (fields['jobId'], normalize_job_id(args['job_id'])))
        return content, dict(job_id=fields['jobId'], signature=fields['signature'], version=fields['version'])
