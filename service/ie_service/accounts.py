# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Accounts of the service: the demo account, ``ACCESS_KEY:SECRET_KEY`` arguments, accounts files.

The demo account is the one AWS documentation uses as an example; ``serve`` creates it when no
account is given, and the tests, benchmarks and ``make demo`` import it from here.
"""

import argparse

import yaml

DEMO_ACCESS_KEY = 'AKIAIOSFODNN7EXAMPLE'
DEMO_SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'


def parse_account(text):
    """``ACCESS_KEY:SECRET_KEY`` -> ``(key, secret)`` (an argparse type)."""
    key, sep, secret = text.partition(':')
    if not sep or not key or not secret:
        raise argparse.ArgumentTypeError('expected ACCESS_KEY:SECRET_KEY, got %r' % text)
    return key, secret


def read_accounts_file(path):
    """JSON/YAML mapping ``{access_key: secret_key}``, or lines ``ACCESS_KEY:SECRET_KEY`` (``#`` comments)."""
    with open(path, encoding='utf-8') as handle:
        text = handle.read()
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError:
        loaded = None
    if isinstance(loaded, dict):
        return {str(k): str(v) for k, v in loaded.items()}
    accounts = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split('#', 1)[0].strip()
        if not line:
            continue
        key, sep, secret = line.partition(':')
        if not sep:
            raise SystemExit('ie-service: %s line %d: expected ACCESS_KEY:SECRET_KEY' % (path, number))
        accounts[key.strip()] = secret.strip()
    return accounts
