"""Fixtures of the kiosk tests: a real robert-server and real host-port tokens over ptys."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kiosk_live import ServerProcess, TokenProcess, provision  # noqa: E402


def _live_parts_present() -> bool:
    try:
        import robert_token.frame  # noqa: F401
        import robert_token.sync  # noqa: F401
    except ImportError:
        return False
    bin_dir = Path(sys.executable).parent
    return all((bin_dir / s).exists() or shutil.which(s)
               for s in ("robert-server", "robert-token", "robert-provision"))


live = pytest.mark.skipif(not _live_parts_present(),
                          reason="the token core or the server stub is not there yet")


@pytest.fixture
def server(tmp_path):
    s = ServerProcess(tmp_path / "server").start()
    yield s
    s.stop()


@pytest.fixture
def spawn_token(tmp_path):
    started: list[TokenProcess] = []

    def spawn(serial: str = "RT-00000001") -> TokenProcess:
        t = TokenProcess(tmp_path / serial, serial).start()
        started.append(t)
        return t

    yield spawn
    for t in started:
        t.stop()


@pytest.fixture
def token(server, spawn_token):
    """A provisioned host-port token, registered with `server`."""
    t = spawn_token()
    provision(t, server)
    return t


@pytest.fixture
def seeded_token(server, spawn_token, tmp_path):
    """A provisioned token whose log holds 600 HELLOs from 30 neighbours (restarted on it)."""
    from seed import seed_history

    t = spawn_token("RT-00000002")
    provision(t, server)
    t.stop()
    assert seed_history(t.folder / "flash", 600, per_contact=20) == 600
    return t.start()


@pytest.fixture(autouse=True)
def _queue_in_tmp(tmp_path, monkeypatch):
    """No test may touch the real kiosk queue in the home folder."""
    monkeypatch.setenv("ROBERT_KIOSK_QUEUE", str(tmp_path / "default-queue"))
