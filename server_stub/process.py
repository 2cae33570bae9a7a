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


class ServerProcess:
    """`robert-server --db DB --port 0 ...` in a child process; `url` once it listens.

    Its stdout and stderr go to a file (never a pipe that could fill up and stall it).
    """

    def __init__(self, db: str | os.PathLike[str], *args: str, timeout: float = 20.0) -> None:
        self.db = Path(db)
        self.args = list(args)
        self.timeout = timeout
        self.url = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="robert-server-", suffix=".log", delete=False)

    def command(self) -> list[str]:
        exe = shutil.which("robert-server", path=str(Path(sys.executable).parent))
        base = [exe] if exe else [sys.executable, "-m", "server_stub.cli"]
        return [*base, "--db", str(self.db), "--port", "0", *self.args]

    def start(self) -> ServerProcess:
        self._log.seek(0)
        self._log.truncate()
        self._proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                      stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            match = _LISTENING.search(self.log())
            if match:
                self.url = match.group(1)
                return self
            if self._proc.poll() is not None:
                raise RuntimeError(f"robert-server exited with {self._proc.returncode}: {self.log()}")
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"robert-server did not start within {self.timeout} s: {self.log()}")

    def log(self) -> str:
        return Path(self._log.name).read_text(errors="replace")

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after 10 s; returns the exit code."""
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        code = self._proc.returncode
        self._proc = None
        return code

    def restart(self, *args: str) -> ServerProcess:
        """Stop and start again on the same database (new port), optionally with new options."""
        self.stop()
        if args:
            self.args = list(args)
        return self.start()

    def close(self) -> None:
        self.stop()
        self._log.close()
        Path(self._log.name).unlink(missing_ok=True)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
