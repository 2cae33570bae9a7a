"""Report codes, as the submission-code service hands them out.

Short: 6 characters of [0-9A-Z], valid 1 hour. Long: a UUID, valid 10 days.
Each is single-use (burned by an accepted report).
"""

from __future__ import annotations

import secrets
import uuid

from server_stub.store import Store

SHORT_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
SHORT_LENGTH = 6
LONG_LENGTH = 36
SHORT_TTL = 3600
LONG_TTL = 10 * 86400


def new_code(store: Store, now_ntp: int, long: bool = False) -> str:
    """Draw a fresh code, store it, return it."""
    while True:
        if long:
            code, kind, ttl = str(uuid.uuid4()), "long", LONG_TTL
        else:
            code = "".join(secrets.choice(SHORT_ALPHABET) for _ in range(SHORT_LENGTH))
            kind, ttl = "short", SHORT_TTL
        if store.add_code(code, kind, now_ntp + ttl):
            return code


def well_formed(code: str) -> bool:
    """A short or long code by its shape (says nothing about validity)."""
    if len(code) == SHORT_LENGTH:
        return all(c in SHORT_ALPHABET for c in code)
    if len(code) == LONG_LENGTH:
        try:
            return str(uuid.UUID(code)) == code.lower()
        except ValueError:
            return False
    return False
