"""The API modules given what an attacker or a careless operator gives them (issue 14: 4, 5, 8, 13, 14),
and manifest_src as a controller path with remote_src (issue 13), through real ansible-playbook runs.

ANSIBLE_TASK_TIMEOUT bounds the runs that used to hang on a FIFO: before the fixes they failed
with Ansible's time-out message instead of the clear error asserted here.
"""
import json
import os
import re
import subprocess

from tests.integration.fixtures import BIN
from tests.integration.jobs_helpers import PLAY, indent, quiet_client, run_tasks
from tests.integration.service_fixtures import import_manifest

BOUNDED = dict(ANSIBLE_TASK_TIMEOUT='30')

ENDPOINTS = '''
- name: A password in endpoint_url
  awsie.importexport.ie_job_info:
    endpoint_url: "{{ lookup('ansible.builtin.env', 'IE_TEST_BAD_URL') }}"
    max_attempts: 1
  register: r_password
  ignore_errors: true
- name: An empty endpoint_url
  awsie.importexport.ie_job_info:
    endpoint_url: ""
    connect_timeout: 2
    max_attempts: 1
  register: r_empty
  ignore_errors: true
'''


def test_endpoint_url_with_a_password_or_empty_is_refused_and_never_echoed(playbook, ie_service):
    url = ie_service.url.replace('://', '://ops:Pa55wordXyz@')
    r = run_tasks(playbook, ie_service, ENDPOINTS, verbosity=4, env=dict(IE_TEST_BAD_URL=url))  # not on the command line
    refused = r['r_password']
    assert refused['failed'] and 'must not carry a user name or password' in refused['msg']
    assert refused['api_calls']['requests'] == 0
    text = r['_proc'].stdout + r['_proc'].stderr
    assert 'Pa55wordXyz' not in text
    empty = r['r_empty']
    assert empty['failed'] and 'endpoint_url is empty' in empty['msg'] and empty['api_calls']['requests'] == 0


NUMBERS = '''
- name: A CA bundle that is not there
  awsie.importexport.ie_job_info:
    ca_bundle: /nonexistent/ie-ca.pem
  register: r_ca
  ignore_errors: true
- name: read_timeout that is not a number of seconds
  awsie.importexport.ie_job_status:
    job_ids: [ABCDE]
    read_timeout: "{{ item }}"
  loop: "{{ values }}"
  register: r_read_timeout
  ignore_errors: true
- name: connect_timeout that is not a number of seconds
  awsie.importexport.ie_job_status:
    job_ids: [ABCDE]
    connect_timeout: "{{ item }}"
  loop: "{{ values }}"
  register: r_connect_timeout
  ignore_errors: true
- name: poll_interval that is not a number of seconds
  awsie.importexport.ie_job_status:
    job_ids: [ABCDE]
    poll_interval: "{{ item }}"
    wait_for: [Complete]
  loop: "{{ values }}"
  register: r_poll_interval
  ignore_errors: true
'''


def test_missing_ca_bundle_and_non_finite_numbers_are_clear_errors(playbook, ie_service):
    r = run_tasks(playbook, ie_service, NUMBERS, dict(values=['nan', 'inf', '1e308', '-1']), env=BOUNDED)
    ca = r['r_ca']
    assert ca['failed'] and 'ca_bundle /nonexistent/ie-ca.pem does not exist on the controller' in ca['msg']
    for name in ('read_timeout', 'connect_timeout', 'poll_interval'):
        for item in r['r_%s' % name]['results']:
            assert item['failed'] and item['msg'].startswith('%s must be a number' % name), item
            assert 'at most' in item['msg'] and item['api_calls']['requests'] == 0


SINCE = '''
- name: since that is a string
  awsie.importexport.ie_job_status:
    job_ids: ["{{ job_id }}"]
    since: garbage
  register: r_garbage
  ignore_errors: true
- name: since that is a list of numbers
  awsie.importexport.ie_job_status:
    job_ids: ["{{ job_id }}"]
    since: [1, 2, 3]
  register: r_numbers
  ignore_errors: true
- name: since that is a previous result
  awsie.importexport.ie_job_status:
    job_ids: ["{{ job_id }}"]
    since: {jobs: [{job_id: "{{ job_id }}", progress_code: Pending, location_code: NotReceived}]}
  register: r_good
'''


def test_since_that_is_not_a_previous_result_is_refused_before_any_request(playbook, ie_service):
    job = quiet_client(ie_service).create_job('Import', import_manifest(ie_service.access_key, ie_service.new_bucket(),
                                                                        device_id='SINCE-1'))
    r = run_tasks(playbook, ie_service, SINCE, dict(job_id=job['job_id']))
    for name, kind in (('r_garbage', 'a str'), ('r_numbers', 'a list of int')):
        assert r[name]['failed'] and 'since must be the registered result' in r[name]['msg'], r[name]
        assert kind in r[name]['msg'] and r[name]['api_calls']['requests'] == 0
    assert r['r_good']['moved'] == []


FILES = '''
- name: lookup_cache that is a FIFO
  awsie.importexport.ie_job:
    manifest_content: "{{ manifest }}"
    lookup_cache: "{{ fifo }}"
  register: r_cache_fifo
  ignore_errors: true
- name: lookup_cache that is a directory
  awsie.importexport.ie_job:
    manifest_content: "{{ manifest }}"
    lookup_cache: "{{ directory }}"
  register: r_cache_dir
  ignore_errors: true
- name: manifest_src that is a FIFO on the controller
  awsie.importexport.ie_job:
    manifest_src: "{{ fifo }}"
  register: r_src_fifo
  ignore_errors: true
- name: manifest_src that is a FIFO on the managed host
  awsie.importexport.ie_job:
    manifest_src: "{{ fifo }}"
    remote_src: true
  register: r_remote_fifo
  ignore_errors: true
- name: label dest that is a FIFO
  awsie.importexport.ie_shipping_label:
    job_ids: ["{{ job_id }}"]
    dest: "{{ fifo }}"
  register: r_dest_fifo
  ignore_errors: true
- name: label dest that is a directory
  awsie.importexport.ie_shipping_label:
    job_ids: ["{{ job_id }}"]
    dest: "{{ directory }}"
  register: r_dest_dir
  ignore_errors: true
- name: label dest in a directory that does not exist
  awsie.importexport.ie_shipping_label:
    job_ids: ["{{ job_id }}"]
    dest: "{{ directory }}/missing/label.pdf"
  register: r_dest_missing
  ignore_errors: true
- name: label dest that is a directory, in check mode
  awsie.importexport.ie_shipping_label:
    job_ids: ["{{ job_id }}"]
    dest: "{{ directory }}"
  check_mode: true
  register: r_dest_dir_check
  ignore_errors: true
'''


def test_fifos_and_directories_where_files_belong_are_clear_errors_and_no_label_is_asked_for(
        playbook, ie_service_factory, tmp_path):
    service = ie_service_factory(admin_token='files-admin')
    bucket = service.new_bucket()
    job = quiet_client(service).create_job('Import', import_manifest(service.access_key, bucket, device_id='FILES-1'))
    fifo = str(tmp_path / 'a-fifo')
    os.mkfifo(fifo)
    directory = tmp_path / 'a-dir'
    directory.mkdir()
    manifest = import_manifest(service.access_key, bucket, device_id='FILES-2')
    r = run_tasks(playbook, service, FILES, dict(fifo=fifo, directory=str(directory), manifest=manifest,
                                                 job_id=job['job_id']), env=BOUNDED)

    for name, option, kind in (('r_cache_fifo', 'lookup_cache', 'a FIFO'), ('r_cache_dir', 'lookup_cache', 'a directory'),
                               ('r_src_fifo', 'manifest_src', 'a FIFO'), ('r_remote_fifo', 'manifest_src', 'a FIFO'),
                               ('r_dest_fifo', 'dest', 'a FIFO'), ('r_dest_dir', 'dest', 'a directory'),
                               ('r_dest_dir_check', 'dest', 'a directory')):
        result = r[name]
        assert result['failed'] and result['msg'].startswith(option) and kind in result['msg'], (name, result)
        assert result['api_calls']['requests'] == 0, (name, result['api_calls'])
    missing = r['r_dest_missing']
    assert missing['failed'] and 'does not exist' in missing['msg'] and 'no label was asked for' in missing['msg']
    assert missing['api_calls']['requests'] == 0
    # Counted by the service too: not one label (each would carry a new tracking number).
    stats = quiet_client(service).session.post(
        service.url + '_admin/stats', headers={'X-Admin-Token': 'files-admin'}, data=b'{}', timeout=10).json()
    assert 'GetShippingLabel' not in stats['by_action']
    assert not os.path.exists(str(directory / 'missing'))
    assert [j['job_id'] for j in quiet_client(service).iter_jobs()] == [job['job_id']]


LOCAL_SRC = '''
- name: A controller path, relative (found next to the playbook like copy's src)
  awsie.importexport.ie_job:
    manifest_src: drive-c.yml
  register: r_controller
- name: A managed-host path, said so (fetched with stat and slurp through the connection)
  awsie.importexport.ie_job:
    manifest_src: "{{ host_path }}"
    remote_src: true
  register: r_remote
'''


def test_manifest_src_is_a_controller_path_and_remote_src_fetches_it_through_the_connection(playbook, ie_service, tmp_path):
    bucket = ie_service.new_bucket()
    play_dir = tmp_path / 'play'
    play_dir.mkdir()
    (play_dir / 'drive-c.yml').write_text(import_manifest(ie_service.access_key, bucket, device_id='SRC-C'))
    (tmp_path / 'drive-h.yml').write_text(import_manifest(ie_service.access_key, bucket, device_id='SRC-H'))
    out = str(tmp_path / 'src.json')
    (play_dir / 'play.yml').write_text(PLAY % (indent(LOCAL_SRC), "{'r_controller': r_controller, 'r_remote': r_remote}"))
    env = playbook.env(dict(IE_TEST_AK=ie_service.access_key, IE_TEST_SK=ie_service.secret_key, IE_TEST_URL=ie_service.url))
    proc = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', playbook.inventory, str(play_dir / 'play.yml'),
                           '-vvv', '-e', json.dumps(dict(out=out, host_path=str(tmp_path / 'drive-h.yml')))],
                          cwd=str(tmp_path), env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-3000:]
    with open(out) as handle:
        r = json.load(handle)
    assert r['r_controller']['device_id'] == 'SRC-C' and not r['r_controller'].get('warnings')
    assert r['r_remote']['device_id'] == 'SRC-H' and not r['r_remote'].get('warnings')
    # The host read went through the connection; the module itself never did (it runs in-process).
    assert len(re.findall(r'PUT .*AnsiballZ_slurp\.py', proc.stdout)) == 1, proc.stdout
    assert 'AnsiballZ_ie_job' not in proc.stdout
    assert len(list(quiet_client(ie_service).iter_jobs())) == 2


HOST_SRC = '''
- hosts: host01
  gather_facts: false
  module_defaults:
    group/awsie.importexport.ie:
      access_key: AKIAIOSFODNN7EXAMPLE
      secret_key: not-used-the-endpoint-is-closed
      endpoint_url: http://127.0.0.1:9/
      max_attempts: 1
  tasks:
    - name: The old meaning, a path that exists only on the managed host
      awsie.importexport.ie_job:
        manifest_src: "{{ host_only }}"
      register: r_old
      ignore_errors: true
    - name: The same, said so
      awsie.importexport.ie_job:
        manifest_src: "{{ host_only }}"
        remote_src: true
      register: r_remote
      ignore_errors: true
    - name: The same, controller only
      awsie.importexport.ie_job:
        manifest_src: "{{ host_only }}"
        remote_src: false
      register: r_controller_only
      ignore_errors: true
    - name: A path on neither
      awsie.importexport.ie_job:
        manifest_src: /mnt/ie-nowhere.yml
      register: r_nowhere
      ignore_errors: true
    - name: Save
      ansible.builtin.copy:
        content: "{{ {'r_old': r_old, 'r_remote': r_remote, 'r_controller_only': r_controller_only,
                      'r_nowhere': r_nowhere} | to_json }}"
        dest: "{{ out }}"
      delegate_to: localhost
'''


def test_the_old_meaning_of_manifest_src_reads_the_managed_host_with_a_warning(testbed_factory, tmp_path):
    """host01 has its own /mnt: a manifest there is not on the controller. It has no deviceId, so
    "no deviceId" proves it was read (and from where) before any request."""
    bed = testbed_factory(hosts=1, fstypes=[None])
    host_only = '/mnt/ie-host-only-%s.yml' % os.getpid()
    assert not os.path.exists(host_only)
    bed.exec_on('host01', 'cat > %s' % host_only, input='manifestVersion: 2.0\nbucket: on-the-host\n')
    out = str(tmp_path / 'host.json')
    os.chmod(str(tmp_path), 0o755)
    bed.run_playbook(HOST_SRC, extra_vars=dict(out=out, host_only=host_only))
    with open(out) as handle:
        r = json.load(handle)
    for name in ('r_old', 'r_remote'):
        assert r[name]['failed'] and 'has no deviceId' in r[name]['msg'], r[name]
        assert r[name]['api_calls']['requests'] == 0
    assert any('deprecated' in w and 'remote_src: true' in w for w in r['r_old']['warnings'])
    assert not r['r_remote'].get('warnings')
    assert r['r_controller_only']['failed'] and 'is not on the controller' in r['r_controller_only']['msg']
    nowhere = r['r_nowhere']
    assert nowhere['failed'] and 'neither on the controller' in nowhere['msg'] and 'nor on the managed host' in nowhere['msg']
