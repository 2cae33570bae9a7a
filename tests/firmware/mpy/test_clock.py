"""Clock: unset until SET_TIME, timer wrap, drift estimate and compensation."""

from fwtest import RamStorage, Timer, eq, ok, run
from robert_token.clock import Clock

T0 = 3960000000


def test_unset_then_set():
    t = Timer(0)
    c = Clock(t, RamStorage())
    eq(c.ntp(), None)
    before, corr, drift = c.set(T0)
    eq((before, corr, drift), (0, T0, 0.0))  # RTC = ticks + 0 before the first set
    t.advance(10500)
    eq(c.ntp(), T0 + 10)


def test_survives_timer_wrap():
    t = Timer((1 << 30) - 1000)
    c = Clock(t)
    c.set(T0)
    for _ in range(10):
        t.advance(100000)
        c.ntp()
    eq(c.ntp(), T0 + 1000)


def test_drift_estimated_and_compensated():
    t = Timer(0)
    c = Clock(t)
    c.set(T0)
    t.advance(100000 * 1000)  # the token thinks 100000 s passed
    before, corr, drift = c.set(T0 + 100000 + 5)  # it was 5 s slow: 50 ppm
    eq(before, T0 + 100000)
    eq(corr, 5)
    ok(49 < drift < 51, "drift %r" % drift)
    t.advance(100000 * 1000)
    eq(c.ntp(), T0 + 200000 + 10)


def test_restore_only_on_continuous_timer():
    st = RamStorage()
    t = Timer(1000)
    c = Clock(t, st)
    c.set(T0)
    t.advance(5000)
    eq(Clock(t, st).ntp(), None)  # a device timer restarts at reset: time lost
    t.continuous = True
    eq(Clock(t, st).ntp(), T0 + 5)


run(globals())
