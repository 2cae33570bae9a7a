"""ROBERT crypto: EBID/ECC, key derivation, HELLO, request MACs, tuples bundles.

The facts are those of ROBERT-PROTOCOL.md; AES, GCM and HMAC come from
`cryptography` and the standard library, SKINNY from `robert.skinny`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from robert import skinny
from robert.errors import BundleError, HelloFormatError, ProtocolError
from robert.timeutil import time16

PREFIX_HELLO = 0x01
PREFIX_STATUS = 0x02
PREFIX_UNREGISTER = 0x03
PREFIX_DELETE_HISTORY = 0x04
AUTH_PREFIXES = {"status": PREFIX_STATUS, "unregister": PREFIX_UNREGISTER,
                 "deleteExposureHistory": PREFIX_DELETE_HISTORY}
COUNTRY_FRANCE = 0x21

ID_A_SIZE = 5
EBID_SIZE = 8
HELLO_SIZE = 16
HELLO_MAC_SIZE = 5
IV_SIZE = 12
TAG_SIZE = 16
MAX_EPOCH_ID = (1 << 24) - 1  # epochId travels as 3 bytes in the EBID plaintext


def _need(value: object, size: int, name: str) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)) or len(value) != size:
        raise ProtocolError(f"{name} must be {size} bytes")
    return bytes(value)


def ebid(k_s: bytes, epoch_id: int, id_a: bytes) -> bytes:
    """EBID = SKINNY(K_S, epochId (3 bytes) || ID_A (5 bytes))."""
    if not 0 <= epoch_id <= MAX_EPOCH_ID:
        raise ProtocolError(f"epochId must be in 0..{MAX_EPOCH_ID}")
    block = epoch_id.to_bytes(3, "big") + _need(id_a, ID_A_SIZE, "ID_A")
    return skinny.encrypt(_need(k_s, skinny.KEY_SIZE, "K_S"), block)


def ebid_open(k_s: bytes, ebid_: bytes) -> tuple[int, bytes]:
    """Decrypt an EBID: (epochId, ID_A). Any 8 bytes decrypt; the caller checks the epoch."""
    block = skinny.decrypt(_need(k_s, skinny.KEY_SIZE, "K_S"), _need(ebid_, EBID_SIZE, "EBID"))
    return int.from_bytes(block[:3], "big"), block[3:]


def ecc_mask(k_g: bytes, ebid_: bytes) -> int:
    """The byte that hides the country: AES-ECB(K_G, EBID || 0^8)[0]."""
    if not isinstance(k_g, (bytes, bytearray)) or len(k_g) not in (16, 24, 32):
        raise ProtocolError("K_G must be a 16, 24 or 32-byte AES key")
    enc = Cipher(algorithms.AES(bytes(k_g)), modes.ECB()).encryptor()
    return enc.update(_need(ebid_, EBID_SIZE, "EBID") + bytes(8))[0]


def ecc(k_g: bytes, ebid_: bytes, country_code: int) -> int:
    """Encrypted country code; applied to an ECC it gives the country code back."""
    if not 0 <= country_code <= 0xFF:
        raise ProtocolError("a country code is one byte")
    return ecc_mask(k_g, ebid_) ^ country_code


def ebid_many(k_s: bytes, epoch_ids: list[int], id_a: bytes) -> list[bytes]:
    """EBIDs of one ID_A for many epochs of one day key (a tuples bundle), batched SKINNY."""
    id_a = _need(id_a, ID_A_SIZE, "ID_A")
    if any(not 0 <= e <= MAX_EPOCH_ID for e in epoch_ids):
        raise ProtocolError(f"epochId must be in 0..{MAX_EPOCH_ID}")
    blocks = b"".join(e.to_bytes(3, "big") + id_a for e in epoch_ids)
    out = skinny.encrypt_many(_need(k_s, skinny.KEY_SIZE, "K_S"), blocks)
    return [out[i:i + EBID_SIZE] for i in range(0, len(out), EBID_SIZE)]


def ecc_many(k_g: bytes, ebids: list[bytes], country_code: int) -> list[int]:
    """`ecc` for many EBIDs in one AES-ECB call."""
    if not 0 <= country_code <= 0xFF:
        raise ProtocolError("a country code is one byte")
    if not isinstance(k_g, (bytes, bytearray)) or len(k_g) not in (16, 24, 32):
        raise ProtocolError("K_G must be a 16, 24 or 32-byte AES key")
    if not ebids:
        return []
    enc = Cipher(algorithms.AES(bytes(k_g)), modes.ECB()).encryptor()
    masks = enc.update(b"".join(_need(e, EBID_SIZE, "EBID") + bytes(8) for e in ebids))
    return [masks[16 * i] ^ country_code for i in range(len(ebids))]


def derive_keys(shared_secret: bytes) -> tuple[bytes, bytes]:
    """(K_A_mac, K_A_tuples) from the 32-byte ECDH x-coordinate, as ROBERT does (no salt)."""
    z = _need(shared_secret, 32, "the ECDH shared secret")
    return (hmac.digest(z, b"mac", hashlib.sha256), hmac.digest(z, b"tuples", hashlib.sha256))


def hello_mac(k_mac: bytes, ecc_: int, ebid_: bytes, t16: int) -> bytes:
    """First 5 bytes of HMAC-SHA256(K_A_mac, 0x01 || ECC || EBID || Time16)."""
    msg = bytes((PREFIX_HELLO, ecc_)) + ebid_ + t16.to_bytes(2, "big")
    return hmac.digest(k_mac, msg, hashlib.sha256)[:HELLO_MAC_SIZE]


def hello(k_mac: bytes, ecc_: int, ebid_: bytes, ntp_time: int) -> bytes:
    """The 16-byte HELLO: ECC || EBID || Time16 || MAC."""
    if not 0 <= ecc_ <= 0xFF:
        raise ProtocolError("ECC is one byte")
    ebid_ = _need(ebid_, EBID_SIZE, "EBID")
    t16 = time16(ntp_time)
    return bytes((ecc_,)) + ebid_ + t16.to_bytes(2, "big") + hello_mac(k_mac, ecc_, ebid_, t16)


@dataclass(frozen=True)
class Hello:
    ecc: int
    ebid: bytes
    time16: int
    mac: bytes

    def to_bytes(self) -> bytes:
        return bytes((self.ecc,)) + self.ebid + self.time16.to_bytes(2, "big") + self.mac


def parse_hello(data: bytes) -> Hello:
    """Split a 16-byte HELLO into its fields (no check of the MAC: it needs K_A_mac)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise HelloFormatError("a HELLO is 16 bytes, got a " + type(data).__name__)
    data = bytes(data)
    if len(data) != HELLO_SIZE:
        raise HelloFormatError(f"a HELLO is {HELLO_SIZE} bytes, got {len(data)}")
    return Hello(data[0], data[1:9], int.from_bytes(data[9:11], "big"), data[11:16])


def verify_hello(k_mac: bytes, h: Hello) -> bool:
    """True when the HELLO's MAC was made with K_A_mac."""
    return hmac.compare_digest(hello_mac(k_mac, h.ecc, h.ebid, h.time16), h.mac)


def auth_mac(k_mac: bytes, prefix: int, ebid_: bytes, epoch_id: int, ntp_time: int) -> bytes:
    """HMAC-SHA256(K_A_mac, prefix || EBID || epochId (4) || Time32) of status/unregister/delete."""
    if prefix not in (PREFIX_STATUS, PREFIX_UNREGISTER, PREFIX_DELETE_HISTORY):
        raise ProtocolError("auth MAC prefix must be 0x02, 0x03 or 0x04")
    if not 0 <= epoch_id <= 0xFFFFFFFF or not 0 <= ntp_time <= 0xFFFFFFFF:
        raise ProtocolError("epochId and time must fit in 32 bits")
    msg = bytes((prefix,)) + _need(ebid_, EBID_SIZE, "EBID") + epoch_id.to_bytes(4, "big") \
        + ntp_time.to_bytes(4, "big")
    return hmac.digest(k_mac, msg, hashlib.sha256)


def auth_body(k_mac: bytes, prefix: int, ebid_: bytes, epoch_id: int, ntp_time: int) -> dict:
    """The JSON body of an authenticated request, base64 fields as on the REST API."""
    mac = auth_mac(k_mac, prefix, ebid_, epoch_id, ntp_time)
    return {"ebid": _b64(ebid_), "epochId": epoch_id,
            "time": _b64(ntp_time.to_bytes(4, "big")), "mac": _b64(mac)}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def tuples_json(tuples: list[tuple[int, bytes, int]]) -> bytes:
    """The bundle plaintext: `[{"epochId", "key": {"ebid", "ecc"}}]`, compact JSON."""
    items = [{"epochId": e, "key": {"ebid": _b64(b), "ecc": _b64(bytes((c,)))}}
             for e, b, c in tuples]
    return json.dumps(items, separators=(",", ":")).encode()


def tuples_seal(k_tuples: bytes, tuples: list[tuple[int, bytes, int]],
                iv: bytes | None = None) -> bytes:
    """Encrypt a tuples bundle: IV (12) || AES-256-GCM ciphertext || tag (16), no AAD."""
    key = _need(k_tuples, 32, "K_A_tuples")
    iv = os.urandom(IV_SIZE) if iv is None else _need(iv, IV_SIZE, "IV")
    return iv + AESGCM(key).encrypt(iv, tuples_json(tuples), None)


def tuples_open(k_tuples: bytes, blob: bytes) -> list[tuple[int, bytes, int]]:
    """Decrypt and parse a bundle into (epochId, EBID, ECC); BundleError if it does not
    authenticate or does not hold what the protocol file says."""
    key = _need(k_tuples, 32, "K_A_tuples")
    if not isinstance(blob, (bytes, bytearray)) or len(blob) < IV_SIZE + TAG_SIZE:
        raise BundleError("a tuples bundle is at least 28 bytes (IV and tag)")
    try:
        plain = AESGCM(key).decrypt(bytes(blob[:IV_SIZE]), bytes(blob[IV_SIZE:]), None)
    except InvalidTag:
        raise BundleError("tuples bundle did not authenticate (wrong key or altered)") from None
    return parse_tuples_json(plain)


def parse_tuples_json(plain: bytes) -> list[tuple[int, bytes, int]]:
    try:
        items = json.loads(plain)
    except (ValueError, UnicodeDecodeError):
        raise BundleError("tuples bundle plaintext is not JSON") from None
    if not isinstance(items, list):
        raise BundleError("tuples bundle plaintext must be a JSON list")
    out = []
    for n, item in enumerate(items):
        try:
            epoch = item["epochId"]
            e = base64.b64decode(item["key"]["ebid"], validate=True)
            c = base64.b64decode(item["key"]["ecc"], validate=True)
        except (KeyError, TypeError, binascii.Error, ValueError):
            raise BundleError(f"tuple {n} is not {{epochId, key: {{ebid, ecc}}}}") from None
        if type(epoch) is not int or not 0 <= epoch <= MAX_EPOCH_ID:
            raise BundleError(f"tuple {n}: epochId must be an integer in 0..{MAX_EPOCH_ID}")
        if len(e) != EBID_SIZE or len(c) != 1:
            raise BundleError(f"tuple {n}: EBID must be 8 bytes and ECC 1 byte")
        out.append((epoch, e, c[0]))
    return out
