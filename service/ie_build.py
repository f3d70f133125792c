# -*- coding: utf-8 -*-
# Copyright: (c) 2026, awsie.importexport contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A tiny in-tree PEP 517/660 build backend for ie-service (standard library only).

The venv's setuptools (65) needs the ``wheel`` package for editable installs, which the project's
requirements do not carry; this backend writes the (editable) wheel itself. The version is the
collection's, read from ``galaxy.yml`` by the package itself.
"""

import base64
import hashlib
import os
import sys
import tarfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from ie_service import __version__ as VERSION  # noqa: E402  pylint: disable=wrong-import-position

NAME = 'ie_service'
DIST = 'ie-service'
METADATA = ('Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: A faithful local AWS Import/Export service\n'
            'License: GPL-3.0-or-later\nRequires-Python: >=3.11\n' % (DIST, VERSION))
ENTRY_POINTS = '[console_scripts]\nie-service = ie_service.cli:main\n'
WHEEL = 'Wheel-Version: 1.0\nGenerator: ie_build\nRoot-Is-Purelib: true\nTag: py3-none-any\n'


def _digest(data):
    return 'sha256=' + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()


def _write_wheel(directory, files):
    info = '%s-%s.dist-info' % (NAME, VERSION)
    files = dict(files)
    files[info + '/METADATA'] = METADATA.encode()
    files[info + '/WHEEL'] = WHEEL.encode()
    files[info + '/entry_points.txt'] = ENTRY_POINTS.encode()
    files[info + '/top_level.txt'] = (NAME + '\n').encode()
    record = ''.join('%s,%s,%d\n' % (name, _digest(data), len(data)) for name, data in sorted(files.items()))
    files[info + '/RECORD'] = (record + info + '/RECORD,,\n').encode()
    wheel_name = '%s-%s-py3-none-any.whl' % (NAME, VERSION)
    with zipfile.ZipFile(os.path.join(directory, wheel_name), 'w', zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return wheel_name


def _package_files():
    files = {}
    package = os.path.join(HERE, NAME)
    for name in sorted(os.listdir(package)):
        if name.endswith('.py'):
            with open(os.path.join(package, name), 'rb') as handle:
                files['%s/%s' % (NAME, name)] = handle.read()
    return files


def get_requires_for_build_wheel(config_settings=None):  # pylint: disable=unused-argument
    return []


def get_requires_for_build_editable(config_settings=None):  # pylint: disable=unused-argument
    return []


def get_requires_for_build_sdist(config_settings=None):  # pylint: disable=unused-argument
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):  # pylint: disable=unused-argument
    return _write_wheel(wheel_directory, _package_files())


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):  # pylint: disable=unused-argument
    return _write_wheel(wheel_directory, {'__editable__.%s.pth' % NAME: (HERE + '\n').encode()})


def build_sdist(sdist_directory, config_settings=None):  # pylint: disable=unused-argument
    name = '%s-%s.tar.gz' % (NAME, VERSION)
    with tarfile.open(os.path.join(sdist_directory, name), 'w:gz') as archive:
        for rel in ['pyproject.toml', 'ie_build.py'] + sorted(_package_files()):
            archive.add(os.path.join(HERE, rel), arcname='%s-%s/%s' % (NAME, VERSION, rel))
    return name
