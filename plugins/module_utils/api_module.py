# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The options of the Query API modules, in one place: the argument spec of each module (the
shared options documented in the ``awsie.importexport.api`` doc fragment, plus its own), the
ranges of the numeric options, and the client built from validated options.

The action plugins validate a task's arguments with these specs on the controller (where the
modules run); the module files build an AnsibleModule from the same spec, so ansible-test
checks the documentation against it. The rules themselves live in ``api`` and ``jobs``.
"""

from __future__ import annotations

import math

from ansible.module_utils.basic import env_fallback

from ansible_collections.awsie.importexport.plugins.module_utils.api import (
    DEFAULT_ENDPOINT, SIGNATURE_METHODS, QueryClient)
from ansible_collections.awsie.importexport.plugins.module_utils.mail_client import REQUIRED_IF as MAIL_REQUIRED_IF
from ansible_collections.awsie.importexport.plugins.module_utils.mail_client import argument_spec as mail_argument_spec

# Numeric options: (lowest, highest, whether the lowest itself is allowed). NaN, infinities
# and values such as 1e308 are refused by these bounds.
LIMITS = {
    'connect_timeout': (0, 3600, False),
    'read_timeout': (0, 86400, False),
    'max_attempts': (1, 100, True),
    'max_retry_time': (0, 86400, True),
    'concurrency': (1, 64, True),
    'wait_timeout': (0, 30 * 86400, True),
    'poll_interval': (0, 86400, True),
    'page_size': (1, 1000, True),
    'max_jobs': (1, 10 ** 6, True),
}

CONCURRENCY = dict(concurrency=dict(type='int', default=8))
JOB_IDS = dict(job_ids=dict(type='list', elements='str', required=True))


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


def _address_spec():
    required = ('name', 'street1', 'city', 'postal_code', 'phone_number', 'country')
    return {name: dict(type='str', required=name in required) for name in (
        'name', 'company', 'street1', 'street2', 'street3', 'city', 'state_or_province', 'postal_code',
        'phone_number', 'country')}


_SPECS = {
    'ie_job': lambda: dict(
        argument_spec=dict(
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            job_type=dict(type='str', choices=['Import', 'Export'], default='Import'),
            manifest_src=dict(type='path'),
            remote_src=dict(type='bool'),
            manifest_content=dict(type='str', no_log=True),
            job_id=dict(type='str'),
            lookup_cache=dict(type='path'),
            **CONCURRENCY, **mail_argument_spec()),
        mutually_exclusive=[('manifest_src', 'manifest_content')],
        required_if=[('state', 'present', ('manifest_src', 'manifest_content'), True),
                     ('state', 'absent', ('job_id', 'manifest_src', 'manifest_content'), True)] + MAIL_REQUIRED_IF,
        required_by={'remote_src': ('manifest_src',)}),
    'ie_job_status': lambda: dict(argument_spec=dict(
        wait_for=dict(type='list', elements='str'),
        wait_timeout=dict(type='float', default=3600.0),
        poll_interval=dict(type='float', default=60.0),
        since=dict(type='raw'),
        fail_on_job_error=dict(type='bool', default=True),
        **JOB_IDS, **CONCURRENCY, **mail_argument_spec()), required_if=MAIL_REQUIRED_IF),
    'ie_job_info': lambda: dict(argument_spec=dict(
        max_jobs=dict(type='int'),
        page_size=dict(type='int'),
        job_type=dict(type='str', choices=['Import', 'Export']),
        canceled=dict(type='bool'),
        created_since=dict(type='str'),
        include_status=dict(type='bool', default=False),
        **CONCURRENCY)),
    'ie_shipping_label': lambda: dict(argument_spec=dict(
        address=dict(type='dict', options=_address_spec()),
        dest=dict(type='path'),
        force=dict(type='bool', default=False),
        **JOB_IDS)),
}


def module_kwargs(name):
    """The AnsibleModule keyword arguments of the API module ``name`` (a fresh copy)."""
    kwargs = _SPECS[name]()
    spec = api_argument_spec()
    spec.update(kwargs.pop('argument_spec'))
    return dict(argument_spec=spec, supports_check_mode=True, **kwargs)


def check_limits(params):
    """The first numeric option outside its range, as a message saying the range; else None."""
    for name, (low, high, low_ok) in LIMITS.items():
        value = params.get(name)
        if value is None:
            continue
        if not (math.isfinite(value) and (value >= low if low_ok else value > low) and value <= high):
            return '%s must be a number %s %s and at most %s, got %s' % (
                name, 'from' if low_ok else 'above', low, high, value)
    return None


def build_client(params):
    """A QueryClient from validated options; ValueError saying what is missing or wrong."""
    missing = [n for n in ('access_key', 'secret_key') if not params.get(n)]
    if missing:
        raise ValueError('%s not set: give the option(s), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the '
                         'controller\'s environment (or use module_defaults for group/awsie.importexport.ie)'
                         % ' and '.join(missing))
    return QueryClient(
        params['access_key'], params['secret_key'], endpoint_url=params['endpoint_url'],
        signature_method=params['signature_method'], session_token=params['session_token'],
        validate_certs=params['validate_certs'], ca_bundle=params['ca_bundle'],
        connect_timeout=params['connect_timeout'], read_timeout=params['read_timeout'],
        max_attempts=params['max_attempts'], max_retry_time=params['max_retry_time'],
        pool_size=max(10, params.get('concurrency') or 0))


RUNS_ON_THE_CONTROLLER = ('%s runs on the controller, in its action plugin; this file holds its documentation and '
                          'argument spec. Call it as a task (awsie.importexport.%s), not as a module file.')
