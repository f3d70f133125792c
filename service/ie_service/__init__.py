# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A faithful local AWS Import/Export service (Query API 2010-06-01) for tests and demos.

Its version is the collection's: the ``version`` of the repository's ``galaxy.yml`` (the one
place it is written; the build backend ``ie_build.py`` reads it from here).
"""

import os
import re

GALAXY_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'galaxy.yml')


def _collection_version(path=GALAXY_FILE):
    try:
        with open(path, encoding='utf-8') as handle:
            found = re.search(r'^version:\s*["\']?([^\s"\'#]+)', handle.read(), re.M)
    except OSError:
        found = None
    if not found:
        raise ImportError('ie_service runs from the collection repository: no version in %s' % path)
    return found.group(1)


__version__ = _collection_version()
