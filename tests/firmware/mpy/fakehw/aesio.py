"""Double of CircuitPython's `aesio` (shared-bindings/aesio/aes.c), computed by the core's AES."""

from robert_token.aes import AES as _AES

MODE_ECB = 1
MODE_CBC = 2
MODE_CTR = 5


class AES:
    def __init__(self, key, mode=MODE_ECB, IV=None):
        if len(key) not in (16, 24, 32):  # aes.c aesio_aes_make_new
            raise ValueError("Key must be 16, 24, or 32 bytes long")
        if mode != MODE_ECB:
            raise NotImplementedError("the double only does MODE_ECB")
        self._a = _AES(bytes(key))

    def encrypt_into(self, src, dest):
        if len(src) != 16 or len(dest) != 16:  # aes.c aesio_aes_encrypt_into, ECB
            raise ValueError("ECB only operates on 16 bytes at a time")
        dest[:] = self._a.encrypt(bytes(src))
