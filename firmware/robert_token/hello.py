"""ROBERT HELLO messages and authenticated request bodies (ROBERT-PROTOCOL.md)."""

import struct

from robert_token.crypto import hmac_sha256

PREFIX_HELLO = 0x01
PREFIX_STATUS = 0x02
PREFIX_UNREGISTER = 0x03
PREFIX_DELETE_HISTORY = 0x04
KIND_PREFIX = {"status": PREFIX_STATUS, "unregister": PREFIX_UNREGISTER,
               "deleteExposureHistory": PREFIX_DELETE_HISTORY}


def _ecc_byte(ecc):
    return ecc & 0xFF if isinstance(ecc, int) else bytes(ecc)[0]


def build(k_mac, ecc, ebid, ntp_time):
    """HELLO(16) = ECC || EBID || Time16 || MAC(5) for an emission at NTP second `ntp_time`."""
    ebid = bytes(ebid)
    if len(ebid) != 8:
        raise ValueError("EBID must be 8 bytes")
    head = bytes((_ecc_byte(ecc),)) + ebid + struct.pack(">H", int(ntp_time) & 0xFFFF)
    mac = hmac_sha256(k_mac, bytes((PREFIX_HELLO,)) + head)
    return head + mac[:5]


def auth_mac(k_mac, prefix, ebid, epoch_id, ntp_time):
    """The full 32-byte MAC of a status/unregister/deleteExposureHistory request."""
    msg = bytes((prefix,)) + bytes(ebid) + struct.pack(">II", epoch_id & 0xFFFFFFFF, int(ntp_time) & 0xFFFFFFFF)
    return hmac_sha256(k_mac, msg)
