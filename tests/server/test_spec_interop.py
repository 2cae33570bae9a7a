"""A client written from ROBERT-PROTOCOL.md alone (spec_client: nothing of ours imported)
against a real `robert-server --require-captcha` process: it registers through a captcha,
reports with a TEST and a JWT code, sees the status fields as robert-server sends them, and
gets 430 after unregistering. Only the test itself reads the captcha's answer from the
stub's database (the test-only hook of docs/server-stub.md): it plays the person."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from server_stub.process import ServerProcess
from server_stub.store import Store

from .spec_client import (
    TIME_START,
    SpecClient,
    captcha_media,
    epoch_of,
    heard,
    new_captcha,
    report_body,
    server_time,
    verify_rs256,
)

ROBERT_SERVER = str(Path(sys.executable).parent / "robert-server")


def cli(*args: str) -> str:
    out = subprocess.run([ROBERT_SERVER, *args], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def solved(api: httpx.Client, db: Path) -> tuple[str, str]:
    captcha_id = new_captcha(api)
    assert captcha_media(api, captcha_id, "image").content[:4] == b"\x89PNG"
    with Store(db) as store:
        return captcha_id, store.captcha_answer(captcha_id)


def test_spec_client_against_a_strict_server(tmp_path):
    db = tmp_path / "server.db"
    key = cli("public-key", "--db", str(db))
    declaration_key = cli("declaration-key", "--db", str(db))
    with ServerProcess(db, "--require-captcha", "--dev-admin") as server, \
            httpx.Client(base_url=server.url, timeout=30) as api:
        reporter, one, two = (SpecClient(api, key) for _ in range(3))
        assert reporter.register("made-up", "guess").status_code == 401
        for client in (reporter, one, two):
            assert client.register(*solved(api, db)).status_code == 201
        t0 = server_time(api)
        start = TIME_START + (epoch_of(t0) + 1) * 900
        # `one` is close to the reporter for two epochs, `two` for one epoch in each report.
        log_test = heard(one, start, 900, 10, -45) + heard(two, start, 900, 10, -45)
        log_jwt = heard(one, start + 900, 900, 10, -45)
        assert api.put("/admin/clock", json={"offset": start + 2 * 900 + 120 - t0}).status_code == 200
        test_code = cli("new-code", "--db", str(db), "--kind", "test",
                        "--clock-offset", str(start + 2 * 900 + 120 - t0))
        jwt_code = cli("new-code", "--db", str(db), "--kind", "jwt",
                       "--clock-offset", str(start + 2 * 900 + 120 - t0))
        assert len(test_code) == 12 and jwt_code.count(".") == 2
        for code, log in ((test_code.lower(), log_test), (jwt_code, log_jwt)):
            r = api.post("/api/v6/report", json=report_body(code, log))
            assert r.status_code == 200 and r.json()["success"] is True, r.text
        assert api.post("/api/v6/report", json=report_body(jwt_code, log_jwt)).status_code == 401

        now = server_time(api)
        at_risk, safe = one.status(now).json(), two.status(now).json()
        assert set(safe) == {"riskLevel", "tuples", "config", "analyticsToken"}
        assert safe["riskLevel"] == 0
        assert set(at_risk) == {"riskLevel", "tuples", "config", "analyticsToken",
                                "lastContactDate", "lastRiskScoringDate", "declarationToken"}
        assert at_risk["riskLevel"] == 4
        day = TIME_START + (epoch_of(start + 900)) // 96 * 86400
        assert int(at_risk["lastContactDate"]) in (day - 86400, day)
        assert int(at_risk["lastRiskScoringDate"]) == TIME_START + epoch_of(now) * 900
        claims = verify_rs256(at_risk["declarationToken"], declaration_key)
        assert claims["iss"] == "tac"

        assert one.unregister(now).status_code == 200
        for call in (one.status, one.unregister, one.delete_history):
            r = call(now)
            assert r.status_code == 430, r.text
        assert "Traceback" not in server.log()
