"""Vectors of the shared file against the core's HELLO, auth MAC, tuples, AES, SHA-256, CRC."""

from fwtest import eq, ok, raises, run, tohex, unhex, vectors
from robert_token import aes, crc, hello, sha256, tuples
from robert_token.bundle_json import BundleFormatError
from robert_token.crypto import hmac_sha256
from robert_token.epochs import day_of, epoch_of, epoch_start
from sealing import bundle_json, make_tuples, seal


def test_hello_vectors():
    vs = vectors()["hello"]
    ok(len(vs) >= 2, "hello vectors missing")
    for v in vs:
        key = v["k_mac_ascii"].encode() if "k_mac_ascii" in v else unhex(v["k_mac"])
        eq(tohex(hello.build(key, v["ecc"], unhex(v["ebid"]), v["ntp_time"])), v["hello"], "hello")


def test_hello_protocol_doc_vector():
    h = hello.build(b"string", 0x46, unhex("53544f50434f5631"), 6485025595)
    eq(tohex(h), "4653544f50434f5631a33bcf39c07166")


def test_auth_mac_vectors():
    for v in vectors()["auth_mac"]:
        mac = hello.auth_mac(unhex(v["k_mac"]), v["prefix"], unhex(v["ebid"]), v["epoch_id"], v["ntp_time"])
        eq(tohex(mac), v["mac"], "auth mac")


def test_derive_keys_hmac():
    for v in vectors()["derive_keys"]:
        z = unhex(v["shared_secret"])
        eq(tohex(hmac_sha256(z, b"mac")), v["k_mac"])
        eq(tohex(hmac_sha256(z, b"tuples")), v["k_tuples"])


def test_open_bundle_vectors():
    for v in vectors()["tuples"]:
        got = tuples.open_bundle(unhex(v["k_tuples"]), unhex(v["blob"]))
        want = [(t[0], unhex(t[1]), t[2]) for t in v["tuples"]]
        eq(got, want, "tuples")


def test_tampered_bundle_refused():
    v = vectors()["tuples"][0]
    blob = bytearray(unhex(v["blob"]))
    for i in (0, 12, len(blob) // 2, len(blob) - 1):
        bad = bytearray(blob)
        bad[i] ^= 1
        raises(tuples.BundleAuthError, tuples.open_bundle, unhex(v["k_tuples"]), bytes(bad))
    raises(tuples.BundleAuthError, tuples.open_bundle, bytes(32), bytes(blob))


def test_sealed_bundle_round_trip_and_bad_json():
    key = bytes(range(32))
    ts = make_tuples(1000, 50)
    eq(tuples.open_bundle(key, seal(key, bytes(12), bundle_json(ts))), ts)
    # authentic but not the bundle shape: a format error, not an auth error
    raises(BundleFormatError, tuples.open_bundle, key, seal(key, bytes(12), b'{"x": 1}'))
    raises(BundleFormatError, tuples.open_bundle, key, seal(key, bytes(12), b'[{"epochId": 1}]'))
    raises(BundleFormatError, tuples.open_bundle, key, seal(key, bytes(12), b"[" + bundle_json(ts[:1])[1:-1]))


def test_aes_fips197():
    eq(tohex(aes.AES(bytes(range(16))).encrypt(unhex("00112233445566778899aabbccddeeff"))),
       "69c4e0d86a7b0430d8cdb78070b4c55a")
    eq(tohex(aes.AES(bytes(range(24))).encrypt(unhex("00112233445566778899aabbccddeeff"))),
       "dda97ca4864cdfe06eaf70a0ec0d7191")
    eq(tohex(aes.AES(bytes(range(32))).encrypt(unhex("00112233445566778899aabbccddeeff"))),
       "8ea2b7ca516745bfeafc49904b496089")


def test_sha256_fallback():
    eq(tohex(sha256.sha256(b"abc").digest()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    eq(tohex(sha256.sha256(b"a" * 1000).digest()), "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    h = sha256.sha256()
    h.update(b"ab")
    h.update(b"c")
    eq(tohex(h.digest()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")


def test_crc_fallback_matches():
    for data in (b"", b"abc", bytes(range(256)) * 3):
        eq(crc.crc32_soft(data), crc.crc32(data))
    eq(crc.crc32(b"123456789"), 0xCBF43926)
    eq(crc.crc32(b"6789", crc.crc32(b"12345")), 0xCBF43926)


def test_time_vectors():
    for v in vectors()["time"]:
        eq(epoch_of(v["ntp"]), v["epoch_id"])
        eq(epoch_start(v["epoch_id"]), v["epoch_start"])
        eq(day_of(v["ntp"]) * 86400, v["utc_day_ntp"])
        eq(v["ntp"] & 0xFFFF, v["time16"])


run(globals())
