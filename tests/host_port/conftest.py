"""Fixtures of the host-port tests: `robert-token` as a real process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROBERT_TOKEN = [sys.executable, "-m", "ports.host.main"]


class TokenProcess:
    """One `robert-token` process; its stderr goes to a file the test can read."""

    def __init__(self, state: Path, log_path: Path, *args: str):
        self.state = state
        self.log_path = log_path
        self.args = list(args)
        self.proc: subprocess.Popen | None = None
        self.pty = ""

    def start(self, timeout: float = 20.0) -> TokenProcess:
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [*ROBERT_TOKEN, "--state", str(self.state), *self.args],
            stdout=subprocess.PIPE, stderr=self._log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        lines = []
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline().decode()
            if not line:
                raise RuntimeError(f"robert-token exited early: {lines} {self.log()}")
            lines.append(line.strip())
            if line.startswith("PTY "):
                self.pty = line.split()[1]
            if line.strip() == "READY":
                return self
        raise TimeoutError(f"no READY from robert-token: {lines}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """Power cut."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(10)

    def close(self) -> None:
        self.kill()
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()
        self._log.close()


@pytest.fixture
def spawn_token(tmp_path):
    """spawn_token(*args, state=None) -> a started TokenProcess (killed at the end)."""
    started: list[TokenProcess] = []

    def spawn(*args: str, state: Path | None = None) -> TokenProcess:
        state = state or tmp_path / "flash"
        token = TokenProcess(state, tmp_path / f"token-{len(started)}.log", *args)
        started.append(token)
        return token.start()

    yield spawn
    for token in started:
        token.close()


@pytest.fixture(autouse=True)
def _firmware_on_path(monkeypatch):
    """Child processes import the core and the port from firmware/ like the console script."""
    firmware = str(Path(__file__).resolve().parents[2] / "firmware")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (os.environ.get("PYTHONPATH"), firmware) if p))
