"""Advert parsing and burst de-duplication."""

from fwtest import eq, ok, run
from robert_token import scanner

HELLO = bytes(range(16))


def test_build_then_parse():
    adv = scanner.build_advert(HELLO, 0, -5)
    ok(len(adv) <= 31, "legacy advert fits 31 bytes")
    eq(scanner.parse_advert(adv), (HELLO, 0, -5))


def test_phone_layout_without_flags():
    sd = b"\x16\x64\xfd" + HELLO + b"\x00\x08"
    eq(scanner.parse_advert(bytes((len(sd),)) + sd), (HELLO, 0, 8))


def test_ignores_other_and_bad():
    other = b"\x13\x16\x6f\xfd" + bytes(16)  # exposure notification UUID 0xFD6F
    for adv in (b"", b"\x00", b"\x05\x16\x64", b"\x03\x16\x64\xfd", other,
                b"\x10\x16\x64\xfd" + HELLO[:13], b"\xff" + bytes(30), None, 5):
        eq(scanner.parse_advert(adv), None)


def test_calibrate_clips():
    eq(scanner.calibrate(-60, -5, -10), -45)
    eq(scanner.calibrate(-10, -20, -10), 0)
    eq(scanner.calibrate(-125, 10, 10), -127)


def test_dedup_burst_but_keep_minutes():
    d = scanner.Deduplicator(window_ms=4000, slots=4)
    eq(d.accept(HELLO, 0), True)
    eq(d.accept(HELLO, 100), False)
    eq(d.accept(HELLO, 3999), False)
    eq(d.accept(HELLO, 5000), True)
    other = bytes(16)
    eq(d.accept(other, 5001), True)
    for i in range(10):
        d.accept(bytes((i + 1,)) * 16, 6000)
    eq(d.accept(HELLO, 6000), True)  # evicted: seen again
    eq(d.dropped, 2)


run(globals())
