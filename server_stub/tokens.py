"""The JWTs of a status answer: `declarationToken` and `analyticsToken` (RS256).

As robert-server's `DeclarationServiceImpl` makes them:
- declarationToken (only when at risk and a last contact date is known): header
  `{"alg": "RS256", "type": "JWT", "kid": ...}`; claims `jti` = SHA-256 hex of
  (base64 ID_A || riskLevel || latestRiskEpoch), `iat`, `iss` "tac",
  `notificationDateTimestamp` (NTP seconds of the last status request's epoch)
  and `lastContactDateTimestamp` (NTP seconds).
- analyticsToken (every status answer): `iat` truncated to the minute, `exp`
  = iat + lifetime + 1 minute, `iss` "robert-server".
The keys are the stub's own (store: `declaration_key`, `analytics_key`); their
public halves print with `robert-server declaration-key` / `analytics-key`.
"""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

DECLARATION_KID = "robert-stub-declaration"
ANALYTICS_LIFETIME_MINUTES = 1440  # robert-server's analytics token lifetime is configured; a day


def declaration_token(key: rsa.RSAPrivateKey, id_a: bytes, risk_level: int,
                      latest_risk_epoch: int, last_status_ntp: int, last_contact_ntp: int,
                      now_unix: int) -> str:
    jti = hashlib.sha256((base64.b64encode(id_a).decode() + str(risk_level)
                          + str(latest_risk_epoch)).encode()).hexdigest()
    return sign_rs256(key, {"type": "JWT", "kid": DECLARATION_KID}, {
        "jti": jti, "iat": now_unix, "iss": "tac",
        "notificationDateTimestamp": last_status_ntp,
        "lastContactDateTimestamp": last_contact_ntp})


def analytics_token(key: rsa.RSAPrivateKey, now_unix: int) -> str:
    iat = now_unix - now_unix % 60
    return sign_rs256(key, {"type": "JWT"}, {
        "iat": iat, "exp": iat + (ANALYTICS_LIFETIME_MINUTES + 1) * 60, "iss": "robert-server"})


def sign_rs256(key: rsa.RSAPrivateKey, header: dict, claims: dict) -> str:
    head = _b64url(json.dumps({"alg": "RS256", **header}, separators=(",", ":")).encode())
    body = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{body}.{_b64url(signature)}"


def public_key_b64(key: rsa.RSAPrivateKey) -> str:
    """The public key as robert-server's configuration holds it: base64 of the X.509 DER."""
    return base64.b64encode(key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")
