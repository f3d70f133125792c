# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:

    # Options, notes and the API attributes (action_group, what the action plugin does) of every
    # module that calls the Import/Export Query API. Such a module also names
    # awsie.importexport.attributes and awsie.importexport.attributes.ACTION (and
    # awsie.importexport.mail if it has transport: email), then states what differs.
    DOCUMENTATION = r'''
options:
  access_key:
    description:
      - AWS access key id of the account that owns the jobs.
      - Must be the same as C(accessKeyId) in the manifests.
      - If not set, the environment variable E(AWS_ACCESS_KEY_ID) of the controller is used.
    type: str
    aliases: [aws_access_key_id, aws_access_key]
  secret_key:
    description:
      - AWS secret access key; signs every request (Signature Version 2). Never logged.
      - If not set, the environment variable E(AWS_SECRET_ACCESS_KEY) of the controller is used.
    type: str
    aliases: [aws_secret_access_key, aws_secret_key]
  session_token:
    description:
      - Session token for temporary credentials, sent as C(SecurityToken).
      - If not set, the environment variable E(AWS_SESSION_TOKEN) is used.
    type: str
    aliases: [aws_session_token]
  endpoint_url:
    description:
      - URL of the Query API, for example a local Import/Export service for tests.
      - If not set, the environment variable E(AWS_URL) of the controller is used, then the default.
      - An empty value is an error (it does not mean the default), and so is a user name or password in
        the URL (C(https://user:pass@host)); requests are signed with the keys, and the URL would be echoed.
    type: str
    default: https://importexport.amazonaws.com
    aliases: [aws_endpoint_url]
  validate_certs:
    description:
      - Verify the endpoint's TLS certificate. Only turn this off for a test endpoint.
      - With C(transport=email) (modules that have it), the SMTP and IMAP servers' certificates too.
    type: bool
    default: true
  ca_bundle:
    description:
      - Path of a PEM file on the controller with the CA certificates to trust for O(endpoint_url); a
        path that does not exist is an error.
      - If not set, the environment variable E(AWS_CA_BUNDLE) is used, then the system store
        (or E(REQUESTS_CA_BUNDLE)).
      - With C(transport=email) (modules that have it), also trusted for the SMTP and IMAP servers.
    type: path
    aliases: [aws_ca_bundle]
  signature_method:
    description:
      - HMAC of the Signature Version 2 request signature.
    type: str
    choices: [HmacSHA256, HmacSHA1]
    default: HmacSHA256
  connect_timeout:
    description:
      - Seconds to wait for a connection to the endpoint, above 0 and at most 3600.
    type: float
    default: 10
  read_timeout:
    description:
      - Seconds to wait for an answer, and at most for a whole response body to arrive; above 0 and at
        most 86400.
      - One request (attempt) never takes longer than O(connect_timeout) + O(read_timeout) in total,
        however slowly the answer trickles in.
    type: float
    default: 60
  max_attempts:
    description:
      - Attempts per request, the first included (1 to 100). Throttling, C(ServiceUnavailable), other
        5xx answers, timeouts and connection errors are retried with full-jitter exponential
        backoff (0.25 s doubling, at most 20 s between attempts).
      - A CreateJob whose answer was lost is not repeated blindly; the account's jobs are
        looked up first (after a read timeout, repeatedly for up to twice O(read_timeout)), and
        a job found for the same drive and manifest is the result.
    type: int
    default: 10
  max_retry_time:
    description:
      - Upper bound in seconds on the time one request may spend in retries (0 to 86400). When either
        bound is reached the task fails with the last error code.
    type: float
    default: 300
notes:
  - The module runs on the controller, in the process of its action plugin, whatever host the task
    is for (C(delegate_to) only matters for C(remote_src) of M(awsie.importexport.ie_job)). The
    credentials never reach a managed host, and neither they nor any other argument are written to
    an C(ansible-tmp-*) directory, so a run killed during the task leaves no key on disk.
  - The E(AWS_*) variables are read from the controller's environment (the task's C(environment)
    keyword does not apply). Proxies come from the environment too (E(HTTPS_PROXY), E(NO_PROXY)).
  - Every module taking these options is in the action group C(group/awsie.importexport.ie), so
    C(module_defaults) can set them once.
attributes:
  action:
    details: The module runs on the controller, in the process of its action plugin; no module file and no
      argument (the secret key among them) is written to any temporary directory.
  action_group:
    description: Action is part of action_group(s), for convenient setting of module_defaults.
    support: N/A
    version_added: 0.1.0
    membership: [awsie.importexport.ie]
'''
