"""An incremental scanner for the one JSON shape of a tuples bundle.

`[{"epochId": n, "key": {"ebid": "<b64>", "ecc": "<b64>"}}, ...]` arrives in
decrypted chunks; each top-level object is cut out by brace counting (strings
respected) and parsed alone, so memory stays at one small object whatever
the bundle's size.
"""

import json
from binascii import a2b_base64

MAX_OBJECT = 512
_WS = b" \t\r\n"


class BundleFormatError(ValueError):
    """The decrypted bundle is not the expected JSON list of tuples."""


def parse_entry(text):
    """(epoch_id, ebid(8), ecc int) of one bundle object."""
    try:
        obj = json.loads(text)
        epoch_id = obj["epochId"]
        key = obj["key"]
        ebid = a2b_base64(key["ebid"].encode())
        ecc = a2b_base64(key["ecc"].encode())
    except (ValueError, KeyError, TypeError, IndexError, AttributeError):
        raise BundleFormatError("bundle entry is not {epochId, key: {ebid, ecc}}")
    if not isinstance(epoch_id, int) or isinstance(epoch_id, bool) or not 0 <= epoch_id < 1 << 24:
        raise BundleFormatError("bundle entry has a bad epochId")
    if len(ebid) != 8 or len(ecc) != 1:
        raise BundleFormatError("bundle entry has an EBID that is not 8 bytes or an ECC that is not 1 byte")
    return epoch_id, ebid, ecc[0]


class BundleScanner:
    """`feed(bytes)` returns the tuples completed by those bytes; `close()` checks the list ended."""

    def __init__(self):
        self._state = 0  # 0 before '[', 1 in the list, 2 after ']'
        self._obj = bytearray()
        self._depth = 0
        self._in_str = False
        self._esc = False
        self.count = 0

    def feed(self, data):
        out = []
        for b in data:
            if self._depth:
                self._obj.append(b)
                if len(self._obj) > MAX_OBJECT:
                    raise BundleFormatError("bundle entry longer than %d bytes" % MAX_OBJECT)
                if self._in_str:
                    if self._esc:
                        self._esc = False
                    elif b == 0x5C:  # backslash
                        self._esc = True
                    elif b == 0x22:
                        self._in_str = False
                elif b == 0x22:
                    self._in_str = True
                elif b == 0x7B:
                    self._depth += 1
                elif b == 0x7D:
                    self._depth -= 1
                    if not self._depth:
                        out.append(parse_entry(bytes(self._obj).decode()))
                        self._obj = bytearray()
                        self.count += 1
                continue
            if b in _WS:
                continue
            if self._state == 0 and b == 0x5B:
                self._state = 1
            elif self._state == 1 and b == 0x7B:
                self._depth = 1
                self._obj.append(b)
            elif self._state == 1 and b == 0x2C:
                pass
            elif self._state == 1 and b == 0x5D:
                self._state = 2
            else:
                raise BundleFormatError("unexpected character %r in the bundle list" % chr(b))
        return out

    def close(self):
        if self._state != 2:
            raise BundleFormatError("bundle list is not closed")
