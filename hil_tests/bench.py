"""The `Bench`: what a HIL test needs, on simulated tokens or on real ones.

`--bench sim` (default) builds a `World`: a real server stub, the air and
host-port token processes in accelerated virtual time. `--bench
serial:/dev/ttyACM0,/dev/ttyACM1` uses real tokens on those ports, a local
server stub on real time, and skips what the hardware cannot do, saying why.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pytest

from gateway import flows
from hil_tests.kiosk import Kiosk
from hil_tests.sim.air import Sniffed
from hil_tests.sim.world import World, serial_of
from server_stub.process import ServerProcess

POWER_SWITCH_ENV = "ROBERT_BENCH_POWER"  # a command run as `CMD off|on PORT` (hardware)


@dataclass
class BenchToken:
    name: str
    port: str = ""


class BenchSpecError(ValueError):
    """A --bench value that names no backend."""


def parse_spec(spec: str) -> tuple[str, list[str]]:
    """`sim` -> ("sim", []); `serial:/dev/a,/dev/b` -> ("serial", ["/dev/a", "/dev/b"])."""
    spec = (spec or "sim").strip()
    if spec == "sim":
        return "sim", []
    if spec.startswith("serial:"):
        ports = [p.strip() for p in spec[len("serial:"):].split(",") if p.strip()]
        if ports:
            return "serial", ports
    raise BenchSpecError(f"--bench must be 'sim' or 'serial:PORT[,PORT...]', got {spec!r}")


class Bench:
    """The common interface; each backend fills it in or skips with a reason."""

    kind = "?"
    kiosk: Kiosk

    def tokens(self, n: int) -> list[BenchToken]:
        raise NotImplementedError

    def provision(self, tok: BenchToken, days: int = 4) -> str:
        return self.kiosk.provision(tok.port, days)

    def info(self, tok: BenchToken) -> dict:
        return self.kiosk.info(tok.port)

    def status(self, tok: BenchToken) -> flows.StatusResult:
        return self.kiosk.status(tok.port)

    def report(self, tok: BenchToken, onset: date | None = None) -> flows.ReportResult:
        return self.kiosk.report(tok.port, onset or self.today())

    def on_port(self, tok: BenchToken, fn, timeout: float = 3.0):
        return self.kiosk.on_port(tok.port, fn, timeout)

    def now(self) -> float:
        raise NotImplementedError

    def today(self) -> date:
        return flows.ntp_to_datetime(int(self.now())).date()

    def advance(self, seconds: float) -> None:
        raise NotImplementedError

    def place(self, tok: BenchToken, pos: tuple[float, float] | None) -> None:
        pytest.skip("placing tokens needs the simulated bench")

    def sniffer(self, tok: BenchToken) -> list[Sniffed]:
        pytest.skip("no radio sniffer on this bench")

    def power_cycle(self, tok: BenchToken) -> None:
        pytest.skip(f"no power switch configured (set {POWER_SWITCH_ENV})")

    def power_off(self, tok: BenchToken) -> None:
        pytest.skip(f"no power switch configured (set {POWER_SWITCH_ENV})")

    def power_on(self, tok: BenchToken) -> None:
        pytest.skip(f"no power switch configured (set {POWER_SWITCH_ENV})")

    def close(self) -> None:
        pass


class SimBench(Bench):
    kind = "sim"

    def __init__(self, folder: Path, seed: int = 0) -> None:
        self.world = World(folder, seed=seed).start()
        self.kiosk = self.world.desk
        self._count = 0

    def tokens(self, n: int, drift_ppm: float = 0.0) -> list[BenchToken]:
        out = []
        for _ in range(n):
            self._count += 1
            name = f"T{self._count}"
            tok = self.world.add_token(name, drift_ppm)
            out.append(BenchToken(name, tok.pty))
        return out

    # A kiosk session on the simulated bench also wakes the token before and after (World).
    def provision(self, tok: BenchToken, days: int = 4) -> str:
        return self.world.provision(tok.name, days)

    def info(self, tok: BenchToken) -> dict:
        return self.world.info(tok.name)

    def status(self, tok: BenchToken) -> flows.StatusResult:
        return self.world.status(tok.name)

    def report(self, tok: BenchToken, onset: date | None = None) -> flows.ReportResult:
        return self.world.report(tok.name, onset)

    def on_port(self, tok: BenchToken, fn, timeout: float = 3.0):
        return self.world.kiosk(tok.name, fn, timeout)

    def now(self) -> float:
        return self.world.now

    def advance(self, seconds: float) -> None:
        self.world.run_for(seconds)

    def place(self, tok: BenchToken | str, pos: tuple[float, float] | None) -> None:
        self.world.place(tok if isinstance(tok, str) else tok.name, pos)

    def sniffer(self, tok: BenchToken) -> list[Sniffed]:
        serial = serial_of(tok.name)
        return [s for s in list(self.world.air.sniffer) if s.name == serial]

    def power_cycle(self, tok: BenchToken) -> None:
        tok.port = self.world.power_cycle(tok.name).pty

    def power_off(self, tok: BenchToken) -> None:
        self.world.tokens[tok.name].kill()

    def power_on(self, tok: BenchToken) -> None:
        tok.port = self.world.power_on(tok.name).pty

    def add_phone(self, name: str, os: str = "android"):
        return self.world.add_phone(name, os)

    def close(self) -> None:
        self.world.close()


class SerialBench(Bench):
    """Real tokens on serial ports, a local server stub on real time."""

    kind = "serial"

    def __init__(self, folder: Path, ports: list[str]) -> None:
        self.ports = ports
        self.server = ServerProcess(folder / "server.db", logs=folder).start()
        self.kiosk = Kiosk(self.server.url, self.server.db, folder / "kiosk-queue")
        self._used = 0

    def tokens(self, n: int, drift_ppm: float = 0.0) -> list[BenchToken]:
        if drift_ppm:
            pytest.skip("a chosen clock drift needs the simulated bench")
        if self._used + n > len(self.ports):
            pytest.skip(f"needs {self._used + n} tokens, the bench has {len(self.ports)}")
        out = [BenchToken(f"T{i + 1}", p) for i, p in enumerate(self.ports[self._used:self._used + n])]
        self._used += n
        return out

    def now(self) -> float:
        return datetime.now().timestamp() + 2208988800

    def advance(self, seconds: float) -> None:
        if seconds > 600:
            pytest.skip(f"waiting {seconds:g} s of real time is too long for the hardware bench")
        time.sleep(seconds)

    def _switch(self, tok: BenchToken, state: str) -> None:
        cmd = os.environ.get(POWER_SWITCH_ENV)
        if not cmd:
            pytest.skip(f"no power switch configured (set {POWER_SWITCH_ENV})")
        subprocess.run([*shlex.split(cmd), state, tok.port], check=True, timeout=30)

    def power_off(self, tok: BenchToken) -> None:
        self._switch(tok, "off")

    def power_on(self, tok: BenchToken) -> None:
        self._switch(tok, "on")
        time.sleep(3)  # USB enumeration

    def power_cycle(self, tok: BenchToken) -> None:
        self.power_off(tok)
        time.sleep(1)
        self.power_on(tok)

    def close(self) -> None:
        self.server.close()


def open_bench(spec: str, folder: Path, seed: int = 0) -> Bench:
    kind, ports = parse_spec(spec)
    if kind == "sim":
        return SimBench(folder, seed)
    return SerialBench(folder, ports)
