"""Fuzzing the parsers that read what others wrote (hypothesis): nothing raises but the documented error.

Targets (plugins/module_utils): the SIGNATURE parser and verifier (``signing.SigningError``), the
manifest parser (``manifest.ManifestError``) and renderer (any parsed manifest renders, and the
rendering reads back to the same text), the SigV2 canonicaliser (equal to botocore's, and what the
client sends verifies at the local service), the XML response parser (``api_errors.ApiError``),
the import-log parser (``importlog.ImportLogError``), the mail reply and command parsers
(``mail.MailFormatError``). Each target is fed raw bytes and input shaped like the real thing.
``make test`` runs FAST examples per target; ``make proof`` FULL more, and records the counts.
"""
import time
from urllib.parse import parse_qsl

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.awsie.importexport.plugins.module_utils import api, api_errors, api_xml, importlog
from ansible_collections.awsie.importexport.plugins.module_utils import mail as m
from ansible_collections.awsie.importexport.plugins.module_utils import manifest as mlib
from ansible_collections.awsie.importexport.plugins.module_utils import signing
# tests.support.service puts the local service's package (ie_service) on the path
from tests.support.service import DEMO_ACCESS_KEY  # noqa: F401  pylint: disable=unused-import
from ie_service.auth import Authenticator  # noqa: E402  pylint: disable=wrong-import-order

FAST, FULL = 150, 3000
SIZES = [pytest.param(FAST, id='fast'), pytest.param(FULL, id='full', marks=pytest.mark.proof_full)]
HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much, HealthCheck.large_base_example]


def fuzz(examples, strategy, check):
    """Run ``check`` on ``examples`` inputs drawn from ``strategy``; the number actually run."""
    ran = [0]

    @settings(max_examples=examples, database=None, suppress_health_check=HEALTH, deadline=None)
    @given(strategy)
    def run(value):
        ran[0] += 1
        check(value)

    run()
    return ran[0]


def pieces(*parts):
    """Text made of the given fragments and random text: near-misses of the real format."""
    return st.lists(st.sampled_from(parts) | st.text(max_size=12), max_size=30).map(''.join)


texty = st.text(alphabet=st.characters(blacklist_categories=('Cs',)), max_size=40)
JOB = st.from_regex(r'\A[1-9A-NP-Za-np-z]{5}\Z', fullmatch=True)  # the job id rule of signing.py

# ------------------------------------------------------------------ SIGNATURE

SIG_LINES = st.lists(st.tuples(st.sampled_from(signing.SIGNATURE_FIELDS + ('jobid', 'extra', '', ' version')),
                               st.sampled_from([':', ': ', ' : ', '', '::']),
                               st.sampled_from(['1.0', '2.0', 'HmacSHA1', 'ABCDE', 'abcde', 'x' * 30, '', '\u00e9']) | texty),
                     max_size=8).map(lambda rows: '\n'.join(k + s + v for k, s, v in rows))
SIG_INPUT = st.binary(max_size=300) | SIG_LINES | SIG_LINES.map(lambda t: t.encode('utf-16')) | SIG_LINES.map(
    lambda t: '\ufeff' + t.replace('\n', '\r\n'))


def check_signature(data):
    try:
        fields = signing.parse_signature_file(data)
    except signing.SigningError:
        fields = None
    if fields is not None:
        assert set(signing.SIGNATURE_FIELDS) <= set(fields)
        assert signing.normalize_job_id(fields['jobId']) == fields['jobId']
    ok, reason = signing.verify_signature_file(data, 'secret', 'manifestVersion: 2.0\n', job_id='ABCDE')
    assert isinstance(ok, bool) and isinstance(reason, str)


@pytest.mark.parametrize('examples', SIZES)
def test_the_signature_parser_raises_only_signing_error(examples, proof_record):
    ran = fuzz(examples, SIG_INPUT, check_signature)
    proof_record('examples run: SIGNATURE parser and verifier', ran)


@pytest.mark.parametrize('examples', SIZES)
def test_a_rendered_signature_reads_back(examples, proof_record):
    def check(case):
        job_id, secret, manifest, version = case
        data = signing.build_signature_file(secret, job_id, manifest, version)
        fields = signing.parse_signature_file(data)
        assert fields['jobId'] == job_id.upper() and fields['version'] == version
        # the same manifest with every line ending CRLF verifies too (a CR already before an LF is part of
        # its CRLF, not doubled: a lone CR is content and stays, so '\r\n' -> '\r\r\n' would be another manifest)
        crlf = manifest.replace('\r\n', '\n').replace('\n', '\r\n')
        assert signing.verify_signature_file(data, secret, crlf, job_id)[0]
    strategy = st.tuples(JOB, texty.filter(bool), texty, st.sampled_from(['1.0', '2.0']))
    proof_record('examples run: SIGNATURE render then parse', fuzz(examples, strategy, check))


# ------------------------------------------------------------------ manifest

FIELD_NAMES = ['manifestVersion', 'accessKeyId', 'deviceId', 'bucket', 'eraseDevice', 'returnAddress', 'name', 'street1',
               'city', 'postalCode', 'country', 'operations', 'exportBucket', 'prefix', 'fileSystem', 'logBucket',
               'trueCryptPassword', 'pinCode', 'customs', 'acl', 'ignore', 'substitutions', 'notificationEmail',
               'serviceLevel', 'cacheControl', 'contentLanguage', 'expires', 'x-amz-meta-a', 'unknownField']
SCALARS = (st.sampled_from(['2.0', '1.0', 'yes', 'no', 'true', '0012', '~', '', 'null', '1e3', '0x1F', '.inf', '12:30',
                            '2010-06-01', '- a', 'a: b', '#x', '&a', '*a', '!tag', '"q"', "'", '@', '%', '`',
                            'AKIAIOSFODNN7EXAMPLE', 'EXT4', 'NTFS', 'USA', 'Seattle'])
           | texty | st.integers() | st.booleans() | st.none() | st.floats(allow_nan=True))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.sampled_from(FIELD_NAMES) | texty, inner, max_size=4), max_leaves=12)
DOCS = st.dictionaries(st.sampled_from(FIELD_NAMES), VALUES, max_size=10)
YAMLISH = pieces('manifestVersion: 2.0\n', 'bucket: b\n', 'returnAddress:\n', '    name: Joe\n', '  - ', ': ', '\n',
                 '"', "'", '&a ', '*a', '!!python/object ', '%YAML 1.1\n', '---\n', '{', '}', '[', ']', '#', '\t',
                 '<<: *a\n', '? ', '|\n', '>\n', '\ufeff', '\r\n', '\x00', '\x85')


def dumped(doc):
    try:
        return yaml.safe_dump(doc, default_flow_style=False, allow_unicode=True)
    except yaml.YAMLError:
        return ''


MANIFEST_INPUT = (st.binary(max_size=400) | YAMLISH | YAMLISH.map(lambda t: t.encode('utf-8', 'surrogatepass'))
                  | DOCS.map(dumped) | DOCS.map(lambda d: yaml.safe_dump(d, default_flow_style=True, allow_unicode=True)
                                                if _dumpable(d) else ''))


def _dumpable(doc):
    try:
        yaml.safe_dump(doc)
        return True
    except yaml.YAMLError:
        return False


def check_manifest(data):
    try:
        parsed = mlib.parse_manifest(data)
    except mlib.ManifestError as exc:
        assert exc.problems and str(exc)
        return
    assert isinstance(parsed, dict)
    for job_type in ('Import', 'Export'):
        text = mlib.render_manifest(parsed, job_type)  # every parsed manifest has a rendering
        assert text.endswith('\n') and '\r' not in text
        if text == '\n':
            assert all(v is None for v in parsed.values()), parsed  # '{}' or 'field:': nothing to render
            continue
        again = mlib.render_manifest(mlib.parse_manifest(text), job_type)
        assert again == text, (parsed, text, again)  # the rendering reads back to itself
    problems = mlib.validate(parsed)
    assert isinstance(problems, list)


@pytest.mark.parametrize('examples', SIZES)
def test_the_manifest_parser_and_renderer_raise_only_manifest_error(examples, proof_record):
    proof_record('examples run: manifest parser, renderer, validator', fuzz(examples, MANIFEST_INPUT, check_manifest))


# ------------------------------------------------------------------ SigV2

PARAM_TEXT = st.text(alphabet=st.characters(blacklist_categories=('Cs',)), max_size=20)
PARAMS = st.dictionaries(PARAM_TEXT.filter(bool) | st.sampled_from(['Action', 'Version', 'JobId', 'Manifest',
                                                                    'jobIds.member.1', 'a b', 'a+b', '~', '%41']),
                         PARAM_TEXT | st.sampled_from(['', ' ', '+', '%20', '=', '&', '\n', '\u00e9', '\U0001f600']),
                         max_size=6)


AUTH_PARAMS = ('AWSAccessKeyId', 'SignatureVersion', 'SignatureMethod', 'Timestamp', 'Signature', 'Expires', 'SecurityToken')


class _Request:
    method = 'POST'

    def __init__(self, url):
        self.url = url


def check_sigv2(params):
    from botocore.auth import SigV2Auth  # pylint: disable=import-outside-toplevel
    from botocore.credentials import Credentials  # pylint: disable=import-outside-toplevel
    ours = signing.sigv2_canonical_query(params)
    theirs = SigV2Auth(Credentials('AK', 'SK')).calc_signature(_Request('http://h:1/p'), params)[0]
    assert ours == theirs
    # What the client sends, parsed as the service parses it, verifies there.
    clean = dict((k, v) for k, v in params.items() if k not in AUTH_PARAMS)
    signed = signing.sigv2_sign_params(clean, 'AKID', 'S/K+ey', '127.0.0.1:8080', '/p', 'POST')
    body = api.encode_params(signed).encode('ascii')
    received = dict(parse_qsl(body.decode('utf-8'), keep_blank_values=True, errors='strict'))
    assert received == signed
    auth = Authenticator({'AKID': 'S/K+ey'}.get, now=time.time)
    assert auth.authenticate('POST', '/p', '', {'host': '127.0.0.1:8080'}, body, received) == 'AKID'


@pytest.mark.parametrize('examples', SIZES)
def test_the_sigv2_canonicaliser_matches_botocore_and_the_service(examples, proof_record):
    proof_record('examples run: SigV2 canonicaliser', fuzz(examples, PARAMS, check_sigv2))


# ------------------------------------------------------------------ XML responses

NS = api_xml.API_NAMESPACES[0]
TAGS = st.sampled_from(['GetStatusResponse', 'GetStatusResult', 'ErrorResponse', 'Error', 'Code', 'Message', 'JobId',
                        'Jobs', 'member', 'IsCanceled', 'ErrorCount', 'ArtifactList', 'ResponseMetadata', 'RequestId',
                        'ListJobsResponse', 'ListJobsResult', 'IsTruncated', 'x', 'html'])
ELEMENT = st.recursive(texty.map(lambda t: t.replace('&', '&amp;').replace('<', '&lt;')),
                       lambda inner: st.tuples(TAGS, st.booleans(), st.lists(inner, max_size=3)).map(
                           lambda e: '<%s%s>%s</%s>' % (e[0], ' xmlns="%s"' % NS if e[1] else '', ''.join(e[2]), e[0])),
                       max_leaves=15)
XML_INPUT = st.tuples(
    st.sampled_from(['GetStatus', 'ListJobs', 'CreateJob']),
    st.sampled_from([200, 200, 200, 301, 400, 403, 404, 500, 502, 503]) | st.integers(100, 599),
    st.binary(max_size=300) | ELEMENT.map(lambda t: t.encode('utf-8')) | pieces(
        '<?xml version="1.0"?>', '<!DOCTYPE x>', '<!ENTITY a "b">', '&a;', '<GetStatusResponse xmlns="%s">' % NS,
        '<GetStatusResult>', '</GetStatusResult>', '</GetStatusResponse>', '<![CDATA[', ']]>', '<!--', '-->',
        '<html>', '\ufeff', '\x00').map(lambda t: t.encode('utf-8', 'surrogatepass')))


def check_xml(case):
    action, status, body = case
    try:
        result = api_xml.parse_response(action, status, body, 'http://127.0.0.1/')
    except api_errors.ApiError as exc:
        assert str(exc)
        return
    assert 200 <= status < 300 and isinstance(result, dict)


@pytest.mark.parametrize('examples', SIZES)
def test_the_xml_response_parser_raises_only_api_errors(examples, proof_record):
    proof_record('examples run: XML response parser', fuzz(examples, XML_INPUT, check_xml))


# ------------------------------------------------------------------ import logs

HEADERS = st.lists(st.sampled_from(importlog.IMPORT_COLUMNS + importlog.EXPORT_COLUMNS + ('content type', 'BYTES', 'x')),
                   min_size=0, max_size=9).map(','.join)
CELLS = st.sampled_from(['', 'ok', 'Success', '200', '12', '-1', '1.5', '\u00b2', '\u0663', ' 7 ', 'd41d8cd98f00b204e9800998ecf8427e',
                         '"a,b"', '"unclosed', 'a"b', '"x""y"', 'imp/a', 'a\nb']) | texty
ROWS = st.lists(st.lists(CELLS, max_size=9).map(','.join), max_size=8).map('\n'.join)
LOG_INPUT = st.tuples(st.binary(max_size=300) | st.tuples(HEADERS, ROWS).map('\n'.join),
                      st.sampled_from([None, 'import', 'export']), st.booleans())


def check_log(case):
    data, kind, strict = case
    try:
        log = importlog.parse(data, 'fuzz.csv', kind=kind, strict=strict)
    except importlog.ImportLogError as exc:
        assert 'fuzz.csv' in str(exc)
        return
    for entry in log.entries:
        assert entry['Bytes'] is None or (isinstance(entry['Bytes'], int) and entry['Bytes'] >= 0)
        assert entry['MD5'] is None or len(entry['MD5']) == 32
    log.by('Key')


@pytest.mark.parametrize('examples', SIZES)
def test_the_import_log_parser_raises_only_import_log_error(examples, proof_record):
    proof_record('examples run: import-log parser', fuzz(examples, LOG_INPUT, check_log))


def test_a_bytes_column_of_unicode_digits_is_a_clear_problem_not_a_crash():
    """Regression: ``'\\u00b2'.isdigit()`` is true but ``int('\\u00b2')`` raises ValueError."""
    for value in ('\u00b2', '\u2460', '\u0663'):
        data = 'File,Status,Bytes,Content-Type\nimp/a,ok,%s,text/plain\n' % value
        with pytest.raises(importlog.ImportLogError, match='line 2: Bytes'):
            importlog.parse(data, 'fuzz.csv')
        assert importlog.parse(data, 'fuzz.csv', strict=False).problems


# ------------------------------------------------------------------ mail

HEADER_NAMES = st.sampled_from(['Message-ID', 'In-Reply-To', 'References', 'Subject', 'From', 'Date', 'Content-Type',
                                'Content-Transfer-Encoding', 'Content-Disposition', 'MIME-Version', 'X-Other'])
HEADER_VALUES = st.sampled_from(['<a@b>', '<a@b> <c@d>', '<>', '<<x>>', 'Re: CREATE JOB', 'RE: RE: GET STATUS',
                                 'multipart/mixed; boundary="b"', 'text/plain; charset=utf-8', 'text/plain; charset=nope',
                                 'text/html', 'base64', 'quoted-printable', 'attachment; filename="SIGNATURE"',
                                 '=?utf-8?b?w6k=?=', '=?bogus?q?x?=', 'Thu, 01 Jan 1970 00:00:00 +0000',
                                 'not a date', 'a@b.c', '"x" <y@z>', '']) | texty.map(lambda t: t.replace('\n', ' '))
BODIES = pieces('SUCCESS\n', 'ERROR\n', 'JOBID: ABCDE\n', 'CODE: InvalidJobId\n', 'SIGNATURE: x\n', 'STATUS: ok\n',
                '  continued\n', '> quoted\n', '-- \n', 'On Mon wrote:\n', '--b\n', '--b--\n', 'Content-Type: text/plain\n\n',
                '<br>', '<p>', '&amp;', '=\n', '=C3=A9', 'w6k=', '\r\n', '\n\n')
MAILS = st.tuples(st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=8), BODIES).map(
    lambda mail: ('\r\n'.join('%s: %s' % h for h in mail[0]) + '\r\n\r\n' + mail[1]).encode('utf-8', 'surrogateescape'))
MAIL_INPUT = st.binary(max_size=400) | MAILS


def check_mail(raw):
    try:
        reply = m.parse_reply(raw)
    except m.MailFormatError as exc:
        assert str(exc)
    else:
        assert reply.status in (m.SUCCESS, m.ERROR)
        assert isinstance(reply.ok, bool) and isinstance(reply.parents, list) and isinstance(reply.as_dict(), dict)
        assert reply.command is None or reply.command in m.COMMANDS
        assert not reply.answers('') and (not reply.parents or reply.answers(reply.parents[0]))
        assert reply.code is None or isinstance(reply.code, str)
    try:
        command = m.parse_command(raw)
    except m.MailFormatError:
        return
    assert command.command is None or command.command in m.COMMANDS
    assert command.attachment() is None or isinstance(command.attachment()[1], bytes)
    assert command.attachment(signature=True) is None or isinstance(command.attachment(signature=True)[1], bytes)


@pytest.mark.parametrize('examples', SIZES)
def test_the_mail_reply_and_command_parsers_raise_only_mail_format_error(examples, proof_record):
    proof_record('examples run: mail reply and command parsers', fuzz(examples, MAIL_INPUT, check_mail))


def test_the_fuzzers_reach_the_interesting_branches():
    """The strategies are not all noise: each makes inputs the parsers accept (hand-picked samples)."""
    signed = 'version:2.0\nsigningMethod:HmacSHA1\njobId:abcde\nsignature:%s\n' % ('A' * 27 + '=')
    assert signing.parse_signature_file(signed)['jobId'] == 'ABCDE'
    assert mlib.parse_manifest(dumped({'manifestVersion': '2.0', 'bucket': 'b'}))['bucket'] == 'b'
    assert importlog.parse('File,Status,Bytes\na,ok,3\n', kind='import').entries[0]['Bytes'] == 3
    assert m.parse_reply(b'Message-ID: <a@b>\r\nIn-Reply-To: <c@d>\r\n\r\nSUCCESS\nJOBID: ABCDE\n').answers('<c@d>')
    body = ('<GetStatusResponse xmlns="%s"><GetStatusResult><JobId>ABCDE</JobId></GetStatusResult>'
            '</GetStatusResponse>' % NS).encode()
    assert api_xml.parse_response('GetStatus', 200, body, 'u')['job_id'] == 'ABCDE'
