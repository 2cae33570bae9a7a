"""Report codes, as the submission-code service hands them out and checks them.

Read from TousAntiCovid/submission-code-server (`SubmissionCodeService.kt`,
`generateShortCode`, `generateTestCode`, `validateAndUse`, `validateJwt`) and
ROBERT-PROTOCOL.md "Report codes":

| kind  | shape                         | valid                                  |
|-------|-------------------------------|----------------------------------------|
| SHORT | 6 characters of [0-9A-Z]      | 1 hour                                 |
| LONG  | a UUID (36 characters)        | 10 days                                |
| TEST  | 12 characters of [0-9A-Z]     | 15 days, to the start of that UTC day  |
| JWT   | a signed JWT (ES256, `kid`)   | 10 days after its `iat`                |

The real service draws SHORT and TEST codes in upper case and looks them up
exactly; kiosks and apps type them in either case, so the stub reads them
case-insensitively (stored upper case). A code of 6, 12 or 36 characters is
looked up; anything else is read as a JWT (as `validateAndUse` does): its
signature must verify under the key named by its `kid`, it must carry a `jti`
and an `iat`, and its `jti` is burned on use. Every kind is single-use.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
import uuid

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from robert import timeutil
from server_stub.store import Store

SHORT_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
SHORT_LENGTH = 6
TEST_LENGTH = 12
LONG_LENGTH = 36
SHORT_TTL = 3600
LONG_TTL = 10 * 86400
TEST_TTL = 15 * 86400
JWT_TTL = 10 * 86400
KINDS = ("short", "long", "test", "jwt")
JWT_KID = "robert-stub"  # the one signing key of the stub's code service


def new_code(store: Store, now_ntp: int, long: bool = False, kind: str | None = None) -> str:
    """Draw a fresh code of `kind` (default short; `long=True` kept for old callers), store it."""
    kind = kind or ("long" if long else "short")
    if kind == "jwt":
        return _new_jwt_code(store, now_ntp)
    while True:
        if kind == "long":
            code, ttl = str(uuid.uuid4()), LONG_TTL
        elif kind == "test":
            code = "".join(secrets.choice(SHORT_ALPHABET) for _ in range(TEST_LENGTH))
            # generateTestCode: now + 15 days, truncated to the start of that UTC day.
            ttl = timeutil.utc_day_ntp(now_ntp + TEST_TTL) - now_ntp
        elif kind == "short":
            code = "".join(secrets.choice(SHORT_ALPHABET) for _ in range(SHORT_LENGTH))
            ttl = SHORT_TTL
        else:
            raise ValueError(f"unknown code kind {kind!r}: one of {', '.join(KINDS)}")
        if store.add_code(code, kind, now_ntp + ttl):
            return code


def normal(code: str) -> str:
    """The form a code is stored under: trimmed; looked-up kinds in canonical case."""
    code = code.strip()
    if len(code) == LONG_LENGTH:
        return code.lower()
    if len(code) in (SHORT_LENGTH, TEST_LENGTH):
        return code.upper()
    return code


def is_jwt_shaped(code: str) -> bool:
    """Not a looked-up length: the real service then reads the code as a JWT."""
    return len(code) not in (SHORT_LENGTH, TEST_LENGTH, LONG_LENGTH)


def jwt_id(store: Store, code: str, now_ntp: int) -> str | None:
    """The `jti` of a JWT code that is well signed and within its lifetime, else None.

    Said of `validateJwt`: header `kid` known, `jti` and `iat` present, signature
    good, `iat` before now and `iat + 10 days` after now. Whether the `jti` was
    already burned is the store's to say."""
    parts = code.split(".")
    if len(parts) != 3:
        return None
    try:
        header = json.loads(_b64url_decode(parts[0]))
        claims = json.loads(_b64url_decode(parts[1]))
        signature = _b64url_decode(parts[2])
    except (ValueError, binascii.Error, RecursionError):  # RecursionError: deep nesting
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return None
    if header.get("alg") != "ES256" or header.get("kid") != JWT_KID or len(signature) != 64:
        return None
    jti, iat = claims.get("jti"), claims.get("iat")
    if not isinstance(jti, str) or not jti.strip() or not isinstance(iat, int) or isinstance(iat, bool):
        return None
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"),
                               int.from_bytes(signature[32:], "big"))
    try:
        store.code_signing_key().public_key().verify(
            der, f"{parts[0]}.{parts[1]}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return None
    now_unix = timeutil.unix_from_ntp(now_ntp)
    if not (iat < now_unix < iat + JWT_TTL):
        return None
    return jti


def jwt_key(jti: str) -> str:
    """What the codes table stores for a JWT code: its burned-or-not `jti`, prefixed."""
    return "jti:" + hashlib.sha256(jti.encode()).hexdigest()


def _new_jwt_code(store: Store, now_ntp: int) -> str:
    """A JWT as the real code service accepts them (signed ES256 under `kid`)."""
    jti = secrets.token_hex(16)
    iat = timeutil.unix_from_ntp(now_ntp) - 1  # `iat` must be strictly before now
    header = _b64url(json.dumps({"alg": "ES256", "typ": "JWT", "kid": JWT_KID},
                                separators=(",", ":")).encode())
    claims = _b64url(json.dumps({"jti": jti, "iat": iat}, separators=(",", ":")).encode())
    r, s = decode_dss_signature(store.code_signing_key().sign(
        f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256())))
    store.add_code(jwt_key(jti), "jwt", now_ntp + JWT_TTL)
    return f"{header}.{claims}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _b64url_decode(text: str) -> bytes:
    if not text or len(text) > 4096:
        raise ValueError("empty or oversized JWT part")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
