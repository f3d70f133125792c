# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Manifest checks for CreateJob/UpdateJob, by the collection's manifest library (the only rules)."""

from .collection import manifest as mlib
from .errors import ApiError

MALFORMED = 'Your manifest is not well-formed'


def _problem_error(problem):
    code = problem.code if problem.code.endswith('Exception') else problem.code + 'Exception'
    if problem.code == mlib.MALFORMED:
        return ApiError(code, '%s: %s' % (MALFORMED, problem.message) if problem.message else MALFORMED)
    path = problem.path
    return ApiError(code, '%s: %s' % (path, problem.message) if path and path not in problem.message else problem.message)


def validate(text, job_type):
    """Parse and validate (unknown keys allowed); ``(normalised manifest, kind)`` or ApiError (first problem).

    The normalised manifest holds values as the schema reads them: ``yes``/``true`` -> True,
    ``no``/``false`` -> False, numbers as text.
    """
    try:
        manifest, problems = mlib.load_and_validate(text, job_type=job_type, strict=False)
    except mlib.ManifestError as exc:
        raise ApiError('MalformedManifestException', '%s: %s' % (MALFORMED, exc)) from None
    if problems:
        raise _problem_error(problems[0])
    if manifest is None:
        raise ApiError('MalformedManifestException', MALFORMED)
    return manifest, mlib.detect_kind(manifest, job_type)


def readable(text, job_type, kind):
    """A stored job's manifest as the schema reads it, whatever problems it has (a field it cannot read is left out)."""
    return mlib.normalise(mlib.parse_manifest(text), job_type, kind, strict=False)[0]


def buckets_of(manifest, job_type, kind):
    """Every bucket the job touches, in manifest order, without repeats."""
    names = []
    if kind == 's3' and job_type == 'Import':
        names.append(manifest.get('bucket'))
    if kind == 's3' and job_type == 'Export':
        names.extend(op.get('exportBucket') for op in manifest.get('operations') or [] if isinstance(op, dict))
    names.append(manifest.get('logBucket'))
    seen = []
    for name in names:
        if name not in (None, '') and str(name) not in seen:
            seen.append(str(name))
    return seen
