# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """The ``attributes`` every module of the collection shares, written once.

    Ansible merges a module's own ``attributes`` over these, key by key, so a module states
    only what differs (the ``details`` of its check mode, ``diff_mode: full``).
    """

    # Every module: Linux/POSIX hosts, full check mode, no diff unless the module says so.
    DOCUMENTATION = r'''
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

    # Modules that call the Import/Export Query API: members of the module_defaults group, run
    # in the controller's own process by their action plugin (with ansible.builtin's .flow).
    # Referenced as awsie.importexport.attributes.API (upper case): in lower case Ansible's
    # fragment loader resolves "attributes.api" to the awsie.importexport.api fragment.
    API = r'''
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
    details: The module runs on the controller, in the process of its action plugin; no module file and no
      argument (the secret key among them) is written to any temporary directory.
  action_group:
    description: Action is part of action_group(s), for convenient setting of module_defaults.
    support: N/A
    version_added: 0.1.0
    membership: [awsie.importexport.ie]
  async:
    description: Supports being used with the C(async) keyword.
    support: none
  bypass_host_loop:
    description: Forces a 'global' task that does not execute per host.
    support: none
'''

    # Modules with an action plugin that writes a file on the managed host.
    FILES = r'''
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
  safe_file_operations:
    description: Uses Ansible's strategy to make file operations atomic.
    support: full
'''
