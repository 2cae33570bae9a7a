"""Double of CircuitPython's `supervisor` (shared-bindings/supervisor/__init__.c, Runtime.c).

The monotonic clock of the double (`now[0]`, ms since power-on) is the one
clock of every CircuitPython double: `sim_advance` moves it and runs the
events the tests scheduled with `sim_at`, in time order (a BLE central
connecting, a kiosk writing), like the SoftDevice's interrupts during a
`time.sleep`.
"""

now = [0]
_events = []  # [at_ms, seq, fn]
_seq = [0]


def ticks_ms():
    # shared-bindings/supervisor/__init__.c supervisor_ticks_ms:
    # (monotonic_ms + 0x1fff0000) % (1 << 29): the first wrap comes 65.5 s after power-on.
    return (now[0] + 0x1FFF0000) % (1 << 29)


class RunReason:
    # shared-bindings/supervisor/RunReason.c
    STARTUP = 1
    AUTO_RELOAD = 2
    SUPERVISOR_RELOAD = 3
    REPL_RELOAD = 4


class _Runtime:
    """supervisor.runtime (Runtime.c): usb_connected, serial_connected, run_reason, ble_workflow."""

    def __init__(self):
        self.sim_reset()

    def sim_reset(self):
        self.usb_connected = False
        self.serial_connected = False
        self.run_reason = RunReason.STARTUP
        self.ble_workflow = True
        self.autoreload = True


runtime = _Runtime()


def sim_reset(ms=0):
    now[0] = ms
    del _events[:]


def sim_at(at_ms, fn):
    """Run `fn()` when the monotonic clock reaches `at_ms`."""
    _seq[0] += 1
    _events.append([at_ms, _seq[0], fn])
    _events.sort()


def sim_advance(ms):
    """Let `ms` pass (a sleep, a blocking scan), running the events due meanwhile."""
    end = now[0] + int(ms)
    while _events and _events[0][0] <= end:
        at, _, fn = _events.pop(0)
        if at > now[0]:
            now[0] = at
        fn()
    now[0] = end
