# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ie_job, run in the controller's process: read the manifest (a controller path, or the managed
host's with remote_src), mask its secrets, and let ``jobs.apply_job`` decide."""

from __future__ import annotations

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.awsie.importexport.plugins.module_utils.api import ApiError
from ansible_collections.awsie.importexport.plugins.module_utils.fileio import FileReadError, FileTooLargeError
from ansible_collections.awsie.importexport.plugins.module_utils.jobs import JobError, LookupCache, apply_job
from ansible_collections.awsie.importexport.plugins.module_utils.manifest import (
    MAX_MANIFEST_BYTES, ManifestError, parse_manifest, secrets_of)
from ansible_collections.awsie.importexport.plugins.module_utils.signing import InvalidJobId, normalize_job_id
from ansible_collections.awsie.importexport.plugins.plugin_utils import mail_action
from ansible_collections.awsie.importexport.plugins.plugin_utils.api_action import ApiAction

OLD_MEANING = ('manifest_src %s is not on the controller, so it was read from the managed host, as ie_job used to. '
               'This is deprecated: set remote_src: true for a path on the managed host, or give a controller path')


class ActionModule(ApiAction):

    NAME = 'ie_job'

    def run_task(self, task, task_vars):
        p = task.params
        try:
            job_id = None if p['job_id'] is None else normalize_job_id(p['job_id'])
        except InvalidJobId as exc:
            task.fail_json(msg=str(exc), action='none')
        manifest = self._manifest(task, task_vars)
        self._mask_secrets(task, manifest)
        if p['transport'] == 'email':
            mail_action.ie_job(task, manifest, job_id, p['manifest_src'])
        cache = LookupCache(p['lookup_cache'], p['endpoint_url'], p['access_key']) if p['lookup_cache'] else None
        try:
            jobs = cache.load() if cache else None
            result = apply_job(task.client, p['state'], p['job_type'], manifest, job_id, task.check_mode,
                               p['concurrency'], jobs)
        except (ApiError, JobError) as exc:
            task.fail_api(exc, action='none', job_id=job_id)
        if cache is not None and not task.check_mode:
            problem = cache.save()
            if problem:
                task.warn(problem)
        task.exit_json(**result)

    def _manifest(self, task, task_vars):
        """The manifest text: manifest_content, or the file manifest_src names."""
        p = task.params
        path = p['manifest_src']
        if p['manifest_content'] is not None or path is None:
            return p['manifest_content']
        try:
            data = self._read_manifest_src(task, path, task_vars)
        except FileTooLargeError as exc:
            task.fail_json(msg='manifest_src %s cannot be read: it is %d bytes, more than a manifest may have (%d); '
                               'check that it is the manifest' % (path, exc.size, MAX_MANIFEST_BYTES), action='none')
        except (FileReadError, AnsibleError) as exc:
            task.fail_json(msg='manifest_src %s cannot be read: %s' % (path, exc), action='none')
        try:
            return data.decode('utf-8')
        except UnicodeDecodeError as exc:
            task.fail_json(msg='manifest_src %s is not UTF-8 text (byte %d); save it as UTF-8' % (path, exc.start),
                           action='none')

    def _read_manifest_src(self, task, path, task_vars):
        if task.params['remote_src']:
            return self.read_remote_file(path, MAX_MANIFEST_BYTES, task_vars)
        found = self.controller_file(path)
        if found is not None:
            return self.read_controller_file(found, MAX_MANIFEST_BYTES)
        if task.params['remote_src'] is False:
            raise FileReadError('it is not on the controller (a relative path is searched in the role\'s files/ and '
                                'the playbook\'s directory); set remote_src: true for a path on the managed host', path)
        try:
            data = self.read_remote_file(path, MAX_MANIFEST_BYTES, task_vars)
        except FileReadError as exc:
            raise FileReadError('it is neither on the controller (a relative path is searched in the role\'s files/ '
                                'and the playbook\'s directory) nor on the managed host (%s)' % exc, path)
        task.warn(OLD_MEANING % path)
        return data

    @staticmethod
    def _mask_secrets(task, manifest):
        """trueCryptPassword/pinCode values join the values masked in every output."""
        if manifest is None:
            return
        try:
            parsed = parse_manifest(manifest)
        except ManifestError:
            return
        for value in secrets_of(parsed):
            task.no_log_values.add(to_text(value))
