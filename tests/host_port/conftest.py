"""Fixtures of the host-port tests: `robert-token` as a real process (the one launcher)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ports.host.launcher import TokenProcess


@pytest.fixture
def spawn_token(tmp_path):
    """spawn_token(*args, state=None) -> a started TokenProcess (killed at the end)."""
    started: list[TokenProcess] = []

    def spawn(*args: str, state: Path | None = None) -> TokenProcess:
        token = TokenProcess(state or tmp_path / "flash", *args,
                             log_path=tmp_path / f"token-{len(started)}.log")
        started.append(token)
        return token.start()

    yield spawn
    for token in started:
        token.kill()
