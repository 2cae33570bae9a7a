"""Endpoints in process (real app, real SQLite, real crypto), driven by the spec client."""

from __future__ import annotations

import base64
import re

import pytest

from .spec_client import (
    PREFIX_STATUS,
    TIME_START,
    SpecClient,
    epoch_of,
    heard,
    ntp_of_iso,
    report_body,
)

CLOSE = -45     # dBm, calibrated: a few tens of centimetres
FAR = -100


def registered(world, **extra) -> SpecClient:
    c = SpecClient(world.http, world.key_b64)
    r = c.register(**extra)
    assert r.status_code == 201, r.text
    return c


def new_code(world, long=False) -> str:
    from server_stub import codes
    return codes.new_code(world.store, world.now(), long=long)


def epoch_start(epoch: int) -> int:
    return TIME_START + epoch * 900


def contact_log(emitter: SpecClient, first_epoch: int, epochs: int, rssi: int = CLOSE):
    log = []
    for e in range(first_epoch, first_epoch + epochs):
        log += heard(emitter, epoch_start(e), 900, 10, rssi)
    return log


def advance(world, seconds: int) -> None:
    world.clock.offset += seconds


def test_register_gives_four_days_of_tuples_from_now(world):
    c = registered(world)
    now_epoch = epoch_of(world.now())
    end_of_day = (now_epoch // 96 + 1) * 96
    assert sorted(c.tuples) == list(range(now_epoch, end_of_day + 3 * 96))
    assert len({ebid for ebid, _ in c.tuples.values()}) == len(c.tuples)


@pytest.mark.parametrize("asked,days", [(30, 30), (100, 30), (1, 4), (10, 10)])
def test_tuples_days_extension_is_clamped(world, asked, days):
    c = registered(world, tuplesDays=asked)
    now_epoch = epoch_of(world.now())
    assert max(c.tuples) == (now_epoch // 96 + days) * 96 - 1


def test_register_response_has_the_standard_fields(world):
    c = SpecClient(world.http, world.key_b64)
    body = c.register().json()
    assert set(body) == {"tuples", "timeStart", "config", "message"}
    assert body["timeStart"] == TIME_START
    assert all(set(item) == {"name", "value"} for item in body["config"])


def test_clock(world):
    advance(world, 12345)
    body = world.http.get("/api/v6/clock").json()
    assert body["serviceStartDate"] == "2020-06-01"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["time"]), body["time"]
    assert abs(ntp_of_iso(body["time"]) - world.now()) <= 1
    assert body["epoch"] == epoch_of(ntp_of_iso(body["time"]))


@pytest.mark.parametrize("unix,iso", [
    (0.0, "1970-01-01T00:00:00.000Z"), (5.0, "1970-01-01T00:00:05.000Z"),
    (1.99999999, "1970-01-01T00:00:01.999Z"), (1763899200.1239, "2025-11-23T12:00:00.123Z")])
def test_clock_time_is_truncated_to_the_millisecond(unix, iso):
    from server_stub.service import iso_utc
    assert iso_utc(unix) == iso
    assert ntp_of_iso(iso) == int(unix) + 2208988800  # the same second as Clock.ntp


def test_gateway_reads_the_clock_answer(world):
    from gateway.robert_api import clock_ntp
    advance(world, -86400 * 3)
    assert abs(clock_ntp(world.http.get("/api/v6/clock").json()) - world.now()) <= 1


def test_admin_clock_moves_the_server_clock(world):
    before = world.now()
    r = world.http.put("/admin/clock", json={"offset": 86400})
    assert r.status_code == 403  # the test client is not a loopback address
    world.clock.offset = 0
    assert abs(world.now() - before) <= 1


def test_status_and_its_checks(world):
    c = registered(world)
    now = world.now()
    r = c.status(now)
    assert r.status_code == 200, r.text
    assert r.json()["riskLevel"] == 0 and "lastContactDate" not in r.json()
    assert c.status(now + 1).status_code == 400                  # too frequent
    advance(world, 2 * 900)
    now = world.now()
    assert c.status(now + 61).status_code == 400                 # clock skew
    assert c.status(now - 61).status_code == 400
    body = c.auth_body(PREFIX_STATUS, now)
    body["mac"] = base64.b64encode(b"\0" * 32).decode()
    r = world.http.post("/api/v6/status", json=body)
    assert (r.status_code, r.json()["message"]) == (400, "bad MAC")
    body = c.auth_body(PREFIX_STATUS, now, epoch_id=epoch_of(now) + 1)
    body["epochId"] = epoch_of(now)                              # EBID of another epoch
    assert world.http.post("/api/v6/status", json=body).status_code == 400
    assert c.status(now).status_code == 200


@pytest.mark.parametrize("field,value", [
    ("ebid", "AAAA"), ("ebid", "!!!!!!!!!!!!"), ("time", base64.b64encode(b"12345").decode()),
    ("mac", base64.b64encode(b"\0" * 31).decode()), ("epochId", -1), ("epochId", "x"),
    ("ebid", 12), ("mac", None)])
def test_auth_body_field_errors_are_400_with_a_message(world, field, value):
    c = registered(world)
    body = c.auth_body(PREFIX_STATUS, world.now())
    body[field] = value
    r = world.http.post("/api/v6/status", json=body)
    assert r.status_code == 400
    assert field in r.json()["message"]


def test_unknown_registration_and_missing_key(world):
    c = registered(world)
    now = world.now()
    assert c.unregister(now).status_code == 200
    assert c.unregister(now).status_code == 430       # as robert-server: 430, not 404
    r = c.status(now)
    assert (r.status_code, r.json()["message"]) == (430, "registration not found")
    assert c.delete_history(now).status_code == 430
    far = max(c.tuples) + 96 * 10                                # a day with no K_S yet
    body = c.auth_body(PREFIX_STATUS, now, epoch_id=min(c.tuples))
    body["epochId"] = far
    assert world.http.post("/api/v6/status", json=body).status_code == 430


def test_wrong_prefix_mac_is_refused(world):
    c = registered(world)
    now = world.now()
    body = c.auth_body(PREFIX_STATUS, now)  # a status MAC presented to unregister
    assert world.http.post("/api/v6/unregister", json=body).status_code == 400
    assert c.status(now).status_code == 200


def report(world, log, code=None):
    return world.http.post("/api/v6/report", json=report_body(code or new_code(world), log))


def test_two_close_contacts_put_the_emitter_at_risk_one_does_not(world):
    reporter, one, two, far = (registered(world) for _ in range(4))
    e0 = epoch_of(world.now())
    log = contact_log(one, e0, 1) + contact_log(two, e0, 2) + contact_log(far, e0, 2, FAR)
    advance(world, 3 * 900)
    r = report(world, log)
    assert r.status_code == 200 and r.json()["success"] is True, r.text
    now = world.now()
    answers = {name: c.status(now).json() for name, c in
               (("reporter", reporter), ("one", one), ("two", two), ("far", far))}
    assert {k: v["riskLevel"] for k, v in answers.items()} == {
        "reporter": 0, "one": 0, "two": 4, "far": 0}
    day_start = TIME_START + (e0 + 1) // 96 * 86400
    # randomised by -1 or 0 days on the day of the contact (+1 would be after today)
    assert answers["two"]["lastContactDate"] in (str(day_start - 86400), str(day_start))
    assert answers["two"]["lastRiskScoringDate"] == str(epoch_start(epoch_of(now)))
    assert "lastRiskScoringDate" not in answers["one"]


def test_delete_exposure_history_clears_the_risk(world):
    exposed = registered(world)
    e0 = epoch_of(world.now())
    log = contact_log(exposed, e0, 2)
    advance(world, 3 * 900)
    assert report(world, log).status_code == 200
    assert exposed.delete_history(world.now()).status_code == 200
    assert exposed.status(world.now()).json()["riskLevel"] == 0


def test_exposures_expire_after_retention(world):
    exposed = registered(world, tuplesDays=30)
    e0 = epoch_of(world.now())
    log = contact_log(exposed, e0, 2)
    advance(world, 3 * 900)
    assert report(world, log).status_code == 200
    advance(world, 8 * 86400)                                    # last contact over 7 days old
    assert exposed.status(world.now()).json()["riskLevel"] == 0
    id_a = _id_a(world, exposed)
    assert world.store.exposures(id_a) != []
    advance(world, 7 * 86400)
    assert exposed.status(world.now()).status_code == 200        # a request runs the purge
    assert world.store.exposures(id_a) == []


def _id_a(world, client) -> bytes:
    from robert import crypto
    epoch = min(client.tuples)
    return crypto.ebid_open(world.store.k_s(epoch // 96), client.tuples[epoch][0])[1]


def test_report_code_errors(world):
    exposed = registered(world)
    e0 = epoch_of(world.now())
    log = contact_log(exposed, e0, 1)
    advance(world, 2 * 900)
    code = new_code(world)
    assert world.http.get("/api/v1/verify", params={"code": code}).json() == {"valid": True}
    assert report(world, log, code.lower()).status_code == 200   # codes are case-insensitive
    assert world.http.get("/api/v1/verify", params={"code": code}).json() == {"valid": False}
    r = report(world, log, code)
    assert r.status_code == 401 and "already used" in r.json()["message"]
    assert report(world, log, "ZZZZZZ").status_code == 401
    assert report(world, log, "TOOLONGCODE").status_code == 401   # the server decides: 401
    long = new_code(world, long=True)
    advance(world, 10 * 86400 + 1)
    assert report(world, log, long).status_code == 401


def test_a_refused_report_does_not_burn_the_code(world):
    code = new_code(world)
    body = report_body(code, [])
    body["contacts"] = [{"ebid": "AAAA", "ecc": "AA==", "ids": []}]
    r = world.http.post("/api/v6/report", json=body)
    assert r.status_code == 400 and "ebid" in r.json()["message"]
    assert world.http.get("/api/v1/verify", params={"code": code}).json() == {"valid": True}


def test_forged_hellos_add_nothing(world):
    exposed = registered(world)
    e0 = epoch_of(world.now())
    log = [(h[:11] + b"\0" * 5, t, r) for h, t, r in contact_log(exposed, e0, 2)]
    advance(world, 3 * 900)
    assert report(world, log).status_code == 200
    assert exposed.status(world.now()).json()["riskLevel"] == 0


@pytest.mark.parametrize("body,status", [
    (b"{not json", 400), (b"[]", 400), (b'{"token": 5, "contacts": []}', 400),
    (b'{"token": "ABCDEF"}', 400), (b'{"token": "ABCDEF", "contacts": {}}', 400),
    (b'{"token": "ABCDEF", "contacts": [{"ebid": "x", "ecc": "y", "ids": [{}]}]}', 400),
    (b"[" * 100_000 + b"]" * 100_000, 400), (b"\xff\xfe", 400), (b"", 400)])
def test_malformed_reports_are_400(world, body, status):
    r = world.http.post("/api/v6/report", content=body,
                        headers={"content-type": "application/json"})
    assert r.status_code == status and r.json()["message"]


def test_oversized_bodies_are_413(world):
    r = world.http.post("/api/v6/status", content=b" " * 70_000,
                        headers={"content-type": "application/json"})
    assert r.status_code == 413 and "larger than" in r.json()["message"]

    def chunks():
        for _ in range(100):
            yield b" " * 1000
    r = world.http.post("/api/v6/register", content=chunks(),
                        headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_too_many_contacts_is_400(world, monkeypatch):
    from server_stub.models import MAX_CONTACTS
    code = new_code(world)
    contact = {"ebid": "AAAAAAAAAAA=", "ecc": "AA==", "ids": []}
    body = {"token": code, "contacts": [contact] * (MAX_CONTACTS + 1)}
    r = world.http.post("/api/v6/report", json=body)
    assert r.status_code == 400 and "contacts" in r.json()["message"]
    hello = {"timeCollectedOnDevice": 0, "timeFromHelloMessage": 0, "mac": "AAAAAAA=",
             "rssiCalibrated": -50}
    monkeypatch.setattr("robert.report.MAX_HELLOS", 10)
    body = {"token": code, "contacts": [{**contact, "ids": [hello] * 6}] * 2}
    r = world.http.post("/api/v6/report", json=body)
    assert r.status_code == 400 and "HELLOs" in r.json()["message"]
    assert world.http.get("/api/v1/verify", params={"code": code}).json() == {"valid": True}


def test_register_errors(world):
    ok = {"captchaId": "i", "captcha": "c"}
    for key, message in [("AAAA", "SubjectPublicKeyInfo"), ("%%%", "base64")]:
        r = world.http.post("/api/v6/register", json={**ok, "clientPublicECDHKey": key})
        assert r.status_code == 400 and message in r.json()["message"]
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    r = world.http.post("/api/v6/register", json={
        **ok, "clientPublicECDHKey": base64.b64encode(p384).decode()})
    assert r.status_code == 400 and "P-256" in r.json()["message"]


def test_unknown_paths_and_methods_answer_json(world):
    r = world.http.get("/api/v6/nothing")
    assert r.status_code == 404 and r.json() == {"message": "Not Found"}
    r = world.http.get("/api/v6/status")
    assert r.status_code == 405 and r.json()["message"]


def test_responses_never_carry_server_secrets(world):
    c = registered(world)
    c.status(world.now())
    texts = [world.http.get("/openapi.json").text, world.http.get("/api/v6/clock").text]
    secrets = [world.store.k_g, *[world.store.k_s(d) for d in range(epoch_of(world.now()) // 96,
                                                                       epoch_of(world.now()) // 96 + 4)]]
    for secret in secrets:
        for text in texts:
            assert base64.b64encode(secret).decode() not in text
            assert secret.hex() not in text


def test_batched_day_tuples_equal_the_one_by_one_crypto():
    import os

    from robert import crypto
    from server_stub.service import day_tuples

    k_s, k_g, id_a = os.urandom(24), os.urandom(32), os.urandom(5)
    epochs = range(96 * 2000 + 5, 96 * 2001)
    expected = []
    for e in epochs:
        ebid = crypto.ebid(k_s, e, id_a)
        expected.append((e, ebid, crypto.ecc(k_g, ebid, 0x21)))
    assert day_tuples(k_s, k_g, id_a, epochs, 0x21) == expected
    assert day_tuples(k_s, k_g, id_a, range(7, 7), 0x21) == []
