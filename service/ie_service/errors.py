# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Service errors: code, HTTP status, message.

The Query API answers every ``...Exception`` code (the job and manifest errors of the 2010-06-01
API) with HTTP 400; the request-level codes below carry their own status, as AWS's Query APIs
answer them: a key or signature that does not check out is 403, a throttled request 400, an
internal error 500, an unavailable service 503 (see docs/decisions.md, "Query API").
"""

# HTTP status of the codes that are not ...Exception codes; anything else is 400.
STATUS = {
    'InvalidClientTokenId': 403,
    'SignatureDoesNotMatch': 403,
    'IncompleteSignature': 400,
    'MissingParameter': 400,
    'InvalidParameterValue': 400,
    'InvalidParameterCombination': 400,
    'RequestExpired': 400,
    'InvalidAction': 400,
    'NoSuchVersion': 400,
    'MissingAction': 400,
    'Throttling': 400,
    'InternalError': 500,
    'ServiceUnavailable': 503,
    'NotFound': 404,
    'MethodNotAllowed': 405,
    'AccessDenied': 403,
}


class ApiError(Exception):
    def __init__(self, code, message, status=None, error_type=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or STATUS.get(code, 400)
        self.error_type = error_type or ('Receiver' if self.status >= 500 else 'Sender')
