"""Real processes for the kiosk tests and benchmarks: a robert-server, host-port tokens.

Both are the project's single launchers (`server_stub.process.ServerProcess`,
`ports.host.launcher.TokenProcess`); this module adds the station's CLI on top.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
from pathlib import Path

from ports.host.launcher import START_TIMEOUT, TokenProcess, child_env

from server_stub.process import ServerProcess

BIN = Path(sys.executable).parent
KIOSK = [str(BIN / "robert-kiosk")]

__all__ = ["BIN", "KIOSK", "START_TIMEOUT", "ServerProcess", "TokenProcess", "api_of", "child_env",
           "free_port", "history_size", "provision", "provision_pty", "run", "server_in",
           "token_in", "tokens_in", "with_client"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_in(folder: Path, *args: str) -> ServerProcess:
    """A robert-server whose database and log live in `folder` (not started)."""
    return ServerProcess(folder / "server.db", *args, logs=folder)


def token_in(folder: Path, serial: str, *args: str) -> TokenProcess:
    """A host-port token whose flash (`folder/flash`) and log live in `folder` (not started)."""
    return TokenProcess(folder / "flash", *args, serial=serial)


@contextlib.contextmanager
def tokens_in(folder: Path):
    """`start(serial, name=serial)` starts a token in `folder/name`; all are killed at the end."""
    started: list[TokenProcess] = []

    def start(serial: str, name: str = "") -> TokenProcess:
        token = token_in(folder / (name or serial), serial).start()
        started.append(token)
        return token

    try:
        yield start
    finally:
        for token in started:
            token.kill()


def provision(token: TokenProcess, server: ServerProcess) -> None:
    """Provision the token with the provisioning station's own CLI (registers it with the server)."""
    provision_pty(token.pty, server, token.log)


def provision_pty(pty: str, server: ServerProcess, log=lambda: "") -> None:
    out = subprocess.run(
        [str(BIN / "robert-provision"), "token", "--port", pty, "--server", server.url,
         "--server-key", server.public_key(), "--days", "4"],
        capture_output=True, text=True, timeout=120, env=child_env())
    if out.returncode != 0:
        raise RuntimeError(f"robert-provision failed: {out.stdout} {out.stderr}\n{log()}")


# ---------------------------------------------------------------- the kiosk's client on a pty
def run(coro):
    return asyncio.run(coro)


async def with_client(pty: str, fn, timeout: float = 2.0):
    """`fn(client)` with the kiosk's TokenClient on the token's pty, closed afterwards."""
    from gateway.token_client import TokenClient
    from gateway.transport.serial import SerialLink

    link = SerialLink.open(pty)
    try:
        return await fn(TokenClient(link, timeout=timeout))
    finally:
        await link.close()


def api_of(server: ServerProcess):
    """The kiosk's RobertApi on `server`, with short retries (tests kill servers)."""
    from gateway.robert_api import RobertApi

    return RobertApi(server.url, timeout=5.0, backoff=0.05, retries=2)


def history_size(pty: str) -> dict:
    """The `log` part of the token's INFO."""
    async def go(client):
        return await client.info()
    return run(with_client(pty, go))["log"]
