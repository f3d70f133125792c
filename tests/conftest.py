"""Make the collection importable as ansible_collections.awsie.importexport in every test.

The repo root is the collection root; a symlink under .build/collections gives it the
namespace path Ansible and the tests import it by. Subprocesses (ansible-playbook) get the
same path through ANSIBLE_COLLECTIONS_PATH.
"""
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.abspath(os.environ.get('IE_BUILD_DIR', os.path.join(REPO, '.build')))
COLLECTIONS = os.path.join(BUILD, 'collections')
LINK = os.path.join(COLLECTIONS, 'ansible_collections', 'awsie', 'importexport')

if not os.path.islink(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    try:
        os.symlink(REPO, LINK)
    except FileExistsError:
        pass
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
os.environ['ANSIBLE_COLLECTIONS_PATH'] = COLLECTIONS
os.environ.setdefault('ANSIBLE_HOME', os.path.join(BUILD, 'ansible-home'))

pytest_plugins = ['tests.integration.fixtures', 'tests.integration.service_fixtures']
