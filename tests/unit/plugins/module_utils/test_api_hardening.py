"""The Query API client against hostile endpoints and careless options (issue 14: 4, 6, 8, 9, 10, 14).

Each test failed before its fix: the password was echoed, the empty URL meant AWS, trickling
headers hung the client, a missing CA bundle or a NaN timeout crashed it later, deep nesting
raised RecursionError, an answer in another namespace or about another job was believed, and an
HTML page was called an entity expansion attack.
"""
import math
import socket
import threading
import time

import pytest

from ansible_collections.awsie.importexport.plugins.module_utils import api
from tests.unit.plugins.module_utils.test_api import AK, NS, SK, Server, client_for, ok


@pytest.fixture
def server():
    srv = Server()
    yield srv
    srv.close()


# ---------------------------------------------------------------- endpoint_url (4, 14)

@pytest.mark.parametrize('url', ['http://user:s3cretpw@127.0.0.1:9/', 'https://:s3cretpw@importexport.amazonaws.com',
                                 'http://s3cretpw@127.0.0.1:9/'])
def test_an_endpoint_url_with_user_info_is_refused_without_echoing_it(url):
    with pytest.raises(ValueError) as info:
        api.QueryClient(AK, SK, endpoint_url=url)
    assert 's3cretpw' not in str(info.value) and 'user name or password' in str(info.value)


@pytest.mark.parametrize('url', ['', '   '])
def test_an_empty_endpoint_url_is_refused_not_taken_for_aws(url):
    with pytest.raises(ValueError, match='endpoint_url is empty'):
        api.QueryClient(AK, SK, endpoint_url=url)


# ---------------------------------------------------------------- a total deadline per request (6)

class TrickleServer:
    """Accepts one connection, reads the request, then sends response headers a byte every 0.2 s."""

    def __init__(self, total_seconds=120):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(5)
        self.url = 'http://127.0.0.1:%d/' % self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.sent = 0
        self.headers = b'HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nX-Slow: ' + b'a' * int(total_seconds * 5)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                continue
            with conn:
                data = b''
                while b'\r\n\r\n' not in data:
                    data += conn.recv(65536)
                for byte in self.headers:
                    if self.stop.is_set():
                        return
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        break
                    self.sent += 1
                    time.sleep(0.2)

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


def test_headers_sent_a_byte_at_a_time_end_within_the_timeouts():
    slow = TrickleServer()
    outcome = {}

    def call():
        try:
            api.QueryClient(AK, SK, endpoint_url=slow.url, connect_timeout=1, read_timeout=1.5,
                            max_attempts=1).get_status('ABCDE')
        except api.ApiError as exc:  # pylint: disable=broad-except
            outcome['error'] = exc
    worker = threading.Thread(target=call, daemon=True)
    try:
        worker.start()
        worker.join(30)  # the headers would take 120 s to arrive
        assert not worker.is_alive(), 'still reading the headers after 30 s with read_timeout 1.5'
    finally:
        slow.close()
    error = outcome['error']
    assert isinstance(error, api.TransportError) and error.code == 'Timeout' and error.outcome_unknown
    assert 'connect_timeout + read_timeout' in str(error)
    assert slow.sent < len(slow.headers)


def test_a_deadline_that_passes_after_the_answer_does_not_spoil_the_next_request(server):
    client = client_for(server, connect_timeout=0.2, read_timeout=0.3)
    assert client.get_status('ABCDE')['job_id'] == 'ABCDE'
    time.sleep(0.8)  # the first request's deadline is long past; its kept-alive connection is reused
    assert client.get_status('ABCDE')['job_id'] == 'ABCDE'
    assert client.stats['requests'] == 2


# ---------------------------------------------------------------- crashes (8)

def test_a_missing_ca_bundle_is_a_clear_error_up_front(tmp_path):
    missing = str(tmp_path / 'no-such-ca.pem')
    with pytest.raises(ValueError, match='ca_bundle %s does not exist' % missing):
        api.QueryClient(AK, SK, endpoint_url='https://127.0.0.1:9/', ca_bundle=missing)


def test_a_missing_requests_ca_bundle_from_the_environment_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', str(tmp_path / 'gone.pem'))
    with pytest.raises(ValueError, match='REQUESTS_CA_BUNDLE .*gone.pem does not exist'):
        api.QueryClient(AK, SK, endpoint_url='https://127.0.0.1:9/')


@pytest.mark.parametrize('name', ['connect_timeout', 'read_timeout'])
@pytest.mark.parametrize('value', [math.nan, math.inf, -1.0, 0.0])
def test_timeouts_that_are_not_finite_positive_numbers_are_refused(name, value):
    with pytest.raises(ValueError, match='%s must be a finite number of seconds above 0' % name):
        api.QueryClient(AK, SK, endpoint_url='http://127.0.0.1:9/', **{name: value})


def test_a_response_nested_100000_elements_deep_is_a_clear_error(server):
    deep = b'<a>' * 100000 + b'x' + b'</a>' * 100000
    server.script((200, ('<GetStatusResponse xmlns="%s"><GetStatusResult><JobId>ABCDE</JobId>' % NS).encode() + deep
                   + b'</GetStatusResult></GetStatusResponse>'))
    with pytest.raises(api.ResponseError, match='nested more than 32 elements deep'):
        client_for(server).get_status('ABCDE')


# ---------------------------------------------------------------- wrong answers (9, 10)

GOOD = '<JobId>ABCDE</JobId><ProgressCode>Complete</ProgressCode><LocationCode>Returned</LocationCode>'


@pytest.mark.parametrize('ns', [NS, 'http://importexport.amazonaws.com/'])
def test_answers_in_the_api_namespace_are_believed(server, ns):
    server.script(ok('GetStatus', GOOD, ns))
    assert client_for(server).get_status('ABCDE')['progress_code'] == 'Complete'


@pytest.mark.parametrize('ns', [None, 'http://example.com/not-the-api/', 'http://ec2.amazonaws.com/doc/2016-11-15/'])
def test_a_getstatus_answer_in_another_namespace_is_not_believed(server, ns):
    server.script(ok('GetStatus', GOOD, ns))
    with pytest.raises(api.ResponseError, match="not the API's") as info:
        client_for(server).get_status('ABCDE')
    assert len(server.requests) == 1  # the same answer would come again: not retried
    assert info.value.code == 'MalformedResponse'


@pytest.mark.parametrize('answered', ['ZZZZZ', ''])
def test_a_getstatus_answer_about_another_job_is_not_believed(server, answered):
    server.script(ok('GetStatus', GOOD.replace('ABCDE', answered)))
    with pytest.raises(api.ResponseError, match='answer for job ABCDE is about job'):
        client_for(server).get_status('ABCDE')


def test_the_job_asked_in_lower_case_matches_its_answer(server):
    server.script(ok('GetStatus', GOOD))
    assert client_for(server).get_status('abcde')['job_id'] == 'ABCDE'


@pytest.mark.parametrize('body', [
    b'<!DOCTYPE html>\n<html><head><title>Login</title></head><body>Welcome</body></html>',
    b'<?xml version="1.0"?>\n<!-- portal -->\n<!doctype HTML PUBLIC "-//W3C//DTD HTML 4.01//EN"><html></html>',
    b'<html lang="en"><body>captive portal</body></html>'])
def test_an_html_page_is_called_html_not_an_entity_attack(server, body):
    server.script((200, body))
    with pytest.raises(api.ResponseError) as info:
        client_for(server).get_status('ABCDE')
    assert 'the endpoint answered HTML, not the Import/Export API' in str(info.value)
    assert 'entity' not in str(info.value)


def test_an_html_error_page_of_a_gateway_is_still_a_retried_5xx(server):
    server.script((502, b'<!DOCTYPE html><html><body>Bad gateway</body></html>'), ok('GetStatus', GOOD))
    assert client_for(server).get_status('ABCDE')['job_id'] == 'ABCDE'
    assert len(server.requests) == 2
