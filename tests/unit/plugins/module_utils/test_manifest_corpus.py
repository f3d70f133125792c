"""Every bad manifest of the corpus gives a clear problem that names the field."""
import pytest

from ansible_collections.awsie.importexport.plugins.module_utils.manifest import load_and_validate
from tests.manifest_corpus import corpus

CASES = corpus.cases()


def test_corpus_is_large_enough():
    assert len(CASES) >= 40


@pytest.mark.parametrize('name', sorted(CASES))
def test_bad_manifest_gives_a_clear_problem_naming_the_field(name):
    case = CASES[name]
    _manifest, problems = load_and_validate(corpus.case_bytes(name), case['job_type'], case['kind'])
    assert problems, 'no problem found in %s' % name
    matching = [p for p in problems if p.path == case['path']]
    assert matching, '%s: no problem at %s; got %s' % (name, case['path'], [str(p) for p in problems])
    problem = matching[0]
    assert problem.code == case['code'], str(problem)
    assert case['says'].lower() in problem.message.lower(), str(problem)
    field = case['path'].rsplit('.', 1)[-1].split('[')[0]
    assert field in str(problem) or case['path'] == '(manifest)'


@pytest.mark.parametrize('name', sorted(corpus.GOOD_KINDS))
def test_good_manifests_are_valid_and_already_canonical(name):
    from ansible_collections.awsie.importexport.plugins.module_utils.manifest import render_manifest
    job_type, kind = corpus.GOOD_KINDS[name]
    data = corpus.good_bytes(name)
    manifest, problems = load_and_validate(data, job_type, kind)
    assert problems == []
    assert render_manifest(manifest, job_type, kind).encode('utf-8') == data


def test_the_manifest_guide_shows_the_good_manifests_verbatim():
    import os
    guide = os.path.join(os.path.dirname(corpus.HERE), '..', 'docs', 'manifests.md')
    with open(guide) as handle:
        text = handle.read()
    for name in corpus.GOOD_KINDS:
        assert '```yaml\n' + corpus.good_bytes(name).decode() + '```' in text, name
