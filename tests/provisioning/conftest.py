"""Fixtures: a real `robert-server` and real host-port tokens, stopped after each test module."""

from __future__ import annotations

import asyncio

import pytest
from live_procs import Server, Token


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("server"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def server_key(server) -> str:
    return server.public_key()


@pytest.fixture
def make_token(tmp_path):
    """Start host-port tokens on demand; all are stopped at the end of the test."""
    started: list[Token] = []

    def start(name: str = "tok", serial: str | None = None) -> Token:
        token = Token(tmp_path / f"{name}-state", tmp_path / f"{name}.log", serial)
        started.append(token)
        return token

    yield start
    for token in started:
        token.stop()


def token_info(pty: str) -> dict:
    """INFO read straight from the token with the kiosk's own client."""
    from gateway.connect import open_link
    from gateway.token_client import TokenClient

    async def read() -> dict:
        link = await open_link(pty)
        try:
            return await TokenClient(link).info()
        finally:
            await link.close()

    return asyncio.run(read())
