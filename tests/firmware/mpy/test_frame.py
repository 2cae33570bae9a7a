"""The frame codec: round trips, split delivery, garbage, bad CRC, bad version, stale partials."""

from fwtest import eq, ok, raises, run
from robert_token import frame


def _events(d):
    return list(d.events())


def test_encode_layout():
    w = frame.encode(frame.INFO, 0x1234, b"xy")
    eq(w[:2], b"RT")
    eq(w[2], 1)
    eq(w[3], 1)
    eq(w[4:6], b"\x12\x34")
    eq(w[6:8], b"\x00\x02")
    eq(len(w), frame.OVERHEAD + 2)
    raises(ValueError, frame.encode, 1, 1, bytes(frame.MAX_PAYLOAD + 1))


def test_round_trip_byte_by_byte():
    d = frame.Decoder()
    w = frame.encode(frame.ECHO, 7, b"hello") + frame.encode(frame.INFO, 8, b"")
    got = []
    for i in range(len(w)):
        d.feed(w[i : i + 1])
        got.extend(_events(d))
    eq(got, [(True, frame.ECHO, 7, b"hello"), (True, frame.INFO, 8, b"")])
    eq(d.pending(), 0)


def test_garbage_is_skipped_and_counted():
    d = frame.Decoder()
    d.feed(b"\x00\xffR" + frame.encode(2, 3, b"a") + b"zz")
    eq(_events(d), [(True, 2, 3, b"a")])
    eq(d.garbage, 5)


def test_bad_crc_gives_error_and_resumes():
    d = frame.Decoder()
    bad = bytearray(frame.encode(1, 1, b"abc"))
    bad[-1] ^= 0xFF
    d.feed(bytes(bad) + frame.encode(1, 2, b""))
    ev = _events(d)
    eq(ev[0][0], False)
    eq(ev[0][1], frame.ERROR_TYPE)
    eq(ev[0][3][0], frame.BAD_FRAME)
    eq(ev[-1], (True, 1, 2, b""))
    eq(d.bad_frames, 1)


def test_bad_version_and_length():
    d = frame.Decoder()
    w = bytearray(frame.encode(1, 1, b""))
    w[2] = 9
    d.feed(bytes(w))
    ev = _events(d)
    eq(ev[0][3][0], frame.UNSUPPORTED_VERSION)
    d2 = frame.Decoder()
    d2.feed(b"RT\x01\x01\x00\x01\x08\x01")  # length 2049
    eq(_events(d2)[0][3][0], frame.BAD_FRAME)


def test_stale_partial_dropped():
    d = frame.Decoder()
    w = frame.encode(1, 5, b"abc")
    d.feed(w[:6], now_ms=1000)
    eq(_events(d), [])
    d.feed(w, now_ms=4000)  # 3 s later: the old half is gone
    eq(_events(d), [(True, 1, 5, b"abc")])
    eq(d.bad_frames, 1)


def test_cut_frame_followed_by_a_new_request():
    d = frame.Decoder()
    d.feed(frame.encode(frame.ECHO, 9, b"x" * 100)[:40])
    eq(_events(d), [])
    d.feed(frame.encode(frame.INFO, 10, b""))
    eq(_events(d), [(True, frame.INFO, 10, b"")])
    eq(d.bad_frames, 1)
    # a frame carried inside a payload still arriving is not mistaken for a cut
    # (unless a chunk happens to end exactly where the inner frame ends)
    inner = frame.encode(frame.INFO, 11, b"")
    outer = frame.encode(frame.ECHO, 12, b"ab" + inner + b"cd")
    d.feed(outer[: 10 + len(inner) + 1])
    got = _events(d)
    d.feed(outer[10 + len(inner) + 1 :])
    got += _events(d)
    eq(got, [(True, frame.ECHO, 12, b"ab" + inner + b"cd")])


def test_frames_filters_errors():
    d = frame.Decoder()
    bad = bytearray(frame.encode(1, 1, b"abc"))
    bad[9] ^= 1
    d.feed(bytes(bad) + frame.encode(3, 4, b"z"))
    eq(list(d.frames()), [(3, 4, b"z")])


def test_buffer_bounded():
    d = frame.Decoder()
    for _ in range(50):
        d.feed(bytes(range(200)))
        _events(d)
    ok(d.pending() <= 1, "garbage must not accumulate")


def test_response_helper():
    d = frame.Decoder()
    d.feed(frame.response(frame.INFO, 9, frame.NO_TUPLE, b"msg"))
    eq(_events(d), [(True, frame.INFO | 0x80, 9, b"\x08msg")])


run(globals())
