# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ie_reconcile, run in the controller's process: ledger, log and objects are all read here."""

from __future__ import annotations

import os
import traceback

from ansible.module_utils.basic import remove_values
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.awsie.importexport.plugins.module_utils import fileio, importlog, ledger, reconcile

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError
    HAS_BOTO3 = True
except ImportError:
    HAS_BOTO3 = False
    BotoCoreError = ClientError = Exception

MAX_LOG_BYTES = 2 * 1024 ** 3


class _Fail(Exception):
    pass


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        kwargs = reconcile.module_kwargs()
        validator = ArgumentSpecValidator(kwargs['argument_spec'], mutually_exclusive=kwargs['mutually_exclusive'],
                                          required_together=kwargs['required_together'],
                                          required_one_of=kwargs['required_one_of'], required_if=kwargs['required_if'])
        outcome = validator.validate(dict(self._task.args))
        secrets = outcome._no_log_values
        if outcome.error_messages:
            result.update(failed=True, msg=outcome.errors.msg)
            return remove_values(result, secrets)
        try:
            result.update(self._reconcile(outcome.validated_parameters))
        except _Fail as exc:
            result.update(failed=True, msg=str(exc))
        except (ledger.LedgerError, importlog.ImportLogError) as exc:
            result.update(failed=True, msg=str(exc))
        except Exception as exc:  # pylint: disable=broad-except
            result.update(failed=True, msg='ie_reconcile failed unexpectedly: %s: %s' % (type(exc).__name__, exc),
                          exception=traceback.format_exc())
        return remove_values(result, secrets)

    def _client(self, p):
        if not HAS_BOTO3:
            raise _Fail('boto3 is needed on the controller to read the log from S3 or check the objects: '
                        'pip install boto3, or give a local copy of the log as log_src')
        config = Config(s3={'addressing_style': 'path'} if p['s3_endpoint_url'] else {},
                        retries={'mode': 'standard', 'max_attempts': 5}, connect_timeout=10, read_timeout=60)
        return boto3.session.Session().client(
            's3', endpoint_url=p['s3_endpoint_url'], region_name=p['region'], verify=p['validate_certs'],
            aws_access_key_id=p['access_key'], aws_secret_access_key=p['secret_key'],
            aws_session_token=p['session_token'], config=config)

    def _log(self, p):
        if p['log_src']:
            with open(p['log_src'], 'rb') as handle:
                return handle.read(), p['log_src']
        where = 's3://%s/%s' % (p['log_bucket'], p['log_key'])
        try:
            body = self._client(p).get_object(Bucket=p['log_bucket'], Key=p['log_key'])['Body']
            return body.read(MAX_LOG_BYTES), where
        except (BotoCoreError, ClientError) as exc:
            raise _Fail('cannot read the log %s: %s' % (where, exc))

    def _heads(self, p, keys):
        client = self._client(p)

        def head(key):
            try:
                found = client.head_object(Bucket=p['bucket'], Key=key)
            except ClientError as exc:
                if exc.response.get('Error', {}).get('Code') in ('404', 'NoSuchKey', 'NotFound'):
                    raise reconcile.NotFound(key)
                raise
            return found['ContentLength'], found.get('ETag')
        return reconcile.head_all(keys, head, p['head_workers'])

    def _reconcile(self, p):
        data, where = self._log(p)
        log = importlog.parse(data, name=where, kind=p['job_type'].lower(), strict=not p['skip_bad_lines'])
        if p['job_type'] == 'Import':
            records = ledger.read(p['ledger'], kinds=('ledger',)).records
            heads = self._heads(p, [r['key'] for r in records.values()]) if p['verify_objects'] else None
            outcome = reconcile.reconcile_import(records, log, heads)
        else:
            if not os.path.isdir(p['drive_path']):
                raise _Fail('drive_path %s is not a directory; mount the returned drive there' % p['drive_path'])
            keys = [e['Key'] for e in log.entries if e.get('Key')]
            heads = self._heads(p, keys) if p['verify_objects'] else None
            outcome = reconcile.reconcile_export(log, p['drive_path'], heads)
        result = outcome.as_dict(p['max_listed'])
        counts = result['counts']
        result.update(changed=False, log=where, log_problems=log.problems, objects_checked=p['verify_objects'],
                      all_verified=not (counts['missing'] or counts['different'] or counts['failed']))
        if p['reship_dest']:
            result['reship_dest'] = p['reship_dest']
            result['changed'] = self._write(p['reship_dest'], outcome.reship_bytes(meta={'log': where}))
        return result

    def _write(self, path, data):
        """Write ``data`` to ``path`` atomically unless it already holds it; returns whether it changed."""
        if not self._task.check_mode and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise _Fail('cannot write the re-ship list %s: its directory does not exist' % path)
        try:
            return fileio.sync_file(path, data, check_mode=self._task.check_mode)['changed']
        except fileio.FileError as exc:
            raise _Fail('the re-ship list: %s' % exc)
