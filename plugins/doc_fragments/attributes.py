# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """The ``author`` and ``attributes`` of the collection's modules, each written once.

    Each value is one facet, and no two facets describe the same attribute: a module names
    the facets it has (``DOCUMENTATION`` always) and states only what differs. Ansible merges
    the module's own ``attributes`` and the facets key by key, so a facet may add a key to an
    attribute another one describes (the ``awsie.importexport.api`` fragment adds the
    ``details`` of ``action``). Each value is one plain string: ansible-test sanity (yamllint)
    reads doc fragments without running them.
    """

    # Every module: the author, Linux/POSIX hosts, full check mode, no diff unless the module says so.
    DOCUMENTATION = r'''
author:
  - awsie.importexport contributors (@awsie)
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: posix
'''

    # Modules that run (part of) their work in an action plugin on the controller (the API
    # modules among them): the action attribute, and the keywords such a module does not take.
    ACTION = r'''
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
  async:
    description: Supports being used with the C(async) keyword.
    support: none
  bypass_host_loop:
    description: Forces a 'global' task that does not execute per host.
    support: none
'''

    # Modules whose action plugin writes a file on the managed host (with DOCUMENTATION and ACTION).
    FILES = r'''
attributes:
  safe_file_operations:
    description: Uses Ansible's strategy to make file operations atomic.
    support: full
'''
