"""The manifest library: every rule with a passing and a failing case, rendering, round trips."""
import copy

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.awsie.importexport.plugins.module_utils import manifest as M
from tests.manifest_corpus import corpus


def good(name):
    job_type, kind = corpus.GOOD_KINDS[name]
    loaded, problems = M.load_and_validate(corpus.good_bytes(name), job_type, kind)
    assert problems == []
    return loaded


def problems_of(manifest, name):
    job_type, kind = corpus.GOOD_KINDS[name]
    return M.validate(manifest, job_type, kind)


def setp(manifest, path, value):
    """Set (or with value None, delete) a dotted path like returnAddress.city or operations.0.region."""
    parts = path.split('.')
    target = manifest
    for part in parts[:-1]:
        target = target[int(part)] if isinstance(target, list) else target[part]
    last = parts[-1]
    if value is None:
        target.pop(last, None)
    else:
        target[last] = value
    return manifest


# (rule, kind of base manifest, field path reported, [edits that pass], [edits that fail])
# An edit is (path, value); value None deletes the field.
RULES = [
    ('required manifestVersion', 's3-import', 'manifestVersion', [], [('manifestVersion', None)]),
    ('required accessKeyId', 's3-import', 'accessKeyId', [], [('accessKeyId', None)]),
    ('required deviceId', 's3-import', 'deviceId', [], [('deviceId', None)]),
    ('required returnAddress', 'glacier', 'returnAddress', [], [('returnAddress', None)]),
    ('required bucket (S3 import)', 's3-import', 'bucket', [], [('bucket', None)]),
    ('optional logBucket (S3 import)', 's3-import', 'logBucket', [('logBucket', None)], [('logBucket', 'a b')]),
    ('required logBucket (S3 export)', 's3-export', 'logBucket', [], [('logBucket', None)]),
    ('required logBucket (EBS)', 'ebs', 'logBucket', [], [('logBucket', None)]),
    ('required fileSystem (export)', 's3-export', 'fileSystem', [], [('fileSystem', None)]),
    ('required eraseDevice (EBS)', 'ebs', 'eraseDevice', [], [('eraseDevice', None)]),
    ('required eraseDevice (Glacier)', 'glacier', 'eraseDevice', [], [('eraseDevice', None)]),
    ('optional eraseDevice (S3 import)', 's3-import', 'eraseDevice', [('eraseDevice', None)], [('eraseDevice', 'x')]),
    ('manifestVersion 2.0 for S3', 's3-import', 'manifestVersion', [('manifestVersion', '2.0')],
     [('manifestVersion', '3.0'), ('manifestVersion', '1.3'), ('manifestVersion', '2')]),
    ('manifestVersion 3.0 for EBS', 'ebs', 'manifestVersion', [('manifestVersion', '3.0')], [('manifestVersion', '2.0')]),
    ('manifestVersion 3.0 for Glacier', 'glacier', 'manifestVersion', [('manifestVersion', 3.0)],
     [('manifestVersion', 2.0)]),
    ('export encryption: a password', 's3-export', 'trueCryptPassword', [], [('trueCryptPassword', None)]),
    ('export encryption: a PIN is enough', 's3-export', 'trueCryptPassword',
     [('trueCryptPassword', None), ('pinCode', '123456')], [('trueCryptPassword', None), ('pinCode', None)]),
    ('logPrefix length', 's3-import', 'logPrefix', [('logPrefix', 'p' * 1008)], [('logPrefix', 'p' * 1009)]),
    ('logPrefix length counts UTF-8 bytes', 's3-export', 'logPrefix', [('logPrefix', '\u00e9' * 504)],
     [('logPrefix', '\u00e9' * 505)]),
    ('archiveComment <= 997', 'glacier', 'operations[0].archiveComment', [('operations.0.archiveComment', 'c' * 997)],
     [('operations.0.archiveComment', 'c' * 998)]),
    ('archiveComment printable ASCII', 'glacier', 'operations[0].archiveComment',
     [('operations.0.archiveComment', 'daily ~ 2012')], [('operations.0.archiveComment', 'caf\u00e9')]),
    ('stateOrProvince for USA', 's3-import', 'returnAddress.stateOrProvince',
     [('returnAddress.country', 'Germany'), ('returnAddress.stateOrProvince', None),
      ('returnAddress.postalCode', '10115')],
     [('returnAddress.stateOrProvince', None)]),
    ('stateOrProvince for Canada', 'ebs', 'returnAddress.stateOrProvince', [('returnAddress.stateOrProvince', 'QC')],
     [('returnAddress.stateOrProvince', 'WA')]),
    ('US state by name', 's3-import', 'returnAddress.stateOrProvince', [('returnAddress.stateOrProvince', 'Washington')],
     [('returnAddress.stateOrProvince', 'Cascadia')]),
    ('US ZIP+4', 's3-import', 'returnAddress.postalCode', [('returnAddress.postalCode', '98104-1234')],
     [('returnAddress.postalCode', '9810')]),
    ('Canadian postal code', 'ebs', 'returnAddress.postalCode', [('returnAddress.postalCode', 'M5V2T6')],
     [('returnAddress.postalCode', '12345')]),
    ('no PO boxes', 's3-import', 'returnAddress.street2', [('returnAddress.street2', 'Suite 100')],
     [('returnAddress.street2', 'PO Box 7')]),
    ('phone number', 's3-import', 'returnAddress.phoneNumber', [('returnAddress.phoneNumber', '+44 20 7946 0958')],
     [('returnAddress.phoneNumber', '555')]),
    ('company optional', 's3-import', 'returnAddress.company', [('returnAddress.company', None)],
     [('returnAddress.company', '')]),
    ('acl values', 's3-import', 'acl', [('acl', 'public-read')], [('acl', 'PRIVATE')]),
    ('serviceLevel values', 's3-import', 'serviceLevel', [('serviceLevel', 'expeditedShipping')],
     [('serviceLevel', 'expedited')]),
    ('storageClass values', 's3-import', 'storageClass', [('storageClass', 'REDUCED_REDUNDANCY')],
     [('storageClass', 'ONEZONE')]),
    ('fileSystem values', 's3-export', 'fileSystem', [('fileSystem', 'FAT32'), ('fileSystem', 'EXT3')],
     [('fileSystem', 'HFSPlus'), ('fileSystem', 'exFAT')]),
    ('yes/no fields', 's3-import', 'setContentEncodingForGzFiles',
     [('setContentEncodingForGzFiles', 'no'), ('setContentEncodingForGzFiles', True),
      ('setContentEncodingForGzFiles', 'TRUE')],
     [('setContentEncodingForGzFiles', 'on'), ('setContentEncodingForGzFiles', 1)]),
    ('ignore: valid regular expressions', 's3-import', 'ignore[0]', [('ignore', ['^backup/', r'\.psd$'])],
     [('ignore', ['(unclosed'])]),
    ('contentTypes: MIME types', 's3-import', 'contentTypes.mp3', [('contentTypes', {'mp3': 'audio/mpeg'})],
     [('contentTypes', {'mp3': 'audio'})]),
    ('staticMetadata: names', 's3-import', 'staticMetadata["x y"]', [('staticMetadata', {'project-id': '42'})],
     [('staticMetadata', {'x y': '42'})]),
    ('substitutions: text to text', 's3-import', 'substitutions.A', [('substitutions', {'A': 'a', 'B': ''})],
     [('substitutions', {'A': ['a']})]),
    ('notificationEmail: semicolon list', 's3-import', 'notificationEmail',
     [('notificationEmail', 'a@example.com; b@example.org')], [('notificationEmail', 'a@example.com,b@example.org')]),
    ('bucket names', 's3-import', 'bucket', [('bucket', 'my.bucket-1'), ('bucket', 'LegacyBucket_2')],
     [('bucket', '-bucket'), ('bucket', 'b')]),
    ('accessKeyId form', 's3-import', 'accessKeyId', [('accessKeyId', 'AKIAIOSFODNN7EXAMPLE')],
     [('accessKeyId', 'AKIA IOSFODNN7')]),
    ('export operations: exportBucket', 's3-export', 'operations[0].exportBucket', [],
     [('operations.0.exportBucket', None)]),
    ('export operations: markers in order', 's3-export', 'operations[0].beginMarker',
     [('operations.0.beginMarker', 'a'), ('operations.0.endMarker', 'b')],
     [('operations.0.beginMarker', 'b'), ('operations.0.endMarker', 'a')]),
    ('export operations: relative targetDirectory', 's3-export', 'operations[0].targetDirectory',
     [('operations.0.targetDirectory', 'a/b')], [('operations.0.targetDirectory', '../a')]),
    ('recoveryDirectory relative', 's3-export', 'recoveryDirectory', [('recoveryDirectory', 'Lost')],
     [('recoveryDirectory', '/Lost')]),
    ('EBS destination', 'ebs', 'operations[0].destination', [], [('operations.0.destination', 'glacier')]),
    ('EBS source', 'ebs', 'operations[0].source', [], [('operations.0.source', 'disk')]),
    ('region', 'glacier', 'operations[0].region', [('operations.0.region', 'eu-west-1')],
     [('operations.0.region', 'EU')]),
    ('vaultName', 'glacier', 'operations[0].vaultName', [('operations.0.vaultName', 'a.b-c_d')],
     [('operations.0.vaultName', 'a/b')]),
    ('customs: encryptionClassification when encrypted', 'ebs', 'customs.encryptionClassification',
     [('customs.encryptedData', 'no'), ('customs.encryptionClassification', None)],
     [('customs.encryptionClassification', None)]),
    ('customs: deviceValue amount', 'ebs', 'customs.deviceValue', [('customs.deviceValue', 250)],
     [('customs.deviceValue', '-5')]),
    ('customs: typeOfExport', 'ebs', 'customs.typeOfExport', [('customs.typeOfExport', 'permanent')],
     [('customs.typeOfExport', 'gift')]),
    ('customs required fields', 'ebs', 'customs.dataDescription', [], [('customs.dataDescription', None)]),
    ('text fields refuse numbers', 's3-import', 'returnAddress.postalCode', [('returnAddress.postalCode', '02134')],
     [('returnAddress.postalCode', 2134)]),
    ('text fields refuse booleans', 'ebs', 'returnAddress.stateOrProvince', [('returnAddress.stateOrProvince', 'ON')],
     [('returnAddress.stateOrProvince', True)]),
    ('one line of text', 's3-import', 'generator', [('generator', 'tool 1.0 \u00e9\u4e2d')], [('generator', 'a\nb')]),
    ('secrets are text', 's3-export', 'pinCode', [('pinCode', '0042')], [('pinCode', 42)]),
]


@pytest.mark.parametrize('rule', RULES, ids=[r[0] for r in RULES])
def test_rule_passes_and_fails(rule):
    _name, base, path, passing, failing = rule
    manifest = good(base)
    for edit in passing:
        setp(manifest, *edit)
    assert problems_of(manifest, base) == [], 'passing case of %s' % rule[0]
    manifest = good(base)
    for edit in failing:
        setp(manifest, *edit)
    found = problems_of(manifest, base)
    assert any(p.path == path for p in found), [str(p) for p in found]


@pytest.mark.parametrize('edit', [('fileSystem', 'HFSPlus'), ('fileSystem', 'Ntfs')])
def test_file_system_problems_carry_the_invalid_file_system_code(edit):
    found = problems_of(setp(good('s3-export'), *edit), 's3-export')
    assert [p.code for p in found] == ['InvalidFileSystem']


def test_every_problem_is_reported_at_once():
    manifest = good('s3-export')
    for edit in [('fileSystem', None), ('logBucket', None), ('acl', 'private'), ('returnAddress.postalCode', '1'),
                 ('operations.1.exportBucket', None), ('customs', {'deviceType': 'x'})]:
        setp(manifest, *edit)
    paths = {p.path for p in problems_of(manifest, 's3-export')}
    assert {'fileSystem', 'logBucket', 'acl', 'returnAddress.postalCode', 'operations[1].exportBucket',
            'customs.deviceType', 'customs.dataDescription'} <= paths


def test_misspelt_keys_get_a_did_you_mean():
    manifest = good('s3-import')
    manifest['returnAddress']['stateOrProvence'] = manifest['returnAddress'].pop('stateOrProvince')
    manifest['Bucket'] = manifest.pop('bucket')
    messages = {p.path: p.message for p in problems_of(manifest, 's3-import')}
    assert 'did you mean stateOrProvince?' in messages['returnAddress.stateOrProvence']
    assert 'did you mean bucket? (keys are case-sensitive)' in messages['Bucket']


def test_strict_false_keeps_unknown_fields_and_renders_them_after_the_known_ones():
    manifest = good('s3-import')
    manifest['x-internal-ticket'] = 'OPS-12'
    assert M.validate(manifest, 'Import', 's3', strict=False) == []
    normal, _problems = M.normalise(manifest, 'Import', 's3', strict=False)
    text = M.render_manifest(normal, 'Import', 's3')
    assert text.index('x-internal-ticket: OPS-12') < text.index('returnAddress:')
    assert M.validate(manifest, 'Import', 's3', strict=True)[0].path == 'x-internal-ticket'


def test_detect_kind():
    assert M.detect_kind(good('s3-import')) == 's3'
    assert M.detect_kind(good('ebs')) == 'ebs'
    assert M.detect_kind(good('glacier')) == 'glacier'
    assert M.detect_kind(good('ebs'), 'Export') == 's3'
    assert M.detect_job_type(good('s3-export')) == 'Export'
    assert M.detect_job_type(good('glacier')) == 'Import'


def test_ebs_export_is_refused():
    found = M.validate(good('ebs'), 'Export', 'ebs')
    assert any('imports only' in p.message for p in found)


# ------------------------------------------------------------------ rendering

def test_rendering_follows_the_decisions():
    fields = {'returnAddress': {'country': 'USA', 'phoneNumber': '206-555-0100', 'postalCode': '02134',
                                'stateOrProvince': 'MA', 'city': 'Boston', 'street1': '1 Main St', 'name': 'Jo'},
              'eraseDevice': True, 'bucket': 'b-1', 'deviceId': '0012', 'accessKeyId': 'AKIAIOSFODNN7EXAMPLE',
              'manifestVersion': 2.0, 'generator': 'yes', 'customs': {'deviceValue': '250.00'}}
    text = M.render_manifest(fields, 'Import', 's3')
    assert text == (
        'manifestVersion: 2.0\n'
        'generator: "yes"\n'
        'accessKeyId: AKIAIOSFODNN7EXAMPLE\n'
        'deviceId: "0012"\n'
        'bucket: b-1\n'
        'eraseDevice: yes\n'
        'returnAddress:\n'
        '    name: Jo\n'
        '    street1: 1 Main St\n'
        '    city: Boston\n'
        '    stateOrProvince: MA\n'
        '    postalCode: "02134"\n'
        '    phoneNumber: 206-555-0100\n'
        '    country: USA\n'
        'customs:\n'
        '    deviceValue: 250.00\n')


def test_crlf_and_lf_manifests_have_the_same_canonical_form():
    lf = corpus.good_bytes('s3-export')
    assert M.canonical_yaml(lf.replace(b'\n', b'\r\n')) == M.canonical_yaml(lf) == lf.decode()


def test_canonical_form_ignores_key_order_spacing_and_quoting():
    a = 'bucket: b-1\nmanifestVersion: 2.0\ndeviceId: \'0012\'\naccessKeyId:   AKIAIOSFODNN7EXAMPLE\n'
    b = 'manifestVersion: 2.0\naccessKeyId: AKIAIOSFODNN7EXAMPLE\ndeviceId: "0012"\nbucket: b-1   # the bucket\n'
    assert M.canonical_yaml(a) == M.canonical_yaml(b)
    assert M.canonical_yaml(a) != M.canonical_yaml(b.replace('b-1', 'b-2'))


def test_canonical_yaml_raises_on_unreadable_text():
    with pytest.raises(M.ManifestError) as info:
        M.canonical_yaml(b'a: [unclosed\n')
    assert info.value.problems[0].code == 'MalformedManifest'


def test_yes_no_and_numbers_are_read_as_text_so_leading_zeros_survive():
    loaded = M.parse_manifest('deviceId: 0012\npostalCode: 02134\nx: 1e3\neraseDevice: yes\nstreet2:\n')
    assert loaded == {'deviceId': '0012', 'postalCode': '02134', 'x': '1e3', 'eraseDevice': 'yes', 'street2': None}


def test_redaction_of_secrets_in_values_and_text():
    manifest = good('s3-export')
    manifest['pinCode'] = '0042'
    red = M.redact(manifest)
    assert red['trueCryptPassword'] == red['pinCode'] == '********'
    assert manifest['pinCode'] == '0042'
    redacted = M.redacted_text(manifest, 'Export')
    assert 'correct horse' not in redacted and '0042' not in redacted
    assert 'trueCryptPassword: ********' in redacted and 'pinCode: ********' in redacted
    # Masked in the parsed document: text that is not a manifest is not shown at all.
    with pytest.raises(M.ManifestError):
        M.redacted_view('trueCryptPassword:apassword\n')
    assert sorted(M.secrets_of(manifest)) == ['0042', 'correct horse battery staple']


def test_parse_manifest_keeps_the_signing_interface():
    loaded = M.parse_manifest(corpus.good_bytes('ebs'))
    assert M.manifest_version(loaded) == '3.0'
    with pytest.raises(M.ManifestError, match='barcode'):
        M.check_signable(loaded)
    M.check_signable(M.parse_manifest(corpus.good_bytes('s3-import')))
    with pytest.raises(M.ManifestError, match='empty'):
        M.parse_manifest(b'  \n')


# ------------------------------------------------------------------ round trips (hypothesis)

TRICKY = ['0012', 'yes', 'no', 'Yes', 'NO', 'on', 'off', 'y', 'n', 'true', 'False', '2010-01-01',
          '2010-01-01 10:00:00', '~', 'null', 'Null', '', ' ', '1e3', '1E3', '.5', '0x1F', '0o17', '012', '1_000',
          '+1', '-1', '.inf', '-.Inf', '.nan', '1:20', '12:30:45', '- a', '? a', 'a: b', 'a #b', '#x', '&a', '*a',
          '!tag', '%x', '@x', '`x', '|', '>', '"q"', "'q'", '[a]', '{a: b}', 'a,b', 'tab\there', 'x:', ':x',
          '=', '<<', 'caf\u00e9', '\u4e2d\u6587', '\u2028', '\x85', '\ufeff', 'trailing ', ' leading', '\\']
texts = st.one_of(st.sampled_from(TRICKY), st.text(max_size=30),
                  st.lists(st.sampled_from(TRICKY), max_size=4).map(''.join))
one_line = texts.filter(lambda s: s.strip() and not any(c in s for c in '\n\r') and not M._CONTROL_RE.search(s))
bools = st.booleans()


@st.composite
def s3_import_manifests(draw):
    manifest = {
        'manifestVersion': '2.0',
        'generator': draw(one_line),
        'accessKeyId': draw(st.text('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', min_size=16, max_size=20)),
        'deviceId': draw(one_line),
        'bucket': draw(st.from_regex(r'\A[a-z0-9][a-z0-9.-]{1,20}[a-z0-9]\Z')),
        'prefix': draw(one_line),
        'cacheControl': draw(one_line),
        'ignore': draw(st.lists(one_line.map(__import__('re').escape), max_size=3)),
        'substitutions': draw(st.dictionaries(one_line, texts.filter(lambda s: not any(c in s for c in '\n\r')
                                                                     and not M._CONTROL_RE.search(s)),
                                              max_size=3)),
        'staticMetadata': draw(st.dictionaries(st.from_regex(r'\A[A-Za-z0-9_-]{1,10}\Z'), one_line, max_size=2)),
        'setContentEncodingForGzFiles': draw(bools),
        'eraseDevice': draw(bools),
        'returnAddress': {
            'name': draw(one_line), 'company': draw(one_line), 'street1': draw(one_line.filter(
                lambda s: not M._PO_BOX_RE.search(s))),
            'city': draw(one_line), 'postalCode': draw(one_line), 'phoneNumber': '+1 206-555-0100',
            'country': draw(one_line.filter(lambda s: s.replace(' ', '').replace('.', '').upper()
                                            not in M.USA_NAMES | M.CANADA_NAMES)),
        },
    }
    return manifest


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(s3_import_manifests())
def test_parsing_a_rendering_gives_back_the_same_values(manifest):
    assert M.validate(manifest, 'Import', 's3') == []
    text = M.render_manifest(manifest, 'Import', 's3')
    parsed, problems = M.load_and_validate(text.encode('utf-8'), 'Import', 's3')
    assert problems == []
    assert parsed == manifest
    assert M.render_manifest(parsed, 'Import', 's3') == text
    # Plain YAML (PyYAML's YAML 1.1 resolver) reads the same text values too.
    plain = yaml.safe_load(text)
    assert plain['deviceId'] == manifest['deviceId']
    assert plain['returnAddress'] == manifest['returnAddress']
    assert plain['substitutions'] == manifest['substitutions'] or (not manifest['substitutions'] and
                                                                   plain['substitutions'] == {})
    assert plain['eraseDevice'] is manifest['eraseDevice']


@settings(max_examples=300, deadline=None)
@given(st.text(), st.text())
def test_any_text_value_and_key_survive_rendering(key, value):
    manifest = {'manifestVersion': '2.0', 'free': {key: value}, 'note': value}
    text = M.render_manifest(manifest, 'Import', 's3')
    assert text.endswith('\n') and '\r' not in text
    assert M.parse_manifest(text) == manifest
    assert yaml.safe_load(text)['note'] == value


def test_the_yaml_1_2_typed_strings_are_quoted():
    for value in ['0012', '1e3', '1E3', '+1', '0o17', '0x1F', 'true', 'null', '.5', '2010-01-01', '~', 'yes']:
        line = M.render_manifest({'manifestVersion': '2.0', 'deviceId': value}).splitlines()[1]
        assert line == 'deviceId: "%s"' % value


def test_rendering_is_deterministic_for_deep_copies():
    manifest = good('ebs')
    assert M.render_manifest(copy.deepcopy(manifest)) == M.render_manifest(manifest) == corpus.good_bytes('ebs').decode()
