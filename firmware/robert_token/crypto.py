"""The crypto the token needs: HMAC-SHA256 and the AES-256 block.

Native modules are used when the target has them (`hashlib`, the port's
`aes_ecb`); pure-Python fallbacks cover the rest, so the same core runs on a
bare MicroPython build.
"""


from robert_token import aes


def native_sha256(hashlib_module):
    """The module's SHA-256 constructor, or None: CircuitPython's `hashlib` has only
    `new("sha256", data)` (shared-bindings/hashlib/__init__.c), MicroPython's and CPython's `sha256`."""
    f = getattr(hashlib_module, "sha256", None)
    if f is not None:
        return f
    new = getattr(hashlib_module, "new", None)
    if new is None:
        return None
    return lambda data=b"": new("sha256", data)


from robert_token.sha256 import sha256 as _pure_sha256  # noqa: E402 - after native_sha256, which it backs

try:
    import hashlib as _hashlib

    sha256 = native_sha256(_hashlib) or _pure_sha256
except ImportError:  # pragma: no cover - targets without hashlib
    sha256 = _pure_sha256

_BLOCK = 64


def hmac_sha256(key, msg):
    """HMAC-SHA256 (RFC 2104) of `msg` under `key`."""
    key = bytes(key)
    if len(key) > _BLOCK:
        key = sha256(key).digest()
    key = key + bytes(_BLOCK - len(key))
    inner = sha256(bytes(b ^ 0x36 for b in key))
    inner.update(msg)
    outer = sha256(bytes(b ^ 0x5C for b in key))
    outer.update(inner.digest())
    return outer.digest()


def equal(a, b):
    """Compare two MACs without stopping at the first difference."""
    if len(a) != len(b):
        return False
    d = 0
    for x, y in zip(a, b):
        d |= x ^ y
    return d == 0


def block_cipher(key, port=None):
    """An object with `encrypt(block16)`: the port's hardware AES if it has one, else pure Python."""
    if port is not None:
        make = getattr(port, "aes_ecb", None)
        if make is not None:
            cipher = make(key)
            if cipher is not None:
                return cipher
    return aes.AES(key)
