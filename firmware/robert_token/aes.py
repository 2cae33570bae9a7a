"""AES block encryption (FIPS-197) in pure Python, for targets without a hardware AES.

Only the forward direction: GCM and ECC both need encryption alone.
"""


def _tables():
    sbox = bytearray(256)
    p = q = 1
    while True:  # walk the multiplicative group with generator 3, inverse via 1/3
        p = p ^ ((p << 1) & 0xFF) ^ (0x1B if p & 0x80 else 0)
        q ^= q << 1
        q ^= q << 2
        q ^= q << 4
        q &= 0xFF
        if q & 0x80:
            q ^= 0x09
        x = q ^ _rotl8(q, 1) ^ _rotl8(q, 2) ^ _rotl8(q, 3) ^ _rotl8(q, 4)
        sbox[p] = x ^ 0x63
        if p == 1:
            break
    sbox[0] = 0x63
    xtime = bytearray(((i << 1) ^ (0x1B if i & 0x80 else 0)) & 0xFF for i in range(256))
    return bytes(sbox), bytes(xtime)


def _rotl8(x, s):
    return ((x << s) | (x >> (8 - s))) & 0xFF


SBOX, XTIME = _tables()
_SHIFT = bytes(4 * ((c + r) % 4) + r for c in range(4) for r in range(4))


def expand_key(key):
    """Round keys as one bytes object of 16 * (rounds + 1)."""
    nk = len(key) // 4
    if len(key) not in (16, 24, 32):
        raise ValueError("AES key must be 16, 24 or 32 bytes")
    rounds = nk + 6
    w = bytearray(key)
    rcon = 1
    i = nk
    while len(w) < 16 * (rounds + 1):
        t = w[-4:]
        if i % nk == 0:
            t = bytearray((SBOX[t[1]] ^ rcon, SBOX[t[2]], SBOX[t[3]], SBOX[t[0]]))
            rcon = XTIME[rcon]
        elif nk > 6 and i % nk == 4:
            t = bytearray(SBOX[b] for b in t)
        base = len(w) - 4 * nk
        w.extend(bytes(w[base + j] ^ t[j] for j in range(4)))
        i += 1
    return bytes(w), rounds


class AES:
    """`AES(key).encrypt(block16) -> bytes(16)`, like `cryptolib.aes(key, 1).encrypt`."""

    def __init__(self, key):
        self._rk, self._rounds = expand_key(bytes(key))

    def __repr__(self):
        return "AES(<key hidden>)"

    def encrypt(self, block):
        rk = self._rk
        sbox = SBOX
        xt = XTIME
        shift = _SHIFT
        s = bytearray(block[i] ^ rk[i] for i in range(16))
        for r in range(1, self._rounds):
            t = bytearray(sbox[s[shift[i]]] for i in range(16))
            o = 16 * r
            for c in range(0, 16, 4):
                a0, a1, a2, a3 = t[c], t[c + 1], t[c + 2], t[c + 3]
                x = a0 ^ a1 ^ a2 ^ a3
                s[c] = a0 ^ x ^ xt[a0 ^ a1] ^ rk[o + c]
                s[c + 1] = a1 ^ x ^ xt[a1 ^ a2] ^ rk[o + c + 1]
                s[c + 2] = a2 ^ x ^ xt[a2 ^ a3] ^ rk[o + c + 2]
                s[c + 3] = a3 ^ x ^ xt[a3 ^ a0] ^ rk[o + c + 3]
        o = 16 * self._rounds
        return bytes(sbox[s[shift[i]]] ^ rk[o + i] for i in range(16))
