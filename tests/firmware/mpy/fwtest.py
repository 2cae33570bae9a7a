"""A tiny test harness and hardware doubles that run on MicroPython and CPython alike.

`run(globals())` calls every `test_*` function, prints one line each and exits
non-zero if any failed. The doubles stand in for what cannot run here
(radio, LED, timer); storage is the VM's real file system or `RamStorage`.
"""

import sys

try:
    import json
except ImportError:  # pragma: no cover
    json = None

VECTORS = None


def vectors():
    """tests/vectors/robert.json, found relative to this file."""
    global VECTORS
    if VECTORS is None:
        here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
        with open(here + "/../../vectors/robert.json") as f:
            VECTORS = json.loads(f.read())
    return VECTORS


def unhex(s):
    return bytes(int(s[i : i + 2], 16) for i in range(0, len(s), 2))


def tohex(b):
    return "".join("%02x" % x for x in b)


class Failure(Exception):
    pass


def eq(a, b, what=""):
    if a != b:
        raise Failure("%s: %r != %r" % (what or "values differ", a, b))


def ok(cond, what="condition false"):
    if not cond:
        raise Failure(what)


def raises(exc, fn, *args):
    try:
        fn(*args)
    except exc as e:
        return e
    raise Failure("%s not raised by %s" % (exc.__name__, getattr(fn, "__name__", fn)))


def run(scope):
    names = sorted(n for n in scope if n.startswith("test_"))
    failed = 0
    for n in names:
        try:
            scope[n]()
            print("ok   " + n)
        except Exception as e:  # report every failure, then exit non-zero
            failed += 1
            print("FAIL " + n)
            if hasattr(sys, "print_exception"):
                sys.print_exception(e)
            else:
                import traceback

                traceback.print_exception(e)
    print("%d passed, %d failed" % (len(names) - failed, failed))
    if failed:
        sys.exit(1)


# ---------------------------------------------------------------- doubles
class PowerCut(OSError):
    """Raised by RamStorage when its write budget runs out (the power went)."""


class RamFile:
    def __init__(self, storage, name, mode):
        self._s = storage
        self._name = name
        self._mode = mode
        files = storage.files
        if "w" in mode or "a" in mode or "+" in mode:
            storage.operation()
        if "w" in mode:
            files[name] = bytearray()
        elif name not in files:
            if "a" in mode or "+" in mode:
                files[name] = bytearray()
            else:
                raise OSError(2, "no such file")
        self._pos = len(files[name]) if "a" in mode else 0
        self._text = "b" not in mode

    def read(self, n=-1):
        data = self._s.files[self._name]
        end = len(data) if n is None or n < 0 else min(len(data), self._pos + n)
        out = bytes(data[self._pos : end])
        self._pos = end
        return out.decode() if self._text else out

    def write(self, b):
        if self._text and isinstance(b, str):
            b = b.encode()
        data = self._s.files[self._name]
        if "a" in self._mode:
            self._pos = len(data)
        self._s.operation()
        for x in bytes(b):
            self._s.spend()
            if self._pos < len(data):
                data[self._pos] = x
            else:
                data.append(x)
            self._pos += 1
        return len(b)

    def seek(self, pos, whence=0):
        self._pos = pos if whence == 0 else (self._pos + pos if whence == 1 else len(self._s.files[self._name]) + pos)
        return self._pos

    def tell(self):
        return self._pos

    def flush(self):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


class RamStorage:
    """Flash in RAM; `budget` bytes can be written before a simulated power cut.

    `op_budget` counts operations instead (open for writing, write, remove,
    rename): the power goes just before the one after the last allowed.
    `fat=True` refuses to rename over an existing file, like CircuitPython's FAT.
    """

    def __init__(self, fat=False):
        self.files = {}
        self.budget = None
        self.written = 0
        self.fat = fat
        self.op_budget = None
        self.ops = 0

    def operation(self):
        if self.op_budget is not None:
            if self.op_budget <= 0:
                raise PowerCut(5, "power cut")
            self.op_budget -= 1
        self.ops += 1

    def spend(self):
        if self.budget is not None:
            if self.budget <= 0:
                raise PowerCut(5, "power cut")
            self.budget -= 1
        self.written += 1

    def open(self, name, mode="rb"):
        return RamFile(self, name, mode)

    def remove(self, name):
        self.operation()
        if name not in self.files:
            raise OSError(2, "no such file")
        del self.files[name]

    def rename(self, a, b):
        if self.budget is not None and self.budget <= 0:
            raise PowerCut(5, "power cut")
        self.operation()
        if a not in self.files:
            raise OSError(2, "no such file")
        if self.fat and b in self.files:
            raise OSError(17, "file exists")
        self.files[b] = self.files.pop(a)

    def size(self, name):
        f = self.files.get(name)
        return -1 if f is None else len(f)

    def listdir(self):
        return sorted(self.files)

    def clone(self):
        """The flash as a power cut leaves it (for a reboot)."""
        s = RamStorage(self.fat)
        s.files = dict((k, bytearray(v)) for k, v in self.files.items())
        return s


class Timer:
    """The hardware timer: wraps like MicroPython's ticks_ms."""

    ticks_period = 1 << 30

    def __init__(self, start=0):
        self.t = start

    def ticks_ms(self):
        return self.t % self.ticks_period

    def advance(self, ms):
        self.t += int(ms)


class Radio:
    def __init__(self):
        self.adv = None
        self.scan_cfg = None
        self.addresses = []

    def advertise(self, addr6, data, interval_ms):
        self.adv = None if addr6 is None else (bytes(addr6), bytes(data), interval_ms)
        if addr6 is not None and (not self.addresses or self.addresses[-1] != bytes(addr6)):
            self.addresses.append(bytes(addr6))

    def scan(self, window_ms, interval_ms):
        self.scan_cfg = None if not window_ms else (window_ms, interval_ms)


class Led:
    def __init__(self):
        self.pattern = None

    def show(self, p):
        self.pattern = p


class Port:
    """A whole port of doubles; `seed` makes `random` repeatable."""

    def __init__(self, storage=None, timer=None, serial="RT-TEST", seed=1):
        self.storage = storage if storage is not None else RamStorage()
        self.clock = timer if timer is not None else Timer(12345)
        self.radio = Radio()
        self.led = Led()
        self.serial = serial
        self.model = "test"
        self._r = seed

    def aes_ecb(self, key):
        return None

    def battery_mv(self):
        return 2900

    def random(self, n):
        out = bytearray()
        for _ in range(n):
            self._r = (self._r * 1103515245 + 12345) & 0x7FFFFFFF
            out.append((self._r >> 16) & 0xFF)
        return bytes(out)
