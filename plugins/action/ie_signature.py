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
    ManifestError, check_signable, parse_manifest)
from ansible_collections.awsie.importexport.plugins.module_utils.signing import (
    SigningError, build_signature_file, normalize_job_id, parse_signature_file)
from ansible_collections.awsie.importexport.plugins.plugin_utils.controller_files import read_controller_file

SECRET_NAMES = ('secret_key', 'aws_secret_access_key', 'aws_secret_key')
CONTROLLER_ONLY = SECRET_NAMES + ('job_id', 'manifest_src', 'manifest_content',
                                  'signature_file_contents', 'signature_version')


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        try:
            module_args = {k: v for k, v in args.items() if k not in CONTROLLER_ONLY}
            if args.get('state', 'present') == 'present':
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
                                    'signature_file_contents (got %s)' % (', '.join(sources) or 'none'))
        if sources[0] == 'signature_file_contents':
            return self._verbatim(args)

        job_id = args.get('job_id')
        if not job_id:
            raise AnsibleActionFail('job_id is required to compute a SIGNATURE from a manifest')
        job_id = normalize_job_id(to_text(job_id))
        secret = self._secret(args)
        manifest = self._manifest_bytes(args)
        check_signable(parse_manifest(manifest))
        version = to_text(args.get('signature_version') or '1.0')
        content = build_signature_file(secret, job_id, manifest, version)
        fields = parse_signature_file(content)
        return content, dict(job_id=job_id, signature=fields['signature'], version=version)

    @staticmethod
    def _verbatim(args):
        content = to_bytes(args['signature_file_contents'])
        fields = parse_signature_file(content)
        if args.get('job_id') and normalize_job_id(to_text(args['job_id'])) != fields['jobId']:
            raise AnsibleActionFail('signature_file_contents is for job %s, not %s'
                                    % (fields['jobId'], normalize_job_id(to_text(args['job_id']))))
        return content, dict(job_id=fields['jobId'], signature=fields['signature'], version=fields['version'])

    @staticmethod
    def _secret(args):
        for name in SECRET_NAMES:
            if args.get(name):
                return to_text(args[name])
        if os.environ.get('AWS_SECRET_ACCESS_KEY'):
            return os.environ['AWS_SECRET_ACCESS_KEY']
        raise AnsibleActionFail('secret_key is required to sign a manifest (or set AWS_SECRET_ACCESS_KEY '
                                'on the controller)')

    def _manifest_bytes(self, args):
        if args.get('manifest_content') is not None:
            return to_bytes(args['manifest_content'])
        return read_controller_file(self, args['manifest_src'], 'manifest_src')
