"""The port object handed to `robert_token.token.Token`: the host's "hardware"."""

import os

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


class AesEcb:
    """One AES key in ECB mode, the `cryptolib.aes(key, 1)` of a device."""

    def __init__(self, key: bytes):
        self._encryptor = Cipher(algorithms.AES(bytes(key)), modes.ECB()).encryptor()

    def encrypt(self, block16: bytes) -> bytes:
        return self._encryptor.update(bytes(block16))

    def __repr__(self) -> str:
        return "AesEcb(<key hidden>)"


class HostPort:
    """storage, clock, radio and led of a host token, plus the small helpers of the interface."""

    def __init__(self, storage, clock, radio, led, serial=None, model="host", battery_mv=3000):
        self.storage = storage
        self.clock = clock
        self.radio = radio
        self.led = led
        self.serial = serial
        self.model = model
        self._battery_mv = battery_mv

    def aes_ecb(self, key: bytes) -> AesEcb:
        return AesEcb(key)

    def battery_mv(self) -> int:
        return self._battery_mv

    def random(self, n: int) -> bytes:
        return os.urandom(n)
