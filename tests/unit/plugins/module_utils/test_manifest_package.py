"""The manifest package: its façade, where each part says it runs, secrets masked in the parsed
document, errors that never quote a file that is not a manifest, one size limit for text and fields."""
import ast
import os

import pytest

from ansible_collections.awsie.importexport.plugins.module_utils import manifest as M
from tests.manifest_corpus import corpus

PACKAGE = os.path.join(os.path.dirname(M.__file__), 'manifest_lib')  # the parts behind the façade manifest.py


# ------------------------------------------------------------------ the package

def test_the_facade_keeps_the_public_names_callers_use():
    for name in ('FILE_SYSTEMS', 'ADDRESS_FIELDS', 'ADDRESS_REQUIRED', 'CUSTOMS_FIELDS', 'SECRET_FIELDS',
                 'MAX_MANIFEST_BYTES', 'JOB_TYPES', 'KINDS', 'MANIFEST_VERSION', 'USA_NAMES', 'CANADA_NAMES',
                 'parse_manifest', 'validate', 'normalise', 'load_and_validate', 'load_fields', 'render_manifest',
                 'canonical_yaml', 'redact', 'secrets_of', 'detect_job_type', 'detect_kind', 'check_signable',
                 'manifest_version', 'check_size', 'ManifestError', 'Problem'):
        assert hasattr(M, name), name
    assert set(M.__all__) <= set(dir(M))


@pytest.mark.parametrize('name', sorted(n for n in os.listdir(PACKAGE) if n.endswith('.py') and n != '__init__.py')
                         + ['../manifest.py'])
def test_every_part_says_where_it_runs_and_imports_no_ansible(name):
    with open(os.path.join(PACKAGE, name)) as handle:
        tree = ast.parse(handle.read())
    doc = ast.get_docstring(tree)
    assert doc and 'Where it runs:' in doc, name
    assert 'managed host' in doc, name  # the ie_manifest module imports the whole package there
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert not (node.module or '').startswith('ansible.'), (name, node.module)
        if isinstance(node, ast.Import):
            assert not any(alias.name.startswith('ansible.') for alias in node.names), name


def test_no_part_is_over_500_lines():
    for name in os.listdir(PACKAGE):
        if name.endswith('.py'):
            with open(os.path.join(PACKAGE, name)) as handle:
                assert len(handle.readlines()) <= 500, name


def test_the_module_and_its_action_plugin_share_one_argument_spec():
    from ansible_collections.awsie.importexport.plugins.module_utils.manifest_lib.argspec import ie_manifest_spec
    spec = ie_manifest_spec()
    assert spec['argument_spec']['job_type']['choices'] == list(M.JOB_TYPES)
    assert spec['argument_spec']['kind']['choices'] == list(M.KINDS)
    spec['argument_spec']['job_type']['choices'].append('x')  # a fresh copy each time
    assert ie_manifest_spec()['argument_spec']['job_type']['choices'] == list(M.JOB_TYPES)
    root = os.path.dirname(os.path.dirname(os.path.dirname(PACKAGE)))
    assert os.path.getsize(os.path.join(PACKAGE, '__init__.py')) == 0  # empty-init sanity on ansible-core 2.17
    for path in ('plugins/modules/ie_manifest.py', 'plugins/action/ie_manifest.py'):
        with open(os.path.join(root, path)) as handle:
            text = handle.read()
        assert 'ie_manifest_spec()' in text and "choices=['Import'" not in text, path


# ------------------------------------------------------------------ secrets in the parsed document

STYLES = {
    'folded': 'trueCryptPassword: >-\n    Zq9-one\n    Zq9-two\n',
    'literal': 'pinCode: |\n    Zq9-771\n',
    'flow': 'customs: {pinCode: Zq9-772, trueCryptPassword: "Zq9-773"}\n',
    'double-quoted-multiline': 'trueCryptPassword: "Zq9-first\n    Zq9-second"\n',
    'plain-multiline': 'trueCryptPassword: Zq9-first\n    Zq9-second\n',
    'explicit-key': '? pinCode\n: Zq9-775\n',
    'look-alike': 'Pin-Code: Zq9-776\nx:\n    - password: Zq9-777\n',
    'crlf': 'pinCode: Zq9-778\r\ntrueCryptPassword: >\r\n  Zq9-779\r\n',
}


@pytest.mark.parametrize('style', sorted(STYLES))
def test_secrets_are_masked_whatever_the_yaml_style(style):
    text = corpus.good_bytes('s3-import').decode() + STYLES[style]
    shown = M.redacted_view(text, 'Import', 's3')
    assert 'Zq9' not in shown
    assert '********' in shown
    assert 'bucket: my-import-bucket' in shown  # the rest is shown


def test_the_rendering_shown_is_the_real_one_with_only_secrets_masked():
    manifest = M.parse_manifest(corpus.good_bytes('s3-export'))
    real = M.render_manifest(manifest, 'Export')
    shown = M.redacted_text(manifest, 'Export')
    assert shown == real.replace('trueCryptPassword: correct horse battery staple', 'trueCryptPassword: ********')


def test_a_diff_never_shows_what_cannot_be_parsed():
    after = corpus.good_bytes('s3-export')
    broken = b'pinCode: |\n    Zq9-secret\n\tbad: [\n'
    diff, warning = M.redacted_diff('/d/m.yml', broken, after, 'Export')
    assert diff['before'] == '' and 'not shown' in diff['before_header']
    assert 'Zq9' not in repr(diff) and 'Zq9' not in warning and '/d/m.yml' in warning
    assert 'correct horse' not in diff['after'] and 'trueCryptPassword: ********' in diff['after']
    too_big = b'pinCode: Zq9-secret\n' + b'#' * (M.MAX_MANIFEST_BYTES + 1) + b'\n'
    diff, warning = M.redacted_diff('/d/m.yml', too_big, after, 'Export')
    assert diff['before'] == '' and warning


def test_a_diff_that_only_changes_a_secret_says_so():
    before = corpus.good_bytes('s3-export')
    after = before.replace(b'correct horse battery staple', b'another passphrase')
    diff, warning = M.redacted_diff('/d/m.yml', before, after, 'Export')
    assert warning is None and diff['before'] == diff['after']
    assert 'a secret value or the formatting differs' in diff['before_header']
    new, _warning = M.redacted_diff('/d/m.yml', None, after, 'Export')
    assert new['before'] == '' and new['before_header'] == '/d/m.yml'


# ------------------------------------------------------------------ errors name, never quote

NOT_MANIFESTS = {
    'env file': 'db_password=Zq9Secret-1\napi_token=Zq9Secret-2\n',
    'one line': 'db_password=Zq9Secret-3',
    'json string': '"Zq9Secret-4 and more"\n',
    'number-like': 'Zq9Secret5\n',
    'undefined alias': 'logBucket: *Zq9Secret6\n',
    'unknown tag': 'logBucket: !Zq9Secret7 x\n',
    'python tag': 'logBucket: !!python/name:Zq9Secret8 x\n',
    'bad escape': 'logBucket: "Zq9Secret9 \\q"\n',
    'unclosed quote': 'logBucket: "Zq9Secret10\n',
    'unclosed flow': 'logBucket: [Zq9Secret11, \n',
    'stray text after a mapping': 'logBucket: b\nZq9Secret12\n',
    'key on a non-field line': 'export Zq9Secret13=1: x\n  y: [\n',
    'ini file': '[default]\naws_secret_access_key = Zq9Secret14\n',
    'list of text': '- Zq9Secret15\n- Zq9Secret16\n',
    'stray colon': 'a: b: Zq9Secret17\n',
}


@pytest.mark.parametrize('name', sorted(NOT_MANIFESTS))
def test_problems_of_text_that_is_not_a_manifest_never_quote_it(name):
    loaded, problems = M.load_and_validate(NOT_MANIFESTS[name].encode())
    assert problems
    for problem in problems:
        assert 'Zq9' not in str(problem), str(problem)
    if loaded is None:
        with pytest.raises(M.ManifestError) as info:
            M.parse_manifest(NOT_MANIFESTS[name])
        assert 'Zq9' not in str(info.value)


def test_no_space_after_the_colon_is_explained_without_quoting():
    _loaded, problems = M.load_and_validate(b'manifestVersion:2.0\naccessKeyId:AKIAIOSFODNN7EXAMPLE\n')
    assert 'space after the colon' in problems[0].message and 'AKIA' not in problems[0].message


def test_secret_fields_of_the_wrong_type_are_reported_without_their_value():
    manifest = M.parse_manifest(corpus.good_bytes('s3-export'))
    for value in (True, 918273, 9.5, ['Zq9'], {'a': 'Zq9'}):
        manifest['pinCode'] = value
        found = [p for p in M.validate(manifest, 'Export') if p.path == 'pinCode']
        assert found and '918273' not in found[0].message and 'Zq9' not in found[0].message


# ------------------------------------------------------------------ one size limit

def test_check_size_names_what_is_too_big_and_the_limit():
    M.check_size(b'x' * M.MAX_MANIFEST_BYTES)
    with pytest.raises(M.ManifestError) as info:
        M.check_size('\u00e9' * (M.MAX_MANIFEST_BYTES // 2 + 1), 'manifest_content')
    assert str(info.value).startswith('manifest_content is %d bytes' % (M.MAX_MANIFEST_BYTES + 2))
    assert '1048576' in str(info.value) and info.value.problems[0].code == 'MalformedManifest'
    with pytest.raises(M.ManifestError, match='1048576'):
        M.parse_manifest(b'a: b\n' + b'#' * M.MAX_MANIFEST_BYTES)


def fields(**extra):
    base = M.parse_manifest(corpus.good_bytes('s3-import'))
    base.update(extra)
    return base


def test_fields_over_the_limit_name_the_field():
    manifest, problems = M.load_fields(fields(prefix='x' * (10 * 1024 * 1024)), 'Import', 's3')
    assert manifest is None
    assert [(p.path, p.code) for p in problems] == [('prefix', 'MalformedManifest')]
    assert '10485766 bytes' in problems[0].message  # the name and the value and '1048576' in problems[0].message
    assert 'xxxx' not in problems[0].message
    nested = fields()
    nested['returnAddress']['street2'] = 'y' * (M.MAX_MANIFEST_BYTES + 1)
    assert [p.path for p in M.load_fields(nested, 'Import', 's3')[1]] == ['returnAddress.street2']
    many = fields(**{'note%d' % n: 'z' * 300000 for n in range(4)})
    problems = M.load_fields(many, 'Import', 's3', strict=False)[1]
    assert [p.path for p in problems] == ['(manifest)'] and 'the largest is note' in problems[0].message


def test_fields_within_the_limit_are_validated_as_before():
    manifest, problems = M.load_fields(fields(), 'Import', None)
    assert problems == [] and manifest['manifestVersion'] == '2.0'
    given = fields()
    del given['manifestVersion']
    assert M.load_fields(given, 'Import', 's3')[0]['manifestVersion'] == '2.0'
