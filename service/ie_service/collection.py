# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One source of truth: the service imports the collection's own library.

``signing`` (job ids, SIGNATURE, SigV2/SigV4), ``manifest`` (schema, validation, the yes/no rule,
address fields; ``manifest_rules``: the return address rules), ``mounts`` (probing, drivers,
mount commands, unmount with retries), ``devices`` (the file systems the service reads),
``s3keys`` (the drive path to S3 key rule: prefix, substitutions, ignore). The
repository root is the collection root; a symlink under ``<build>/collections`` (``<build>`` is
``IE_BUILD_DIR`` or ``<repo>/.build``, as for the tests) gives it the
``ansible_collections.awsie.importexport`` import path.
"""

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COLLECTIONS = Path(os.environ.get('IE_BUILD_DIR') or REPO / '.build').resolve() / 'collections'
LINK = COLLECTIONS / 'ansible_collections' / 'awsie' / 'importexport'

if not os.path.islink(LINK):
    os.makedirs(LINK.parent, exist_ok=True)
    try:
        os.symlink(REPO, LINK)
    except FileExistsError:
        pass
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

# pylint: disable=wrong-import-position
from ansible_collections.awsie.importexport.plugins.module_utils import devices, signing, manifest, mounts, pdf, s3keys  # noqa: E402
from ansible_collections.awsie.importexport.plugins.module_utils.manifest_lib import rules as manifest_rules  # noqa: E402

__all__ = ['devices', 'signing', 'manifest', 'manifest_rules', 'mounts', 'pdf', 's3keys', 'REPO']
