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
    return httpx.post(system["kiosk"].url + path, json=body, timeout=10)


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
    answer = httpx.get(system["kiosk"].url + "/api/jobs/nope", timeout=10)
    assert answer.status_code == 404 and "not known" in answer.json()["error"]


def test_not_json_body(system):
    answer = httpx.post(system["kiosk"].url + "/api/tokens/t1/report", content=b"\xff{",
                        headers={"Content-Type": "application/json"}, timeout=10)
    assert answer.status_code == 400 and "not understood" in answer.json()["error"]


def test_token_list_shows_views_and_errors(system):
    tokens = httpx.get(system["kiosk"].url + "/api/tokens", timeout=10).json()["tokens"]
    assert [t["id"] for t in tokens] == ["t1", "t2", "t3"]
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
    url = system["kiosk"].url + "/api/tokens/t1/retire"
    answer = httpx.post(url, json={"confirm": True}, headers={"Origin": "http://evil.example"}, timeout=10)
    assert answer.status_code == 403 and "other sites" in answer.json()["error"]
    # A "simple" cross-site form post (text/plain, no preflight) is not read as JSON.
    answer = httpx.post(url, content=b'{"confirm": true}', headers={"Content-Type": "text/plain"}, timeout=10)
    assert answer.status_code == 400 and "not JSON" in answer.json()["error"]
