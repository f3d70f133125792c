"""pytest fixtures for the local AWS Import/Export service (``ie-service``, package ``service/``).

``ie_service``: a running service on 127.0.0.1 with its own state dir, on the session's S3 API
server (moto, started once per session), stopped after the test.
``ie_service_factory(**options)``: the same with options (accounts, faults, clock_speed,
step_seconds, admin_token, tls, own_s3, extra_args).
The service process and the manifests live in tests/support/service.py (shared with the demo
and the benchmarks).
"""
import os

import pytest

from tests.support.service import (  # noqa: F401  pylint: disable=unused-import
    DEMO_ACCESS_KEY, DEMO_SECRET_KEY, IEService, MotoServer, export_manifest, ie_service_command, import_manifest)


@pytest.fixture(scope='session')
def ie_s3_server():
    """One moto S3 API server on loopback for the whole session (tests use unique bucket names)."""
    server = MotoServer()
    yield server
    server.stop()


@pytest.fixture
def ie_service_factory(tmp_path, ie_s3_server):
    """Factory: ``ie_service_factory(accounts=..., faults=..., clock_speed=..., own_s3=False, ...)``."""
    started = []

    def make(own_s3=False, state_dir=None, **options):
        directory = state_dir or os.path.join(str(tmp_path), 'ie-state-%d' % len(started))
        service = IEService(directory, s3_url=None if own_s3 else ie_s3_server.url, **options)
        started.append(service)
        return service

    yield make
    for service in reversed(started):
        service.stop()


@pytest.fixture
def ie_service(ie_service_factory):
    """A running local Import/Export service with the demo account."""
    return ie_service_factory()
