"""Hypothesis properties of SKINNY, EBID/ECC, HELLO, tuples bundles, time and scoring."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robert import crypto, scoring, skinny, timeutil
from robert.errors import BundleError, HelloFormatError, ProtocolError

keys24 = st.binary(min_size=24, max_size=24)
blocks8 = st.binary(min_size=8, max_size=8)
ids5 = st.binary(min_size=5, max_size=5)
epochs = st.integers(0, crypto.MAX_EPOCH_ID)
k32 = st.binary(min_size=32, max_size=32)


@settings(max_examples=60, deadline=None)
@given(keys24, st.lists(blocks8, min_size=1, max_size=80))
def test_batched_skinny_equals_scalar(key, blocks):
    data = b"".join(blocks)
    enc = skinny.encrypt_many(key, data)
    assert enc == b"".join(skinny.encrypt(key, b) for b in blocks)
    assert skinny.decrypt_many(key, enc) == data
    words = np.frombuffer(data, dtype=">u8").astype(np.uint64)
    assert skinny.encrypt_many(key, words).astype(">u8").tobytes() == enc


def test_batched_skinny_spans_chunks():
    rng = np.random.default_rng(7)
    key = rng.bytes(24)
    words = rng.integers(0, 1 << 63, size=skinny._CHUNK + 5, dtype=np.uint64)
    enc = skinny.encrypt_many(key, words)
    assert int(enc[-1]) == int.from_bytes(skinny.encrypt(key, int(words[-1]).to_bytes(8, "big")),
                                          "big")
    assert np.array_equal(skinny.decrypt_many(key, enc), words)


@settings(max_examples=100, deadline=None)
@given(keys24, blocks8)
def test_skinny_round_trip_and_key_matters(key, block):
    enc = skinny.encrypt(key, block)
    assert skinny.decrypt(key, enc) == block
    other = bytes([key[0] ^ 1]) + key[1:]
    assert skinny.encrypt(other, block) != enc


@pytest.mark.parametrize("key, block", [(b"x" * 23, b"y" * 8), (b"x" * 24, b"y" * 7),
                                        ("x" * 24, b"y" * 8)])
def test_skinny_rejects_bad_sizes(key, block):
    with pytest.raises(ProtocolError):
        skinny.encrypt(key, block)
    with pytest.raises(ProtocolError):
        skinny.decrypt(key, block)


def test_batched_skinny_rejects_bad_input():
    with pytest.raises(ProtocolError, match="multiple of 8"):
        skinny.encrypt_many(b"k" * 24, b"123")
    with pytest.raises(ProtocolError, match="uint64"):
        skinny.encrypt_many(b"k" * 24, np.zeros(3, dtype=np.int32))


@settings(max_examples=100, deadline=None)
@given(keys24, epochs, ids5)
def test_ebid_open_inverts_ebid(k_s, epoch, id_a):
    assert crypto.ebid_open(k_s, crypto.ebid(k_s, epoch, id_a)) == (epoch, id_a)


def test_ebid_rejects_out_of_range():
    with pytest.raises(ProtocolError, match="epochId"):
        crypto.ebid(b"k" * 24, 1 << 24, b"AAAAA")
    with pytest.raises(ProtocolError, match="ID_A"):
        crypto.ebid(b"k" * 24, 1, b"AAAA")


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([16, 24, 32]).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
       blocks8, st.integers(0, 255))
def test_ecc_is_an_involution(k_g, ebid, cc):
    enc = crypto.ecc(k_g, ebid, cc)
    assert 0 <= enc <= 255
    assert crypto.ecc(k_g, ebid, enc) == cc


@settings(max_examples=100, deadline=None)
@given(k32, st.integers(0, 255), blocks8, st.integers(0, 0xFFFFFFFF))
def test_hello_build_parse_verify(k_mac, ecc, ebid, t):
    data = crypto.hello(k_mac, ecc, ebid, t)
    h = crypto.parse_hello(data)
    assert (h.ecc, h.ebid, h.time16) == (ecc, ebid, t & 0xFFFF)
    assert h.to_bytes() == data
    assert crypto.verify_hello(k_mac, h)
    for i in range(16):
        tampered = bytearray(data)
        tampered[i] ^= 0x01
        assert not crypto.verify_hello(k_mac, crypto.parse_hello(bytes(tampered)))


@settings(max_examples=200)
@given(st.binary(max_size=40) | st.text(max_size=20) | st.integers() | st.none())
def test_parse_hello_never_crashes(data):
    try:
        h = crypto.parse_hello(data)
    except HelloFormatError as exc:
        assert "16 bytes" in str(exc)
    else:
        assert len(data) == 16 and h.to_bytes() == data


tuples_st = st.lists(st.tuples(epochs, blocks8, st.integers(0, 255)), max_size=12)


@settings(max_examples=60, deadline=None)
@given(k32, tuples_st)
def test_tuples_round_trip(k, tuples):
    blob = crypto.tuples_seal(k, tuples)
    assert crypto.tuples_open(k, blob) == tuples
    assert crypto.tuples_seal(k, tuples) != blob          # a fresh IV every time


@settings(max_examples=60, deadline=None)
@given(k32, tuples_st, st.data())
def test_any_tampered_bundle_byte_is_rejected(k, tuples, data):
    blob = bytearray(crypto.tuples_seal(k, tuples))
    i = data.draw(st.integers(0, len(blob) - 1))
    blob[i] ^= data.draw(st.integers(1, 255))
    with pytest.raises(BundleError, match="did not authenticate"):
        crypto.tuples_open(k, bytes(blob))


@settings(max_examples=100, deadline=None)
@given(k32, st.binary(max_size=80))
def test_tuples_open_random_blob_only_bundle_error(k, blob):
    with pytest.raises(BundleError):
        crypto.tuples_open(k, blob)


@pytest.mark.parametrize("plain", [b"{}", b"not json", b'[{"epochId": 1}]',
                                   b'[{"epochId": -1, "key": {"ebid": "AAAAAAAAAAA=", "ecc": "IQ=="}}]',
                                   b'[{"epochId": 1, "key": {"ebid": "AAAA", "ecc": "IQ=="}}]',
                                   b'[{"epochId": true, "key": {"ebid": "AAAAAAAAAAA=", "ecc": "IQ=="}}]'])
def test_authentic_but_malformed_bundle_is_rejected(plain):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    k, iv = b"k" * 32, b"i" * 12
    with pytest.raises(BundleError):
        crypto.tuples_open(k, iv + AESGCM(k).encrypt(iv, plain, None))


def test_errors_never_carry_keys():
    k = bytes(range(32))
    with pytest.raises(BundleError) as exc:
        crypto.tuples_open(k, b"\x00" * 40)
    for text in (str(exc.value), repr(exc.value)):
        assert k.hex() not in text and repr(k) not in text


@given(st.integers(0, 0xFFFFFFFF), st.integers(-180, 180))
def test_time16_within_window_wraps(ntp, d):
    assert timeutil.time16_matches(timeutil.time16(ntp + d), ntp)
    assert timeutil.time16_delta(timeutil.time16(ntp + d), ntp) == d


@given(st.integers(0, 0xFFFFFFFF), st.integers(181, 65536 - 181))
def test_time16_outside_window(ntp, d):
    assert not timeutil.time16_matches(timeutil.time16(ntp + d), ntp)


@given(st.integers(timeutil.TIME_START, 0xFFFFFFFF))
def test_epoch_helpers_agree(ntp):
    e = timeutil.epoch_id(ntp)
    assert timeutil.epoch_start(e) <= ntp < timeutil.epoch_start(e + 1)
    day = timeutil.day_of_epoch(e)
    assert timeutil.day_start_ntp(day) == timeutil.utc_day_ntp(ntp) <= ntp
    assert timeutil.unix_from_ntp(timeutil.ntp_from_unix(ntp)) == ntp


messages = st.lists(st.tuples(st.integers(0, 1200), st.integers(-127, 0)), max_size=60)


@settings(max_examples=200)
@given(messages)
def test_contact_score_is_bounded_and_order_free(msgs):
    score = scoring.contact_score(msgs)
    assert 0.0 <= score <= scoring.MINUTES_PER_EPOCH - 1
    assert scoring.contact_score(list(reversed(msgs))) == pytest.approx(score)


@settings(max_examples=100)
@given(st.integers(2, 30), st.integers(-120, -36))
def test_closer_scores_at_least_as_high(n, rssi):
    far = [(30 * i, rssi) for i in range(n)]
    near = [(30 * i, rssi + 1) for i in range(n)]
    assert scoring.contact_score(near) >= scoring.contact_score(far)


def test_risk_threshold_and_recency():
    assert scoring.is_at_risk(0.1, 1000, 1000 + 7 * 96)
    assert not scoring.is_at_risk(0.1, 1000, 1000 + 7 * 96 + 1)
    assert not scoring.is_at_risk(0.0999, 1000, 1000)
    assert scoring.risk_from_scores(14.83) < 0.1 <= scoring.risk_from_scores(14.84)


@settings(max_examples=40, deadline=None)
@given(keys24, st.binary(min_size=16, max_size=16), ids5,
       st.lists(epochs, max_size=40), st.integers(0, 255))
def test_batched_tuple_helpers_equal_one_by_one(k_s, k_g, id_a, epoch_list, cc):
    ebids = crypto.ebid_many(k_s, epoch_list, id_a)
    assert ebids == [crypto.ebid(k_s, e, id_a) for e in epoch_list]
    assert crypto.ecc_many(k_g, ebids, cc) == [crypto.ecc(k_g, e, cc) for e in ebids]


@settings(max_examples=150, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=12),
                    lambda c: st.lists(c, max_size=3)
                    | st.dictionaries(st.sampled_from(["epochId", "key", "ebid", "ecc"]), c,
                                      max_size=3), max_leaves=12))
def test_authentic_bundle_of_any_json_only_bundle_error(value):
    import json

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    k, iv = b"k" * 32, b"i" * 12
    blob = iv + AESGCM(k).encrypt(iv, json.dumps(value).encode(), None)
    try:
        tuples = crypto.tuples_open(k, blob)
    except BundleError as exc:
        assert str(exc)
    else:
        assert all(len(e) == 8 and 0 <= c <= 255 for _, e, c in tuples)


def test_size_errors_never_echo_key_material():
    secret = bytes(range(100, 123))            # 23 bytes: one short of a K_S
    calls = [lambda: skinny.encrypt(secret, b"12345678"),
             lambda: crypto.ebid(secret, 1, b"AAAAA"),
             lambda: crypto.ebid_open(secret, b"12345678"),
             lambda: crypto.ecc(secret, b"12345678", 0x21),
             lambda: crypto.derive_keys(secret),
             lambda: crypto.tuples_seal(secret, [])]
    for call in calls:
        with pytest.raises(ProtocolError) as exc:
            call()
        text = str(exc.value) + repr(exc.value)
        assert secret.hex() not in text and repr(secret) not in text and str(exc.value)
