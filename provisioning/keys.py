"""Key agreement of the station with the server, and the wiping of what it produced.

The station plays the client side of ROBERT's ECDH /register: it makes a fresh P-256 key pair
per token, sends the public half, and computes Z with the server's public key (which, like
the real apps, it must be given: the server does not send it). K_A_mac and K_A_tuples come
from `robert.crypto.derive_keys(Z)`; the station keeps them in bytearrays and zeroes them
once the token has them. CPython may have made copies we cannot reach (the cryptography
library's Z, bytes built for the frame): the wipe is best effort, which is why the station
also never logs, prints or stores them.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from provisioning.errors import EXIT_USAGE, ProvisionError


def load_server_key(text: str) -> ec.EllipticCurvePublicKey:
    """The server's ECDH public key from base64 SubjectPublicKeyInfo DER or a PEM block."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
        else:
            key = serialization.load_der_public_key(base64.b64decode(text, validate=True))
    except (ValueError, binascii.Error, TypeError):
        raise ProvisionError(
            "the server key is not a public key (expected base64 of the DER SubjectPublicKeyInfo "
            "or a PEM block, as printed by `robert-server public-key`)",
            EXIT_USAGE,
        ) from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ProvisionError("the server key is not a P-256 (secp256r1) key", EXIT_USAGE)
    return key


class StationKeyPair:
    """One registration's ephemeral P-256 key pair; `repr` shows only the public half."""

    def __init__(self) -> None:
        self._private: ec.EllipticCurvePrivateKey | None = ec.generate_private_key(ec.SECP256R1())
        der = self._private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public_b64 = base64.b64encode(der).decode()

    def shared_secret(self, server_key: ec.EllipticCurvePublicKey) -> bytearray:
        """Z, the 32-byte x-coordinate; the private key is dropped after this one use."""
        if self._private is None:
            raise RuntimeError("this key pair was already used")
        z = bytearray(self._private.exchange(ec.ECDH(), server_key))
        self._private = None
        return z

    def __repr__(self) -> str:
        return f"StationKeyPair(public={self.public_b64[:16]}...)"


class TokenKeys:
    """K_A_mac and K_A_tuples of one token while the station holds them."""

    def __init__(self, k_mac: bytes | bytearray, k_tuples: bytes | bytearray) -> None:
        self.k_mac = bytearray(k_mac)
        self.k_tuples = bytearray(k_tuples)

    @classmethod
    def derive(cls, z: bytearray) -> TokenKeys:
        """K_A from Z with the project's one KDF; Z is zeroed here."""
        from robert.crypto import derive_keys

        try:
            k_mac, k_tuples = derive_keys(bytes(z))
            return cls(k_mac, k_tuples)
        finally:
            wipe(z)

    def wipe(self) -> None:
        wipe(self.k_mac)
        wipe(self.k_tuples)

    @property
    def wiped(self) -> bool:
        return not any(self.k_mac) and not any(self.k_tuples)

    def __repr__(self) -> str:
        return "TokenKeys(<hidden>)"

    def __enter__(self) -> TokenKeys:
        return self

    def __exit__(self, *exc: object) -> None:
        self.wipe()


def wipe(buf: bytearray) -> None:
    """Overwrite a buffer with zeros in place."""
    for i in range(len(buf)):
        buf[i] = 0
