"""Start `robert-server` as a real process and learn its address (tests, benchmarks, demos)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_LISTENING = re.compile(r"listening on (http://\S+)")
_PORT = re.compile(r":(\d+)$")


def server_command() -> list[str]:
    """The `robert-server` console script, or `python -m server_stub.cli` when not installed."""
    exe = shutil.which("robert-server", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "server_stub.cli"]


class ServerProcess:
    """`robert-server --db DB --port P ...` in a child process; `url` once it listens.

    With `port=0` the server picks a free port at its first start; later starts (after
    `kill()` or `stop()`) ask for that same port again, so clients keep their URL across a
    crash. Its stdout and stderr go to a file (never a pipe that could fill up and stall it):
    `logs/server.log` when a folder is given, else a temporary file removed by `close()`.
    """

    def __init__(self, db: str | os.PathLike[str], *args: str, port: int = 0,
                 logs: str | os.PathLike[str] | None = None, timeout: float = 20.0) -> None:
        self.db = Path(db)
        self.args = list(args)
        self.port = port
        self.timeout = timeout
        self.url = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_start = 0
        if logs is None:
            with tempfile.NamedTemporaryFile(prefix="robert-server-", suffix=".log",
                                             delete=False) as f:
                self.log_path = Path(f.name)
            self._temporary_log = True
        else:
            Path(logs).mkdir(parents=True, exist_ok=True)
            self.log_path = Path(logs) / "server.log"
            self._temporary_log = False

    def command(self) -> list[str]:
        return [*server_command(), "--db", str(self.db), "--port", str(self.port), *self.args]

    def start(self) -> ServerProcess:
        with open(self.log_path, "ab") as log:
            self._log_start = log.tell()
            self._proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                          stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            match = _LISTENING.search(self._this_run_log())
            if match:
                self.url = match.group(1)
                self.port = int(_PORT.search(self.url).group(1))
                return self
            if self._proc.poll() is not None:
                raise RuntimeError(f"robert-server exited with {self._proc.returncode}: "
                                   f"{self._this_run_log()}")
            time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"robert-server did not start within {self.timeout} s: "
                           f"{self._this_run_log()}")

    def _this_run_log(self) -> str:
        with open(self.log_path, "rb") as log:
            log.seek(self._log_start)
            return log.read().decode(errors="replace")

    def log(self) -> str:
        """Everything the server printed, every run (the server never prints secrets)."""
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def kill(self) -> int | None:
        """SIGKILL: the server crashes mid-request; `start()` brings it back on its data."""
        return self._end(graceful=False)

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after 10 s; returns the exit code."""
        return self._end(graceful=True)

    def _end(self, graceful: bool) -> int | None:
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            if graceful:
                self._proc.terminate()
            else:
                self._proc.kill()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        code = self._proc.returncode
        self._proc = None
        return code

    def restart(self, *args: str) -> ServerProcess:
        """Stop and start again on the same database and port, optionally with new options."""
        self.stop()
        if args:
            self.args = list(args)
        return self.start()

    def cli(self, *args: str) -> str:
        """Run `robert-server SUBCOMMAND ... --db DB` on this server's database; its stdout."""
        out = subprocess.run([*server_command(), *args, "--db", str(self.db)],
                             capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError(f"robert-server {args[0]} failed: {out.stderr.strip()}")
        return out.stdout.strip()

    def new_code(self, *args: str, kind: str | None = None) -> str:
        """A fresh single-use report code (`--long`: a 10-day UUID; `kind` short, long, test
        or jwt)."""
        return self.cli("new-code", *args, *(("--kind", kind) if kind else ()))

    def declaration_key(self) -> str:
        """The public key of the status answers' declarationToken (RS256), base64 X.509 DER."""
        return self.cli("declaration-key")

    def public_key(self) -> str:
        """The server's ECDH public key, base64 of the SubjectPublicKeyInfo DER."""
        return self.cli("public-key")

    def close(self) -> None:
        self.stop()
        if self._temporary_log:
            self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
