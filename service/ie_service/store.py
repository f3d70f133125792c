# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Jobs and accounts in SQLite under the state dir (``jobs.sqlite3``).

One connection per thread, WAL journal, a busy timeout: the threaded server and the admin
commands (other processes) share the file safely. The job's manifest is kept as the exact bytes
last submitted.
"""

import json
import os
import secrets
import sqlite3
import threading

from .collection import signing

DB_FILE = 'jobs.sqlite3'

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    access_key TEXT PRIMARY KEY,
    secret_key TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL UNIQUE,
    account TEXT NOT NULL,
    job_type TEXT NOT NULL,
    kind TEXT NOT NULL,
    manifest BLOB NOT NULL,
    created REAL NOT NULL,
    canceled REAL,
    received REAL,
    events TEXT,
    error_count INTEGER,
    log_bucket TEXT,
    log_key TEXT,
    carrier TEXT,
    tracking TEXT
);
CREATE INDEX IF NOT EXISTS jobs_account_created ON jobs (account, created DESC, seq DESC);
"""

COLUMNS = ('seq', 'job_id', 'account', 'job_type', 'kind', 'manifest', 'created', 'canceled', 'received',
           'events', 'error_count', 'log_bucket', 'log_key', 'carrier', 'tracking')


class Job(dict):
    """A job row as a dict; ``events`` decoded from JSON."""

    @classmethod
    def from_row(cls, row):
        job = cls(zip(COLUMNS, row))
        job['events'] = json.loads(job['events']) if job['events'] else []
        job['manifest'] = bytes(job['manifest'])
        return job


class Store:
    def __init__(self, state_dir):
        self.state_dir = state_dir
        os.makedirs(state_dir, exist_ok=True)
        self.path = os.path.join(state_dir, DB_FILE)
        self._local = threading.local()
        conn = self.conn()
        conn.executescript(SCHEMA)

    def conn(self):
        conn = getattr(self._local, 'conn', None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute('PRAGMA journal_mode=WAL')
            conn.execute('PRAGMA synchronous=NORMAL')
            conn.execute('PRAGMA busy_timeout=30000')
            self._local.conn = conn
        return conn

    # ------------------------------------------------------------ accounts
    def set_accounts(self, accounts, replace=True):
        conn = self.conn()
        with _transaction(conn):
            if replace:
                conn.execute('DELETE FROM accounts')
            conn.executemany('INSERT OR REPLACE INTO accounts VALUES (?, ?)', list(accounts.items()))

    def accounts(self):
        return dict(self.conn().execute('SELECT access_key, secret_key FROM accounts'))

    def secret_of(self, access_key):
        row = self.conn().execute('SELECT secret_key FROM accounts WHERE access_key = ?', (access_key,)).fetchone()
        return row[0] if row else None

    # ------------------------------------------------------------ jobs
    def get(self, job_id):
        row = self.conn().execute('SELECT %s FROM jobs WHERE job_id = ?' % ', '.join(COLUMNS), (job_id,)).fetchone()
        return Job.from_row(row) if row else None

    def create(self, account, job_type, kind, manifest, created, day_start, quota):
        """Insert a job with a fresh id; returns the id, or None when the daily quota is used up."""
        conn = self.conn()
        with _transaction(conn, immediate=True):
            count = conn.execute('SELECT COUNT(*) FROM jobs WHERE account = ? AND created >= ?',
                                 (account, day_start)).fetchone()[0]
            if count >= quota:
                return None
            while True:
                job_id = ''.join(secrets.choice(signing.JOB_ID_ALPHABET) for dummy in range(signing.JOB_ID_LENGTH))
                if not conn.execute('SELECT 1 FROM jobs WHERE job_id = ?', (job_id,)).fetchone():
                    break
            conn.execute('INSERT INTO jobs (job_id, account, job_type, kind, manifest, created) VALUES (?, ?, ?, ?, ?, ?)',
                         (job_id, account, job_type, kind, manifest, created))
        return job_id

    def update_fields(self, job_id, condition_sql='1', **fields):
        """Set columns when ``condition_sql`` holds for the row; returns True when a row changed."""
        if 'events' in fields and not isinstance(fields['events'], str):
            fields['events'] = json.dumps(fields['events'])
        names = sorted(fields)
        sql = 'UPDATE jobs SET %s WHERE job_id = ? AND (%s)' % (', '.join('%s = ?' % n for n in names), condition_sql)
        cur = self.conn().execute(sql, [fields[n] for n in names] + [job_id])
        return cur.rowcount == 1

    def list_jobs(self, account, after_seq=None, limit=1000):
        """Newest first (creation time, then insertion order); ``after_seq`` continues after a marker."""
        conn = self.conn()
        cols = ', '.join(COLUMNS)
        if after_seq is None:
            rows = conn.execute('SELECT %s FROM jobs WHERE account = ? ORDER BY created DESC, seq DESC LIMIT ?' % cols,
                                (account, limit + 1)).fetchall()
        else:
            created, seq = after_seq
            rows = conn.execute('SELECT %s FROM jobs WHERE account = ? AND (created < ? OR (created = ? AND seq < ?)) '
                                'ORDER BY created DESC, seq DESC LIMIT ?' % cols,
                                (account, created, created, seq, limit + 1)).fetchall()
        jobs = [Job.from_row(r) for r in rows]
        return jobs[:limit], len(jobs) > limit


class _transaction:
    def __init__(self, conn, immediate=False):
        self.conn = conn
        self.immediate = immediate

    def __enter__(self):
        self.conn.execute('BEGIN IMMEDIATE' if self.immediate else 'BEGIN')
        return self.conn

    def __exit__(self, exc_type, exc, tb):
        self.conn.execute('ROLLBACK' if exc_type else 'COMMIT')
        return False
