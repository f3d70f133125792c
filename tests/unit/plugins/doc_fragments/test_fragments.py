"""The doc fragments: each value one plain string (ansible-test sanity's yamllint reads them without
running them, and stops with AttributeError on a string built from parts), and each attribute
described in one facet only."""
import ast
import glob
import os

import pytest
import yaml

from ansible_collections.awsie.importexport.plugins.doc_fragments import api, attributes

FRAGMENTS = os.path.dirname(attributes.__file__)


@pytest.mark.parametrize('path', sorted(glob.glob(os.path.join(FRAGMENTS, '*.py'))), ids=os.path.basename)
def test_every_fragment_is_one_plain_string(path):
    with open(path, encoding='utf-8') as handle:
        tree = ast.parse(handle.read())
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    assert classes, path
    for klass in classes:
        for statement in klass.body:
            if isinstance(statement, ast.Assign):
                assert isinstance(statement.value, ast.Constant) and isinstance(statement.value.value, str), \
                    '%s: %s is not a plain string' % (os.path.basename(path), statement.targets[0].id)


def test_each_attribute_is_described_once_and_the_facets_make_whole_sets():
    """No text written twice: every attribute's description is in one facet; merged as Ansible
    merges them (key by key), the facets an API module or a files module names give every
    attribute a description and a support level."""
    frag = attributes.ModuleDocFragment
    facets = {'attributes': frag.DOCUMENTATION, 'attributes.ACTION': frag.ACTION, 'attributes.FILES': frag.FILES,
              'api': api.ModuleDocFragment.DOCUMENTATION}
    parsed = {name: yaml.safe_load(text)['attributes'] for name, text in facets.items()}
    described = {}
    for name, attrs in parsed.items():
        for key, value in attrs.items():
            if 'description' in value:
                assert key not in described, '%s is described in %s and %s' % (key, described.get(key), name)
                described[key] = name
    assert yaml.safe_load(frag.DOCUMENTATION)['author'] == ['awsie.importexport contributors (@awsie)']

    def merged(*names):
        out = {}
        for name in names:
            for key, value in parsed[name].items():
                out.setdefault(key, {}).update(value)
        return out

    for names in (('api', 'attributes', 'attributes.ACTION'), ('attributes', 'attributes.ACTION', 'attributes.FILES')):
        for key, value in merged(*names).items():
            assert value.get('description') and value.get('support'), (names, key)
    api_set = merged('api', 'attributes', 'attributes.ACTION')
    assert api_set['action_group']['membership'] == ['awsie.importexport.ie']
    assert api_set['action']['details'] and api_set['action']['support'] == 'full'
