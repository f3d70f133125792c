"""Make the collection importable as ansible_collections.awsie.importexport in every test.

The repo root is the collection root; a symlink under .build/collections gives it the
namespace path Ansible and the tests import it by. Subprocesses (ansible-playbook) get the
same path through ANSIBLE_COLLECTIONS_PATH.
"""
import os

from tests.collection_path import BUILD, link_collection

os.environ['ANSIBLE_COLLECTIONS_PATH'] = link_collection()
os.environ.setdefault('ANSIBLE_HOME', os.path.join(BUILD, 'ansible-home'))

pytest_plugins = ['tests.integration.fixtures', 'tests.integration.service_fixtures', 'tests.integration.conftest_testbed']
