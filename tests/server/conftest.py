"""Fixtures of the server stub tests: an in-process app over a tmp database, and its parts."""

from __future__ import annotations

import base64
import importlib
import warnings
from dataclasses import dataclass

import pytest

from server_stub.clock import Clock
from server_stub.store import Store


@dataclass
class World:
    """An app in process: its HTTP client, the clock it reads, its store, its public key."""

    http: object
    clock: Clock
    store: Store
    key_b64: str

    def now(self) -> int:
        return self.clock.ntp()


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "server.db")
    yield s
    s.close()


@pytest.fixture
def world(store):
    importlib.import_module("robert.report")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    from server_stub.app import create_app

    clock = Clock()
    with TestClient(create_app(store, clock, dev_admin=True)) as http:
        yield World(http, clock, store, base64.b64encode(store.public_key_spki()).decode())
