"""The kiosk and the station as the bench uses them: their real flows on a token's port.

Both benches (simulated and hardware) talk to tokens this way. `before_server`
runs before anything reaches the server; the simulated world uses it to move
the server's clock to the virtual time.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

from ports.host.launcher import child_env

from gateway import flows
from gateway.report_queue import ReportQueue
from gateway.robert_api import RobertApi
from gateway.token_client import TokenClient
from gateway.transport.serial import SerialLink

BIN = Path(sys.executable).parent


def env() -> dict:
    """The environment of child processes: the firmware folder importable."""
    return child_env()


def exe(name: str, module: str) -> list[str]:
    """A console script of this project, or `python -m module` when it is not installed."""
    found = shutil.which(name, path=str(BIN))
    return [found] if found else [sys.executable, "-m", module]


def run(coro):
    return asyncio.run(coro)


class Kiosk:
    """Kiosk flows and the provisioning CLI against one server."""

    def __init__(self, server_url: str, server_db: Path, queue_dir: Path,
                 before_server: Callable[[], float] = lambda: 0.0) -> None:
        self.server_url = server_url
        self.server_db = Path(server_db)
        self.queue = ReportQueue(queue_dir)
        self.before_server = before_server
        self._server_key = ""

    def api(self) -> RobertApi:
        return RobertApi(self.server_url, timeout=10.0, backoff=0.1, retries=2)

    def server_cli(self, *args: str) -> str:
        out = subprocess.run([*exe("robert-server", "server_stub.cli"), *args,
                              "--db", str(self.server_db)],
                             capture_output=True, text=True, timeout=60, env=env())
        if out.returncode != 0:
            raise RuntimeError(f"robert-server {args[0]} failed: {out.stderr.strip()}")
        return out.stdout.strip()

    def server_key(self) -> str:
        if not self._server_key:
            self._server_key = self.server_cli("public-key")
        return self._server_key

    def new_code(self) -> str:
        """A long (10-day) report code, valid from the server's (possibly shifted) now."""
        offset = self.before_server()
        return self.server_cli("new-code", "--long", "--clock-offset", str(offset)).split()[-1]

    async def _on_port(self, port: str, fn, timeout: float):
        link = SerialLink.open(port)
        try:
            async with self.api() as api:
                return await fn(TokenClient(link, timeout=timeout), api)
        finally:
            await link.close()

    def on_port(self, port: str, fn, timeout: float = 3.0):
        """Run `fn(client, api)` on the token at `port` (a kiosk session)."""
        self.before_server()
        return run(self._on_port(port, fn, timeout))

    def provision(self, port: str, days: int = 4) -> str:
        """`robert-provision token` on the port; returns its output."""
        self.before_server()
        out = subprocess.run(
            [*exe("robert-provision", "provisioning.cli"), "token", "--port", port,
             "--server", self.server_url, "--server-key", self.server_key(), "--days", str(days)],
            capture_output=True, text=True, timeout=120, env=env())
        if out.returncode != 0:
            raise RuntimeError(f"robert-provision failed on {port}: {out.stdout} {out.stderr}")
        return out.stdout

    def info(self, port: str) -> dict:
        return self.on_port(port, lambda client, api: client.info())

    def status(self, port: str) -> flows.StatusResult:
        return self.on_port(port, lambda client, api: flows.status_flow(client, api))

    def report(self, port: str, onset: date) -> flows.ReportResult:
        code = self.new_code()
        return self.on_port(port, lambda client, api: flows.report_flow(
            client, api, code, onset=onset, consent=True, queue=self.queue), timeout=5.0)
