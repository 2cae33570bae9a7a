"""The page's HTTP API on a real `robert-kiosk serve`: bad input gets a plain-words error."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.errors import UsageError
from gateway.web.app import check_report_form


def post(system, path: str, body) -> httpx.Response:
    return system["kiosk"].api("POST", path.replace("/t1/", f"/{_first(system)}/"), json=body)


def _first(system) -> str:
    return system["kiosk"].token_ids()[0]


@pytest.mark.parametrize("body, words", [
    ({"code": "AB12CD", "onset": None, "consent": False}, "consent"),
    ({"code": "1 2", "onset": dt.date.today().isoformat(), "consent": True}, "test code is not valid"),
    ({"code": "AB12CD", "onset": "tomorrow", "consent": True}, "not a date"),
    ({"code": "AB12CD", "consent": True}, "onset date or"),
    ({"code": "AB12CD", "onset": "2000-01-01", "consent": True}, "more than 14 days"),
])
def test_bad_report_forms_are_refused_before_touching_the_token(system, body, words):
    answer = post(system, "/api/tokens/t1/report", body)
    assert answer.status_code == 400
    assert words in answer.json()["error"]


def test_erase_and_retire_need_confirmation(system):
    for action in ("erase", "retire"):
        answer = post(system, f"/api/tokens/t1/{action}", {})
        assert answer.status_code == 400 and "confirm" in answer.json()["error"]


def test_unknown_token_and_job(system):
    assert post(system, "/api/tokens/t99/status", {}).status_code == 404
    answer = system["kiosk"].api("GET", "/api/jobs/nope")
    assert answer.status_code == 404 and "not known" in answer.json()["error"]


def test_not_json_body(system):
    answer = system["kiosk"].api("POST", f"/api/tokens/{_first(system)}/report", content=b"\xff{")
    assert answer.status_code == 400 and "not understood" in answer.json()["error"]


def test_token_list_shows_views_and_errors(system):
    tokens = system["kiosk"].api("GET", "/api/tokens").json()["tokens"]
    assert len({t["id"] for t in tokens}) == 3
    assert tokens[0]["view"]["serial"] == "RT-W0000001"
    assert tokens[1]["view"]["headline"] == "Not provisioned"
    # Nothing plugged in on the third port: plain words, and the other tokens are still shown.
    assert tokens[2]["view"] is None
    assert "No token answers" in tokens[2]["error"] and "plugged in" in tokens[2]["error"]


form_values = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=40),
                        st.dates().map(dt.date.isoformat))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["code", "onset", "test_date", "consent", "x"]), form_values))
def test_fuzz_report_form(body):
    try:
        code, onset, test_date = check_report_form(body)
    except UsageError as exc:
        assert exc.message
    else:
        assert body.get("consent") is True and (onset is None) != (test_date is None)
        assert code


def test_other_sites_cannot_post(system):
    """A page of another site must not drive the kiosk (e.g. retire a token)."""
    kiosk = system["kiosk"]
    path = f"/api/tokens/{_first(system)}/retire"
    answer = kiosk.api("POST", path, json={"confirm": True}, headers={"Origin": "http://evil.example"})
    assert answer.status_code == 403 and "other sites" in answer.json()["error"]
    # A "simple" cross-site form post (text/plain, no preflight) is not read as JSON.
    answer = kiosk.api("POST", path, content=b'{"confirm": true}', headers={"Content-Type": "text/plain"})
    assert answer.status_code == 400 and "not JSON" in answer.json()["error"]
