"""ie_job_info and ie_shipping_label against the real local service."""
import os

from tests.integration.jobs_helpers import quiet_client, run_tasks
from tests.integration.service_fixtures import import_manifest

INFO = '''
- name: Every job over pages of two
  awsie.importexport.ie_job_info:
    page_size: 2
  register: r_all
- name: At most three
  awsie.importexport.ie_job_info:
    max_jobs: 3
  register: r_three
- name: Only canceled jobs, with their status, in check mode
  awsie.importexport.ie_job_info:
    canceled: true
    include_status: true
  check_mode: true
  register: r_canceled
- name: Export jobs only (none)
  awsie.importexport.ie_job_info:
    job_type: Export
  register: r_export
- name: Created since tomorrow (none), and since yesterday (all)
  awsie.importexport.ie_job_info:
    created_since: "{{ item }}"
    page_size: 2
  loop: ["{{ tomorrow }}", "{{ yesterday }}"]
  register: r_since
- name: A date that is not one
  awsie.importexport.ie_job_info:
    created_since: last tuesday
  register: r_bad_date
  ignore_errors: true
- name: Label for two jobs, saved
  awsie.importexport.ie_shipping_label:
    job_ids: "{{ r_all.job_ids[:2] }}"
    address:
      name: Joe Random
      company: Example Corp
      street1: 123 Any Street
      city: Seattle
      state_or_province: WA
      postal_code: "98104"
      phone_number: 206-555-0100
      country: USA
    dest: "{{ label }}"
  register: r_label
- name: Again, not changed
  awsie.importexport.ie_shipping_label:
    job_ids: "{{ r_all.job_ids[:2] }}"
    address: "{{ address }}"
    dest: "{{ label }}"
  register: r_label_again
- name: Check mode to another file writes nothing
  awsie.importexport.ie_shipping_label:
    job_ids: "{{ r_all.job_ids[:1] }}"
    dest: "{{ label }}.other"
  check_mode: true
  register: r_label_check
- name: Force asks for a new label (new tracking number) and replaces the file
  awsie.importexport.ie_shipping_label:
    job_ids: "{{ r_all.job_ids[:2] }}"
    address: "{{ address }}"
    dest: "{{ label }}"
    force: true
  register: r_label_force
- name: No label for a canceled job
  awsie.importexport.ie_shipping_label:
    job_ids: ["{{ canceled_id }}"]
  register: r_label_canceled
  ignore_errors: true
'''


def test_listing_filters_pages_and_labels(playbook, ie_service, tmp_path):
    import datetime
    bucket = ie_service.new_bucket()
    client = quiet_client(ie_service)
    ids = [client.create_job('Import', import_manifest(ie_service.access_key, bucket, device_id='LI-%d' % n))['job_id']
           for n in range(5)]
    client.cancel_job(ids[1])
    today = datetime.datetime.now(datetime.timezone.utc).date()
    address = dict(name='Joe Random', company='Example Corp', street1='123 Any Street', city='Seattle',
                   state_or_province='WA', postal_code='98104', phone_number='206-555-0100', country='USA')
    label = str(tmp_path / 'label.pdf')
    r = run_tasks(playbook, ie_service, INFO, dict(
        tomorrow=str(today + datetime.timedelta(days=2)), yesterday=str(today - datetime.timedelta(days=2)),
        label=label, address=address, canceled_id=ids[1]))

    assert sorted(r['r_all']['job_ids']) == sorted(ids)
    assert r['r_all']['api_calls']['by_action'] == {'ListJobs': 3}  # 2 + 2 + 1
    assert r['r_three']['job_ids'] == r['r_all']['job_ids'][:3]
    canceled = r['r_canceled']['jobs']
    assert [j['job_id'] for j in canceled] == [ids[1]] and canceled[0]['is_canceled']
    assert canceled[0]['status']['progress_code'] == 'Canceled'
    assert r['r_export']['jobs'] == []
    none, every = r['r_since']['results']
    assert none['jobs'] == [] and none['api_calls']['by_action'] == {'ListJobs': 1}
    assert len(every['jobs']) == 5
    assert r['r_bad_date']['failed'] and 'ISO 8601' in r['r_bad_date']['msg']

    first, again = r['r_label'], r['r_label_again']
    assert first['changed'] and first['shipping_label_url'].endswith('.pdf') and first['size'] > 100
    with open(label, 'rb') as handle:
        assert handle.read(4) == b'%PDF'
    assert again['changed'] is False and again['dest'] == label and again['kept_existing']
    assert 'GetShippingLabel' not in again['api_calls']['by_action']
    assert r['r_label_force']['changed'] and r['r_label_force']['shipping_label_url'] != first['shipping_label_url']
    assert r['r_label_check']['changed'] and not os.path.exists(label + '.other')
    refused = r['r_label_canceled']
    assert refused['failed'] and refused['error']['code'] == 'CanceledJobIdException'


TLS = '''
- name: The self-signed endpoint is refused by default
  awsie.importexport.ie_job_info:
  register: r_refused
  ignore_errors: true
- name: Trusted through ca_bundle, with short timeouts and few attempts
  awsie.importexport.ie_job_info:
    ca_bundle: "{{ ca_bundle }}"
    connect_timeout: 5
    read_timeout: 10
    max_attempts: 2
    max_retry_time: 5
  register: r_ca
- name: Not verified when told so
  awsie.importexport.ie_job_info:
    validate_certs: false
  register: r_unverified
'''


def test_tls_endpoint_is_verified_unless_told_otherwise(playbook, ie_service_factory):
    service = ie_service_factory(tls=True)
    assert service.url.startswith('https://')
    r = run_tasks(playbook, service, TLS, dict(ca_bundle=service.ca_bundle))
    refused = r['r_refused']
    assert refused['failed'] and refused['error']['code'] == 'SSLError' and 'ca_bundle' in refused['msg']
    assert refused['error']['attempts'] == 1  # a certificate problem is not retried
    assert r['r_ca']['jobs'] == [] and r['r_ca']['api_calls']['by_action'] == {'ListJobs': 1}
    assert r['r_unverified']['jobs'] == []
