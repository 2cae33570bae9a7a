"""Streaming AES-GCM decryption (NIST SP 800-38D) for a 12-byte IV and no associated data.

The bundle is read from flash in chunks: `update(ct)` gives the plaintext of
each chunk and folds it into GHASH; `verify(tag)` says whether the whole
ciphertext was authentic. Callers commit nothing before `verify` is True.
GHASH uses Shoup's 4-bit tables on Python ints (16 multiples of H).
"""

from robert_token.crypto import equal

_R = 0xE1 << 120


def _mulx(v):
    return (v >> 1) ^ (_R if v & 1 else 0)


def _reduce4():
    out = []
    for b in range(16):
        v = b
        for _ in range(4):
            v = _mulx(v)
        out.append(v)
    return tuple(out)


_R4 = _reduce4()


class GcmDecryptor:
    """Decrypt and authenticate one GCM message given in pieces of any size."""

    def __init__(self, cipher, iv):
        if len(iv) != 12:
            raise ValueError("GCM IV must be 12 bytes")
        self._cipher = cipher
        self._iv = bytes(iv)
        h = int.from_bytes(cipher.encrypt(bytes(16)), "big")
        hx = [h]
        for _ in range(3):
            hx.append(_mulx(hx[-1]))
        self._m = tuple(
            (hx[0] if n & 8 else 0) ^ (hx[1] if n & 4 else 0) ^ (hx[2] if n & 2 else 0) ^ (hx[3] if n & 1 else 0)
            for n in range(16)
        )
        self._y = 0
        self._ctr = 2
        self._pending = b""
        self._length = 0

    def __repr__(self):
        return "GcmDecryptor(<key hidden>)"

    def _ghash(self, block):
        m = self._m
        r4 = _R4
        x = self._y ^ int.from_bytes(block, "big")
        z = 0
        for _ in range(32):
            z = (z >> 4) ^ r4[z & 15] ^ m[x & 15]
            x >>= 4
        self._y = z

    def _block(self, ct):
        """Decrypt one block (the last may be short)."""
        if len(ct) == 16:
            self._ghash(ct)
        else:
            self._ghash(ct + bytes(16 - len(ct)))
        ks = self._cipher.encrypt(self._iv + (self._ctr & 0xFFFFFFFF).to_bytes(4, "big"))
        self._ctr += 1
        return bytes(a ^ b for a, b in zip(ct, ks))

    def update(self, data):
        """Plaintext of the ciphertext bytes given so far (a partial block waits for more)."""
        data = self._pending + bytes(data)
        self._length += len(data) - len(self._pending)
        full = len(data) - len(data) % 16
        out = bytearray()
        for i in range(0, full, 16):
            out.extend(self._block(data[i : i + 16]))
        self._pending = data[full:]
        return bytes(out)

    def finish(self):
        """Plaintext of the final partial block."""
        tail, self._pending = self._pending, b""
        return self._block(tail) if tail else b""

    def tag(self):
        """The tag of everything passed to `update` (ends the message)."""
        if self._pending:
            self.finish()
        self._ghash(bytes(8) + (self._length * 8).to_bytes(8, "big"))
        s = self._cipher.encrypt(self._iv + b"\x00\x00\x00\x01")
        return bytes(a ^ b for a, b in zip(self._y.to_bytes(16, "big"), s))

    def verify(self, tag):
        """True when `tag` (16 bytes) authenticates everything passed to `update`."""
        return equal(self.tag(), bytes(tag))
