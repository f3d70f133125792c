# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The mailboxes of the mail front: Debian's Dovecot, configured into a directory of its own.

``Dovecot(directory, port, cert, key)`` writes a minimal configuration (IMAP only, on
127.0.0.1, STARTTLS with the service's certificate, users from a passwd-file with salted
SHA-256 passwords, Maildir mailboxes), starts ``dovecot -F`` as a child (so it ends with the
service's process group) and delivers mails with Dovecot's own LDA (``dovecot-lda``).

Dovecot runs mail processes as its ``dovecot`` user, never as root, so that user must be able to
reach the directory: ``mail_directory`` picks ``STATE_DIR/mail`` when it can, else a directory
under the system's temporary directory named after the state dir (a state dir inside a private
directory, such as pytest's).
"""

import base64
import hashlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time

LDA = '/usr/lib/dovecot/dovecot-lda'
USER = 'dovecot'


class MailboxError(RuntimeError):
    """Dovecot is missing, cannot start, or cannot deliver; the message says what to do."""


def dovecot_ids():
    try:
        entry = pwd.getpwnam(USER)
    except KeyError:
        raise MailboxError('there is no %s user: install Dovecot (apt-get install dovecot-imapd)' % USER) from None
    return entry.pw_uid, entry.pw_gid


def reachable(path, uid, gid):
    """True when a process with ``uid``/``gid`` can traverse every existing directory down to ``path``."""
    current = os.path.abspath(path)
    parts = []
    while True:
        parts.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for directory in parts:
        try:
            info = os.stat(directory)
        except FileNotFoundError:
            continue
        if info.st_uid == uid:
            bit = stat.S_IXUSR
        elif info.st_gid == gid:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not info.st_mode & bit:
            return False
    return True


def mail_directory(state_dir):
    """``(directory, inside_state_dir)`` for the mailboxes of this state dir."""
    uid, gid = dovecot_ids()
    inside = os.path.join(os.path.abspath(state_dir), 'mail')
    if reachable(inside, uid, gid):
        return inside, True
    digest = hashlib.sha256(os.path.realpath(state_dir).encode('utf-8', 'surrogateescape')).hexdigest()[:16]
    return os.path.join(tempfile.gettempdir(), 'ie-service-mail-%s' % digest), False


def password_hash(password):
    """Dovecot's ``{SSHA256}``: base64(SHA-256(password + salt) + salt)."""
    salt = secrets.token_bytes(8)
    return '{SSHA256}' + base64.b64encode(hashlib.sha256(password.encode('utf-8') + salt).digest() + salt).decode('ascii')


def free_port(host='127.0.0.1'):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


CONFIG = """# written by ie-service: the mailboxes of its mail front
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
instance_name = {instance}
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{dir}/boxes/%Lu/Maildir
mail_uid = {user}
mail_gid = {user}
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = username_format=%Lu {dir}/users
}}
userdb {{
  driver = static
  args = uid={user} gid={user} home={dir}/boxes/%Lu
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
service auth {{
  user = root
}}
service auth-worker {{
  user = root
}}
"""


class Dovecot:
    """One Dovecot instance for the mail front: ``start()``, ``set_users()``, ``deliver()``, ``stop()``."""

    def __init__(self, directory, port, cert, key):
        self.directory = os.path.abspath(directory)
        self.port = port
        self.config = os.path.join(self.directory, 'dovecot.conf')
        self.cert, self.key = cert, key
        self.proc = None

    def _prepare(self):
        if not shutil.which('dovecot') or not os.path.exists(LDA):
            raise MailboxError('Dovecot is not installed (dovecot and %s are needed): apt-get install dovecot-imapd' % LDA)
        if os.geteuid() != 0:
            raise MailboxError('the mail front starts Dovecot, which needs root: run ie-service serve as root')
        uid, gid = dovecot_ids()
        os.makedirs(self.directory, mode=0o711, exist_ok=True)
        os.chmod(self.directory, 0o711)
        boxes = os.path.join(self.directory, 'boxes')
        os.makedirs(boxes, mode=0o700, exist_ok=True)
        os.chown(boxes, uid, gid)
        for name in ('run', 'state'):
            os.makedirs(os.path.join(self.directory, name), mode=0o755, exist_ok=True)
        self._stop_stale()
        instance = 'ie-mail-%d-%s' % (os.getpid(), secrets.token_hex(4))
        text = CONFIG.format(dir=self.directory, instance=instance, cert=self.cert, key=self.key, port=self.port, user=USER)
        _write(self.config, text, 0o600)
        if not os.path.exists(os.path.join(self.directory, 'users')):
            _write(os.path.join(self.directory, 'users'), '', 0o600)

    def _stop_stale(self):
        """A Dovecot left running on this directory (its service was killed alone) is ended."""
        try:
            with open(os.path.join(self.directory, 'run', 'master.pid'), encoding='ascii') as handle:
                pid = int(handle.read().strip())
            with open('/proc/%d/cmdline' % pid, 'rb') as handle:
                cmdline = handle.read()
        except (OSError, ValueError):
            return
        if self.config.encode() in cmdline:
            os.kill(pid, signal.SIGTERM)
            for dummy in range(50):
                if not os.path.exists('/proc/%d' % pid):
                    break
                time.sleep(0.1)

    def set_users(self, users):
        """``users``: ``{address: password}``; the passwd-file is replaced (Dovecot re-reads it on change)."""
        lines = ['%s:%s' % (address.lower(), password_hash(password)) for address, password in sorted(users.items())]
        os.makedirs(self.directory, mode=0o711, exist_ok=True)
        _write(os.path.join(self.directory, 'users'), '\n'.join(lines) + '\n', 0o600)

    def start(self, timeout=15):
        self._prepare()
        log = open(os.path.join(self.directory, 'dovecot.stderr'), 'ab')  # pylint: disable=consider-using-with
        self.proc = subprocess.Popen(['dovecot', '-F', '-c', self.config], stdin=subprocess.DEVNULL,  # pylint: disable=consider-using-with
                                     stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise MailboxError('Dovecot exited with status %d at start; see %s' % (self.proc.returncode, self.log_hint()))
            try:
                with socket.create_connection(('127.0.0.1', self.port), timeout=1) as sock:
                    if sock.recv(64).startswith(b'* OK'):
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise MailboxError('Dovecot did not answer on 127.0.0.1 port %d within %ds; see %s' % (self.port, timeout, self.log_hint()))

    def log_hint(self):
        return '%s and %s' % (os.path.join(self.directory, 'dovecot.log'), os.path.join(self.directory, 'dovecot.stderr'))

    def deliver(self, address, raw, sender):
        """Deliver a mail into the mailbox of ``address`` (INBOX) with dovecot-lda; True when delivered."""
        proc = subprocess.run([LDA, '-c', self.config, '-d', address.lower(), '-f', sender], input=raw,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False, timeout=60)
        if proc.returncode == 67:  # EX_NOUSER: no mailbox here for this address
            return False
        if proc.returncode != 0:
            raise MailboxError('dovecot-lda could not deliver to %s (exit %d): %s' % (
                address, proc.returncode, proc.stderr.decode('utf-8', 'replace').strip()[-500:]))
        return True

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


def _write(path, text, mode):
    tmp = '%s.%d.tmp' % (path, os.getpid())
    with open(tmp, 'w', encoding='utf-8') as handle:
        os.chmod(tmp, mode)
        handle.write(text)
    os.replace(tmp, path)
