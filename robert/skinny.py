"""SKINNY-64-192: the block cipher that turns (epochId, ID_A) into an EBID.

Written from the SKINNY paper (Beierle et al., CRYPTO 2016): 4x4 state of 4-bit
cells, cell 0 = high nibble of byte 0, rows of 16 bits; a 24-byte tweakey read
as TK1 || TK2 || TK3; 40 rounds of SubCells, AddConstants, AddRoundTweakey,
ShiftRows, MixColumns.

Both the scalar and the batched code keep the state as four 16-bit rows. Because
the round tweakey is the same for every block, SubCells + ShiftRows of one row
is a single 65536-entry table and the key/constant XOR moves after the rotation.
MixColumns acts on whole rows. The batched functions run the same rounds on
numpy uint16 arrays, one array per row, so a round is 4 table look-ups and a
handful of XORs over all blocks at once.
"""

from __future__ import annotations

from array import array
from functools import lru_cache

import numpy as np

from robert.errors import ProtocolError

KEY_SIZE = 24
BLOCK_SIZE = 8
ROUNDS = 40

SBOX = (0xC, 0x6, 0x9, 0x0, 0x1, 0xA, 0x2, 0xB, 0x3, 0x8, 0x5, 0xD, 0x4, 0xE, 0x7, 0xF)
SBOX_INV = tuple(SBOX.index(x) for x in range(16))
TWEAKEY_PERMUTATION = (9, 15, 8, 13, 10, 14, 12, 11, 0, 1, 2, 3, 4, 5, 6, 7)
_CHUNK = 1 << 15  # blocks per batched pass: four uint16 rows stay in cache


def _rotr16(x: int, n: int) -> int:
    return ((x >> n) | (x << (16 - n))) & 0xFFFF


def _nibbles(data: bytes) -> list[int]:
    out = []
    for b in data:
        out += [b >> 4, b & 0xF]
    return out


def _lfsr_tk2(x: int) -> int:
    return ((x << 1) & 0xE) | (((x >> 3) ^ (x >> 2)) & 1)


def _lfsr_tk3(x: int) -> int:
    return (x >> 1) | (((x ^ (x >> 3)) & 1) << 3)


def _sub16(x: np.ndarray, sbox: tuple[int, ...]) -> np.ndarray:
    """SubCells on 16-bit rows (vectorised over the array)."""
    table = np.array(sbox, dtype=np.uint16)
    out = np.zeros_like(x)
    for shift in (0, 4, 8, 12):
        out |= table[(x >> shift) & 0xF] << shift
    return out


def _rot16(x: np.ndarray, n: int) -> np.ndarray:
    return ((x >> n) | (x << (16 - n))) & 0xFFFF if n else x


def _row_tables() -> tuple[np.ndarray, np.ndarray]:
    """ENC[i][x] = ShiftRows_i(SubCells(x)); DEC[i][y] = SubCells^-1(ShiftRows_i^-1(y))."""
    x = np.arange(1 << 16, dtype=np.uint16)
    s = _sub16(x, SBOX)
    inv = _sub16(x, SBOX_INV)
    enc = np.stack([_rot16(s, 4 * i) for i in range(4)]).astype(np.uint16)
    dec = np.stack([inv[_rot16(x, (16 - 4 * i) % 16)] for i in range(4)]).astype(np.uint16)
    return enc, dec


_ENC, _DEC = _row_tables()
# The scalar code indexes compact array('H') copies: 128 KiB a table stays in cache, where a
# list of 65536 int objects (2 MiB) made random blocks three times slower.
_ENC_LISTS = tuple(array("H", t.tobytes()) for t in _ENC)
_DEC_LISTS = tuple(array("H", t.tobytes()) for t in _DEC)


def _check_key(key: bytes) -> None:
    if not isinstance(key, (bytes, bytearray, memoryview)) or len(key) != KEY_SIZE:
        raise ProtocolError(f"SKINNY-64-192 needs a {KEY_SIZE}-byte key")


@lru_cache(maxsize=64)
def round_keys(key: bytes) -> tuple[tuple[int, int, int], ...]:
    """Per round, the XOR applied to rows 0, 1, 2 after ShiftRows (tweakey + constants).

    Row 3 never gets a key or constant. Cached: a server uses few K_S at a time.
    """
    _check_key(key)
    tk = [_nibbles(key[0:8]), _nibbles(key[8:16]), _nibbles(key[16:24])]
    rc = 0
    out = []
    for _ in range(ROUNDS):
        rc = ((rc << 1) & 0x3F) | (((rc >> 5) ^ (rc >> 4) ^ 1) & 1)
        cells = [tk[0][i] ^ tk[1][i] ^ tk[2][i] for i in range(8)]
        cells[0] ^= rc & 0xF
        cells[4] ^= rc >> 4
        row0 = (cells[0] << 12) | (cells[1] << 8) | (cells[2] << 4) | cells[3]
        row1 = (cells[4] << 12) | (cells[5] << 8) | (cells[6] << 4) | cells[7]
        out.append((row0, _rotr16(row1, 4), _rotr16(0x2000, 8)))
        tk = [[t[TWEAKEY_PERMUTATION[i]] for i in range(16)] for t in tk]
        for i in range(8):
            tk[1][i] = _lfsr_tk2(tk[1][i])
            tk[2][i] = _lfsr_tk3(tk[2][i])
    return tuple(out)


def _check_block(block: bytes) -> None:
    if not isinstance(block, (bytes, bytearray, memoryview)) or len(block) != BLOCK_SIZE:
        raise ProtocolError(f"SKINNY-64-192 works on {BLOCK_SIZE}-byte blocks")


def encrypt(key: bytes, block: bytes) -> bytes:
    """Encrypt one 8-byte block under a 24-byte key."""
    _check_key(key)
    _check_block(block)
    rks = round_keys(bytes(key))
    t0, t1, t2, t3 = _ENC_LISTS
    x = int.from_bytes(block, "big")
    r0, r1, r2, r3 = x >> 48, (x >> 32) & 0xFFFF, (x >> 16) & 0xFFFF, x & 0xFFFF
    for k0, k1, k2 in rks:
        r0 = t0[r0] ^ k0
        r1 = t1[r1] ^ k1
        r2 = t2[r2] ^ k2
        r3 = t3[r3]
        r0, r1, r2, r3 = r0 ^ r2 ^ r3, r0, r1 ^ r2, r0 ^ r2
    return ((r0 << 48) | (r1 << 32) | (r2 << 16) | r3).to_bytes(8, "big")


def decrypt(key: bytes, block: bytes) -> bytes:
    """Decrypt one 8-byte block under a 24-byte key."""
    _check_key(key)
    _check_block(block)
    rks = round_keys(bytes(key))
    u0, u1, u2, u3 = _DEC_LISTS
    x = int.from_bytes(block, "big")
    r0, r1, r2, r3 = x >> 48, (x >> 32) & 0xFFFF, (x >> 16) & 0xFFFF, x & 0xFFFF
    for k0, k1, k2 in reversed(rks):
        r0, r1, r2, r3 = r1, r2 ^ r1 ^ r3, r3 ^ r1, r0 ^ r3
        r0 = u0[r0 ^ k0]
        r1 = u1[r1 ^ k1]
        r2 = u2[r2 ^ k2]
        r3 = u3[r3]
    return ((r0 << 48) | (r1 << 32) | (r2 << 16) | r3).to_bytes(8, "big")


def _as_words(blocks: np.ndarray | bytes) -> np.ndarray:
    """Blocks as a uint64 array of big-endian block values (bytes: 8 per block)."""
    if isinstance(blocks, (bytes, bytearray, memoryview)):
        if len(blocks) % BLOCK_SIZE:
            raise ProtocolError(f"batched SKINNY input must be a multiple of {BLOCK_SIZE} bytes")
        return np.frombuffer(bytes(blocks), dtype=">u8").astype(np.uint64)
    arr = np.asarray(blocks)
    if arr.dtype != np.uint64 or arr.ndim != 1:
        raise ProtocolError("batched SKINNY input must be bytes or a 1-D numpy uint64 array")
    return arr


def _batched(key: bytes, blocks: np.ndarray | bytes, forward: bool) -> np.ndarray | bytes:
    _check_key(key)
    as_bytes = isinstance(blocks, (bytes, bytearray, memoryview))
    words = _as_words(blocks)
    rks = round_keys(bytes(key))
    out = np.empty_like(words)
    for start in range(0, len(words), _CHUNK):
        w = words[start:start + _CHUNK]
        rows = [(w >> np.uint64(48 - 16 * i)).astype(np.uint16) for i in range(4)]
        rows = _rounds_forward(rows, rks) if forward else _rounds_backward(rows, rks)
        r0, r1, r2, r3 = (r.astype(np.uint64) for r in rows)
        out[start:start + _CHUNK] = (r0 << np.uint64(48)) | (r1 << np.uint64(32)) \
            | (r2 << np.uint64(16)) | r3
    if as_bytes:
        return out.astype(">u8").tobytes()
    return out


def _rounds_forward(rows: list[np.ndarray], rks) -> list[np.ndarray]:
    r0, r1, r2, r3 = rows
    t0, t1, t2, t3 = _ENC
    for k0, k1, k2 in rks:
        r0 = t0.take(r0)
        r0 ^= np.uint16(k0)
        r1 = t1.take(r1)
        r1 ^= np.uint16(k1)
        r2 = t2.take(r2)
        r2 ^= np.uint16(k2)
        r3 = t3.take(r3)
        r1 ^= r2               # new row 2 = r1 ^ r2
        r2 ^= r0               # new row 3 = r0 ^ r2
        r3 ^= r2               # new row 0 = r0 ^ r2 ^ r3
        r0, r1, r2, r3 = r3, r0, r1, r2
    return [r0, r1, r2, r3]


def _rounds_backward(rows: list[np.ndarray], rks) -> list[np.ndarray]:
    r0, r1, r2, r3 = rows
    u0, u1, u2, u3 = _DEC
    for k0, k1, k2 in reversed(rks):
        # inverse MixColumns: a0 = b1, a1 = b2^b1^b3, a2 = b3^b1, a3 = b0^b3
        a3 = r0 ^ r3
        a2 = r3 ^ r1
        a1 = r2 ^ a2
        r0 = u0.take(r1 ^ np.uint16(k0))
        r1 = u1.take(a1 ^ np.uint16(k1))
        r2 = u2.take(a2 ^ np.uint16(k2))
        r3 = u3.take(a3)
    return [r0, r1, r2, r3]


def encrypt_many(key: bytes, blocks: np.ndarray | bytes) -> np.ndarray | bytes:
    """Encrypt many blocks under one key: bytes in -> bytes out, uint64 array in -> array out.

    A uint64 holds one block read big-endian (byte 0 is the top byte).
    """
    return _batched(key, blocks, forward=True)


def decrypt_many(key: bytes, blocks: np.ndarray | bytes) -> np.ndarray | bytes:
    """Decrypt many blocks under one key (same shapes as `encrypt_many`)."""
    return _batched(key, blocks, forward=False)
