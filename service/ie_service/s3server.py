# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""moto's S3 API server in a child process (kept out of the service's process: moto's import slows
every request there). The child prints ``s3 listening on URL`` and lives until its stdin closes,
so it never outlives ``ie-service serve``."""

import logging
import subprocess
import sys


def child_main():
    logging.getLogger('werkzeug').setLevel(logging.ERROR)
    from moto.server import ThreadedMotoServer  # pylint: disable=import-outside-toplevel
    server = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    print('s3 listening on http://%s:%d' % (host, port), flush=True)
    try:
        sys.stdin.read()
    finally:
        server.stop()


class S3Child:
    """Start the child; ``.url``; ``.stop()``."""

    def __init__(self, timeout=30):
        self.proc = subprocess.Popen([sys.executable, '-c', 'from ie_service.s3server import child_main; child_main()'],  # pylint: disable=consider-using-with
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if ' on ' not in line:
            self.stop()
            raise RuntimeError('the S3 server (moto) did not start: %r' % line)
        self.url = line.split(' on ', 1)[1].strip()
        del timeout

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(timeout=10)


if __name__ == '__main__':
    child_main()
