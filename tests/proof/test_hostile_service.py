"""A hostile Query API endpoint (tests/support/hostile.py) against the API client and the API modules.

Each attack must end in a clear error within connect_timeout + read_timeout, with memory bounded
(tracemalloc peak of the library in this process; peak RSS of ansible-playbook and its workers
through getrusage(RUSAGE_CHILDREN) of a wrapper process), and no credential may reach another
host: a redirect points at a recorder on 127.0.0.2 that keeps what it received.
Headers sent a byte at a time and answers nested 100000 deep are in
tests/unit/plugins/module_utils/test_api_hardening.py; not repeated here.
"""
import json
import re
import os
import sys
import time
import tracemalloc

import pytest

from ansible_collections.awsie.importexport.plugins.module_utils import api, api_xml
from tests.support.hostile import BOMB, HostileServer, Recorder, leaked
from tests.support.playbooks import BIN, REPO
from tests.support.processes import run_group

AK, SK = 'AKIAIOSFODNN7EXAMPLE', 'HostileTestSecretKey/0123456789abcdefghij'
CONNECT, READ = 2.0, 4.0
SLACK = 6.0  # a loaded 2-core machine: thread start, GC, scheduling
LIBRARY_PEAK_LIMIT = 40 * 1024 * 1024  # the 8 MiB response limit, its join, parser overhead
RSS_LIMIT_KB = 400 * 1024  # ansible-playbook and its workers, whatever the endpoint sends

ATTACKS = {
    'entity-bomb': 'DTD or entity declarations',
    'entity-bomb-utf16': 'NUL bytes',
    'external-entity': 'DTD or entity declarations',
    'error-entity-bomb': 'DTD or entity declarations',
    'gigabyte-announced': 'announces 1073741824 bytes, over the limit',
    'gigabyte-chunked': 'over the limit of 8388608 bytes',
    'gzip-bomb': 'over the limit of 8388608 bytes',
    'slow-drip': 'within connect_timeout \\+ read_timeout|after read_timeout',
    'ctype-json': 'not XML',
    'ctype-html': 'answered HTML',
    'ctype-png': 'not XML',
    'ctype-plain': 'not XML',
    'ctype-empty': 'not XML',
    'ctype-s3-xml': 'expected <GetStatusResponse>, got <ListAllMyBucketsResult>',
    'ctype-xml-as-octets': 'namespace',
}
for _code in (301, 302, 303, 307, 308):
    ATTACKS['redirect-%d' % _code] = 'HTTP %d, a redirect, which is never followed' % _code
FAST_MODULE_CASES = ['entity-bomb-utf16', 'gzip-bomb', 'gigabyte-chunked', 'redirect-307']


@pytest.fixture(scope='module')
def hostile():
    recorder = Recorder()
    server = HostileServer(redirect_to=recorder.url + 'collect')
    server.recorder = recorder
    yield server
    server.stop()
    recorder.stop()


def client(url):
    return api.QueryClient(AK, SK, endpoint_url=url, connect_timeout=CONNECT, read_timeout=READ, max_attempts=1,
                           backoff_base=0.01, backoff_cap=0.05)


@pytest.mark.parametrize('attack', sorted(ATTACKS))
def test_the_client_fails_clearly_in_time_with_bounded_memory(attack, hostile, proof_record):
    before = len(hostile.recorder.received)
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(api.ApiError, match=ATTACKS[attack]) as raised:
            client(hostile.url(attack)).get_status('ABCDE')
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(raised.value)
    assert 'GetStatus' in message and SK not in message and len(message) < 1000
    assert elapsed < CONNECT + READ + SLACK, elapsed
    assert peak < LIBRARY_PEAK_LIMIT, peak
    assert hostile.recorder.received[before:] == []  # nothing followed a redirect
    proof_record('seconds to the error (%s)' % attack, round(elapsed, 2), 's')
    proof_record('library peak memory (%s)' % attack, round(peak / 1048576.0, 1), 'MiB')


def test_a_label_download_redirected_to_another_host_carries_no_credential(hostile, proof_record):
    """The shipping label's URL is a pre-signed link the service chose: a redirect is followed
    (S3 does that), but what reaches the other host is a bare GET."""
    before = len(hostile.recorder.received)
    body = client(hostile.url('redirect-302')).download(hostile.url('redirect-302') + 'label.pdf')
    assert body.startswith(b'%PDF-')
    received = hostile.recorder.received[before:]
    assert len(received) == 1 and received[0].startswith(b'GET /collect ')
    assert leaked(received, AK, SK) == []
    proof_record('requests that reached the redirect target with a credential', 0)


def test_the_entity_bomb_in_utf16_is_refused_before_expat_expands_it():
    """Regression: a byte search for ``<!DOCTYPE`` missed the declaration in UTF-16 (no byte order
    mark), and expat expanded the entities: before the fix this answer parsed, its JobId 100000
    characters long from 1 KiB (under expat's own amplification limit)."""
    small = BOMB.replace('&lol9;', '&lol5;').replace('<?xml version="1.0"?>', '').encode('utf-16-le')
    with pytest.raises(api.ResponseError, match='NUL bytes') as raised:
        api_xml.parse_response('GetStatus', 200, small, 'http://127.0.0.1/')
    assert raised.value.code == 'MalformedResponse'


# ------------------------------------------------------------------ the modules, in ansible-playbook

PLAY = '''
- hosts: localhost
  gather_facts: false
  tasks:
    - name: GetStatus from a hostile endpoint
      awsie.importexport.ie_job_status:
        job_ids: [ABCDE]
        endpoint_url: "{{ item.1 }}"
        access_key: "{{ lookup('ansible.builtin.env', 'IE_TEST_AK') }}"
        secret_key: "{{ lookup('ansible.builtin.env', 'IE_TEST_SK') }}"
        connect_timeout: %(connect)s
        read_timeout: %(read)s
        max_attempts: 2
        max_retry_time: 30
      loop: "{{ cases }}"
      register: hostile_results
      ignore_errors: true
    - name: Keep the results
      ansible.builtin.copy:
        content: "{{ hostile_results | to_json }}"
        dest: "{{ out }}"
''' % dict(connect=CONNECT, read=READ)

WRAPPER = ('import resource, subprocess, sys\n'
           'rc = subprocess.call(sys.argv[1:])\n'
           'sys.stderr.write("\\nIE_PEAK_RSS_KB=%d\\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n'
           'sys.exit(rc)\n')


def run_cases(playbook, hostile, attacks, tmp_path):
    """One ansible-playbook run over ``attacks``: (results by attack, peak RSS in KiB, seconds)."""
    path, out = tmp_path / 'hostile.yml', tmp_path / 'results.json'
    path.write_text(PLAY)
    cases = [[attack, hostile.url(attack)] for attack in attacks]
    cmd = [sys.executable, '-c', WRAPPER, os.path.join(BIN, 'ansible-playbook'), '-i', playbook.inventory, str(path),
           '-e', json.dumps(dict(cases=cases, out=str(out)))]
    started = time.monotonic()
    proc = run_group(cmd, cwd=REPO, env=playbook.env(dict(IE_TEST_AK=AK, IE_TEST_SK=SK)), timeout=600)
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert SK not in proc.stdout + proc.stderr
    peak = int(proc.stderr.rsplit('IE_PEAK_RSS_KB=', 1)[1].split()[0])
    results = json.loads(out.read_text())['results']
    return dict((r['item'][0], r) for r in results), peak, elapsed


def check_module_results(results, attacks):
    for attack in attacks:
        result = results[attack]
        assert result['failed'], (attack, result)
        text = result['msg'] + json.dumps(result.get('jobs', []))
        assert re.search(ATTACKS[attack], text), (attack, result['msg'])
        assert SK not in json.dumps(result)


def test_the_module_fails_clearly_with_bounded_memory_fast_subset(playbook, hostile, tmp_path, proof_record):
    before = len(hostile.recorder.received)
    results, peak, elapsed = run_cases(playbook, hostile, FAST_MODULE_CASES, tmp_path)
    check_module_results(results, FAST_MODULE_CASES)
    assert peak < RSS_LIMIT_KB, peak
    assert leaked(hostile.recorder.received[before:], AK, SK) == [] and hostile.recorder.received[before:] == []
    proof_record('ansible-playbook peak RSS over %d attacks' % len(FAST_MODULE_CASES), round(peak / 1024.0, 1), 'MiB')
    proof_record('ansible-playbook seconds over %d attacks' % len(FAST_MODULE_CASES), round(elapsed, 1), 's')


@pytest.mark.proof_full
@pytest.mark.parametrize('attack', sorted(ATTACKS))
def test_the_module_fails_clearly_in_time_with_bounded_memory(attack, playbook, hostile, tmp_path, proof_record):
    baseline = run_cases(playbook, hostile, [], tmp_path)[2] if attack == sorted(ATTACKS)[0] else None
    before = len(hostile.recorder.received)
    results, peak, elapsed = run_cases(playbook, hostile, [attack], tmp_path)
    check_module_results(results, [attack])
    assert peak < RSS_LIMIT_KB, peak
    # two attempts (max_attempts: 2), each within connect + read timeouts, plus ansible-playbook's own start
    assert elapsed < 2 * (CONNECT + READ + SLACK) + 60, elapsed
    assert hostile.recorder.received[before:] == []
    proof_record('ansible-playbook peak RSS (%s)' % attack, round(peak / 1024.0, 1), 'MiB')
    proof_record('ansible-playbook seconds (%s)' % attack, round(elapsed, 1), 's')
    if baseline is not None:
        proof_record('ansible-playbook seconds with no case (baseline)', round(baseline, 1), 's')
