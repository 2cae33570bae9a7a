"""Report parsing and validation (steps 1-6) with good and bad HELLOs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robert import crypto, report, scoring, timeutil
from robert.errors import ProtocolError, ReportFormatError

DAY = 2000
FR = crypto.COUNTRY_FRANCE


@dataclass
class KeyRing:
    """A server key store in memory: the ReportKeys protocol."""

    k_g: bytes = bytes(range(16))
    country_code: int = FR
    days: dict[int, bytes] = field(default_factory=dict)
    k_macs: dict[bytes, bytes] = field(default_factory=dict)

    def k_s(self, day: int) -> bytes | None:
        return self.days.get(day)

    def k_mac(self, id_a: bytes) -> bytes | None:
        return self.k_macs.get(id_a)


@pytest.fixture
def ring() -> KeyRing:
    r = KeyRing()
    for day in range(DAY - 1, DAY + 3):
        r.days[day] = day.to_bytes(2, "big") * 12
    r.k_macs[b"AAAAA"] = b"a" * 32
    r.k_macs[b"BBBBB"] = b"b" * 32
    return r


def contact(ring: KeyRing, id_a: bytes, epoch: int, times: list[int], rssi: int = -50,
            country: int = FR, key_day: int | None = None,
            t16_shift: int = 0) -> report.ReportContact:
    """A contact as a receiver logs it: HELLOs built by the emitter at each reception time."""
    k_s = ring.days[timeutil.day_of_epoch(epoch) if key_day is None else key_day]
    ebid = crypto.ebid(k_s, epoch, id_a)
    ecc = crypto.ecc(ring.k_g, ebid, country)
    hellos = []
    for t in times:
        h = crypto.parse_hello(crypto.hello(ring.k_macs.get(id_a, b"z" * 32), ecc, ebid,
                                            t + t16_shift))
        hellos.append(report.ReportHello(t, h.time16, h.mac, rssi))
    return report.ReportContact(ebid, ecc, tuple(hellos))


def epoch_times(epoch: int, n: int = 30, step: int = 30, offset: int = 0) -> list[int]:
    return [timeutil.epoch_start(epoch) + offset + step * i for i in range(n)]


E = DAY * timeutil.EPOCHS_PER_DAY + 40


def test_good_contact_is_accepted_and_scored(ring):
    c = contact(ring, b"AAAAA", E, epoch_times(E))
    accepted, stats = report.validate_report([c], ring)
    assert len(accepted) == 1
    a = accepted[0]
    assert (a.id_a, a.epoch_id, a.hellos) == (b"AAAAA", E, 30)
    assert a.last_time == timeutil.epoch_start(E) + 29 * 30
    assert a.score == pytest.approx(scoring.contact_score([(h.time_collected, -50)
                                                           for h in c.hellos]))
    assert stats.accepted == 1 and stats.hellos_accepted == 30 and not stats.dropped_hellos


def test_wrong_mac_drops_only_that_hello(ring):
    c = contact(ring, b"AAAAA", E, epoch_times(E))
    bad = c.hellos[3]
    hellos = list(c.hellos)
    hellos[3] = report.ReportHello(bad.time_collected, bad.time16,
                                   bytes([bad.mac[0] ^ 1]) + bad.mac[1:], bad.rssi)
    accepted, stats = report.validate_report([report.ReportContact(c.ebid, c.ecc,
                                                                   tuple(hellos))], ring)
    assert accepted[0].hellos == 29
    assert stats.dropped_hellos == {report.HELLO_BAD_MAC: 1}


def test_mac_of_another_registration_is_rejected(ring):
    c = contact(ring, b"AAAAA", E, epoch_times(E, n=4))
    ring.k_macs[b"AAAAA"] = b"x" * 32          # the server knows another K_A_mac
    accepted, stats = report.validate_report([c], ring)
    assert accepted == []
    assert stats.dropped_hellos[report.HELLO_BAD_MAC] == 4
    assert stats.dropped_contacts[report.DROP_NO_VALID_HELLO] == 1


def test_other_country_is_skipped(ring):
    c = contact(ring, b"AAAAA", E, epoch_times(E), country=0x22)
    accepted, stats = report.validate_report([c], ring)
    assert accepted == [] and stats.dropped_contacts == {report.DROP_OTHER_COUNTRY: 1}


def test_unknown_id_a_is_dropped(ring):
    c = contact(ring, b"CCCCC", E, epoch_times(E))
    accepted, stats = report.validate_report([c], ring)
    assert accepted == [] and stats.dropped_contacts == {report.DROP_UNKNOWN_ID: 1}


@pytest.mark.parametrize("shift, ok", [(0, True), (180, True), (-180, True),
                                       (181, False), (-181, False), (40_000, False)])
def test_time16_window(ring, shift, ok):
    c = contact(ring, b"AAAAA", E, epoch_times(E, n=2), t16_shift=shift)
    accepted, stats = report.validate_report([c], ring)
    assert bool(accepted) is ok
    assert stats.dropped_hellos.get(report.HELLO_TIME16, 0) == (0 if ok else 2)


def test_time16_wraps_around(ring):
    """Reception at ...:0x0005 (mod 65536), emission 21 s earlier at ...:0xFFF0."""
    base = timeutil.epoch_start(E)
    t = base + ((0x10005 - base) & 0xFFFF)       # first time after base with low 16 bits 0x0005
    epoch = timeutil.epoch_id(t)
    c = contact(ring, b"AAAAA", epoch, [t], t16_shift=-21)
    assert c.hellos[0].time16 == 0xFFF0
    accepted, stats = report.validate_report([c], ring)
    assert len(accepted) == 1, stats
    late = contact(ring, b"AAAAA", epoch, [t], t16_shift=-181)
    assert report.validate_report([late], ring)[0] == []


@pytest.mark.parametrize("delta, ok", [(-1, True), (1, True), (-2, False), (2, False)])
def test_ebid_epoch_must_be_within_one_of_reception(ring, delta, ok):
    c = contact(ring, b"AAAAA", E + delta, epoch_times(E, n=5))
    accepted, stats = report.validate_report([c], ring)
    assert bool(accepted) is ok
    if not ok:
        assert stats.dropped_contacts == {report.DROP_EPOCH: 1}


def test_midnight_uses_the_adjacent_day_key(ring):
    last = (DAY + 1) * timeutil.EPOCHS_PER_DAY - 1          # 23:45-24:00 of DAY
    after_midnight = timeutil.epoch_start(last + 1) + 20     # received 00:00:20 of DAY + 1
    c = contact(ring, b"AAAAA", last, [after_midnight - 60, after_midnight])
    accepted, stats = report.validate_report([c], ring)
    assert [(a.id_a, a.epoch_id) for a in accepted] == [(b"AAAAA", last)], stats
    # and the other way: a token whose clock runs ahead, heard just before midnight
    early = contact(ring, b"BBBBB", last + 1, [after_midnight - 40])
    accepted, _ = report.validate_report([early], ring)
    assert [(a.id_a, a.epoch_id) for a in accepted] == [(b"BBBBB", last + 1)]


def test_missing_day_key_drops_the_contact(ring):
    c = contact(ring, b"AAAAA", E, epoch_times(E))
    del ring.days[DAY]
    accepted, stats = report.validate_report([c], ring)
    assert accepted == [] and stats.dropped_contacts == {report.DROP_NO_KEY: 1}


def test_mixed_id_a_in_one_contact_is_dropped(vectors):
    """An EBID that opens to two plausible (epoch, ID_A) under the two days' keys."""
    v = vectors["mixed_id_contact"]
    ring = KeyRing()
    ring.days = {v["day"]: bytes.fromhex(v["k_s_day"]),
                 v["day"] + 1: bytes.fromhex(v["k_s_next_day"])}
    ids = (bytes.fromhex(v["id_a_day"]), bytes.fromhex(v["id_a_next_day"]))
    for id_a in ids:
        ring.k_macs[id_a] = b"k" * 32
    ebid = bytes.fromhex(v["ebid"])
    ecc = crypto.ecc(ring.k_g, ebid, FR)
    midnight = timeutil.day_start_ntp(v["day"] + 1)
    hellos = []
    for t in (midnight - 30, midnight + 30):
        h = crypto.parse_hello(crypto.hello(b"k" * 32, ecc, ebid, t))
        hellos.append(report.ReportHello(t, h.time16, h.mac, -50))
    both = report.ReportContact(ebid, ecc, tuple(hellos))
    accepted, stats = report.validate_report([both], ring)
    assert accepted == [] and stats.dropped_contacts == {report.DROP_MIXED_ID: 1}
    # each half alone is a consistent contact
    for half, id_a in zip(hellos, ids, strict=True):
        accepted, _ = report.validate_report([report.ReportContact(ebid, ecc, (half,))], ring)
        assert [a.id_a for a in accepted] == [id_a]


def test_contact_without_hellos(ring):
    c = contact(ring, b"AAAAA", E, [])
    assert report.validate_report([c], ring)[1].dropped_contacts == {report.DROP_NO_HELLO: 1}


def test_many_contacts_batched_equals_one_by_one(ring):
    """Above the batch threshold SKINNY runs batched; the outcome must not change."""
    contacts = [contact(ring, [b"AAAAA", b"BBBBB"][i % 2], E - 10 + i % 20,
                        epoch_times(E - 10 + i % 20, n=3), rssi=-40 - i % 30)
                for i in range(80)]
    contacts.append(contact(ring, b"AAAAA", E + 5, epoch_times(E, n=3)))    # epoch off by 5
    together, stats = report.validate_report(contacts, ring)
    alone = [a for c in contacts for a in report.validate_report([c], ring)[0]]
    assert together == alone and len(together) == 80
    assert stats.dropped_contacts == {report.DROP_EPOCH: 1}


# -- parsing ------------------------------------------------------------------------------

def test_parse_round_trip(ring):
    contacts = [contact(ring, b"AAAAA", E, epoch_times(E, n=3)),
                contact(ring, b"BBBBB", E + 1, epoch_times(E + 1, n=2), rssi=-127)]
    body = json.loads(json.dumps(report.report_body("ABC123", contacts)))
    assert report.parse_report(body) == ("ABC123", contacts)


def good_body() -> dict:
    return {"token": "ABC123", "contacts": [{"ebid": "AAAAAAAAAAA=", "ecc": "IQ==", "ids": [
        {"timeCollectedOnDevice": 3_973_000_000, "timeFromHelloMessage": 5,
         "mac": "AAAAAAA=", "rssiCalibrated": -50}]}]}


@pytest.mark.parametrize("path, value, words", [
    ((), [], "JSON object"),
    (("token",), 5, "token"),
    (("token",), "", "token"),
    (("contacts",), {}, "contacts: a list"),
    (("contacts", 0), "x", "contacts[0]: object"),
    (("contacts", 0, "ebid"), "AAAA", "contacts[0].ebid: base64 of 8 bytes"),
    (("contacts", 0, "ebid"), "!!!!!!!!!!!=", "contacts[0].ebid: not valid base64"),
    (("contacts", 0, "ecc"), None, "contacts[0].ecc"),
    (("contacts", 0, "ids"), None, "contacts[0].ids: a list"),
    (("contacts", 0, "ids", 0, "mac"), "AAAAAAAAAAA=", "contacts[0].ids[0].mac: base64 of 5"),
    (("contacts", 0, "ids", 0, "rssiCalibrated"), True, "rssiCalibrated"),
    (("contacts", 0, "ids", 0, "rssiCalibrated"), -50.5, "rssiCalibrated"),
    (("contacts", 0, "ids", 0, "timeFromHelloMessage"), 65536, "timeFromHelloMessage"),
    (("contacts", 0, "ids", 0, "timeCollectedOnDevice"), -1, "timeCollectedOnDevice"),
])
def test_parse_errors_say_where(path, value, words):
    body = good_body()
    if not path:
        body = value
    else:
        node = body
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    with pytest.raises(ReportFormatError, match=words.replace("[", r"\[").replace("]", r"\]")):
        report.parse_report(body)


def test_parse_missing_field_is_named():
    body = good_body()
    del body["contacts"][0]["ids"][0]["mac"]
    with pytest.raises(ReportFormatError, match="missing field mac"):
        report.parse_report(body)


def test_parse_limits(monkeypatch):
    body = good_body()
    body["contacts"] = body["contacts"] * (report.MAX_CONTACTS + 1)
    with pytest.raises(ReportFormatError, match="at most"):
        report.parse_report(body)
    body = good_body()
    body["contacts"][0]["ids"] *= report.MAX_HELLOS_PER_CONTACT + 1
    with pytest.raises(ReportFormatError, match="at most"):
        report.parse_report(body)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["token", "contacts", "ebid", "ecc", "ids", "mac",
                                       "timeCollectedOnDevice", "timeFromHelloMessage",
                                       "rssiCalibrated"]) | st.text(max_size=3),
                      children, max_size=5),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_parse_never_crashes(body):
    try:
        report.parse_report(body)
    except ProtocolError as exc:
        assert str(exc)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_parse_mutated_good_body_never_crashes(data):
    body = good_body()
    contact_ = body["contacts"][0]
    hello = contact_["ids"][0]
    target = data.draw(st.sampled_from([body, contact_, hello]))
    key = data.draw(st.sampled_from(sorted(target)))
    target[key] = data.draw(json_values)
    try:
        token, contacts = report.parse_report(body)
    except ReportFormatError as exc:
        assert str(exc)
    else:
        assert isinstance(token, str) and len(contacts) <= 1


# -- the server's fast path (columns, HMAC states) against the straightforward one --------

def _same_parse(body: object) -> None:
    """parse_report_columns raises what parse_report raises, else returns the same values."""
    try:
        expected = report.parse_report(body)
    except ReportFormatError as exc:
        with pytest.raises(ReportFormatError) as fast:
            report.parse_report_columns(body)
        assert str(fast.value) == str(exc)
        return
    token, columns = report.parse_report_columns(body)
    assert (token, columns) == (expected[0], [report.ReportColumns.of(c) for c in expected[1]])


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_fast_parse_agrees_on_any_json(body):
    _same_parse(body)


mac_like = st.text(alphabet="AB+/=z!é \n", min_size=6, max_size=10) | json_values
edge_values = st.sampled_from([-129, -128, 127, 128, -1, 0, 0xFFFF, 0x10000, 0xFFFFFFFF,
                               0x100000000, True, False, 1.0, "", None]) | json_values


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fast_parse_agrees_on_mutated_bodies(data):
    body = good_body()
    body["contacts"] = [json.loads(json.dumps(body["contacts"][0])) for _ in range(3)]
    for c in body["contacts"]:
        c["ids"] = [dict(c["ids"][0]) for _ in range(3)]
    places = [(node, key) for node in [body, *body["contacts"],
                                       *(h for c in body["contacts"] for h in c["ids"])]
              for key in sorted(node)]
    for n in data.draw(st.lists(st.integers(0, len(places) - 1), max_size=3, unique=True)):
        target, key = places[n]
        if data.draw(st.booleans()):
            del target[key]
        else:
            target[key] = data.draw(mac_like if key == "mac" else edge_values)
    _same_parse(body)


def test_fast_parse_limits_agree(monkeypatch):
    monkeypatch.setattr(report, "MAX_HELLOS", 4)
    body = good_body()
    body["contacts"] = body["contacts"] * 5
    _same_parse(body)
    with pytest.raises(ReportFormatError, match="at most 4 HELLOs"):
        report.parse_report_columns(body)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 130).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
       st.binary(max_size=80))
def test_hmac_states_are_hmac_sha256(key, msg):
    import hashlib
    import hmac
    inner, outer = report._hmac_sha256_states(key)
    inner.update(msg)
    outer.update(inner.digest())
    assert outer.digest() == hmac.digest(key, msg, hashlib.sha256)


def _reference_accepted(contacts, keys) -> list[tuple[bytes, int, float, int, int]]:
    """Steps 4-6 per HELLO the plain way (crypto.hello_mac, timeutil), for contacts whose
    EBID opens under the reception day's key."""
    out = []
    for c in contacts:
        day = timeutil.day_of_ntp(min(h.time_collected for h in c.hellos))
        epoch, id_a = crypto.ebid_open(keys.days[day], c.ebid)
        k_mac = keys.k_macs.get(id_a)
        if k_mac is None or crypto.ecc(keys.k_g, c.ebid, FR) != c.ecc:
            continue
        kept = [(h.time_collected, h.rssi) for h in c.hellos
                if abs(timeutil.epoch_id(h.time_collected) - epoch) <= 1
                and crypto.hello_mac(k_mac, c.ecc, c.ebid, h.time16) == h.mac
                and timeutil.time16_matches(h.time16, h.time_collected)]
        if kept:
            out.append((id_a, epoch, scoring.contact_score(kept), len(kept),
                        max(t for t, _ in kept)))
    return out


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_fast_path_gives_the_results_of_the_plain_one(data):
    ring = KeyRing()
    ring.days = {DAY: b"d" * 24}
    ring.k_macs = {b"AAAAA": b"a" * 32, b"BBBBB": b"b" * 32}
    contacts = []
    for _ in range(data.draw(st.integers(0, 6))):
        id_a = data.draw(st.sampled_from([b"AAAAA", b"BBBBB", b"CCCCC"]))
        epoch = E + data.draw(st.integers(-5, 5))
        times = [timeutil.epoch_start(epoch) + data.draw(st.integers(-200, 1100))
                 for _ in range(data.draw(st.integers(1, 12)))]
        c = contact(ring, id_a, epoch, times, rssi=data.draw(st.integers(-90, 0)),
                    country=data.draw(st.sampled_from([FR, FR, 0x22])),
                    t16_shift=data.draw(st.sampled_from([0, 0, 0, 100, -181, 300])))
        hellos = list(c.hellos)
        for i in data.draw(st.lists(st.integers(0, len(hellos) - 1), max_size=3)):
            hellos[i] = report.ReportHello(hellos[i].time_collected, hellos[i].time16,
                                           bytes(5), hellos[i].rssi)
        contacts.append(report.ReportContact(c.ebid, c.ecc, tuple(hellos)))
    body = json.loads(json.dumps(report.report_body("ABC123", contacts)))
    _, columns = report.parse_report_columns(body)
    fast, fast_stats = report.validate_report(columns, ring)
    plain, plain_stats = report.validate_report(report.parse_report(body)[1], ring)
    assert (fast, fast_stats) == (plain, plain_stats)
    assert [(a.id_a, a.epoch_id, a.score, a.hellos, a.last_time) for a in fast] \
        == _reference_accepted(contacts, ring)


@pytest.mark.parametrize("field", ["timeCollectedOnDevice", "timeFromHelloMessage",
                                   "rssiCalibrated", "mac"])
@pytest.mark.parametrize("value", [-129, -128, 127, 128, -1, 0, 0xFFFF, 0x10000, 0xFFFFFFFF,
                                   0x100000000, True, 1.0, None, "", "AAAAAAA", "AAAAAAA==",
                                   "AAAAAA==", "AAAAAAB=", "AAAAAAAAAAA=", "AAAA AA=", "é" * 8])
def test_fast_parse_agrees_at_the_edges(field, value):
    body = good_body()
    body["contacts"][0]["ids"].append(dict(body["contacts"][0]["ids"][0], **{field: value}))
    _same_parse(body)
