# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``ie-service``: serve the local AWS Import/Export service, and administer a state dir."""

import argparse
import json
import os
import signal
import ssl
import sys
import threading

from . import __version__, drive, mailfront, tls
from .accounts import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, parse_account, read_accounts_file
from .api import Service
from .auth import Authenticator
from .clock import Clock
from .faults import Faults, FaultSpecError, write_faults
from .s3server import S3Child
from .server import Server
from .state import iso, write_service_file
from .store import Store

DEFAULT_STEP_SECONDS = 3600.0


def build_parser():
    parser = argparse.ArgumentParser(prog='ie-service', description=__doc__)
    parser.add_argument('--version', action='version', version='ie-service %s' % __version__)
    sub = parser.add_subparsers(dest='command', required=True)

    serve = sub.add_parser('serve', help='run the service (Query API 2010-06-01) on loopback',
                           description='Run the local AWS Import/Export service. The first line on stdout says where it '
                                       'listens; the second where its S3 API server is.')
    serve.add_argument('--host', default='127.0.0.1', help='address to listen on (default 127.0.0.1; keep it on loopback)')
    serve.add_argument('--port', type=int, default=0, help='TCP port; 0 picks a free one (default 0)')
    serve.add_argument('--state-dir', required=True, help='directory for jobs (SQLite), clock, faults, labels, TLS files')
    serve.add_argument('--account', action='append', type=parse_account, default=[], metavar='ACCESS_KEY:SECRET_KEY',
                       help='an account (repeatable); without --account/--accounts-file the demo account %s is used'
                            % DEMO_ACCESS_KEY)
    serve.add_argument('--accounts-file', help='file of accounts: a YAML/JSON mapping access key -> secret key, or lines '
                                               'ACCESS_KEY:SECRET_KEY')
    serve.add_argument('--s3-endpoint', help='URL of the S3 API server to use; default: start moto\'s S3 server on a free '
                                             'loopback port')
    serve.add_argument('--fault', action='append', default=[], metavar='SPEC',
                       help='[Action:]kind=value, kind one of throttle, error5xx, drop (rates 0..1) or latency (seconds); '
                            'repeatable; replaces the faults stored in the state dir')
    serve.add_argument('--clock-speed', type=float, default=None,
                       help='service clock speed (1 = real time; 3600 = one service hour per second); kept in the state dir')
    serve.add_argument('--step-seconds', type=float, default=DEFAULT_STEP_SECONDS,
                       help='service-clock seconds between the steps after a device arrives (Pending -> InProgress -> '
                            'Complete -> Returned); default %d' % DEFAULT_STEP_SECONDS)
    serve.add_argument('--daily-quota', type=int, default=50,
                       help='CreateJob requests allowed per account per service-clock day (default 50, as the real '
                            'service; raise it for load tests)')
    serve.add_argument('--admin-token', help='enable the admin HTTP endpoint /_admin/ (receive, clock, faults, stats) with '
                                             'this token in the X-Admin-Token header; off by default')
    serve.add_argument('--tls', action='store_true', help='serve HTTPS with a self-signed certificate generated into '
                                                          'STATE_DIR/tls/cert.pem')
    serve.add_argument('--verbose', action='store_true', help='log every request and internal errors to stderr')
    mailfront.add_arguments(serve)

    fault = sub.add_parser('fault', help='set or clear faults of a (running) service')
    fault.add_argument('--state-dir', required=True)
    fault.add_argument('--clear', action='store_true', help='remove every fault (before adding SPECs, if any)')
    fault.add_argument('specs', nargs='*', metavar='SPEC', help='[Action:]kind=value')

    receive = sub.add_parser('receive', help='a device arrives at AWS for a job: verify SIGNATURE, load or export data')
    receive.add_argument('job_id')
    receive.add_argument('path', help='a disk image, a block device, or a directory (the device\'s file system)')
    receive.add_argument('--state-dir', required=True)

    clock = sub.add_parser('clock', help='show or move the service clock')
    clock_sub = clock.add_subparsers(dest='clock_command', required=True)
    show = clock_sub.add_parser('show', help='print the service time')
    show.add_argument('--state-dir', required=True)
    advance = clock_sub.add_parser('advance', help='move the service clock forward')
    advance.add_argument('--state-dir', required=True)
    advance.add_argument('--days', type=float, default=0)
    advance.add_argument('--hours', type=float, default=0)
    advance.add_argument('--seconds', type=float, default=0)
    speed = clock_sub.add_parser('speed', help='set the clock speed')
    speed.add_argument('--state-dir', required=True)
    speed.add_argument('value', type=float)
    return parser


def cmd_serve(args):
    state_dir = os.path.abspath(args.state_dir)
    os.makedirs(state_dir, exist_ok=True)
    accounts = {}
    if args.accounts_file:
        accounts.update(read_accounts_file(args.accounts_file))
    accounts.update(dict(args.account))
    if not accounts:
        accounts = {DEMO_ACCESS_KEY: DEMO_SECRET_KEY}
    store = Store(state_dir)
    store.set_accounts(accounts)
    clock = Clock(state_dir)
    if args.clock_speed is not None:
        clock.set_speed(args.clock_speed)
    try:
        write_faults(state_dir, args.fault, replace=True)
    except FaultSpecError as exc:
        raise SystemExit('ie-service: %s' % exc) from None

    moto = None
    s3_endpoint = args.s3_endpoint
    if not s3_endpoint:
        moto = S3Child()
        s3_endpoint = moto.url
    s3_endpoint = s3_endpoint.rstrip('/')

    service = Service(store, clock, s3_endpoint, state_dir)
    service.daily_quota = args.daily_quota
    faults = Faults(state_dir)
    authenticator = Authenticator(store.secret_of)

    def receive(job_id, path):
        return drive.receive(state_dir, job_id, path)

    server = Server((args.host, args.port), service, authenticator, faults, args.admin_token, receive, args.verbose)
    scheme = 'http'
    if args.tls:
        cert, key = tls.ensure_certificate(state_dir)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = 'https'
    host, port = server.server_address[:2]
    url = '%s://%s:%d/' % (scheme, host, port)
    service.base_url = url.rstrip('/')
    info = {'url': url, 's3_endpoint': s3_endpoint, 'pid': os.getpid(), 'step_seconds': args.step_seconds,
            'started': iso(clock.now())}
    if args.tls:
        info['ca_bundle'] = os.path.join(state_dir, 'tls', 'cert.pem')
    try:
        mail = mailfront.start_from_args(args, service, state_dir, args.verbose)
    except SystemExit:
        if moto is not None:
            moto.stop()
        raise
    if mail is not None:
        info['mail'] = mail.info()
    write_service_file(state_dir, info)

    print('ie-service listening on %s' % url, flush=True)
    print('ie-service s3 endpoint %s/%s' % (s3_endpoint, '' if moto else ' (external)'), flush=True)
    if args.tls:
        print('ie-service tls certificate %s' % info['ca_bundle'], flush=True)
    if mail is not None:
        print('ie-service mail smtp 127.0.0.1:%d imap 127.0.0.1:%d (STARTTLS, certificate %s)'
              % (mail.smtp_port, mail.imap_port, mail.cert), flush=True)

    def stop(_signum, _frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        if mail is not None:
            mail.stop()
        if moto is not None:
            moto.stop()
    return 0


def cmd_fault(args):
    if not args.clear and not args.specs:
        raise SystemExit('ie-service fault: give SPECs and/or --clear')
    try:
        if args.clear:
            write_faults(args.state_dir, [], replace=True)
        current = write_faults(args.state_dir, args.specs)
    except FaultSpecError as exc:
        raise SystemExit('ie-service fault: %s' % exc) from None
    print(json.dumps({'faults': current}))
    return 0


def cmd_clock(args):
    clock = Clock(args.state_dir)
    if args.clock_command == 'advance':
        seconds = args.days * 86400 + args.hours * 3600 + args.seconds
        try:
            clock.advance(seconds)
        except ValueError as exc:
            raise SystemExit('ie-service clock: %s' % exc) from None
    elif args.clock_command == 'speed':
        try:
            clock.set_speed(args.value)
        except ValueError as exc:
            raise SystemExit('ie-service clock: %s' % exc) from None
    print(json.dumps({'now': iso(clock.now()), 'speed': clock.speed}))
    return 0


def cmd_receive(args):
    try:
        result = drive.receive(os.path.abspath(args.state_dir), args.job_id, args.path)
    except drive.ReceiveError as exc:
        print(json.dumps({'error': str(exc)}))
        print('ie-service receive: %s' % exc, file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


def main(argv=None):
    args = build_parser().parse_args(argv)
    handler = {'serve': cmd_serve, 'fault': cmd_fault, 'clock': cmd_clock, 'receive': cmd_receive}[args.command]
    return handler(args)


if __name__ == '__main__':
    sys.exit(main())
