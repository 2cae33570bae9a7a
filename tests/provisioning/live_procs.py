"""Real processes for the provisioning and kiosk-page tests: server stub, host-port tokens, kiosk.

Each runs as its own console script (as an operator would start it), on free loopback ports
and in the test's tmp_path, and is stopped (terminate, then kill) when the test ends.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    """A child process whose stdout lines are read by a thread and whose stderr goes to a file."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.args = args
        self.log = log
        self._err = open(log, "wb")  # noqa: SIM115 (closed in stop)
        self.popen = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self._err,
                                      stdin=subprocess.DEVNULL, text=True, bufsize=1)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.popen.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_line(self, prefix: str, timeout: float = START_TIMEOUT) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.popen.poll() is not None:
                    break
                continue
            if line.startswith(prefix):
                return line
        raise RuntimeError(f"{Path(self.args[0]).name} gave no {prefix!r} line; "
                           f"stderr:\n{self.stderr()}")

    def stderr(self) -> str:
        self._err.flush()
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(5)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        with contextlib.suppress(Exception):
            self._err.close()


def wait_http(url: str, proc: Proc, timeout: float = START_TIMEOUT) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited; stderr:\n{proc.stderr()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer; stderr:\n{proc.stderr()}")


class Server:
    """A `robert-server` process on its own SQLite file."""

    def __init__(self, tmp: Path) -> None:
        self.db = tmp / "server.db"
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.proc = Proc([str(BIN / "robert-server"), "--db", str(self.db), "--port", str(port)],
                         tmp / "server.log")
        wait_http(self.url + "/api/v6/clock", self.proc)

    def public_key(self) -> str:
        """The server's ECDH public key, as `robert-server public-key` prints it."""
        out = subprocess.run([str(BIN / "robert-server"), "public-key", "--db", str(self.db)],
                             capture_output=True, text=True, timeout=60, check=True).stdout
        return out.strip()

    def new_code(self) -> str:
        out = subprocess.run([str(BIN / "robert-server"), "new-code", "--db", str(self.db)],
                             capture_output=True, text=True, timeout=60, check=True).stdout
        return out.strip().split()[-1]

    def stop(self) -> None:
        self.proc.stop()


class Token:
    """A host-port token process (`robert-token --state DIR`) with its pty."""

    def __init__(self, state: Path, log: Path, serial: str | None = None) -> None:
        state.mkdir(parents=True, exist_ok=True)
        args = [str(BIN / "robert-token"), "--state", str(state)]
        if serial:
            args += ["--serial", serial]
        self.state = state
        self.proc = Proc(args, log)
        self.pty = self.proc.wait_line("PTY ").split(" ", 1)[1].strip()
        self.proc.wait_line("READY")

    def stop(self) -> None:
        self.proc.stop()


class Kiosk:
    """A `robert-kiosk serve` process."""

    def __init__(self, tmp: Path, server_url: str, ports: list[str]) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.proc = Proc([str(BIN / "robert-kiosk"), "serve", "--host", "127.0.0.1",
                          "--http-port", str(port), "--server", server_url,
                          "--port", ",".join(ports), "--queue", str(tmp / "queue")],
                         tmp / "kiosk.log")
        wait_http(self.url + "/", self.proc)

    def stop(self) -> None:
        self.proc.stop()
