"""Start `robert-token` as a real process: tests, benchmarks and the simulated world use it.

CPython only (it starts the host port, it is not part of it); kept to syntax that
mpy-cross compiles, like every file under firmware/.

The process prints `PTY /dev/pts/N` then `READY` on stdout. `kill()` is a power cut
(SIGKILL, whatever the token was writing); `start()` again powers it on with the same
flash folder.
"""

import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

FIRMWARE = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0


def token_command() -> list:
    """The `robert-token` console script, or `python -m ports.host.main` when not installed."""
    exe = shutil.which("robert-token", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "ports.host.main"]


def child_env() -> dict:
    """This environment with firmware/ importable (the core and the port)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(FIRMWARE), env.get("PYTHONPATH")) if p)
    return env


class TokenProcess:
    """`robert-token --state STATE [--serial S] ARGS...`; `pty` once it is READY.

    `args` are further options (`--air HOST:PORT`, `--drift-ppm X`, `--ble SPEC`, ...).
    Its stderr goes to `log_path` (default: token.log next to the state folder), appended
    over restarts.
    """

    def __init__(self, state, *args: str, serial: str = "", log_path=None,
                 timeout: float = START_TIMEOUT) -> None:
        self.state = Path(state)
        self.serial = serial
        self.args = list(args)
        self.log_path = Path(log_path) if log_path else self.state.parent / "token.log"
        self.timeout = timeout
        self.proc = None
        self.pty = ""

    def command(self) -> list:
        serial = ["--serial", self.serial] if self.serial else []
        return token_command() + ["--state", str(self.state)] + serial + self.args

    def start(self) -> "TokenProcess":
        """Power on; returns once the token said READY."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            # Unbuffered, so select() sees every line the token has printed (a real timeout).
            self.proc = subprocess.Popen(self.command(), stdout=subprocess.PIPE, stderr=log,
                                         stdin=subprocess.DEVNULL, env=child_env(), bufsize=0)
        name = self.serial or str(self.state)
        said = []
        deadline = time.monotonic() + self.timeout
        while select.select([self.proc.stdout], [], [], max(0.0, deadline - time.monotonic()))[0]:
            line = self.proc.stdout.readline().decode(errors="replace")
            if not line:
                self.kill()
                raise RuntimeError("robert-token %s exited before READY: %s %s"
                                   % (name, said, self.log()))
            said.append(line.strip())
            if line.startswith("PTY "):
                self.pty = line.split()[1]
            if line.strip() == "READY":
                return self
        self.kill()
        raise RuntimeError("robert-token %s not READY within %g s: %s %s"
                           % (name, self.timeout, said, self.log()))

    def log(self) -> str:
        """The last 3000 characters the token wrote on stderr (it never logs its keys)."""
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except FileNotFoundError:
            return ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """SIGKILL: the power is cut, whatever the token was doing; returns the exit code."""
        return self._end(signal.SIGKILL)

    def stop(self):
        """SIGTERM: the token shuts down cleanly; returns its exit code."""
        return self._end(signal.SIGTERM)

    def _end(self, sig):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        return self.proc.returncode

    def __enter__(self) -> "TokenProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.kill()
