"""SHA-256 for targets without `hashlib` (FIPS 180-4), same interface as `hashlib.sha256`."""

import struct

_K = (
    0x428A2F98, 0x71374491, 0xB5C0FBCF, 0xE9B5DBA5, 0x3956C25B, 0x59F111F1, 0x923F82A4, 0xAB1C5ED5,
    0xD807AA98, 0x12835B01, 0x243185BE, 0x550C7DC3, 0x72BE5D74, 0x80DEB1FE, 0x9BDC06A7, 0xC19BF174,
    0xE49B69C1, 0xEFBE4786, 0x0FC19DC6, 0x240CA1CC, 0x2DE92C6F, 0x4A7484AA, 0x5CB0A9DC, 0x76F988DA,
    0x983E5152, 0xA831C66D, 0xB00327C8, 0xBF597FC7, 0xC6E00BF3, 0xD5A79147, 0x06CA6351, 0x14292967,
    0x27B70A85, 0x2E1B2138, 0x4D2C6DFC, 0x53380D13, 0x650A7354, 0x766A0ABB, 0x81C2C92E, 0x92722C85,
    0xA2BFE8A1, 0xA81A664B, 0xC24B8B70, 0xC76C51A3, 0xD192E819, 0xD6990624, 0xF40E3585, 0x106AA070,
    0x19A4C116, 0x1E376C08, 0x2748774C, 0x34B0BCB5, 0x391C0CB3, 0x4ED8AA4A, 0x5B9CCA4F, 0x682E6FF3,
    0x748F82EE, 0x78A5636F, 0x84C87814, 0x8CC70208, 0x90BEFFFA, 0xA4506CEB, 0xBEF9A3F7, 0xC67178F2,
)
_H0 = (0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19)
_M = 0xFFFFFFFF


def _rotr(x, n):
    return ((x >> n) | (x << (32 - n))) & _M


def _compress(h, block):
    w = list(struct.unpack(">16I", block))
    for i in range(16, 64):
        a, b = w[i - 15], w[i - 2]
        s0 = _rotr(a, 7) ^ _rotr(a, 18) ^ (a >> 3)
        s1 = _rotr(b, 17) ^ _rotr(b, 19) ^ (b >> 10)
        w.append((w[i - 16] + s0 + w[i - 7] + s1) & _M)
    a, b, c, d, e, f, g, hh = h
    for i in range(64):
        t1 = (hh + (_rotr(e, 6) ^ _rotr(e, 11) ^ _rotr(e, 25)) + ((e & f) ^ (~e & g)) + _K[i] + w[i]) & _M
        t2 = ((_rotr(a, 2) ^ _rotr(a, 13) ^ _rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) & _M
        hh, g, f, e, d, c, b, a = g, f, e, (d + t1) & _M, c, b, a, (t1 + t2) & _M
    return tuple((x + y) & _M for x, y in zip(h, (a, b, c, d, e, f, g, hh)))


class sha256:  # noqa: N801 - the name of hashlib's constructor
    """Incremental SHA-256: `update(data)`, `digest()`."""

    def __init__(self, data=b""):
        self._h = _H0
        self._buf = b""
        self._n = 0
        if data:
            self.update(data)

    def update(self, data):
        data = self._buf + bytes(data)
        self._n += len(data) - len(self._buf)
        i = 0
        while i + 64 <= len(data):
            self._h = _compress(self._h, data[i : i + 64])
            i += 64
        self._buf = data[i:]

    def digest(self):
        n = self._n
        tail = self._buf + b"\x80" + bytes((55 - n) % 64) + struct.pack(">Q", n * 8)
        h = self._h
        for i in range(0, len(tail), 64):
            h = _compress(h, tail[i : i + 64])
        return struct.pack(">8I", *h)
