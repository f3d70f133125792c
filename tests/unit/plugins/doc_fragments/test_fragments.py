"""The doc fragments: each value one plain string (ansible-test sanity's yamllint reads them without
running them, and stops with AttributeError on a string built from parts), and the attribute sets
that repeat each other agree."""
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


def test_the_attribute_sets_agree():
    frag = attributes.ModuleDocFragment
    common = yaml.safe_load(frag.DOCUMENTATION)
    action = yaml.safe_load(frag.ACTION)
    files = yaml.safe_load(frag.FILES)
    api_attrs = yaml.safe_load(frag.API)
    for name, doc in (('ACTION', action), ('FILES', files), ('API', api_attrs)):
        assert doc['author'] == common['author'], name
        for key, value in common['attributes'].items():
            assert doc['attributes'][key] == value, (name, key)
    assert set(files['attributes']) - set(action['attributes']) == {'safe_file_operations'}
    for key, value in action['attributes'].items():
        assert files['attributes'][key] == value
        if key != 'action':
            assert api_attrs['attributes'][key] == value, key
    assert api_attrs['attributes']['action_group']['membership'] == ['awsie.importexport.ie']
    assert api_attrs['attributes']['action']['details']
    # the api fragment (what the API modules name) carries the API set as it is here
    assert api.ModuleDocFragment.DOCUMENTATION.endswith(frag.API.lstrip('\n'))
    whole = yaml.safe_load(api.ModuleDocFragment.DOCUMENTATION)
    assert whole['attributes'] == api_attrs['attributes'] and whole['author'] == api_attrs['author']
