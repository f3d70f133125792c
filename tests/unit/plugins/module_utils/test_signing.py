"""The signing library against independent implementations: openssl for the SIGNATURE HMAC,
botocore's SigV2Auth and SigV4Auth for request signing."""
import base64
import datetime
import subprocess
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV2Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.awsie.importexport.plugins.module_utils import signing

SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
JOB_ALPHABET = '123456789ABCDEFGHIJKLMNPQRSTUVWXYZ'

job_ids = st.text(alphabet=JOB_ALPHABET, min_size=5, max_size=5)
secrets = st.text(alphabet=st.characters(blacklist_categories=('Cs',), blacklist_characters='\x00'), min_size=1, max_size=60)
manifest_text = st.lists(st.sampled_from(list('ab: -\r\n\t\u00e9\u4e2d"\'#') + ['\r\n']), max_size=200).map(''.join)


def openssl_hmac_sha1_b64(key: bytes, data: bytes) -> str:
    proc = subprocess.run(['openssl', 'dgst', '-sha1', '-mac', 'HMAC', '-macopt', 'hexkey:' + key.hex(), '-binary'],
                          input=data, capture_output=True, check=True)
    return base64.b64encode(proc.stdout).decode()


# ------------------------------------------------------------------ job ids

@pytest.mark.parametrize('raw,expected', [('53xty', '53XTY'), ('X452D', 'X452D'), (' ex1id ', 'EX1ID'), ('WXSPP', 'WXSPP')])
def test_job_id_is_normalised_to_upper_case(raw, expected):
    assert signing.normalize_job_id(raw) == expected


@pytest.mark.parametrize('bad', ['', 'ABCD', 'ABCDEF', 'ABC0D', 'ABCOD', 'abcod', 'AB-CD', 'ABC D', 'ÄBCDE', None, 12345])
def test_job_id_outside_the_alphabet_is_refused_naming_the_rule(bad):
    with pytest.raises(signing.InvalidJobId, match='except the letter O'):
        signing.normalize_job_id(bad)


@given(st.text(max_size=7))
def test_job_id_validation_agrees_with_the_documented_alphabet(text):
    candidate = text.strip().upper()
    ok = len(candidate) == 5 and all(c in JOB_ALPHABET for c in candidate)
    if ok:
        assert signing.normalize_job_id(text) == candidate
    else:
        with pytest.raises(signing.InvalidJobId):
            signing.normalize_job_id(text)


# ------------------------------------------------------------------ SIGNATURE

def test_spec_illustration_vector():
    # import-export-service.md 2.1, computed independently with python hmac.
    manifest = b'manifestVersion: 2.0\r\nbucket: myBucket\r\n'
    assert signing.signing_string('ABCDE', manifest) == b'ABCDE\nmanifestVersion: 2.0\nbucket: myBucket\n'
    assert signing.compute_signature(SECRET, 'ABCDE', manifest) == 'uZPi65kCV9Crs4WTTeIvw1qPbsI='


def test_only_crlf_pairs_are_rewritten_lone_cr_is_kept():
    assert signing.signed_manifest_bytes(b'a\r\nb\rc\n\r\r\n') == b'a\nb\rc\n\r\n'


def test_crlf_manifest_signs_like_its_lf_twin_and_one_byte_changes_it():
    lf = b'manifestVersion: 2.0\nbucket: b\n'
    crlf = lf.replace(b'\n', b'\r\n')
    assert signing.compute_signature(SECRET, 'ABCDE', lf) == signing.compute_signature(SECRET, 'abcde', crlf)
    assert signing.compute_signature(SECRET, 'ABCDE', lf) != signing.compute_signature(SECRET, 'ABCDE', lf + b' ')
    assert signing.compute_signature(SECRET, 'ABCDE', lf) != signing.compute_signature(SECRET, 'ABCDF', lf)


def test_signature_file_layout_1_0_is_the_guides_sample_layout():
    content = signing.render_signature_file('53xty', 'd48F0+WdXjgNyc3vOSamplee5qXarDVRs=')
    assert content == b'version: 1.0\nsigningMethod: HmacSHA1\njobId: 53XTY\nsignature: d48F0+WdXjgNyc3vOSamplee5qXarDVRs=\n'


def test_signature_file_layout_2_0_is_the_services_layout():
    content = signing.render_signature_file('WXSPP', 'jLbLVp54vBa/vuh/XW1MOMdZUxw=', version='2.0')
    assert content == b'version:2.0\nsigningMethod:HmacSHA1\njobId:WXSPP\nsignature:jLbLVp54vBa/vuh/XW1MOMdZUxw=\n'


def test_parse_reads_both_layouts_and_crlf():
    two = b'version:2.0\r\nsigningMethod:HmacSHA1\r\njobId:wxspp\r\nsignature:jLbLVp54vBa/vuh/XW1MOMdZUxw=\r\n'
    assert signing.parse_signature_file(two) == {'version': '2.0', 'signingMethod': 'HmacSHA1', 'jobId': 'WXSPP',
                                                 'signature': 'jLbLVp54vBa/vuh/XW1MOMdZUxw='}


@pytest.mark.parametrize('bad,match', [
    (b'version: 1.0\nsigningMethod: HmacSHA1\njobId: ABCDE\n', 'lacks'),
    (b'version: 1.0\nversion: 1.0\nsigningMethod: HmacSHA1\njobId: ABCDE\nsignature: x\n', 'twice'),
    (b'version: 1.0\nsigningMethod: HmacSHA256\njobId: ABCDE\nsignature: x\n', 'not supported'),
    (b'version: 1.0\nsigningMethod: HmacSHA1\njobId: ABCDO\nsignature: x\n', 'letter O'),
    (b'hello world\n', 'no "key: value"'),
    (b'colour: red\n', 'unknown field'),
    (b'\xff\xfe', 'not UTF-8'),
    # ie_signature took these as signature_file_contents before (found by the proof's bad-input cases)
    (b'version: 3.0\nsigningMethod: HmacSHA1\njobId: ABCDE\nsignature: jLbLVp54vBa/vuh/XW1MOMdZUxw=\n', 'version .3.0. is not'),
    (b'version: 1.0\nsigningMethod: HmacSHA1\njobId: ABCDE\nsignature: not base64!\n', 'not the base64'),
    (b'version: 1.0\nsigningMethod: HmacSHA1\njobId: ABCDE\nsignature: jLbLVp54vBa=\n', 'not the base64'),
    (b'x' * 2000000 + b'\n', r'no "key: value" form: .x{60}\.\.\.\(2000000 characters\)'),
])
def test_parse_refuses_malformed_files(bad, match):
    with pytest.raises(signing.SigningError, match=match):
        signing.parse_signature_file(bad)


def test_verify_accepts_right_file_and_names_the_mismatch():
    manifest = b'manifestVersion: 2.0\nbucket: b\n'
    good = signing.build_signature_file(SECRET, 'ABCDE', manifest)
    assert signing.verify_signature_file(good, SECRET, manifest) == (True, 'SIGNATURE 1.0 for job ABCDE matches')
    assert signing.verify_signature_file(good, SECRET, manifest + b'x')[0] is False
    assert signing.verify_signature_file(good, SECRET + 'x', manifest)[0] is False
    ok, reason = signing.verify_signature_file(good, SECRET, manifest, job_id='ABCDF')
    assert not ok and 'not ABCDF' in reason
    assert signing.verify_signature_file(b'garbage', SECRET, manifest)[0] is False


def test_empty_secret_is_refused():
    with pytest.raises(signing.SigningError, match='secret'):
        signing.compute_signature('', 'ABCDE', b'x')


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(job_id=job_ids, secret=secrets, manifest=manifest_text, final_newline=st.booleans())
def test_signature_matches_openssl(job_id, secret, manifest, final_newline):
    data = manifest.encode('utf-8') + (b'\r\n' if final_newline else b'')
    expected = openssl_hmac_sha1_b64(secret.encode('utf-8'), job_id.encode() + b'\n' + data.replace(b'\r\n', b'\n'))
    assert signing.compute_signature(secret, job_id, data) == expected
    content = signing.build_signature_file(secret, job_id.lower(), data)
    assert signing.verify_signature_file(content, secret, data)[0]


def test_one_megabyte_manifest_matches_openssl():
    data = (b'# padding line with CRLF and UTF-8 \xc3\xa9\r\n' * 30000)[:1024 * 1024]
    expected = openssl_hmac_sha1_b64(SECRET.encode(), b'ABCDE\n' + data.replace(b'\r\n', b'\n'))
    assert signing.compute_signature(SECRET, 'ABCDE', data) == expected


# ------------------------------------------------------------------ SigV2

param_names = st.text(alphabet=st.characters(blacklist_categories=('Cs',), blacklist_characters='\x00'), min_size=1, max_size=12)
param_values = st.text(alphabet=st.characters(blacklist_categories=('Cs',)), max_size=40) | st.sampled_from(
    ['', ' ', 'a b', '*', '~', '+', '=&', '%20', 'é', '日本', '/path?x=1'])
params_st = st.dictionaries(param_names, param_values, max_size=8)
hosts = st.sampled_from(['importexport.amazonaws.com', '127.0.0.1:8080', 'localhost:1', 'ie.example.test'])
paths = st.sampled_from(['', '/', '/path', '/a/b'])


def botocore_qs_and_signature(secret, url, params):
    auth = SigV2Auth(Credentials('AKID', secret))
    return auth.calc_signature(AWSRequest(method='POST', url=url, data=params), params)


@settings(max_examples=300, deadline=None)
@given(params=params_st, host=hosts, path=paths, secret=secrets)
def test_sigv2_sha256_matches_botocore(params, host, path, secret):
    params = {k: v for k, v in params.items() if k != 'Signature'}
    qs, expected = botocore_qs_and_signature(secret, 'http://%s%s' % (host, path), params)
    assert signing.sigv2_canonical_query(params) == qs
    assert signing.sigv2_signature(secret, 'POST', host, path, params, 'HmacSHA256') == expected


@settings(max_examples=60, deadline=None)
@given(params=params_st, host=hosts, path=paths, secret=secrets)
def test_sigv2_sha1_matches_openssl_over_botocores_canonical_string(params, host, path, secret):
    params = {k: v for k, v in params.items() if k != 'Signature'}
    qs, _sig = botocore_qs_and_signature(secret, 'http://%s%s' % (host, path), params)
    string_to_sign = 'POST\n%s\n%s\n%s' % (host, path or '/', qs)
    expected = openssl_hmac_sha1_b64(secret.encode('utf-8'), string_to_sign.encode('utf-8'))
    assert signing.sigv2_signature(secret, 'POST', host, path, params, 'HmacSHA1') == expected


def byte_by_byte_quote(value):
    """The implementation rfc3986_quote had until it used urllib.parse.quote: the reference."""
    unreserved = frozenset(b'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~')
    data = value.encode('utf-8') if isinstance(value, str) else value
    return ''.join(chr(b) if b in unreserved else '%%%02X' % b for b in data)


def byte_sorted_query(params):
    """The canonical query as it was built before: sorted by the UTF-8 bytes of each name."""
    pairs = sorted((k.encode('utf-8'), v.encode('utf-8')) for k, v in params.items() if k != 'Signature')
    return '&'.join('%s=%s' % (byte_by_byte_quote(k), byte_by_byte_quote(v)) for k, v in pairs)


any_text = st.text(alphabet=st.characters(blacklist_categories=('Cs',)))
ascii_text = st.text(alphabet=st.characters(max_codepoint=127))


@settings(max_examples=1000, deadline=None)
@given(value=any_text | ascii_text | ascii_text.map(lambda t: t * 20) | st.binary() | st.sampled_from(
    ['', '~', '-_.', '2026-11-23T12:00:00.000Z', 'a' * 127 + ':', 'a' * 128 + ':', 'é' * 200, '\x7f\x00 %']))
def test_rfc3986_quote_gives_what_the_byte_by_byte_rule_gave(value):
    assert signing.rfc3986_quote(value) == byte_by_byte_quote(value)


@settings(max_examples=300, deadline=None)
@given(params=params_st)
def test_the_canonical_query_is_what_the_byte_sorted_rule_gave(params):
    assert signing.sigv2_canonical_query(params) == byte_sorted_query(params)


@settings(max_examples=200, deadline=None)
@given(now=st.datetimes(min_value=datetime.datetime(1000, 1, 1)))
def test_the_timestamp_is_what_strftime_gave(now):
    assert signing.sigv2_timestamp(now) == now.strftime('%Y-%m-%dT%H:%M:%S.') + '%03dZ' % (now.microsecond // 1000)


def test_sigv2_encoding_rules():
    assert signing.rfc3986_quote('a b*~é+/') == 'a%20b%2A~%C3%A9%2B%2F'
    assert signing.sigv2_canonical_query({'b': '', 'a': '1', 'Signature': 'x'}) == 'a=1&b='
    # Byte order: upper-case sorts before lower-case.
    assert signing.sigv2_canonical_query({'a': '1', 'B': '2'}) == 'B=2&a=1'


def test_sigv2_host_is_lower_case_with_non_default_port():
    assert signing.canonical_host('ImportExport.AmazonAWS.com', 'https', 443) == 'importexport.amazonaws.com'
    assert signing.canonical_host('LocalHost', 'http', 8080) == 'localhost:8080'
    assert signing.canonical_host('h', 'http', None) == 'h'
    a = signing.sigv2_signature(SECRET, 'POST', 'LocalHost:8080', '/', {'A': '1'})
    assert a == signing.sigv2_signature(SECRET, 'POST', 'localhost:8080', '/', {'A': '1'})


def test_sigv2_sign_params_adds_auth_and_a_verifiable_signature():
    signed = signing.sigv2_sign_params({'Action': 'GetStatus', 'JobId': 'ABCDE', 'Version': '2010-06-01'},
                                       'AKID', SECRET, '127.0.0.1:9', signature_method='HmacSHA1',
                                       timestamp='2011-06-20T22:30:59.556Z')
    assert signed['SignatureMethod'] == 'HmacSHA1' and signed['SignatureVersion'] == '2'
    assert signed['AWSAccessKeyId'] == 'AKID' and signed['Timestamp'] == '2011-06-20T22:30:59.556Z'
    assert signed['Signature'] == signing.sigv2_signature(SECRET, 'POST', '127.0.0.1:9', '/', signed, 'HmacSHA1')


def test_sigv2_unknown_method_is_refused():
    with pytest.raises(signing.SigningError, match='HmacSHA256 or HmacSHA1'):
        signing.sigv2_signature(SECRET, 'POST', 'h', '/', {}, 'HmacMD5')


def test_sigv2_timestamp_has_milliseconds_and_z():
    now = datetime.datetime(2011, 6, 20, 22, 30, 59, 556789, tzinfo=datetime.timezone.utc)
    assert signing.sigv2_timestamp(now) == '2011-06-20T22:30:59.556Z'


# ------------------------------------------------------------------ SigV4 (what the local service checks)

@settings(max_examples=100, deadline=None)
@given(params=st.dictionaries(param_names, param_values, max_size=5), secret=secrets,
       port=st.sampled_from([None, 8080]))
def test_sigv4_matches_botocore(params, secret, port):
    host = '127.0.0.1' + (':%d' % port if port else '')
    body = '&'.join('%s=%s' % (signing.rfc3986_quote(k), signing.rfc3986_quote(v)) for k, v in params.items())
    request = AWSRequest(method='POST', url='http://%s/' % host, data=body,
                         headers={'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8'})
    SigV4Auth(Credentials('AKID', secret), 'IngestionService', 'us-east-1').add_auth(request)
    auth = request.headers['Authorization']
    signed_headers = auth.split('SignedHeaders=')[1].split(',')[0].split(';')
    expected = auth.split('Signature=')[1]
    headers = {k.lower(): v for k, v in request.headers.items()}
    headers['host'] = urlsplit(request.url).netloc
    canonical = signing.sigv4_canonical_request('POST', '/', [], headers, signed_headers, body)
    assert signing.sigv4_signature(secret, headers['x-amz-date'], 'us-east-1', 'IngestionService', canonical) == expected
