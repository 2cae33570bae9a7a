"""Test double of `supervisor.ticks_ms` (wraps at 2^29 like the real one)."""

now = [1000]


def ticks_ms():
    return now[0] % (1 << 29)
