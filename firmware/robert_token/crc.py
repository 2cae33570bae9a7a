"""CRC-32 (IEEE), as `binascii.crc32`; a table fallback for targets without it."""

try:
    from binascii import crc32 as _native
except ImportError:  # pragma: no cover - CircuitPython builds without binascii.crc32
    _native = None

_TABLE = None


def _table():
    global _TABLE
    if _TABLE is None:
        t = []
        for n in range(256):
            c = n
            for _ in range(8):
                c = (0xEDB88320 ^ (c >> 1)) if c & 1 else (c >> 1)
            t.append(c)
        _TABLE = t
    return _TABLE


def crc32_soft(data, crc=0):
    """Bitwise-table CRC-32, same result as `binascii.crc32(data, crc)`."""
    t = _table()
    c = crc ^ 0xFFFFFFFF
    for b in data:
        c = t[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def crc32(data, crc=0):
    """CRC-32 of `data` continuing from `crc`, always as an unsigned 32-bit int."""
    if _native is not None:
        try:
            return _native(data, crc) & 0xFFFFFFFF
        except (AttributeError, TypeError):  # pragma: no cover - a port whose crc32 has no start value
            pass
    return crc32_soft(data, crc)
