# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """The ``author`` and ``attributes`` every module of the collection shares.

    A module names one of these fragments (the API modules get theirs through the
    ``awsie.importexport.api`` fragment) and states only what differs: Ansible merges a module's
    own ``attributes`` over these, key by key (the ``details`` of its check mode, ``diff_mode: full``).
    Each fragment is whole on its own, so a module lists one. Each is one plain string: ansible-test
    sanity (yamllint) reads doc fragments without running them, so no string is built from parts.
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

    # Modules that run (part of) their work in an action plugin on the controller: the action
    # attribute, and the keywords such a module does not take.
    ACTION = r'''
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

    # Modules that call the Import/Export Query API: members of the module_defaults group, run
    # in the controller's own process by their action plugin. The awsie.importexport.api fragment
    # repeats it (what these modules name); tests/unit checks the two agree.
    API = r'''
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
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
    details: The module runs on the controller, in the process of its action plugin; no module file and no
      argument (the secret key among them) is written to any temporary directory.
  async:
    description: Supports being used with the C(async) keyword.
    support: none
  bypass_host_loop:
    description: Forces a 'global' task that does not execute per host.
    support: none
  action_group:
    description: Action is part of action_group(s), for convenient setting of module_defaults.
    support: N/A
    version_added: 0.1.0
    membership: [awsie.importexport.ie]
'''

    # Modules with an action plugin that writes a file on the managed host.
    FILES = r'''
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
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
  async:
    description: Supports being used with the C(async) keyword.
    support: none
  bypass_host_loop:
    description: Forces a 'global' task that does not execute per host.
    support: none
  safe_file_operations:
    description: Uses Ansible's strategy to make file operations atomic.
    support: full
'''
