"""Every vector of tests/vectors/robert.json against robert/."""

from __future__ import annotations

import math

from robert import crypto, scoring, skinny, timeutil

h = bytes.fromhex


def test_skinny_vectors(vectors):
    assert vectors["skinny"][0]["source"] == "paper"
    for v in vectors["skinny"]:
        assert skinny.encrypt(h(v["key"]), h(v["plaintext"])).hex() == v["ciphertext"]
        assert skinny.decrypt(h(v["key"]), h(v["ciphertext"])).hex() == v["plaintext"]
        assert skinny.encrypt_many(h(v["key"]), h(v["plaintext"])).hex() == v["ciphertext"]
        assert skinny.decrypt_many(h(v["key"]), h(v["ciphertext"])).hex() == v["plaintext"]


def test_hello_vectors(vectors):
    for v in vectors["hello"]:
        key = v["k_mac_ascii"].encode() if "k_mac_ascii" in v else h(v["k_mac"])
        built = crypto.hello(key, v["ecc"], h(v["ebid"]), v["ntp_time"])
        assert built.hex() == v["hello"]
        parsed = crypto.parse_hello(built)
        assert (parsed.ecc, parsed.ebid.hex(), parsed.time16) == \
            (v["ecc"], v["ebid"], v["ntp_time"] & 0xFFFF)
        assert crypto.verify_hello(key, parsed)
        assert not crypto.verify_hello(key + b"x", parsed)


def test_ebid_vectors(vectors):
    for v in vectors["ebid"]:
        assert crypto.ebid(h(v["k_s"]), v["epoch_id"], h(v["id_a"])).hex() == v["ebid"]
        assert crypto.ebid_open(h(v["k_s"]), h(v["ebid"])) == (v["epoch_id"], h(v["id_a"]))


def test_ecc_vectors(vectors):
    for v in vectors["ecc"]:
        assert crypto.ecc(h(v["k_g"]), h(v["ebid"]), v["country_code"]) == v["ecc"]
        assert crypto.ecc(h(v["k_g"]), h(v["ebid"]), v["ecc"]) == v["country_code"]


def test_auth_mac_vectors(vectors):
    assert sorted(v["prefix"] for v in vectors["auth_mac"]) == [2, 3, 4]
    for v in vectors["auth_mac"]:
        mac = crypto.auth_mac(h(v["k_mac"]), v["prefix"], h(v["ebid"]), v["epoch_id"],
                              v["ntp_time"])
        assert mac.hex() == v["mac"]


def test_derive_keys_vectors(vectors):
    for v in vectors["derive_keys"]:
        k_mac, k_tuples = crypto.derive_keys(h(v["shared_secret"]))
        assert (k_mac.hex(), k_tuples.hex()) == (v["k_mac"], v["k_tuples"])


def test_tuples_vectors(vectors):
    for v in vectors["tuples"]:
        tuples = [(e, h(b), c) for e, b, c in v["tuples"]]
        assert crypto.tuples_json(tuples).decode() == v["plaintext"]
        assert crypto.tuples_seal(h(v["k_tuples"]), tuples, iv=h(v["iv"])).hex() == v["blob"]
        assert crypto.tuples_open(h(v["k_tuples"]), h(v["blob"])) == tuples


def test_time_vectors(vectors):
    for v in vectors["time"]:
        epoch = timeutil.epoch_id(v["ntp"])
        assert epoch == v["epoch_id"]
        assert timeutil.epoch_start(epoch) == v["epoch_start"] <= v["ntp"]
        assert timeutil.day_of_epoch(epoch) == v["day"]
        assert timeutil.utc_day_ntp(v["ntp"]) == v["utc_day_ntp"]
        assert timeutil.time16(v["ntp"]) == v["time16"]
    for v in vectors["time16_window"]:
        assert timeutil.time16_delta(v["time16"], v["ntp"]) == v["delta"]
        assert timeutil.time16_matches(v["time16"], v["ntp"]) is v["ok"]


def test_scoring_vectors(vectors):
    for v in vectors["scoring"]:
        score = scoring.contact_score([tuple(m) for m in v["messages"]])
        assert math.isclose(score, v["score"], rel_tol=1e-9, abs_tol=1e-9), v["name"]
    for v in vectors["risk"]:
        risk = scoring.risk_from_scores(v["scores"])
        assert math.isclose(risk, v["risk"], rel_tol=1e-9)
        assert scoring.is_at_risk(risk) is v["at_risk"]


def test_scoring_vectors_say_what_the_protocol_promises(vectors):
    """Two 15-minute close contacts cross the 0.1 threshold; one does not; far ones never."""
    by_name = {v["name"]: v["score"] for v in vectors["scoring"]}
    close = by_name["close_15min_every_30s_rssi-50"]
    far = by_name["far_15min_every_30s_rssi-80"]
    assert not scoring.is_at_risk(scoring.risk_from_scores([close]))
    assert scoring.is_at_risk(scoring.risk_from_scores([close, close]))
    assert not scoring.is_at_risk(scoring.risk_from_scores([far] * 10))
    assert by_name["span_too_long_scores_0"] == 0.0
    assert by_name["saturated_rssi_dropped"] == 0.0


def test_mixed_id_vector_really_is_ambiguous(vectors):
    v = vectors["mixed_id_contact"]
    assert crypto.ebid_open(h(v["k_s_day"]), h(v["ebid"])) == (v["epoch_day"], h(v["id_a_day"]))
    assert crypto.ebid_open(h(v["k_s_next_day"]), h(v["ebid"])) == \
        (v["epoch_next_day"], h(v["id_a_next_day"]))
    assert v["id_a_day"] != v["id_a_next_day"]
