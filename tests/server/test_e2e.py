"""End to end against a real `robert-server` process: the spec client over HTTP, restarts included."""

from __future__ import annotations

import base64
import importlib
import subprocess
import sys
from pathlib import Path

import httpx

from server_stub.process import ServerProcess
from server_stub.store import Store

from .spec_client import (
    PREFIX_STATUS,
    TIME_START,
    SpecClient,
    epoch_of,
    heard,
    new_captcha,
    report_body,
    server_time,
)

importlib.import_module("robert.report")

ROBERT_SERVER = str(Path(sys.executable).parent / "robert-server")


def cli(*args: str) -> str:
    out = subprocess.run([ROBERT_SERVER, *args], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    return out.stdout.strip()


def test_contact_report_restart_and_risk(tmp_path):
    db = tmp_path / "server.db"
    key = cli("public-key", "--db", str(db))
    with ServerProcess(db) as server:
        with httpx.Client(base_url=server.url, timeout=30) as api:
            a, b, c = (SpecClient(api, key) for _ in range(3))
            for client in (a, b, c):
                assert client.register().status_code == 201
            t0 = server_time(api)
        # A sits next to B for the two epochs after registration; C is across the room.
        first = epoch_of(t0) + 1
        start = TIME_START + first * 900
        log = (heard(b, start, 900, 10, -45) + heard(b, start + 900, 900, 10, -45)
               + heard(c, start, 1800, 10, -100))
        offset = str(start + 2 * 900 + 120 - t0)  # the report happens after both contacts

        server.restart("--clock-offset", offset)
        code = cli("new-code", "--db", str(db), "--clock-offset", offset)
        with httpx.Client(base_url=server.url, timeout=60) as api:
            r = api.post("/api/v6/report", json=report_body(code, log))
            assert r.status_code == 200, r.text
            assert r.json()["success"] is True and r.json()["reportValidationToken"]
            again = api.post("/api/v6/report", json=report_body(code, log))
            assert again.status_code == 401 and again.json()["message"]

        server.restart("--clock-offset", offset)
        with httpx.Client(base_url=server.url, timeout=30) as api:
            for client in (a, b, c):
                client.api = api
            now = server_time(api)
            answer_b = b.status(now)
            assert answer_b.status_code == 200, answer_b.text
            assert answer_b.json()["riskLevel"] == 4
            day = TIME_START + (first + 1) // 96 * 86400
            assert answer_b.json()["lastContactDate"] in (str(day - 86400), str(day))
            assert c.status(now).json()["riskLevel"] == 0
            assert a.status(now).json()["riskLevel"] == 0
            twice = c.status(now)
            assert twice.status_code == 400 and "too often" in twice.json()["message"]
            assert b.unregister(now).status_code == 200
            assert b.unregister(now).status_code == 430
        assert "Traceback" not in server.log()


def test_cli_outputs_and_help(tmp_path):
    db = str(tmp_path / "s.db")
    short, long = cli("new-code", "--db", db), cli("new-code", "--db", db, "--long")
    assert len(short) == 6 and short.isalnum() and short.upper() == short
    assert len(long) == 36 and long.count("-") == 4
    import base64

    from cryptography.hazmat.primitives import serialization
    key = serialization.load_der_public_key(base64.b64decode(cli("public-key", "--db", db)))
    assert key.curve.name == "secp256r1"
    assert cli("public-key", "--db", db) == cli("public-key", "--db", db)
    for args in ([], ["new-code"], ["public-key"], ["declaration-key"], ["analytics-key"]):
        assert "--db" in cli(*args, "--help")
    test, jwt = cli("new-code", "--db", db, "--kind", "test"), cli("new-code", "--db", db,
                                                                   "--kind", "jwt")
    assert len(test) == 12 and test.isalnum() and jwt.count(".") == 2
    rsa = serialization.load_der_public_key(base64.b64decode(cli("declaration-key", "--db", db)))
    assert rsa.key_size == 2048 and cli("declaration-key", "--db", db) != cli(
        "analytics-key", "--db", db)


def test_cli_errors_are_one_line(tmp_path):
    db = tmp_path / "s.db"
    cli("public-key", "--db", str(db))
    (tmp_path / "s.db.kek").write_bytes(b"\0" * 32)  # the wrong key-encryption key
    out = subprocess.run([ROBERT_SERVER, "public-key", "--db", str(db)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and out.stdout == ""
    assert "key-encryption key" in out.stderr and "Traceback" not in out.stderr
    out = subprocess.run([ROBERT_SERVER, "--port", "1"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "--db" in out.stderr
    with ServerProcess(tmp_path / "other.db") as server:               # its port is taken
        port = server.url.rsplit(":", 1)[1]
        out = subprocess.run([ROBERT_SERVER, "--db", str(tmp_path / "third.db"), "--port", port],
                             capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and f"cannot listen on 127.0.0.1:{port}" in out.stderr
    assert "Traceback" not in out.stderr


def test_dev_admin_clock_captcha_and_quiet_logs(tmp_path):
    db = tmp_path / "server.db"
    key = cli("public-key", "--db", str(db))
    args = ("--dev-admin", "--require-captcha", "--log-level", "debug", "--access-log")
    with ServerProcess(db, *args) as server, httpx.Client(base_url=server.url, timeout=30) as api:
        before = server_time(api)
        r = api.put("/admin/clock", json={"offset": 3 * 86400})
        assert r.status_code == 200 and r.json()["offset"] == 3 * 86400
        assert abs(server_time(api) - before - 3 * 86400) <= 2
        assert api.put("/admin/clock", json={"offset": "soon"}).status_code == 400

        client = SpecClient(api, key)
        refused = api.post("/api/v6/register", json={
            "captchaId": "x", "captcha": "wrong", "clientPublicECDHKey": "AAAA"})
        assert refused.status_code == 401
        captcha_id = new_captcha(api)
        with Store(db) as store:                       # test-only: play the person who reads it
            answer = store.captcha_answer(captcha_id)
        assert client.register(captcha_id, answer.lower()).status_code == 201
        now = server_time(api)
        forged = client.auth_body(PREFIX_STATUS, now)
        forged["mac"] = base64.b64encode(bytes(32)).decode()
        bad_mac = api.post("/api/v6/status", json=forged)
        assert (bad_mac.status_code, bad_mac.json()) == (400, {"message": "bad MAC"})
        assert client.status(now).status_code == 200
        log = server.log()
    assert "GET /api/v6/clock" in log                          # the access log is on
    kek = (tmp_path / "server.db.kek").read_bytes()
    for secret in (client.k_mac, client.k_tuples, kek):
        for form in (secret.hex(), base64.b64encode(secret).decode()):
            assert form not in log


def test_without_dev_admin_there_is_no_admin_clock(tmp_path):
    with ServerProcess(tmp_path / "s.db") as server:
        r = httpx.put(server.url + "/admin/clock", json={"offset": 5})
        assert r.status_code in (404, 405) and r.json()["message"]


def test_risk_notification_survives_restarts_and_resets_after_7_days(tmp_path):
    """The notification is in SQLite: restarts with the clock moved by --clock-offset keep it
    for 7 days after the last contact, then it resets, and the spent scores stay spent."""
    db = tmp_path / "server.db"
    key = cli("public-key", "--db", str(db))
    with ServerProcess(db) as server:
        with httpx.Client(base_url=server.url, timeout=30) as api:
            b = SpecClient(api, key)
            assert b.register(tuplesDays=30).status_code == 201
            t0 = server_time(api)
        first = epoch_of(t0) + 1
        start = TIME_START + first * 900
        base = start + 2 * 900 + 120 - t0
        day_of_contact = TIME_START + (first + 1) // 96 * 86400
        answers = []
        for days in (0, 6, 8, 9):
            offset = str(base + days * 86400)
            server.restart("--clock-offset", offset)
            with httpx.Client(base_url=server.url, timeout=60) as api:
                b.api = api
                if days == 0:                    # two close epochs: at risk
                    log = heard(b, start, 900, 10, -45) + heard(b, start + 900, 900, 10, -45)
                elif days == 9:                  # one more on day 8: not enough on its own
                    log = heard(b, start + 8 * 96 * 900, 900, 10, -45)
                else:
                    log = []
                if log:
                    code = cli("new-code", "--db", str(db), "--clock-offset", offset)
                    assert api.post("/api/v6/report", json=report_body(code, log)).status_code == 200
                r = b.status(server_time(api))
                assert r.status_code == 200, r.text
                answers.append((r.json()["riskLevel"], r.json().get("lastContactDate")))
        assert [level for level, _ in answers] == [4, 4, 0, 0]
        assert answers[0][1] == answers[1][1]            # the date never moves back
        assert answers[0][1] in (str(day_of_contact - 86400), str(day_of_contact))
        assert answers[2][1] is None and answers[3][1] is None
        assert "Traceback" not in server.log()
