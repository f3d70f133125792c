"""Figures of the proof of reliability (issue 11; `make proof` writes docs/reliability.md from them).

A proof test file is named ``test_<family>_<topic>.py``; the family (``secrets``, ``badinput``,
``faults``, ``hostile``, ``fuzzing``, ``tampering``) is the part before the second underscore.
Cases are counted from the junit report (one test, or one parametrized case, is one case).
Besides pass/fail, a test states its figures with ``proof_record(name, value)`` (bytes searched,
jobs created, peak memory, ...): they go to ``$IE_PROOF_DIR/figures.jsonl`` when `make proof`
sets that directory, and are dropped otherwise. Tests marked ``proof_full`` run only under
`make proof`; the others are the fast subset that `make test` runs too.
"""
import json
import os

import pytest


def family_of(path):
    name = os.path.basename(str(path))
    return name[len('test_'):].split('_', 1)[0] if name.startswith('test_') else 'other'


@pytest.fixture
def proof_record(request):
    out = os.environ.get('IE_PROOF_DIR')

    def record(name, value, unit=''):
        if not out:
            return
        os.makedirs(out, exist_ok=True)
        line = dict(family=family_of(request.node.fspath), test=request.node.nodeid, name=name, value=value, unit=unit)
        with open(os.path.join(out, 'figures.jsonl'), 'a', encoding='utf-8') as handle:
            handle.write(json.dumps(line, sort_keys=True) + '\n')
    return record
