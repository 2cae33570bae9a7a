"""Test double of MicroPython's `machine` (Pin, ADC)."""


class Pin:
    OUT = 1
    IN = 0
    PULL_UP = 2

    def __init__(self, num, mode=None, pull=None):
        self.num = num
        self.v = 1 if pull == Pin.PULL_UP else 0

    def value(self, v=None):
        if v is None:
            return self.v
        self.v = v


class ADC:
    ATTN_11DB = 3

    def __init__(self, pin):
        self.pin = pin

    def atten(self, a):
        self.a = a

    def read_uv(self):
        return 1450000
