"""Fill a stopped host token's log with HELLOs, through the core's own reception path.

The token (a provisioned flash folder, process stopped) is brought up
in-process and hears `n` ROBERT adverts (random ECC/EBID/MAC, `per_contact`
HELLOs per EBID), exactly as its scanner would; the log is flushed to flash.
"""

from __future__ import annotations

import os
from pathlib import Path

from ports.host.clock import SystemClock
from ports.host.led import LogLed
from ports.host.port import HostPort
from ports.host.radio import SilentRadio
from ports.host.storage import FolderStorage
from robert_token import scanner
from robert_token.token import Token


def seed_history(flash: Path, n: int, per_contact: int = 20) -> int:
    """Make the stopped token at `flash` hear `n` HELLOs; returns how many it logged."""
    clock = SystemClock()
    port = HostPort(FolderStorage(str(flash)), clock, SilentRadio(), LogLed())
    return hear_hellos(Token(port), clock, n, per_contact)


def hear_hellos(token: Token, clock, n: int, per_contact: int = 20) -> int:
    """Feed a running core `n` ROBERT adverts, then flush its log to flash."""
    logged = 0
    contact = b""
    for i in range(n):
        if i % per_contact == 0:
            contact = os.urandom(9)  # ECC || EBID of a new neighbour
        hello = contact + os.urandom(7)  # Time16 || MAC
        advert = scanner.build_advert(hello, 0, -5)
        logged += bool(token.on_advert(os.urandom(6), advert, -60, clock.ticks_ms()))
    token.log.flush()
    return logged
