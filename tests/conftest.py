"""Make the collection importable as ansible_collections.awsie.importexport in every test.

The repo root is the collection root; a symlink under .build/collections gives it the
namespace path Ansible and the tests import it by. Subprocesses (ansible-playbook) get the
same path through ANSIBLE_COLLECTIONS_PATH.
"""
import os

from hypothesis import settings

from tests.collection_path import BUILD, link_collection

os.environ['ANSIBLE_COLLECTIONS_PATH'] = link_collection()
# Property tests judge results, never speed: on a loaded 2-core machine hypothesis' default
# 200 ms deadline per example fails tests whose answers are right.
settings.register_profile('awsie', deadline=None)
settings.load_profile('awsie')

os.environ.setdefault('ANSIBLE_HOME', os.path.join(BUILD, 'ansible-home'))

pytest_plugins = ['tests.integration.fixtures', 'tests.integration.service_fixtures', 'tests.integration.conftest_testbed']
