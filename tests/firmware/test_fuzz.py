"""Hypothesis on everything that reads bytes from outside: adverts, frames, bundles, sessions."""

import json

import pytest
from fwtest import Port
from hypothesis import given, settings
from hypothesis import strategies as st
from robert_token import frame, scanner
from robert_token.bundle_json import BundleFormatError, BundleScanner
from robert_token.sync import Session
from robert_token.token import Token

ad_structures = st.lists(st.binary(min_size=0, max_size=12).map(lambda d: bytes((len(d) + 1, 0xFF)) + d),
                         max_size=3)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=64))
def test_parse_advert_never_raises(data):
    got = scanner.parse_advert(data)
    if got is not None:
        hello_, version, tx = got
        assert len(hello_) == 16 and 0 <= version <= 255 and -128 <= tx <= 127


@settings(max_examples=300, deadline=None)
@given(ad_structures, st.binary(min_size=16, max_size=16), st.integers(0, 255), st.integers(-128, 127),
       ad_structures)
def test_hello_found_among_other_structures(before, hello_, version, tx, after):
    adv = scanner.build_advert(hello_, version, tx)
    data = b"".join(before) + adv + b"".join(after)
    assert scanner.parse_advert(data) == (hello_, version, tx)
    # any truncation inside the HELLO structure is refused, never misread
    cut = len(b"".join(before)) + len(adv) - 3
    assert scanner.parse_advert(data[:cut]) is None


frames = st.tuples(st.integers(0, 255), st.integers(0, 0xFFFF), st.binary(max_size=300))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=40), frames), max_size=6), st.data())
def test_decoder_recovers_every_frame_through_garbage(items, data):
    stream = b""
    want = []
    for garbage, (t, seq, payload) in items:
        stream += garbage + frame.encode(t, seq, payload)
        want.append((t, seq, payload))
    stream += bytes(frame.MAX_PAYLOAD + frame.OVERHEAD)  # flushes a false header found in garbage
    d = frame.Decoder()
    got = []
    i = 0
    while i < len(stream):
        n = data.draw(st.integers(1, 700))
        d.feed(stream[i : i + n])
        got.extend((t, s, p) for ok, t, s, p in d.events() if ok)
        i += n
    # garbage can hold a valid-looking frame only by forging its CRC: the real ones come in order
    it = iter(got)
    assert all(any(w == g for g in it) for w in want)
    assert d.pending() < frame.OVERHEAD + frame.MAX_PAYLOAD


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_decoder_never_raises_on_noise(data):
    d = frame.Decoder()
    d.feed(b"RT\x01" + data)
    for ok, t, _s, p in d.events():
        if not ok:
            assert t == frame.ERROR_TYPE and p[0] in (frame.BAD_FRAME, frame.UNSUPPORTED_VERSION)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=200).map(str.encode))
def test_bundle_scanner_only_raises_format_errors(data):
    s = BundleScanner()
    try:
        s.feed(b"[" + data)
        s.close()
    except BundleFormatError:
        pass


@pytest.fixture(scope="module")
def session():
    return Session(Token(Port()))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 255), st.binary(max_size=200))
def test_session_answers_any_command_payload_without_change(session, command, payload):
    if command in (frame.PROVISION, frame.RESET_ARM, frame.RESET_CONFIRM):
        return  # these change state by design when well formed
    before = session.token.info()
    out = session.feed(frame.encode(command, 1, payload))
    d = frame.Decoder()
    d.feed(out)
    answers = list(d.frames())
    assert len(answers) == 1
    t, seq, body = answers[0]
    assert t == command | 0x80 and seq == 1
    after = session.token.info()
    if command not in (frame.SET_TIME,):
        for key in ("provisioned", "state", "tuples", "log", "risk"):
            assert after[key] == before[key], key
    json.dumps(after)
