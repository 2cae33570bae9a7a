"""The kiosk's pure rules: test codes, report window, what the big status says."""

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.errors import UsageError
from gateway.flows import check_code, date_to_ntp, headline, report_window_start, token_view

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize("code, expected", [
    ("4k7p2q", "4K7P2Q"), (" AB12CD ", "AB12CD"),
    ("3F2504E0-4F89-11D3-9A0C-0305E82C3301", "3f2504e0-4f89-11d3-9a0c-0305e82c3301"),
])
def test_valid_codes_are_normalised(code, expected):
    assert check_code(code) == expected


@pytest.mark.parametrize("code", ["", "AB 12C", "ÀBCDEF", "x" * 5000])
def test_bad_codes_get_plain_words(code):
    # Only what no report code can be; lengths are the server's to judge (JWT codes).
    with pytest.raises(UsageError, match="test code is (not valid|empty)") as err:
        check_code(code)
    assert err.value.exit_code == 2


@given(st.text(max_size=40))
def test_check_code_never_crashes(text):
    try:
        check_code(text)
    except UsageError:
        pass


def test_window_is_two_days_before_onset_or_seven_before_test():
    assert report_window_start(date(2026, 11, 20), None, TODAY) == date(2026, 11, 18)
    assert report_window_start(None, date(2026, 11, 20), TODAY) == date(2026, 11, 13)
    # never older than the 14 days the token keeps
    assert report_window_start(None, date(2026, 11, 10), TODAY) == TODAY - timedelta(days=14)


@pytest.mark.parametrize("onset, test_date, words", [
    (None, None, "one of the two"),
    (date(2026, 11, 20), date(2026, 11, 20), "one of the two"),
    (date(2026, 11, 24), None, "in the future"),
    (None, date(2026, 10, 1), "more than 14 days"),
])
def test_bad_dates_get_plain_words(onset, test_date, words):
    with pytest.raises(UsageError, match=words):
        report_window_start(onset, test_date, TODAY)


def test_headlines():
    assert headline("ok", 0, None) == "Not at risk"
    assert headline("ok", 4, date(2026, 11, 12)) == "At risk: contact on 12 Nov"
    assert headline("sync_needed", 0, None) == "Sync needed"
    assert headline("ok", None, None) == "Status not checked yet"  # no risk answer yet
    assert headline("not_provisioned", None, None) == "Not provisioned"


def test_token_view_from_info():
    info = {"serial": "RT-00000001", "state": "ok", "provisioned": True,
            "tuples": {"count": 384, "first_epoch": 0, "last_epoch": 95},
            "log": {"hellos": 12}, "battery": {"pct": 87},
            "risk": {"level": 4, "last_contact": date_to_ntp(date(2026, 11, 12))}}
    view = token_view(info)
    assert view.headline == "At risk: contact on 12 Nov"
    assert view.last_contact == date(2026, 11, 12)
    assert view.tuples_until.isoformat() == "2020-06-02T00:00:00+00:00"
    assert (view.log_hellos, view.battery_pct, view.serial) == (12, 87, "RT-00000001")
    assert token_view({"state": "not_provisioned"}).headline == "Not provisioned"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=10)
info_like = st.fixed_dictionaries({}, optional={
    k: json_values for k in ("serial", "state", "risk", "tuples", "log", "battery", "provisioned")
})


@settings(deadline=None)  # no timing in tests: the machine is shared
@given(info_like)
def test_token_view_of_any_info_is_a_view_or_a_plain_token_error(info):
    from gateway.errors import TokenError

    try:
        view = token_view(info)
    except TokenError as exc:
        assert "INFO" in exc.message
        return
    assert view.headline in ("Not at risk", "Sync needed", "Not provisioned",
                             "Status not checked yet") \
        or view.headline.startswith("At risk")


@given(st.binary(max_size=64))
def test_token_json_answers_never_crash(body):
    from gateway.errors import TokenError
    from gateway.token_client import _loads

    try:
        assert isinstance(_loads(body), dict)
    except TokenError:
        pass


@given(st.dictionaries(st.sampled_from(["riskLevel", "lastContactDate", "lastRiskScoringDate",
                                        "tuples"]), json_values, max_size=4))
def test_status_answer_fields_are_checked(answer):
    from gateway.errors import ServerError
    from gateway.flows import status_fields

    try:
        level, contact, scoring = status_fields(answer)
    except ServerError as exc:
        assert "risk level" in exc.message
        return
    assert 0 <= level <= 255
    assert all(v is None or 0 < v < 2**32 for v in (contact, scoring))


def test_status_answer_as_the_real_server_sends_it():
    from gateway.flows import status_fields

    assert status_fields({"riskLevel": 4, "lastContactDate": "3970000000",
                          "lastRiskScoringDate": "3970086400"}) == (4, 3970000000, 3970086400)
    assert status_fields({"riskLevel": 0, "lastContactDate": None}) == (0, None, None)
