"""Real processes for the kiosk tests and benchmark: a robert-server, host-port tokens.

Each runs as its console script on free loopback ports inside a scratch folder;
both can be killed (power cut, server crash) and restarted on the same state.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"
START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(FIRMWARE), env.get("PYTHONPATH")) if p)
    return env


class ServerProcess:
    """`robert-server --db PATH --port P`; `kill()` then `start()` keeps the port and the data."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.db = folder / "server.db"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> ServerProcess:
        log = open(self.folder / "server.log", "ab")  # noqa: SIM115 (owned by the process)
        self.proc = subprocess.Popen(
            [str(BIN / "robert-server"), "--db", str(self.db), "--port", str(self.port)],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=child_env())
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"robert-server exited: {self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/api/v6/clock", timeout=1).status_code == 200:
                    return self
            time.sleep(0.1)
        raise RuntimeError(f"robert-server did not answer: {self.log()}")

    def log(self) -> str:
        return (self.folder / "server.log").read_text(errors="replace")[-3000:]

    def _cli(self, *args: str) -> str:
        return subprocess.run([str(BIN / "robert-server"), *args, "--db", str(self.db)],
                              capture_output=True, text=True, timeout=60, check=True,
                              env=child_env()).stdout.strip()

    def new_code(self) -> str:
        return self._cli("new-code").split()[-1]

    def public_key(self) -> str:
        return self._cli("public-key")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        self.kill()


class TokenProcess:
    """`robert-token --state DIR --serial S`: `kill()` is a power cut, `start()` powers it on."""

    def __init__(self, folder: Path, serial: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.serial = serial
        self.proc: subprocess.Popen | None = None
        self.pty = ""

    def start(self) -> TokenProcess:
        log = open(self.folder / "token.log", "ab")  # noqa: SIM115 (owned by the process)
        self.proc = subprocess.Popen(
            [str(BIN / "robert-token"), "--state", str(self.folder / "flash"),
             "--serial", self.serial],
            stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, env=child_env())
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline().decode()
            if not line:
                raise RuntimeError(f"robert-token exited: {self.log()}")
            if line.startswith("PTY "):
                self.pty = line.split()[1]
            if line.strip() == "READY":
                return self
        raise RuntimeError(f"robert-token not READY: {self.log()}")

    def log(self) -> str:
        return (self.folder / "token.log").read_text(errors="replace")[-3000:]

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()

    def stop(self) -> None:
        self.kill()


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
