"""Risk bookkeeping as robert-server keeps it (ROBERT-PROTOCOL.md, risk scoring; the Java
classes are named in `server_stub.service.next_risk_state`): `latestRiskEpoch` becomes the
current epoch at a detection, `lastContactDate` is the contact's day randomised by -1/0/+1
(capped at today, never moving back), the at-risk state resets when that date is more than
7 days before today, and a status answer carries the dates only when at risk."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from server_stub.service import RiskState, next_risk_state, randomised_contact_day

from .spec_client import TIME_START, epoch_of
from .test_api import _id_a, advance, contact_log, registered, report

DAY = 86400
AT_RISK = 2.0 * 15           # a score sum over the threshold (0.1 needs S >= 14.84)
BELOW = 10.0
NOW_EPOCH = 10_000 + 40      # 10:00 UTC on its day
NOW_NTP = TIME_START + NOW_EPOCH * 900 + 60
TODAY = NOW_NTP - NOW_NTP % DAY


class Fixed(random.Random):
    """An rng whose randint always draws `pick` ('low' or 'high') of the range."""

    def __init__(self, pick: str) -> None:
        super().__init__(0)
        self.pick = pick

    def randint(self, a: int, b: int) -> int:
        return a if self.pick == "low" else b


def day_of(epoch: int) -> int:
    return TIME_START + epoch // 96 * DAY


def exposed_now(world, client, epochs: int) -> int:
    """`client` is heard close by for `epochs` epochs from now; reported 3 epochs later."""
    e = epoch_of(world.now())
    log = contact_log(client, e, epochs)
    advance(world, 3 * 900)
    assert report(world, log).status_code == 200
    return e + epochs - 1


def status(world, client) -> dict:
    r = client.status(world.now())
    assert r.status_code == 200, r.text
    return r.json()


NOT_AT_RISK_FIELDS = {"riskLevel", "tuples", "config", "analyticsToken"}
AT_RISK_FIELDS = NOT_AT_RISK_FIELDS | {"lastContactDate", "lastRiskScoringDate",
                                       "declarationToken"}


def test_status_fields_are_those_robert_server_sends(world):
    """NON_NULL: no nulls ever; the dates and the declaration token only when at risk."""
    c = registered(world, tuplesDays=30)
    assert set(status(world, c)) == NOT_AT_RISK_FIELDS
    last = exposed_now(world, c, 2)
    answer = status(world, c)
    assert set(answer) == AT_RISK_FIELDS and answer["riskLevel"] == 4
    assert answer["lastContactDate"] in (str(day_of(last) - DAY), str(day_of(last)))
    assert answer["lastRiskScoringDate"] == str(TIME_START + epoch_of(world.now()) * 900)
    assert None not in answer.values()
    advance(world, 9 * DAY)
    answer = status(world, c)
    assert set(answer) == NOT_AT_RISK_FIELDS and answer["riskLevel"] == 0


def test_reset_after_7_days_then_only_new_scores_count(world):
    c = registered(world, tuplesDays=30)
    exposed_now(world, c, 2)
    first = status(world, c)
    assert first["riskLevel"] == 4
    advance(world, 6 * DAY)
    answer = status(world, c)
    assert (answer["riskLevel"], answer["lastContactDate"]) == (4, first["lastContactDate"])
    advance(world, 3 * DAY)                  # the date is more than 7 days before today
    assert status(world, c)["riskLevel"] == 0
    exposed_now(world, c, 1)                 # with the spent scores S would cross; alone not
    assert status(world, c)["riskLevel"] == 0
    last = exposed_now(world, c, 1)          # a second one crosses with the first
    answer = status(world, c)
    assert answer["riskLevel"] == 4
    assert answer["lastContactDate"] in (str(day_of(last) - DAY), str(day_of(last)))


def test_a_small_contact_while_at_risk_does_not_move_the_date(world):
    """The date moves only when risk is detected again (the old stub extended it)."""
    c = registered(world, tuplesDays=30)
    exposed_now(world, c, 2)
    first = status(world, c)["lastContactDate"]
    advance(world, 5 * DAY)
    exposed_now(world, c, 1)                 # below the threshold on its own
    advance(world, 4 * DAY)                  # 9 days after the first contact's day
    answer = status(world, c)
    assert answer["riskLevel"] == 0 and "lastContactDate" not in answer
    assert int(first) <= TIME_START + epoch_of(world.now()) // 96 * DAY - 8 * DAY


def test_the_notification_is_remembered_not_recomputed(world):
    """Once at risk, the answer stays 4 even when the exposures alone would not say so."""
    c = registered(world, tuplesDays=30)
    exposed_now(world, c, 2)
    assert status(world, c)["riskLevel"] == 4
    id_a = _id_a(world, c)
    world.store._db.execute("UPDATE exposures SET score = 0.1 WHERE id_a = ?", (id_a,))
    advance(world, 2 * 900)
    assert status(world, c)["riskLevel"] == 4
    assert c.delete_history(world.now()).status_code == 200
    advance(world, 2 * 900)
    assert status(world, c)["riskLevel"] == 0


def test_detection_moves_latest_risk_epoch_to_now():
    fresh = RiskState()
    assert next_risk_state(fresh, [], NOW_EPOCH, NOW_NTP) == fresh
    assert next_risk_state(fresh, [(NOW_EPOCH - 5, BELOW)], NOW_EPOCH, NOW_NTP) == fresh
    after = next_risk_state(fresh, [(NOW_EPOCH - 5, BELOW), (NOW_EPOCH - 3, BELOW)],
                            NOW_EPOCH, NOW_NTP, Fixed("high"))
    assert after == RiskState(NOW_NTP, NOW_EPOCH, TODAY)     # not the last contact's epoch
    # A late report of an epoch before the detection is spent: it adds nothing.
    late = next_risk_state(after, [(NOW_EPOCH - 5, BELOW), (NOW_EPOCH - 3, BELOW),
                                   (NOW_EPOCH - 1, AT_RISK)], NOW_EPOCH + 4, NOW_NTP + 3600)
    assert late == after
    week = 7 * 96
    old = [(NOW_EPOCH - week - 1, AT_RISK)]
    assert next_risk_state(fresh, old, NOW_EPOCH, NOW_NTP) == fresh        # too old to notify


def test_reset_counts_days_from_the_last_contact_date():
    at_risk = RiskState(123, NOW_EPOCH - 10, TODAY - 7 * DAY)
    assert next_risk_state(at_risk, [], NOW_EPOCH, NOW_NTP) == at_risk    # 7 days: still
    gone = RiskState(123, NOW_EPOCH - 10, TODAY - 8 * DAY)
    assert next_risk_state(gone, [], NOW_EPOCH, NOW_NTP) == RiskState(
        None, NOW_EPOCH - 10, TODAY - 8 * DAY)


def test_the_randomised_date_never_moves_back_and_never_passes_today():
    later = RiskState(None, NOW_EPOCH - 500, TODAY - DAY)
    contact = [(NOW_EPOCH - 4 * 96, AT_RISK)]               # 4 days ago
    again = next_risk_state(later, contact, NOW_EPOCH, NOW_NTP, Fixed("low"))
    assert again.at_risk and again.last_contact_ntp == TODAY - DAY   # kept, not 5 days ago
    future = [(NOW_EPOCH + 96, AT_RISK)]                     # a reporter's clock a day ahead
    ahead = next_risk_state(RiskState(), future, NOW_EPOCH, NOW_NTP, Fixed("high"))
    assert ahead.last_contact_ntp == TODAY


def test_randomisation_ranges_as_robert_server():
    """-1..0 on the contact's day, 0..+1 at exactly 7 days, -1..0 at 8, else -1..+1."""
    contact_day = TODAY - 20 * DAY
    for days, expected in [(0, {-1, 0}), (3, {-1, 0, 1}), (7, {0, 1}), (8, {-1, 0}),
                           (9, {-1, 0, 1})]:
        contact = NOW_NTP - days * DAY - 30
        base = contact - contact % DAY
        seen = {(randomised_contact_day(contact, NOW_NTP, random.Random(seed)) - base) // DAY
                for seed in range(60)}
        assert seen == expected, (days, seen)
    assert randomised_contact_day(contact_day + 5, contact_day + 9 * DAY, Fixed("low")) \
        == contact_day - DAY


@given(st.lists(st.tuples(st.integers(NOW_EPOCH - 20 * 96, NOW_EPOCH), st.floats(0, 1e6)),
                max_size=20),
       st.integers(NOW_EPOCH - 20 * 96, NOW_EPOCH))
def test_spent_scores_never_notify(exposures, spent):
    """Exposures up to the spent epoch never put a registration back at risk."""
    state = RiskState(None, spent, None)
    old = [(epoch, score) for epoch, score in exposures if epoch <= spent]
    assert next_risk_state(state, old, NOW_EPOCH, NOW_NTP) == state


@given(st.lists(st.tuples(st.integers(NOW_EPOCH - 20 * 96, NOW_EPOCH), st.floats(0, 1e3)),
                max_size=20),
       st.integers(NOW_EPOCH - 20 * 96, NOW_EPOCH),
       st.integers(0, 2**32))
def test_a_detection_names_a_date_near_a_recent_contact(exposures, spent, seed):
    state = RiskState(None, spent, None)
    after = next_risk_state(state, exposures, NOW_EPOCH, NOW_NTP, random.Random(seed))
    if after.at_risk:
        last = max(e for e, _ in exposures)
        assert after.risk_epoch == NOW_EPOCH
        assert abs(after.last_contact_ntp - day_of(last)) <= DAY
        assert after.last_contact_ntp <= TODAY
        assert TODAY - after.last_contact_ntp <= 8 * DAY
