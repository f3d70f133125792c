# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Sphinx configuration of the awsie.importexport documentation site.

Used by scripts/build_docs.py (``make docs``) as ``sphinx-build -c docs/site``: the source
directory it builds is generated (the collection's plugin and role pages by antsibull-docs, the
guides copied from docs/*.md, pictures made by the build). Everything builds offline: no
intersphinx inventories, no theme trackers, no remote fonts or scripts.
"""

project = 'awsie.importexport'
copyright = '2026, awsie.importexport contributors'  # noqa: A001  pylint: disable=redefined-builtin
title = 'awsie.importexport documentation'
html_short_title = 'awsie.importexport'
html_title = 'awsie.importexport documentation'

extensions = ['sphinx_antsibull_ext', 'myst_parser']
source_suffix = {'.rst': 'restructuredtext', '.md': 'markdown'}

nitpicky = False
default_role = 'any'

pygments_style = 'ansible'
# Blocks without a language stay plain (the guides' mail and console transcripts); antsibull-docs
# names the language of every block it writes.
highlight_language = 'none'

html_theme = 'sphinx_ansible_theme'
html_theme_options = {
    'show_extranav': False,
    'show_rtd_ethical_ads': False,
    'display_version': False,
    'topbar_links': {},
    'collapse_navigation': False,
    'navigation_depth': 3,
}
html_show_sphinx = False
templates_path = ['_templates']
html_show_sourcelink = False
html_copy_source = False
html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_last_updated_fmt = None

# MyST: the guides are GitHub-flavoured markdown; anchors for "page.md#section" links.
myst_heading_anchors = 4
myst_enable_extensions = ['colon_fence', 'deflist']
# A console or mail transcript the lexer cannot tokenise is still shown, as plain text.
suppress_warnings = ['misc.highlighting_failure']

exclude_patterns = ['_build', '**/examples/**']

# The plugin pages refer to ansible-core's documentation (return values common to all modules,
# action plugins, ansible.builtin modules, configuration settings). Instead of intersphinx, which
# downloads inventories, these few targets are resolved to docs.ansible.com here. Any other
# unresolved reference still fails the build (-W).
ANSIBLE_DOCS = 'https://docs.ansible.com/projects/ansible/latest/'
ANSIBLE_LABELS = {
    'common_return_values': ('reference_appendices/common_return_values.html', 'Return Values'),
    'action_plugins': ('plugins/action.html', 'Action plugins'),
    'ansible_configuration_settings': ('reference_appendices/config.html', 'Ansible Configuration Settings'),
}
BUILTIN_RE = r'^ansible_collections\.ansible\.builtin\.(\w+)_(module|lookup|filter|test)(?:__(parameter|return)-(.+))?$'


def _ansible_core_target(reftype, target):
    import re  # pylint: disable=import-outside-toplevel
    if reftype == 'envvar' and target.startswith('ANSIBLE_'):
        return 'reference_appendices/config.html#envvar-%s' % target, target
    if reftype not in ('ref', 'any'):
        return None
    if target in ANSIBLE_LABELS:
        return ANSIBLE_LABELS[target]
    match = re.match(BUILTIN_RE, target)
    if match:
        name, kind, part, key = match.groups()
        anchor = '#%s-%s' % (part, key) if part else ''
        return 'collections/ansible/builtin/%s_%s.html%s' % (name, kind, anchor), 'ansible.builtin.%s' % name
    return None


def _resolve_ansible_core(app, env, node, contnode):  # pylint: disable=unused-argument
    from docutils import nodes  # pylint: disable=import-outside-toplevel
    found = _ansible_core_target(node.get('reftype'), node.get('reftarget', ''))
    if found is None:
        return None
    path, title = found
    ref = nodes.reference('', '', internal=False, refuri=ANSIBLE_DOCS + path, reftitle=title)
    text = contnode.astext() if contnode is not None else ''
    ref += contnode if contnode is not None and text else nodes.Text(title)
    return ref


def setup(app):
    app.connect('missing-reference', _resolve_ansible_core)
