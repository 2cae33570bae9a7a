"""The token's keys and provisioning settings: written once, never read back by any command.

Stored as one file (`keys.bin`) with a CRC, replaced atomically. `repr()` hides
the keys; nothing outside the core's crypto calls reads them.
"""

import json
import struct

from robert_token import flashfile
from robert_token.crc import crc32

FILE = "keys.bin"


class ProvisionError(ValueError):
    """A PROVISION payload that cannot be used (the message never contains key bytes)."""


def parse_provision(payload):
    """Split a PROVISION payload into (k_mac, k_tuples, id_a or None, settings dict)."""
    payload = bytes(payload)
    if len(payload) < 70:
        raise ProvisionError("provision payload too short: %d bytes, need at least 70" % len(payload))
    k_mac, k_tuples, flag, id_a = payload[:32], payload[32:64], payload[64], payload[65:70]
    if flag not in (0, 1):
        raise ProvisionError("ID_A flag must be 0 or 1")
    try:
        settings = json.loads(payload[70:].decode()) if len(payload) > 70 else {}
    except (ValueError, UnicodeError):
        raise ProvisionError("provision settings are not valid JSON")
    if not isinstance(settings, dict):
        raise ProvisionError("provision settings must be a JSON object")
    clean = {}
    for name, lo, hi, default in (("cc", 0, 255, 33), ("rx_gain", -127, 127, 0), ("tx_gain", -127, 127, 0)):
        v = settings.get(name, default)
        if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
            raise ProvisionError("provision setting %s must be an integer in [%d, %d]" % (name, lo, hi))
        clean[name] = v
    for name in ("serial", "model"):
        v = settings.get(name)
        if v is not None and (not isinstance(v, str) or len(v) > 32):
            raise ProvisionError("provision setting %s must be a string of at most 32 characters" % name)
        if v is not None:
            clean[name] = v
    return k_mac, k_tuples, (id_a if flag else None), clean


class Keys:
    """K_A_mac, K_A_tuples, ID_A and settings of a provisioned token (or nothing)."""

    def __init__(self, storage):
        self._storage = storage
        self._k_mac = self._k_tuples = self._id_a = None
        self.settings = {}
        self.load()

    def __repr__(self):
        return "Keys(provisioned=%s, <keys hidden>)" % self.provisioned

    @property
    def provisioned(self):
        return self._k_mac is not None

    def load(self):
        """Read keys.bin; a missing or damaged file means not provisioned."""
        self._k_mac = self._k_tuples = self._id_a = None
        self.settings = {}
        flashfile.recover(self._storage, FILE)
        if self._storage.size(FILE) < 74:
            return
        with self._storage.open(FILE, "rb") as f:
            data = f.read()
        body, (crc,) = data[:-4], struct.unpack(">I", data[-4:])
        if crc32(body) != crc:
            return
        k_mac, k_tuples, id_a, settings = parse_provision(body)
        self._k_mac, self._k_tuples, self._id_a, self.settings = k_mac, k_tuples, id_a, settings

    def provision(self, payload):
        """Store keys from a PROVISION payload; refuses when keys are already there."""
        k_mac, k_tuples, id_a, settings = parse_provision(payload)
        body = k_mac + k_tuples + (b"\x01" + id_a if id_a else bytes(6)) + json.dumps(settings).encode()
        flashfile.replace(self._storage, FILE, body + struct.pack(">I", crc32(body)))
        self.load()
        return settings

    def wipe(self):
        flashfile.remove(self._storage, FILE)
        self.load()

    # The only readers of key material: the core's crypto calls.
    def mac_key(self):
        return self._k_mac

    def tuples_key(self):
        return self._k_tuples
