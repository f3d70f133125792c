"""The import path of the collection for tests and benchmarks.

The repo root is the collection root; a symlink ``<build>/collections/ansible_collections/
awsie/importexport`` gives it the namespace path Ansible and Python import it by. ``<build>``
is ``IE_BUILD_DIR`` or ``<repo>/.build``, so runs that happen at the same time stay apart.
"""
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.abspath(os.environ.get('IE_BUILD_DIR', os.path.join(REPO, '.build')))
COLLECTIONS = os.path.join(BUILD, 'collections')


def link_collection():
    """Make the symlink if needed, put its root on sys.path, and return that root."""
    link = os.path.join(COLLECTIONS, 'ansible_collections', 'awsie', 'importexport')
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        try:
            os.symlink(REPO, link)
        except FileExistsError:
            pass
    if COLLECTIONS not in sys.path:
        sys.path.insert(0, COLLECTIONS)
    return COLLECTIONS
