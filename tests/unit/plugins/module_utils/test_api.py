"""The Query API client against a small scripted HTTP server on 127.0.0.1."""
import http.server
import os
import queue
import re
import socket
import socketserver
import ssl
import subprocess
import threading
import time
from urllib.parse import parse_qsl

import pytest

from ansible_collections.awsie.importexport.plugins.module_utils import api, api_errors, api_xml
from ansible_collections.awsie.importexport.plugins.module_utils.signing import sigv2_signature

AK, SK = 'AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
NS = 'http://importexport.amazonaws.com/doc/2010-06-01/'
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))


def ok(action, inner, ns=NS):
    xmlns = ' xmlns="%s"' % ns if ns else ''
    return 200, ('<%sResponse%s><%sResult>%s</%sResult><ResponseMetadata><RequestId>rid-1</RequestId>'
                 '</ResponseMetadata></%sResponse>' % (action, xmlns, action, inner, action, action)).encode()


def err(status, code, message='boom', request_id='rid-err'):
    return status, ('<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message>'
                    '</Error><RequestId>%s</RequestId></ErrorResponse>' % (NS, code, message, request_id)).encode()


class Server:
    """Answers each request with the next scripted step: (status, body), or a callable(handler)."""

    def __init__(self, tls_context=None):
        self.steps = queue.Queue()
        self.requests = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
                outer.requests.append(dict(path=self.path, headers=dict(self.headers), body=body,
                                           params=dict(parse_qsl(body.decode(), keep_blank_values=True))))
                self._answer()

            do_GET = do_POST

            def _answer(self):
                step = outer.steps.get_nowait() if not outer.steps.empty() else outer.default
                if callable(step):
                    return step(self)
                status, body = step
                self.send_response(status)
                self.send_header('Content-Type', 'text/xml')
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        class TCPServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.httpd = TCPServer(('127.0.0.1', 0), Handler)
        if tls_context is not None:
            self.httpd.socket = tls_context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.url = '%s://127.0.0.1:%d/' % ('https' if tls_context else 'http', self.port)
        self.default = ok('GetStatus', '<JobId>ABCDE</JobId>')
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def script(self, *steps):
        for step in steps:
            self.steps.put(step)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    srv = Server()
    yield srv
    srv.close()


class FakeTime:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def client_for(server, **kw):
    kw.setdefault('sleep', lambda s: None)
    kw.setdefault('read_timeout', 5)
    return api.QueryClient(AK, SK, endpoint_url=server.url, **kw)


# ---------------------------------------------------------------- requests

@pytest.mark.parametrize('method', ['HmacSHA256', 'HmacSHA1'])
def test_request_is_a_form_post_signed_with_sigv2_that_the_server_can_verify(server, method):
    server.script(ok('GetStatus', '<JobId>ABCDE</JobId>'))
    client = client_for(server, signature_method=method)
    client.get_status('ABCDE')
    req = server.requests[0]
    params = req['params']
    assert req['path'] == '/'
    assert req['headers']['Content-Type'] == 'application/x-www-form-urlencoded; charset=utf-8'
    assert params['Action'] == 'GetStatus' and params['Version'] == '2010-06-01' and params['JobId'] == 'ABCDE'
    assert params['SignatureMethod'] == method and params['SignatureVersion'] == '2' and params['AWSAccessKeyId'] == AK
    assert re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$', params['Timestamp'])
    host = '127.0.0.1:%d' % server.port
    assert req['headers']['Host'] == host
    assert params['Signature'] == sigv2_signature(SK, 'POST', host, '/', params, method)
    assert sigv2_signature('wrong' + SK, 'POST', host, '/', params, method) != params['Signature']


def test_manifest_text_with_spaces_crlf_and_unicode_survives_encoding_and_signing(server):
    manifest = 'deviceId: caf\u00e9 1\r\nbucket: a+b/c*~\n'
    server.script(ok('CreateJob', '<JobId>ABCDE</JobId>'))
    client_for(server).create_job('Import', manifest)
    req = server.requests[0]
    assert req['params']['Manifest'] == manifest
    assert b'+' not in req['body'].split(b'Manifest=')[1].split(b'&')[0]  # spaces are %20, as signed
    host = '127.0.0.1:%d' % server.port
    assert req['params']['Signature'] == sigv2_signature(SK, 'POST', host, '/', req['params'])


def test_user_agent_names_the_collection_and_its_galaxy_version(server):
    client_for(server).get_status('ABCDE')
    with open(os.path.join(REPO, 'galaxy.yml')) as handle:
        version = re.search(r'^version:\s*(\S+)', handle.read(), re.M).group(1)
    assert api.COLLECTION_VERSION == version
    assert server.requests[0]['headers']['User-Agent'].startswith('awsie.importexport/%s ' % version)


def test_connections_are_kept_alive_across_requests(server):
    client = client_for(server)
    ports = []

    def remember(handler):
        ports.append(handler.client_address[1])
        status, body = ok('GetStatus', '<JobId>ABCDE</JobId>')
        handler.send_response(status)
        handler.send_header('Content-Length', str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    server.script(remember, remember, remember)
    for _attempt in range(3):
        client.get_status('ABCDE')
    assert len(set(ports)) == 1


def test_bad_endpoint_and_credentials_are_refused_up_front():
    with pytest.raises(ValueError, match='endpoint_url'):
        api.QueryClient(AK, SK, endpoint_url='ftp://x')
    with pytest.raises(ValueError, match='AWS_SECRET_ACCESS_KEY'):
        api.QueryClient(AK, '')
    with pytest.raises(ValueError, match='HmacSHA256 or HmacSHA1'):
        api.QueryClient(AK, SK, signature_method='HmacMD5')


# ---------------------------------------------------------------- responses

@pytest.mark.parametrize('ns', [NS, 'http://importexport.amazonaws.com/'])
def test_results_parse_the_same_in_either_namespace_of_the_api(server, ns):
    inner = ('<JobId>ABCDE</JobId><JobType>Import</JobType><ProgressCode>Pending</ProgressCode><ErrorCount>0'
             '</ErrorCount><SignatureFileContents>version:2.0\nsigningMethod:HmacSHA1\n</SignatureFileContents>'
             '<ArtifactList><member><Description>barcode</Description><URL>http://x/a.pdf</URL></member></ArtifactList>')
    server.script(ok('GetStatus', inner, ns))
    result = client_for(server).get_status('ABCDE')
    assert result['job_id'] == 'ABCDE' and result['job_type'] == 'Import' and result['progress_code'] == 'Pending'
    assert result['error_count'] == 0
    assert result['signature_file_contents'] == 'version:2.0\nsigningMethod:HmacSHA1\n'
    assert result['artifact_list'] == [{'description': 'barcode', 'url': 'http://x/a.pdf'}]
    assert result['request_id'] == 'rid-1'


def test_list_jobs_pages_follow_the_last_job_id_as_marker(server):
    def page(ids, truncated):
        members = ''.join('<member><JobId>%s</JobId><CreationDate>2026-01-01T00:00:00Z</CreationDate>'
                          '<IsCanceled>%s</IsCanceled><JobType>Import</JobType></member>'
                          % (i, 'true' if i == 'AAAAC' else 'false') for i in ids)
        return ok('ListJobs', '<Jobs>%s</Jobs><IsTruncated>%s</IsTruncated>' % (members, str(truncated).lower()))
    server.script(page(['AAAAA', 'AAAAB'], True), page(['AAAAC'], True), page([], False))
    jobs = list(client_for(server).iter_jobs(page_size=2))
    assert [j['job_id'] for j in jobs] == ['AAAAA', 'AAAAB', 'AAAAC']
    assert [j['is_canceled'] for j in jobs] == [False, False, True]
    assert [r['params'].get('Marker') for r in server.requests] == [None, 'AAAAB', 'AAAAC']
    assert all(r['params']['MaxJobs'] == '2' for r in server.requests)


def test_max_jobs_stops_paging_early(server):
    members = ''.join('<member><JobId>AAAA%s</JobId></member>' % c for c in 'ABC')
    server.script(ok('ListJobs', '<Jobs>%s</Jobs><IsTruncated>true</IsTruncated>' % members))
    jobs = list(client_for(server).iter_jobs(max_jobs=2))
    assert len(jobs) == 2 and len(server.requests) == 1 and server.requests[0]['params']['MaxJobs'] == '2'


def test_an_empty_job_list_is_a_list(server):
    server.script(ok('ListJobs', '<Jobs/><IsTruncated>false</IsTruncated>'))
    assert client_for(server).list_jobs() == {'jobs': [], 'is_truncated': False, 'request_id': 'rid-1'}


def test_every_error_code_is_a_named_exception_with_code_message_request_id_and_status(server):
    server.script(err(400, 'InvalidJobIdException', 'No such job', 'req-42'))
    with pytest.raises(api.ERRORS['InvalidJobIdException']) as info:
        client_for(server).get_status('ABCDE')
    exc = info.value
    assert isinstance(exc, api.ServiceError) and isinstance(exc, api.ApiError)
    assert (exc.code, exc.message, exc.request_id, exc.status, exc.action) == (
        'InvalidJobIdException', 'No such job', 'req-42', 400, 'GetStatus')
    assert 'InvalidJobIdException' in str(exc) and 'req-42' in str(exc)
    assert len(server.requests) == 1  # a client error is not retried
    assert api_errors.InvalidJobIdException is api.ERRORS['InvalidJobIdException'] is api.error_class('InvalidJobId')


def test_every_error_class_is_written_out_once_named_after_its_code():
    path = os.path.join(REPO, 'plugins', 'module_utils', 'api_errors.py')
    with open(path) as handle:
        written = re.findall(r'^class (\w+)\(ServiceError\):$', handle.read(), re.M)
    assert len(written) == len(set(written)) == len(api.ERRORS) == 34
    for name in written:
        cls = getattr(api_errors, name)
        assert api.ERRORS[name] is cls and cls.default_code == name and issubclass(cls, api.ServiceError)
        assert cls('x').code == name
    assert api.error_class('NoSuchBucket') is api_errors.NoSuchBucketException
    assert api.is_code(api_errors.CanceledJobIdException('x'), 'CanceledJobId')


def test_unknown_error_codes_are_still_reported_with_their_code(server):
    server.script(err(400, 'BrandNewException'))
    with pytest.raises(api.ServiceError) as info:
        client_for(server).get_status('ABCDE')
    assert info.value.code == 'BrandNewException'


def test_signature_errors_are_403_named_and_not_retried(server):
    server.script(err(403, 'SignatureDoesNotMatch'))
    with pytest.raises(api.ERRORS['SignatureDoesNotMatch']) as info:
        client_for(server).get_status('ABCDE')
    assert info.value.status == 403 and len(server.requests) == 1


# ---------------------------------------------------------------- retries

def test_throttling_and_5xx_are_retried_with_full_jitter_backoff_until_success(server):
    server.script(err(400, 'Throttling'), err(503, 'ServiceUnavailable'), err(500, 'InternalError'),
                  (502, b'<html>bad gateway</html>'), ok('GetStatus', '<JobId>ABCDE</JobId>'))
    fake = FakeTime()
    client = client_for(server, sleep=fake.sleep, clock=fake.clock, backoff_base=1.0, backoff_cap=3.0)
    assert client.get_status('ABCDE')['job_id'] == 'ABCDE'
    assert client.stats['requests'] == 5 and client.stats['retries'] == 4
    bounds = [1.0, 2.0, 3.0, 3.0]  # min(cap, base * 2 ** (attempt - 1))
    assert len(fake.sleeps) == 4 and all(0 <= s <= b for s, b in zip(fake.sleeps, bounds))


def test_full_jitter_spreads_over_the_whole_interval():
    client = api.QueryClient(AK, SK, endpoint_url='http://127.0.0.1:9/', backoff_base=1.0, backoff_cap=8.0)
    delays = [client.backoff(4) for _draw in range(2000)]
    assert 0 <= min(delays) < 0.5 and 7.5 < max(delays) <= 8.0
    assert 3.5 < sum(delays) / len(delays) < 4.5


def test_exhausted_attempts_raise_the_last_error_and_say_so(server):
    server.default = err(400, 'Throttling', 'Rate exceeded')
    client = client_for(server, max_attempts=4)
    with pytest.raises(api.ERRORS['Throttling']) as info:
        client.get_status('ABCDE')
    exc = info.value
    assert exc.exhausted and exc.attempts == 4 and len(server.requests) == 4
    assert 'Gave up after 4 attempt(s)' in str(exc) and 'the last error was Throttling' in str(exc)


def test_total_retry_time_bounds_the_retries(server):
    server.default = err(503, 'ServiceUnavailable')
    fake = FakeTime()
    client = client_for(server, max_attempts=1000, max_retry_time=30, sleep=fake.sleep, clock=fake.clock,
                        backoff_base=4.0, backoff_cap=10.0)
    with pytest.raises(api.ERRORS['ServiceUnavailable']) as info:
        client.get_status('ABCDE')
    assert info.value.exhausted and sum(fake.sleeps) <= 30 and info.value.attempts < 1000


def test_a_lost_createjob_answer_is_looked_up_before_anything_is_sent_again(server):
    server.script(err(500, 'InternalError'))
    looked = []

    def look_up():
        looked.append(len(server.requests))
        return {'job_id': 'ABCDE', 'signature': 'sig'}
    result = client_for(server).create_job('Import', 'deviceId: 1\n', on_unknown=look_up)
    assert looked == [1] and len(server.requests) == 1
    assert result['job_id'] == 'ABCDE' and result['recovered_from'] == 'InternalError'


def test_createjob_is_sent_again_only_after_the_look_up_found_nothing(server):
    server.script(err(500, 'InternalError'), ok('CreateJob', '<JobId>ABCDF</JobId>'))
    looked = []
    result = client_for(server).create_job('Import', 'deviceId: 1\n', on_unknown=lambda: looked.append(1))
    assert looked == [1] and len(server.requests) == 2 and result['job_id'] == 'ABCDF'


def test_createjob_without_a_look_up_is_never_repeated_after_an_unknown_outcome(server):
    server.script(err(500, 'InternalError'))
    with pytest.raises(api.ERRORS['InternalError']) as info:
        client_for(server).create_job('Import', 'deviceId: 1\n')
    assert info.value.outcome_unknown and len(server.requests) == 1


def test_a_createjob_still_in_progress_after_read_timeout_is_looked_up_again_not_resent(server):
    created = []

    def slow_create(handler):
        time.sleep(0.6)  # the service keeps working after the client gave up
        created.append('ABCDE')
    server.script(slow_create)
    looks = []

    def look_up():
        looks.append(time.monotonic())
        return {'job_id': created[0]} if created else None
    start = time.monotonic()
    result = client_for(server, read_timeout=0.4, sleep=time.sleep).create_job('Import', 'x', on_unknown=look_up)
    assert result == {'job_id': 'ABCDE', 'recovered_from': 'Timeout'}
    assert len(server.requests) == 1 and len(looks) >= 2 and time.monotonic() - start < 3


def test_a_timed_out_createjob_is_sent_again_only_after_the_grace_period(server):
    server.script(lambda handler: time.sleep(0.6), ok('CreateJob', '<JobId>ABCDF</JobId>'))
    fake_looks = []
    client = client_for(server, read_timeout=0.3, sleep=time.sleep)
    start = time.monotonic()
    result = client.create_job('Import', 'x', on_unknown=lambda: fake_looks.append(time.monotonic()))
    assert result['job_id'] == 'ABCDF' and len(server.requests) == 2
    assert fake_looks[-1] - start >= 0.3 + 0.5  # looked again after the first wait, before resending


def test_createjob_throttled_is_retried_without_a_look_up(server):
    server.script(err(400, 'Throttling'), ok('CreateJob', '<JobId>ABCDF</JobId>'))
    looked = []
    result = client_for(server).create_job('Import', 'x', on_unknown=lambda: looked.append(1))
    assert result['job_id'] == 'ABCDF' and looked == []


def _drop(handler):
    handler.close_connection = True
    handler.connection.shutdown(socket.SHUT_RDWR)


def test_a_dropped_connection_is_retried_for_reads(server):
    server.script(_drop, _drop, ok('GetStatus', '<JobId>ABCDE</JobId>'))
    assert client_for(server).get_status('ABCDE')['job_id'] == 'ABCDE'
    assert len(server.requests) == 3


def test_a_dropped_createjob_is_looked_up(server):
    server.script(_drop)
    result = client_for(server).create_job('Import', 'x', on_unknown=lambda: {'job_id': 'ABCDE'})
    assert result['recovered_from'] == 'ConnectionError' and len(server.requests) == 1


def test_refused_connections_are_retried_even_for_createjob_and_then_reported():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    client = api.QueryClient(AK, SK, endpoint_url='http://127.0.0.1:%d/' % port, max_attempts=3,
                             sleep=lambda s: None)
    looked = []
    with pytest.raises(api.TransportError) as info:
        client.create_job('Import', 'x', on_unknown=lambda: looked.append(1))
    assert info.value.attempts == 3 and info.value.exhausted and looked == []
    assert 'connection to http://127.0.0.1:%d/ failed' % port in str(info.value)


# ---------------------------------------------------------------- hostile responses

def test_a_huge_announced_body_is_refused_without_reading_it(server):
    def huge(handler):
        handler.send_response(200)
        handler.send_header('Content-Length', str(10 ** 10))
        handler.end_headers()
        handler.wfile.write(b'<x>')
    server.script(huge)
    start = time.monotonic()
    with pytest.raises(api.ResponseError) as info:
        client_for(server, max_response_bytes=1 << 20).get_status('ABCDE')
    assert info.value.code == 'ResponseTooLarge' and time.monotonic() - start < 3


def test_an_endless_chunked_body_is_cut_at_the_limit(server):
    def endless(handler):
        handler.send_response(200)
        handler.send_header('Transfer-Encoding', 'chunked')
        handler.end_headers()
        chunk = b'<a>' + b'x' * 65536 + b'</a>'
        try:
            for _chunk in range(1000):
                handler.wfile.write(b'%x\r\n%s\r\n' % (len(chunk), chunk))
        except OSError:
            pass
    server.script(endless)
    with pytest.raises(api.ResponseError, match='over the limit of 1048576 bytes'):
        client_for(server, max_response_bytes=1 << 20).get_status('ABCDE')


def test_an_entity_bomb_is_refused_before_parsing(server):
    bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            + ''.join('<!ENTITY lol%d "%s">' % (i, ('&lol%d;' % (i - 1) if i else '&lol;') * 10) for i in range(1, 10))
            + ']><GetStatusResponse><GetStatusResult><JobId>&lol9;</JobId></GetStatusResult></GetStatusResponse>')
    server.script((200, bomb.encode()))
    with pytest.raises(api.ResponseError, match='DTD or entity'):
        client_for(server).get_status('ABCDE')
    assert len(server.requests) == 1


@pytest.mark.parametrize('body', [b'{"json": true}', b'', b'\x00\xff\xfe', b'<unclosed'])
def test_a_non_xml_answer_is_a_clear_error(server, body):
    server.script((200, body))
    with pytest.raises(api.ResponseError) as info:
        client_for(server).get_status('ABCDE')
    assert info.value.code == 'MalformedResponse' and 'XML' in str(info.value)


def test_a_response_of_another_action_is_rejected(server):
    server.script(ok('ListJobs', '<Jobs/>'))
    with pytest.raises(api.ResponseError, match='expected <GetStatusResponse>'):
        client_for(server).get_status('ABCDE')


def test_no_answer_within_read_timeout_is_a_timeout_then_retried(server):
    def slow(handler):
        time.sleep(1.5)
    server.script(slow, ok('GetStatus', '<JobId>ABCDE</JobId>'))
    start = time.monotonic()
    assert client_for(server, read_timeout=0.5).get_status('ABCDE')['job_id'] == 'ABCDE'
    assert time.monotonic() - start < 3 and server.requests and len(server.requests) == 2


def test_a_body_trickling_in_is_stopped_after_read_timeout(server):
    def trickle(handler):
        handler.send_response(200)
        handler.send_header('Content-Length', '100000')
        handler.end_headers()
        try:
            for _piece in range(100):
                handler.wfile.write(b'<' * 2000)
                handler.wfile.flush()
                time.sleep(0.2)
        except OSError:
            pass
    server.script(trickle)
    start = time.monotonic()
    with pytest.raises(api.TransportError) as info:
        client_for(server, read_timeout=1, max_attempts=1).get_status('ABCDE')
    assert info.value.code == 'Timeout' and time.monotonic() - start < 4


# ---------------------------------------------------------------- TLS and proxies

@pytest.fixture(scope='module')
def cert(tmp_path_factory):
    directory = tmp_path_factory.mktemp('tls')
    key, crt = str(directory / 'key.pem'), str(directory / 'cert.pem')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', crt,
                    '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
                   check=True, capture_output=True)
    return key, crt


def test_tls_is_verified_unless_told_otherwise_and_ca_bundle_is_trusted(cert):
    key, crt = cert
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(crt, key)
    srv = Server(tls_context=context)
    try:
        with pytest.raises(api.TransportError) as info:
            client_for(srv, max_attempts=1).get_status('ABCDE')
        assert info.value.code == 'SSLError' and 'ca_bundle' in str(info.value)
        with pytest.raises(api.TransportError) as info:
            client_for(srv, max_attempts=5).get_status('ABCDE')
        assert info.value.attempts == 1 and not info.value.exhausted
        assert client_for(srv, ca_bundle=crt).get_status('ABCDE')['job_id'] == 'ABCDE'
        assert client_for(srv, validate_certs=False).get_status('ABCDE')['job_id'] == 'ABCDE'
    finally:
        srv.close()


def test_proxies_come_from_the_environment(server, monkeypatch):
    monkeypatch.setenv('HTTP_PROXY', server.url)
    monkeypatch.setenv('NO_PROXY', '')
    monkeypatch.setenv('no_proxy', '')
    client = api.QueryClient(AK, SK, endpoint_url='http://importexport.example.invalid/', sleep=lambda s: None)
    assert client.get_status('ABCDE')['job_id'] == 'ABCDE'
    req = server.requests[0]
    assert req['path'] == 'http://importexport.example.invalid/'  # absolute form: sent through the proxy
    assert req['params']['Signature'] == sigv2_signature(SK, 'POST', 'importexport.example.invalid', '/', req['params'])


def test_snake_case_names():
    assert api_xml.snake_case('SignatureFileContents') == 'signature_file_contents'
    assert api_xml.snake_case('ShippingLabelURL') == 'shipping_label_url'
    assert api_xml.snake_case('JobId') == 'job_id'
    assert api_xml.snake_case('IsTruncated') == 'is_truncated'
