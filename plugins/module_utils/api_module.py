# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Ansible glue for the Query API modules: the shared argument spec (documented in the
``awsie.importexport.api`` doc fragment), the client built from it, and failures reported
with their facts. The rules themselves live in ``api`` and ``jobs``, which import no Ansible."""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.awsie.importexport.plugins.module_utils.api import (
    DEFAULT_ENDPOINT, HAS_REQUESTS, SIGNATURE_METHODS, ApiError, QueryClient)
from ansible_collections.awsie.importexport.plugins.module_utils.jobs import JobError


def api_argument_spec():
    return dict(
        access_key=dict(type='str', aliases=['aws_access_key_id', 'aws_access_key'], no_log=False,
                        fallback=(env_fallback, ['AWS_ACCESS_KEY_ID'])),
        secret_key=dict(type='str', aliases=['aws_secret_access_key', 'aws_secret_key'], no_log=True,
                        fallback=(env_fallback, ['AWS_SECRET_ACCESS_KEY'])),
        session_token=dict(type='str', aliases=['aws_session_token'], no_log=True,
                           fallback=(env_fallback, ['AWS_SESSION_TOKEN'])),
        endpoint_url=dict(type='str', aliases=['aws_endpoint_url'],
                          fallback=(env_fallback, ['AWS_URL']), default=DEFAULT_ENDPOINT),
        validate_certs=dict(type='bool', default=True),
        ca_bundle=dict(type='path', aliases=['aws_ca_bundle'], fallback=(env_fallback, ['AWS_CA_BUNDLE'])),
        signature_method=dict(type='str', choices=list(SIGNATURE_METHODS), default='HmacSHA256'),
        connect_timeout=dict(type='float', default=10.0),
        read_timeout=dict(type='float', default=60.0),
        max_attempts=dict(type='int', default=10),
        max_retry_time=dict(type='float', default=300.0),
    )


class ApiModule(AnsibleModule):
    """AnsibleModule with the shared API options and a lazily built client."""

    def __init__(self, argument_spec, **kwargs):
        spec = api_argument_spec()
        spec.update(argument_spec)
        super().__init__(argument_spec=spec, **kwargs)
        if not HAS_REQUESTS:
            self.fail_json(msg=missing_required_lib('requests'))
        self._client = None

    @property
    def client(self):
        if self._client is None:
            p = self.params
            missing = [n for n, env in (('access_key', 'AWS_ACCESS_KEY_ID'), ('secret_key', 'AWS_SECRET_ACCESS_KEY'))
                       if not p[n]]
            if missing:
                self.fail_json(msg='%s not set: give the option(s), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY '
                                   'on the controller (or use module_defaults for group/awsie.importexport.ie)'
                                   % ' and '.join(missing))
            if p['max_attempts'] < 1 or p['max_retry_time'] < 0 or p['connect_timeout'] <= 0 or p['read_timeout'] <= 0:
                self.fail_json(msg='max_attempts must be >= 1, max_retry_time >= 0, and the timeouts > 0')
            try:
                self._client = QueryClient(
                    p['access_key'], p['secret_key'], endpoint_url=p['endpoint_url'],
                    signature_method=p['signature_method'], session_token=p['session_token'],
                    validate_certs=p['validate_certs'], ca_bundle=p['ca_bundle'],
                    connect_timeout=p['connect_timeout'], read_timeout=p['read_timeout'],
                    max_attempts=p['max_attempts'], max_retry_time=p['max_retry_time'],
                    pool_size=max(10, p.get('concurrency') or 0))
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
            self.fail_json(msg=str(exc), api_calls=self.api_stats(), **result)
        if isinstance(exc, ApiError):
            self.fail_json(msg=str(exc), error=exc.as_dict(), api_calls=self.api_stats(), **result)
        raise exc
