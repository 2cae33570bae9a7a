"""Risk notification bookkeeping: S counts from the last notification, and the at-risk
state lasts while the last contact is within 7 days (ROBERT-PROTOCOL.md, risk scoring)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from server_stub.service import RiskState, next_risk_state

from .spec_client import TIME_START, epoch_of
from .test_api import _id_a, advance, contact_log, registered, report

DAY = 86400
AT_RISK = 2.0 * 15           # a score sum over the threshold (0.1 needs S >= 14.84)
BELOW = 10.0


def day_start(epoch: int) -> str:
    return str(TIME_START + epoch // 96 * DAY)


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


def test_at_risk_on_day_0_and_6_not_on_day_8_then_only_new_scores_count(world):
    c = registered(world, tuplesDays=30)
    last = exposed_now(world, c, 2)
    answer = status(world, c)
    assert (answer["riskLevel"], answer["lastContactDate"]) == (4, day_start(last))
    advance(world, 6 * DAY)
    answer = status(world, c)
    assert (answer["riskLevel"], answer["lastContactDate"]) == (4, day_start(last))
    advance(world, 2 * DAY)
    answer = status(world, c)
    assert (answer["riskLevel"], answer["lastContactDate"]) == (0, None)
    # One more close contact: with the spent scores S would cross, on its own it does not.
    exposed_now(world, c, 1)
    assert status(world, c)["riskLevel"] == 0
    last = exposed_now(world, c, 1)          # a second one crosses with the first
    answer = status(world, c)
    assert (answer["riskLevel"], answer["lastContactDate"]) == (4, day_start(last))


def test_a_contact_while_at_risk_extends_the_state(world):
    c = registered(world, tuplesDays=30)
    exposed_now(world, c, 2)
    assert status(world, c)["riskLevel"] == 4
    advance(world, 5 * DAY)
    last = exposed_now(world, c, 1)          # below the threshold alone, but a contact
    advance(world, 3 * DAY)                  # 8 days after the first contact
    answer = status(world, c)
    assert (answer["riskLevel"], answer["lastContactDate"]) == (4, day_start(last))
    advance(world, 5 * DAY)
    assert status(world, c)["riskLevel"] == 0


def test_the_notification_is_remembered_not_recomputed(world):
    """Once notified, the answer stays 4 even when the exposures alone would not say so."""
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


NOW_EPOCH = 10_000
NOW_NTP = TIME_START + NOW_EPOCH * 900


def test_next_risk_state_cases():
    fresh = RiskState()
    assert next_risk_state(fresh, [], NOW_EPOCH, NOW_NTP) == fresh
    assert next_risk_state(fresh, [(NOW_EPOCH - 5, BELOW)], NOW_EPOCH, NOW_NTP) == fresh
    notified = next_risk_state(fresh, [(NOW_EPOCH - 5, BELOW), (NOW_EPOCH - 3, BELOW)],
                               NOW_EPOCH, NOW_NTP)
    assert notified == RiskState(NOW_NTP, NOW_EPOCH - 3)
    week = 7 * 96
    old = [(NOW_EPOCH - week - 1, AT_RISK)]
    assert next_risk_state(fresh, old, NOW_EPOCH, NOW_NTP) == fresh        # too old to notify
    kept = RiskState(123, NOW_EPOCH - week)
    assert next_risk_state(kept, [], NOW_EPOCH, NOW_NTP) == kept            # 7 days: still
    assert next_risk_state(kept, [], NOW_EPOCH + 1, NOW_NTP) == RiskState(None, NOW_EPOCH - week)


@given(st.lists(st.tuples(st.integers(NOW_EPOCH - 20 * 96, NOW_EPOCH), st.floats(0, 1e6)),
                max_size=20),
       st.integers(NOW_EPOCH - 20 * 96, NOW_EPOCH))
def test_spent_scores_never_notify(exposures, spent):
    """Exposures up to the spent epoch never put a registration back at risk."""
    state = RiskState(None, spent)
    old = [(epoch, score) for epoch, score in exposures if epoch <= spent]
    assert next_risk_state(state, old, NOW_EPOCH, NOW_NTP) == state


@given(st.lists(st.tuples(st.integers(NOW_EPOCH - 20 * 96, NOW_EPOCH), st.floats(0, 1e3)),
                max_size=20),
       st.integers(NOW_EPOCH - 20 * 96, NOW_EPOCH))
def test_at_risk_answers_name_a_contact_within_7_days(exposures, spent):
    for state in (RiskState(None, spent), RiskState(1, spent)):
        after = next_risk_state(state, exposures, NOW_EPOCH, NOW_NTP)
        if after.at_risk:
            assert NOW_EPOCH - after.risk_epoch <= 7 * 96
            assert after.risk_epoch >= max([spent] + [e for e, _ in exposures])
