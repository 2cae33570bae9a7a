"""A ROBERT API v6 client written from ROBERT-PROTOCOL.md alone.

It imports nothing from this repository (only `cryptography`, hmac and
httpx), so it checks the server stub against the protocol text rather than
against our own library. It needs no SKINNY: EBIDs are opaque to a client.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NTP_UNIX_DELTA = 2208988800
EPOCH_SECONDS = 900
TIME_START = 3799958400  # 2020-06-01T00:00Z in NTP seconds
PREFIX_HELLO, PREFIX_STATUS, PREFIX_UNREGISTER, PREFIX_DELETE = 1, 2, 3, 4


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def epoch_of(ntp: int) -> int:
    return (ntp - TIME_START) // EPOCH_SECONDS


@dataclass
class SpecClient:
    """One registration: its own ECDH key, K_A_mac, K_A_tuples and decrypted tuples."""

    api: httpx.Client
    server_key_b64: str
    k_mac: bytes = field(default=b"", repr=False)
    k_tuples: bytes = field(default=b"", repr=False)
    tuples: dict[int, tuple[bytes, int]] = field(default_factory=dict)

    def register(self, captcha_id: str = "none", captcha: str = "none",
                 **extra: object) -> httpx.Response:
        """POST /register with a solved captcha (`new_captcha`); a server that does not check
        captchas takes any."""
        private = ec.generate_private_key(ec.SECP256R1())
        spki = private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        body = {"captchaId": captcha_id, "captcha": captcha, "clientPublicECDHKey": b64(spki),
                **extra}
        r = self.api.post("/api/v6/register", json=body)
        if r.status_code == 201:
            server_key = serialization.load_der_public_key(base64.b64decode(self.server_key_b64))
            z = private.exchange(ec.ECDH(), server_key)
            self.k_mac = hmac.new(z, b"mac", hashlib.sha256).digest()
            self.k_tuples = hmac.new(z, b"tuples", hashlib.sha256).digest()
            self.take_tuples(r.json()["tuples"])
        return r

    def take_tuples(self, blob_b64: str) -> None:
        blob = base64.b64decode(blob_b64)
        plain = AESGCM(self.k_tuples).decrypt(blob[:12], blob[12:], None)
        for t in json.loads(plain):
            ebid = base64.b64decode(t["key"]["ebid"])
            ecc = base64.b64decode(t["key"]["ecc"])
            assert len(ebid) == 8 and len(ecc) == 1
            self.tuples[t["epochId"]] = (ebid, ecc[0])

    def hello(self, ntp_time: int) -> bytes:
        """The 16-byte HELLO this client emits at `ntp_time`."""
        ebid, ecc = self.tuples[epoch_of(ntp_time)]
        time16 = (ntp_time & 0xFFFF).to_bytes(2, "big")
        mac = hmac.new(self.k_mac, bytes([PREFIX_HELLO, ecc]) + ebid + time16,
                       hashlib.sha256).digest()[:5]
        return bytes([ecc]) + ebid + time16 + mac

    def auth_body(self, prefix: int, ntp_time: int, epoch_id: int | None = None) -> dict:
        epoch_id = epoch_of(ntp_time) if epoch_id is None else epoch_id
        ebid = self.tuples[epoch_id][0]
        time32 = ntp_time.to_bytes(4, "big")
        mac = hmac.new(self.k_mac, bytes([prefix]) + ebid + epoch_id.to_bytes(4, "big") + time32,
                       hashlib.sha256).digest()
        return {"ebid": b64(ebid), "epochId": epoch_id, "time": b64(time32), "mac": b64(mac)}

    def status(self, ntp_time: int) -> httpx.Response:
        r = self.api.post("/api/v6/status", json=self.auth_body(PREFIX_STATUS, ntp_time))
        if r.status_code == 200:
            self.take_tuples(r.json()["tuples"])
        return r

    def unregister(self, ntp_time: int) -> httpx.Response:
        return self.api.post("/api/v6/unregister", json=self.auth_body(PREFIX_UNREGISTER, ntp_time))

    def delete_history(self, ntp_time: int) -> httpx.Response:
        return self.api.post("/api/v6/deleteExposureHistory",
                             json=self.auth_body(PREFIX_DELETE, ntp_time))


def new_captcha(api: httpx.Client, kind: str = "IMAGE", locale: str = "fr-FR") -> str:
    """POST /captcha {type, locale} -> its id (the protocol's `{id}`)."""
    r = api.post("/api/v6/captcha", json={"type": kind, "locale": locale})
    assert r.status_code in (200, 201), r.text
    return r.json()["id"]


def captcha_media(api: httpx.Client, captcha_id: str, media: str) -> httpx.Response:
    """GET /captcha/{id}/image (PNG) or /captcha/{id}/audio (WAV)."""
    return api.get(f"/api/v6/captcha/{captcha_id}/{media}")


def jwt_parts(token: str) -> tuple[dict, dict, bytes, bytes]:
    """(header, claims, signed bytes, signature) of a compact JWS."""
    head, body, sig = token.split(".")

    def unb64(text: str) -> bytes:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    return (json.loads(unb64(head)), json.loads(unb64(body)), f"{head}.{body}".encode(),
            unb64(sig))


def verify_rs256(token: str, public_key_b64: str) -> dict:
    """The claims of an RS256 JWT whose signature checks under the X.509 DER public key."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    header, claims, signed, signature = jwt_parts(token)
    assert header["alg"] == "RS256", header
    key = serialization.load_der_public_key(base64.b64decode(public_key_b64))
    key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())  # raises if forged
    return claims


def ntp_of_iso(instant: str) -> int:
    """NTP seconds of an ISO 8601 instant ("2026-11-23T17:40:12.123Z"); it must name its zone."""
    when = datetime.fromisoformat(instant.replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise ValueError(f"an instant without a time zone: {instant!r}")
    return int(when.timestamp()) + NTP_UNIX_DELTA


def server_time(api: httpx.Client) -> int:
    """NTP seconds of GET /clock's `time` (an ISO 8601 instant in UTC)."""
    return ntp_of_iso(api.get("/api/v6/clock").json()["time"])


def heard(emitter: SpecClient, start_ntp: int, seconds: int, every: int, rssi: int,
          delay: int = 1) -> list[tuple[bytes, int, int]]:
    """What a receiver close to `emitter` logs: (HELLO, reception NTP time, calibrated RSSI)."""
    return [(emitter.hello(t), t + delay, rssi) for t in range(start_ntp, start_ntp + seconds, every)]


def report_body(code: str, log: list[tuple[bytes, int, int]]) -> dict:
    """Group received HELLOs by EBID into the report's contacts."""
    contacts: dict[tuple[bytes, int], list[dict]] = defaultdict(list)
    for hello, time_collected, rssi in log:
        contacts[(hello[1:9], hello[0])].append({
            "timeCollectedOnDevice": time_collected,
            "timeFromHelloMessage": int.from_bytes(hello[9:11], "big"),
            "mac": b64(hello[11:16]),
            "rssiCalibrated": rssi,
        })
    return {"token": code, "contacts": [
        {"ebid": b64(ebid), "ecc": b64(bytes([ecc])), "ids": ids}
        for (ebid, ecc), ids in contacts.items()]}
