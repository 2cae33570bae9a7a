"""schemathesis against the stub's own OpenAPI schema (in-process ASGI): no 500, answers as documented."""

from __future__ import annotations

import importlib
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

importlib.import_module("robert.report")

from server_stub.app import create_app  # noqa: E402  (after the skip: it needs robert)
from server_stub.clock import Clock  # noqa: E402
from server_stub.store import Store  # noqa: E402

_DB_DIR = tempfile.TemporaryDirectory(prefix="robert-server-fuzz-")  # removed at exit
APP = create_app(Store(Path(_DB_DIR.name) / "server.db"), Clock(), dev_admin=True)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_fuzz(case):
    # A schema-valid body can still carry a wrong MAC, a stale time or an unknown code,
    # which the protocol answers with 400: "valid data must be accepted" does not apply.
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
