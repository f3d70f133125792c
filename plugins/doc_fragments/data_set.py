# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:

    # The options naming a data set, which of its files to take, and how their paths become S3
    # keys: the same for ie_plan (which plans them) and ie_load (which copies them). Argument
    # spec: module_utils/data_set_options.py.
    DOCUMENTATION = r'''
options:
  src:
    description: Directory on the managed host holding the data set.
    type: path
    required: true
  manifest:
    description:
      - The import manifest's fields (as given to M(awsie.importexport.ie_manifest)); C(prefix),
        C(substitutions) and C(ignore) decide the keys and which files are skipped.
    type: dict
  prefix:
    description: The manifest's C(prefix); overrides O(manifest).
    type: str
  substitutions:
    description: The manifest's C(substitutions), applied in order; overrides O(manifest).
    type: dict
  ignore:
    description: The manifest's C(ignore) regular expressions; overrides O(manifest).
    type: list
    elements: str
  include:
    description:
      - Relative paths of files and whole directories to plan or load (for M(awsie.importexport.ie_load),
        a drive's C(items) from M(awsie.importexport.ie_plan)); V(.) is everything. Default everything.
    type: list
    elements: str
  files_from:
    description:
      - A file on the managed host listing the files to plan or load - a plan list of
        M(awsie.importexport.ie_plan), a ledger, or a re-ship list of M(awsie.importexport.ie_reconcile).
    type: path
'''
