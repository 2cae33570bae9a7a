"""Power cuts on a real littlefs (littlefs-python on a RAM block device) during log writes.

The flash freezes after the k-th program/erase operation (the k-th one is
torn halfway), for every k a batch needs; the image is then mounted again
and the log must hold every batch committed before, and nothing half-written.
"""

from littlefs import LittleFS, LittleFSError, UserContext
from robert_token.contact_log import ContactLog
from robert_token.epochs import DAY_S

BLOCK = 512
BLOCKS = 256
T0 = 45800 * DAY_S + 7200


class CutContext(UserContext):
    """A RAM block device that photographs the flash as a power cut after `budget` operations.

    The photo is taken with the operation in progress torn halfway (a program
    writes half its bytes, an erase is not done); the file system carries on
    normally, since littlefs must not see the cut while it runs.
    """

    def __init__(self, buffer, budget=None):
        super().__init__(buffer=buffer)
        self.budget = budget
        self.ops = 0
        self.photo = None

    def _cut_now(self):
        self.ops += 1
        return self.photo is None and self.budget is not None and self.ops == self.budget + 1

    def prog(self, cfg, block, off, data):
        if self._cut_now():
            torn = bytearray(self.buffer)
            start = block * cfg.block_size + off
            half = bytes(data[: len(data) // 2])
            torn[start : start + len(half)] = half
            self.photo = bytes(torn)
        return super().prog(cfg, block, off, data)

    def erase(self, cfg, block):
        if self._cut_now():
            self.photo = bytes(self.buffer)
        return super().erase(cfg, block)


class LfsStorage:
    """The port `storage` over littlefs-python."""

    def __init__(self, fs):
        self.fs = fs

    def open(self, name, mode="rb"):
        if "a" in mode and self.size(name) < 0:
            self.fs.open(name, "wb").close()  # littlefs-python's "a" does not create, MicroPython's does
        return self.fs.open(name, mode)

    def remove(self, name):
        self.fs.remove(name)

    def rename(self, a, b):
        self.fs.rename(a, b)

    def size(self, name):
        try:
            return self.fs.stat(name).size
        except LittleFSError:
            return -1

    def listdir(self):
        return self.fs.listdir("/")


def mount(buffer, budget=None):
    ctx = CutContext(buffer, budget)
    return LfsStorage(LittleFS(context=ctx, block_size=BLOCK, block_count=BLOCKS, mount=True)), ctx


def fresh():
    buf = bytearray(b"\xff" * BLOCK * BLOCKS)
    fs = LittleFS(context=UserContext(buffer=buf), block_size=BLOCK, block_count=BLOCKS, mount=False)
    fs.format()
    return buf


def add(log, k, start):
    log.add(0x21, (k % 4).to_bytes(8, "big"), (start + k) & 0xFFFF, bytes((k & 0xFF,)) * 5, start + k * 5, -55)


def stream(buffer):
    st, _ = mount(bytearray(buffer))
    log = ContactLog(st)
    snap = log.snapshot(0, 1 << 32)
    return snap.read(0, snap.size)


def test_log_survives_a_cut_at_every_flash_operation():
    buf = fresh()
    st, _ = mount(buf)
    log = ContactLog(st)
    for k in range(80):
        add(log, k, T0)
    log.flush()
    committed = bytes(buf)
    before = stream(committed)
    assert before

    probe, ctx = mount(bytearray(committed))
    plog = ContactLog(probe)
    for k in range(30):
        add(plog, k, T0 + 600)
    ops0 = ctx.ops
    plog.flush()
    needed = ctx.ops - ops0
    full = stream(bytes(ctx.buffer))
    assert len(full) > len(before) and needed > 2, needed

    outcomes = set()
    for cut in range(needed + 1):
        image = bytearray(committed)
        st, ctx = mount(image)
        live = ContactLog(st)
        for k in range(30):
            add(live, k, T0 + 600)
        ctx.budget = ctx.ops + cut
        live.flush()
        image = bytearray(ctx.photo if ctx.photo is not None else ctx.buffer)
        after = stream(bytes(image))
        assert after[: len(before)] == before, f"cut after {cut} operations: committed data lost"
        assert after in (before, full), f"cut after {cut} operations: half a batch read back"
        outcomes.add(after == full)
        reopened = ContactLog(mount(image)[0])  # and the log keeps working after the reboot
        add(reopened, 1, T0 + 1800)
        reopened.flush()
    assert outcomes == {False, True}
