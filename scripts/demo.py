#!/usr/bin/env python
"""``make demo``: the main job of awsie.importexport end to end, on built-in defaults.

The demo is playbooks; this script sets the stage, runs them, and cleans up:

1. starts the local Import/Export service and creates the buckets of the fleet in its S3 server;
2. makes a loop drive for each disk of ``docs/examples/demo/inventory.yml`` (two hosts, three drives);
3. runs ``playbooks/prepare_drives.yml``, then again (it must change nothing but mounts), then
   ``playbooks/poll_jobs.yml``, ``docs/examples/demo/ship.yml`` (the service receives each drive)
   and ``poll_jobs.yml`` until every job is terminal;
4. prints the report and the objects in S3, and checks every job is Complete with every file in S3.

``--hosts N`` (``make demo HOSTS=N``): the same job over SSH on N hosts of the multi-host test bed
(``tests/support/testbed.py``), one drive each (ext4, FAT32, NTFS in turn), with
``playbooks/ship.yml`` run twice (the second must change nothing), the inventory's role variables
in ``docs/examples/demo/fleet.yml``.

``--transport email`` (``make demo TRANSPORT=email``): the service also runs its mail front and the
jobs are made by mail (``drive_prepare_transport: email``); the summary lists the mails.

``--offline``: no service; ``docs/examples/demo/sign_offline.yml`` writes and verifies SIGNATUREs
of drives with fixed job ids. Everything made (service, mounts, loop devices, images, work
directory) is removed on the way out, also on SIGINT/SIGTERM/SIGHUP. Exit status 0 means every
step passed. Run as root (loop devices and mounts).
"""
import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
from urllib.parse import urlsplit

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
# pylint: disable=wrong-import-position
from tests.support.drives import LoopDrive, unmount  # noqa: E402
from tests.support.playbooks import PlaybookRunner, changed_tasks, recap  # noqa: E402
from tests.support.processes import Cleanup, raise_on_signals  # noqa: E402
from tests.support.service import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, IEService  # noqa: E402
from tests.support.testbed import Testbed  # noqa: E402
from ansible_collections.awsie.importexport.plugins.module_utils import signing  # noqa: E402

EXAMPLES = os.path.join(REPO, 'docs', 'examples')
DEMO = os.path.join(EXAMPLES, 'demo')
INVENTORY = os.path.join(DEMO, 'inventory.yml')
FLEET = os.path.join(DEMO, 'fleet.yml')
DATASETS = ('photos', 'ledgers', 'archive')  # docs/examples/data/<set>, dealt out to the hosts in turn
PLAYBOOKS = os.path.join(REPO, 'playbooks')
LINE = '-' * 78
DEMO_MAIL, DEMO_MAIL_PASSWORD = 'ops@example.com', 'demo-mail-Pa55'


class DemoError(Exception):
    pass


def log(msg):
    print('[demo] %s' % msg, flush=True)


class Demo:
    """The work directory, the drives, and the playbook runs of one demo."""

    def __init__(self, workdir, cleanup):
        self.workdir, self.cleanup = workdir, cleanup
        with open(INVENTORY) as handle:
            inventory = yaml.safe_load(handle)
        self.disks = inventory['all']['vars']['demo_disks']
        group = inventory['all']['children']['ie_drive_hosts']
        self.fleet = [(host, drive['name'], drive['manifest']['bucket'])
                      for host, host_vars in group['hosts'].items() for drive in host_vars['drive_prepare_drives']]
        self.log_bucket = group['vars']['drive_prepare_manifest_defaults']['logBucket']
        self.drives = {}
        self.runner = PlaybookRunner(workdir)
        self.bed, self.inventory = None, INVENTORY  # --hosts: the test bed, and the inventory written for it
        self.extra_vars = {'demo_workdir': workdir, 'demo_devices': {}}
        self.env = {'AWS_ACCESS_KEY_ID': DEMO_ACCESS_KEY, 'AWS_SECRET_ACCESS_KEY': DEMO_SECRET_KEY,
                    'ANSIBLE_PIPELINING': '1', 'ANSIBLE_CACHE_PLUGIN': 'ansible.builtin.jsonfile',
                    'ANSIBLE_CACHE_PLUGIN_CONNECTION': os.path.join(workdir, 'facts')}

    def make_drive(self, name, mount=False):
        disk = self.disks[name]
        # No label on FAT: fusefat (used here and by ie-service receive) lists a FAT volume label as a file.
        drive = LoopDrive(self.workdir, disk['fstype'], disk['size_mb'], None if disk['fstype'] == 'fat32' else name,
                          name=name, mountpoint=os.path.join(self.workdir, 'mnt', name))
        self.cleanup.add('loop drive %s' % name, drive.close, remove_image=True)
        self.drives[name] = drive
        self.extra_vars['demo_devices'][name] = drive.device
        if mount:
            drive.mount()
            drive.copy_in(os.path.join(EXAMPLES, 'data', name))
        return drive

    def playbook(self, path, label, *extra):
        variables = os.path.join(self.workdir, 'demo-vars.json')
        with open(variables, 'w') as handle:
            json.dump(self.extra_vars, handle)
        log('ansible-playbook %s: %s' % (os.path.relpath(path, REPO), label))
        started = time.monotonic()
        if self.bed:
            # From the bed's controller namespace, over SSH; the role variables come from fleet.yml.
            args = ['-i', FLEET] + [arg for value in ['@' + variables] + list(extra) for arg in ('-e', value)]
            proc = self.bed.run_playbook(path, extra_args=args, inventory=self.inventory, env=self.runner.env(self.env),
                                         expect_rc=None).proc
        else:
            proc = self.runner.run(path, inventory=INVENTORY, extra_vars=['@' + variables] + list(extra), env=self.env,
                                   expect_rc=None)
        with open(os.path.join(self.workdir, 'ansible.log'), 'a') as handle:
            handle.write('### %s\n%s\n%s\n' % (label, proc.stdout, proc.stderr))
        for host, counts in sorted(recap(proc.stdout).items()):
            log('  %s: %s' % (host, ' '.join('%s=%d' % item for item in counts.items())))
        log('  (%.1f s, rc=%d)' % (time.monotonic() - started, proc.returncode))
        if proc.returncode != 0:
            raise DemoError('ansible-playbook %s failed (rc=%d)\n%s\n%s' % (label, proc.returncode, proc.stdout[-8000:],
                                                                            proc.stderr[-3000:]))
        return proc


def demo_offline(demo):
    """No service: SIGNATURE 1.0 written and verified on drives with fixed job ids."""
    names = [name for name, disk in demo.disks.items() if 'offline_job_id' in disk]
    for name in names:
        drive = demo.make_drive(name, mount=True)
        log('drive %-8s %-5s %s mounted at %s, sample data copied' % (name, drive.fstype, drive.device, drive.mountpoint))
    demo.playbook(os.path.join(DEMO, 'sign_offline.yml'), 'write and verify SIGNATUREs')
    print('\n%s\nDemo summary: %d drives signed and verified without the service\n%s' % ('=' * 78, len(names), LINE))
    for name in names:
        drive = demo.drives[name]
        with open(os.path.join(drive.mountpoint, signing.SIGNATURE_FILE_NAME)) as handle:
            signature = handle.read().strip().replace('\n', '\n    ')
        files = sum(len(found) for _root, _dirs, found in os.walk(drive.mountpoint))
        job_id = demo.disks[name]['offline_job_id']
        print('%s (%s, %d files, job %s):/SIGNATURE\n    %s' % (name, drive.fstype, files, job_id, signature))
    print('=' * 78)
    return True


def mail_front(demo, service):
    """TRANSPORT=email: the role's mail variables for the service's mail front (docs/email.md)."""
    with open(os.path.join(service.state_dir, 'service.json')) as handle:
        mail = json.load(handle)['mail']
    if not mail['mail_dir'].startswith(service.state_dir + os.sep):  # outside the work directory: remove it too
        demo.cleanup.add('mailboxes', shutil.rmtree, mail['mail_dir'], ignore_errors=True)
    demo.extra_vars.update(drive_prepare_transport='email', drive_prepare_mail=dict(
        smtp_host='127.0.0.1', smtp_port=mail['smtp_port'], smtp_user=DEMO_MAIL, smtp_password=DEMO_MAIL_PASSWORD,
        mail_from=DEMO_MAIL, imap_port=mail['imap_port'], imap_password=DEMO_MAIL_PASSWORD, ca_bundle=mail['ca_bundle'],
        reply_timeout=60))
    log('mail front: SMTP 127.0.0.1:%d, IMAP 127.0.0.1:%d (STARTTLS), mailbox %s' % (
        mail['smtp_port'], mail['imap_port'], DEMO_MAIL))


def print_mail_log(service):
    """What was sent to the service and what it answered, from its mail log."""
    from ie_service.mailcmds import mail_log  # pylint: disable=import-outside-toplevel
    entries = mail_log(service.state_dir)
    commands = [e['command'] for e in entries]
    print('%s\nMails: %d sent to the service (%s), %d replies delivered'
          % (LINE, len(entries), ', '.join('%d %s' % (commands.count(c), c) for c in sorted(set(commands), key=commands.index)),
             sum(e['delivered'] for e in entries)))
    polls = {}
    for entry in entries:
        if entry['command'] == 'GET STATUS':  # one line per job below
            polls.setdefault(entry['job_id'], []).append(entry['status'] + ((' ' + entry['code']) if entry['code'] else ''))
            continue
        print('  %-10s %s -> RE: %s %s%s' % (entry['command'], entry['message_id'], entry['status'], entry['job_id'] or '',
                                             (' ' + entry['code']) if entry['code'] else ''))
    for job_id, answers in polls.items():
        print('  GET STATUS JOBID: %s, %d mails -> RE: %s' % (job_id, len(answers), ', '.join(
            '%d %s' % (answers.count(a), a) for a in sorted(set(answers)))))


def report_cells(report, column):
    """{drive: the cell of ``column``} from the rows of job_status's markdown report."""
    cells, header = {}, None
    for line in report.splitlines():
        if not line.startswith('|'):
            header = None
            continue
        row = [cell.strip() for cell in re.split(r'(?<!\\)\|', line)[1:-1]]
        if header is None:
            header = row
        elif 'drive' in header and column in header and not set(line) <= set('|-: '):
            named = dict(zip(header, row))
            cells[named['drive']] = named[column]
    return cells


def print_data_per_drive(demo, prepare_stdout):
    """Each drive's plan and load (as the first prepare_drives.yml run printed them) and its reconcile."""
    plans = dict(re.findall(r'"msg": "([^":]+): plan - (.*)"$', prepare_stdout, re.M))
    loads = dict(re.findall(r'^\[[^\]]+\] ([^:]+): done after (.*)$', prepare_stdout, re.M))
    with open(os.path.join(demo.workdir, 'report.md')) as handle:
        verified = report_cells(handle.read(), 'files verified / not')
    print('%s\nData per drive (ie_plan, ie_load, ie_reconcile):' % LINE)
    for host, name, _bucket in demo.fleet:
        print('  %s/%s\n    plan:      %s\n    load:      %s\n    reconcile: %s files verified / not'
              % (host, name, plans.get(name, 'not shown'), ('done after ' + loads[name]) if name in loads else 'not shown',
                 verified.get(name, 'not shown')))


def demo_service(demo, rerun=True, transport='api'):
    """The main job against the local service (TRANSPORT=email: the jobs made by mail)."""
    extra = ['--smtp-port', '0', '--mail-user', '%s:%s:%s' % (DEMO_MAIL, DEMO_MAIL_PASSWORD, DEMO_ACCESS_KEY)]
    service = IEService(os.path.join(demo.workdir, 'service'), step_seconds=2,
                        extra_args=extra if transport == 'email' else ())
    demo.cleanup.add('ie-service', service.stop)
    demo.extra_vars['demo_state_dir'] = service.state_dir
    if transport == 'email':
        mail_front(demo, service)
    demo.env['AWS_URL'] = service.url
    demo.extra_vars['demo_s3_url'] = service.s3_url  # job_status reconciles against the service's own S3
    log('ie-service listening on %s (S3 at %s)' % (service.url, service.s3_url))
    s3 = service.s3_client()
    buckets = sorted(set([demo.log_bucket] + [bucket for _host, _name, bucket in demo.fleet]))
    for bucket in buckets:
        s3.create_bucket(Bucket=bucket)
    log('S3 buckets created: %s' % ', '.join(buckets))
    for host, name, _bucket in demo.fleet:
        drive = demo.make_drive(name)
        # The role mounts and unmounts; this only makes sure nothing stays mounted on the way out.
        demo.cleanup.add('mount of %s' % name, unmount, os.path.join(demo.workdir, 'mnt', host, name))
        log('drive %-8s %-5s on %-11s for host %s' % (name, drive.fstype, drive.device, host))

    prepare, poll = os.path.join(PLAYBOOKS, 'prepare_drives.yml'), os.path.join(PLAYBOOKS, 'poll_jobs.yml')
    first_run = demo.playbook(prepare, 'prepare every drive')
    first = recap(first_run.stdout)
    second = {}
    if rerun:
        proc = demo.playbook(prepare, 'again: nothing but mounts may change')
        second = recap(proc.stdout)
        unexpected = [task for task in changed_tasks(proc.stdout) if 'mount' not in task[0].lower()]
        if unexpected:
            raise DemoError('the second prepare_drives run changed more than mounts: %s' % unexpected)
    demo.playbook(poll, 'poll before shipping')
    demo.playbook(os.path.join(DEMO, 'ship.yml'), 'ship every drive to the service')
    shipped = []
    for host in sorted(set(host for host, _name, _bucket in demo.fleet)):
        with open(os.path.join(demo.workdir, 'shipped-%s.json' % host)) as handle:
            shipped += json.load(handle)
    for item in shipped:
        name = os.path.basename(item['path'])[:-len('.img')]
        log('shipped %-8s job %s: %s, %s' % (name, item['job_id'], item.get('file_system'), item.get('signature', '?')))
    demo.playbook(poll, 'poll until every job is terminal', 'job_status_wait=true')

    hosts = sorted(set(host for host, _name, _bucket in demo.fleet))
    print('\n%s\nmake demo: %d drives on %d hosts through the local Import/Export service\n%s'
          % ('=' * 78, len(demo.fleet), len(hosts), LINE))
    print('prepare_drives.yml  1st run: %s' % ', '.join('%s changed=%d' % (h, r['changed']) for h, r in sorted(first.items())))
    if rerun:
        print('prepare_drives.yml  2nd run: %s' % ', '.join('%s changed=%d' % (h, r['changed']) for h, r in sorted(second.items())))
    print_data_per_drive(demo, first_run.stdout)
    with open(os.path.join(demo.workdir, 'report.md')) as handle:
        print('%s\n%s\n%s\nObjects in S3:' % (LINE, handle.read().rstrip(), LINE))
    for bucket in buckets:
        keys = [o['Key'] for o in s3.list_objects_v2(Bucket=bucket).get('Contents', [])]
        print('  s3://%s/ (%d)\n%s' % (bucket, len(keys), ''.join('    %s\n' % key for key in keys)), end='')
    if transport == 'email':
        print_mail_log(service)
    print('=' * 78)
    return check(service, s3, demo.fleet, shipped)


def demo_fleet(demo, count):
    """The main job over SSH on <count> hosts of the test bed, one drive each, through the local service."""
    service = IEService(os.path.join(demo.workdir, 'service'), step_seconds=2)
    demo.cleanup.add('ie-service', service.stop)
    demo.extra_vars['demo_state_dir'] = service.state_dir
    demo.env['AWS_URL'] = service.url
    demo.extra_vars['demo_s3_url'] = service.s3_url  # job_status reconciles against the service's own S3
    log('ie-service listening on %s (S3 at %s)' % (service.url, service.s3_url))
    s3 = service.s3_client()
    buckets = sorted(set([demo.log_bucket] + ['demo-' + name for name in DATASETS]))
    for bucket in buckets:
        s3.create_bucket(Bucket=bucket)
    log('S3 buckets created: %s' % ', '.join(buckets))
    bed = Testbed(hosts=count, drives_per_host=1, drive_size_mb=64, fstypes=['ext4', 'fat32', 'ntfs'], groups=['ie_drive_hosts'])
    demo.cleanup.add('test bed', bed.close)
    bed.start()
    demo.bed = bed
    # Controller-side tasks run in the bed's controller namespace: the service (and its S3 server, which
    # `ie-service receive` writes to) are reached there on the same ports.
    for url in (service.url, service.s3_url):
        bed.forward_port(urlsplit(url).port)
    log('test bed %s up in %.1f s: %d hosts over SSH, controller namespace %s' % (bed.run_id, bed.timings['total'], count, bed.ctl_netns))
    datasets = {host.name: DATASETS[(host.index - 1) % len(DATASETS)] for host in bed.hosts}
    demo.inventory = bed.write_inventory(os.path.join(demo.workdir, 'hosts.json'), host_vars=lambda host: {
        'drive_prepare_drives': [{'name': drive.name, 'device': drive.device, 'data_src': os.path.join(EXAMPLES, 'data', datasets[host.name]),
                                  'manifest': {'bucket': 'demo-' + datasets[host.name], 'prefix': host.name + '/'}}
                                 for drive in host.drives],
        'demo_images': {drive.name: drive.image for drive in host.drives}})
    demo.fleet = [(host.name, drive.name, 'demo-' + datasets[host.name]) for host in bed.hosts for drive in host.drives]
    for host in bed.hosts:
        for drive in host.drives:
            log('%s (%s): drive %s %-5s on %s, data %s'
                % (host.name, host.address, drive.name, drive.fstype, drive.device, datasets[host.name]))

    ship, poll = os.path.join(PLAYBOOKS, 'ship.yml'), os.path.join(PLAYBOOKS, 'poll_jobs.yml')
    runs = {}
    started = time.monotonic()
    first = demo.playbook(ship, 'ship.yml: prepare every drive, jobs, SIGNATUREs, label, packing slips')
    runs['ship.yml 1st run'] = (time.monotonic() - started, recap(first.stdout))
    started = time.monotonic()
    again = demo.playbook(ship, 'ship.yml again: nothing may change')
    runs['ship.yml 2nd run'] = (time.monotonic() - started, recap(again.stdout))
    unexpected = changed_tasks(again.stdout)
    if unexpected:
        raise DemoError('the second ship.yml run changed something: %s' % unexpected)
    demo.playbook(poll, 'poll before the drives reach the service')
    demo.playbook(os.path.join(DEMO, 'ship.yml'), 'the service receives every drive')
    shipped = {}
    for host in bed.hosts:
        with open(os.path.join(demo.workdir, 'shipped-%s.json' % host.name)) as handle:
            shipped[host.name] = json.load(handle)
    started = time.monotonic()
    demo.playbook(poll, 'poll until every job is terminal', 'job_status_wait=true')
    runs['poll until terminal'] = (time.monotonic() - started, {})

    print('\n%s\nmake demo HOSTS=%d: %d drives on %d SSH hosts through the local Import/Export service\n%s'
          % ('=' * 78, count, len(demo.fleet), count, LINE))
    for label, (seconds, counts) in runs.items():
        changed = sum(item['changed'] for item in counts.values())
        print('%-22s %6.1f s%s' % (label, seconds, ', changed=%d over %d hosts' % (changed, len(counts)) if counts else ''))
    outputs = os.path.join(demo.workdir, 'manifests')
    written = sorted(name for name in os.listdir(outputs) if name.endswith(('.pdf', '.csv')))
    print('Controller outputs in %s: %s' % (outputs, ', '.join(written)))
    with open(os.path.join(demo.workdir, 'report.md')) as handle:
        print('%s\n%s\n%s' % (LINE, handle.read().rstrip(), LINE))
    print('=' * 78)
    ok = True
    client = service.client()
    for host, name, bucket in demo.fleet:
        job = next((item for item in shipped.get(host, []) if item['path'] == bed.host(host).drives[0].image), None)
        progress = client.get_status(JobId=job['job_id'])['ProgressCode'] if job else 'not shipped'
        expected = sum(len(found) for _root, _dirs, found in os.walk(os.path.join(EXAMPLES, 'data', bucket[len('demo-'):])))
        got = s3.list_objects_v2(Bucket=bucket, Prefix=host + '/').get('KeyCount', 0)
        log('%s/%s (%s) job %s: %s, %d of %d files in s3://%s/%s/'
            % (host, name, bed.host(host).drives[0].fstype, job and job['job_id'], progress, got, expected, bucket, host))
        ok = ok and progress == 'Complete' and got == expected
    return ok


def check(service, s3, fleet, shipped):
    """Every job Complete (asked of the service), every file of the drive's data in its bucket."""
    ok = len(shipped) == len(fleet)
    client = service.client()
    for host, name, bucket in fleet:
        job_id = next((item['job_id'] for item in shipped if item['path'].endswith('/%s.img' % name)), None)
        progress = client.get_status(JobId=job_id)['ProgressCode'] if job_id else 'not shipped'
        expected = sum(len(found) for _root, _dirs, found in os.walk(os.path.join(EXAMPLES, 'data', name)))
        got = s3.list_objects_v2(Bucket=bucket, Prefix=name + '/').get('KeyCount', 0)
        if progress != 'Complete' or got != expected:
            log('%s/%s (job %s): progress %s, %d of %d files in s3://%s' % (host, name, job_id, progress, got, expected, bucket))
            ok = False
    return ok


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--keep-workdir', action='store_true', help='do not delete the work directory (debugging)')
    parser.add_argument('--offline', action='store_true', help='no service: sign drives with fixed job ids')
    parser.add_argument('--no-rerun', action='store_true', help='skip the second (idempotency) prepare run')
    parser.add_argument('--hosts', type=int, default=0, metavar='N',
                        help='over SSH on N hosts of the multi-host test bed (make demo HOSTS=N), one drive each')
    parser.add_argument('--transport', choices=['api', 'email'], default='api',
                        help='email: the jobs are made by mail (make demo TRANSPORT=email; docs/email.md)')
    args = parser.parse_args(argv)
    if args.hosts and args.offline:
        parser.error('--hosts and --offline do not go together')
    if args.transport == 'email' and (args.hosts or args.offline):
        parser.error('--transport email goes with the local demo only (not --hosts, not --offline)')
    if os.geteuid() != 0:
        print('make demo needs root (loop devices and mounts)', file=sys.stderr)
        return 2
    raise_on_signals()
    workdir = tempfile.mkdtemp(prefix='ie-demo-')
    started = time.monotonic()
    ok = False
    try:
        with Cleanup(report=log) as cleanup:
            if not args.keep_workdir:
                cleanup.add('work directory', shutil.rmtree, workdir)
            demo = Demo(workdir, cleanup)
            if args.hosts:
                ok = demo_fleet(demo, args.hosts)
            else:
                ok = demo_offline(demo) if args.offline else demo_service(demo, not args.no_rerun, args.transport)
            log('cleaning up')
    except DemoError as exc:
        log('FAILED: %s' % exc)
    except Exception:  # pylint: disable=broad-except
        log('FAILED with an unexpected error:\n%s' % traceback.format_exc())
    except KeyboardInterrupt as exc:
        log('interrupted (%s); cleaned up' % (exc or 'SIGINT'))
        return 130
    log('%s in %.1f s; mounts, loop devices and images removed' % ('PASSED' if ok else 'FAILED', time.monotonic() - started))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
