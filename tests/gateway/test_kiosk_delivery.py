"""Exactly-once delivery of a queued report when the server's answer is lost.

A scripted real HTTP server plays the server whose answer never arrives (it
could have processed the report or not); the stub never does this on purpose.
"""

import asyncio
import json

import pytest

from gateway import flows
from gateway import report_queue as rq
from gateway.errors import ReportQueued
from gateway.robert_api import RobertApi

CONTACTS = [{"ebid": "AAAAAAAAAAA=", "ecc": "IQ==", "ids": [
    {"timeCollectedOnDevice": 3900000000, "timeFromHelloMessage": 1, "mac": "AAAAAAA=",
     "rssiCalibrated": -60}]}]


def queued(tmp_path):
    queue = rq.ReportQueue(tmp_path / "q")
    entry = {"serial": "RT-1", "code": "ABC123", "contacts": CONTACTS, "from": 3900000000,
             "to": 3900086400, "state": rq.PENDING}
    return queue, queue.add(entry)


def retry(url, queue, timeout=2.0):
    async def go():
        async with RobertApi(url, timeout=timeout, backoff=0.01) as api:
            return await flows.retry_flow(None, api, queue)
    return asyncio.run(go())


def test_lost_answer_then_code_refused_is_kept_in_doubt(tmp_path, scripted):
    """Issue 10, point 3: the 401 after a lost answer used to delete the entry as delivered."""
    queue, entry_id = queued(tmp_path)
    s = scripted((200, {"success": True}, 1.0), (401, {"message": "used"}, 0))
    with pytest.raises(ReportQueued):
        retry(s.url, queue, timeout=0.3)
    assert queue.load(entry_id)["state"] == rq.IN_DOUBT
    [result] = retry(s.url, queue)
    assert not result.delivered and not result.acknowledged
    assert "In doubt" in result.message and "new code and send again" in result.message
    assert queue.load(entry_id)["state"] == rq.DOUBT  # kept, shown, not deleted
    assert len(s.requests) == 2
    assert json.loads(s.requests[0][2]) == {"token": "ABC123", "contacts": CONTACTS}
    [again] = retry(s.url, queue)  # never posted a third time
    assert not again.delivered and len(s.requests) == 2


def test_a_sending_entry_found_at_start_is_in_doubt(tmp_path, scripted):
    """A kiosk killed during the POST leaves `sending`: the next run posts at most once more
    and, when the code is refused, keeps the entry in doubt."""
    queue, entry_id = queued(tmp_path)
    entry = queue.load(entry_id)
    entry["state"] = rq.SENDING
    queue.save(entry_id, entry)
    s = scripted((401, {"message": "used"}, 0))
    [result] = retry(s.url, queue)
    assert not result.delivered and queue.load(entry_id)["state"] == rq.DOUBT
    assert len(s.requests) == 1


def test_never_sent_then_expired_is_refused_not_delivered(tmp_path, scripted):
    """Issue 10, point 4: a POST that never left, then an expired code, was called delivered."""
    queue, entry_id = queued(tmp_path)
    down = scripted()
    down.close()  # nothing listens there: provably never sent
    with pytest.raises(ReportQueued):
        retry(down.url, queue)
    assert queue.load(entry_id)["state"] == rq.PENDING
    s = scripted((401, {"message": "expired"}, 0))
    [result] = retry(s.url, queue)
    assert not result.delivered and queue.load(entry_id)["state"] == rq.REFUSED
    assert "Not delivered" in result.message and "new code" in result.message
    assert "contacts" in queue.load(entry_id)  # nothing lost


def test_delivered_entry_drops_contacts_and_code_and_waits_for_the_token(tmp_path, scripted):
    queue, entry_id = queued(tmp_path)
    s = scripted((200, {"success": True, "message": "ok"}, 0))
    [result] = retry(s.url, queue)
    assert result.delivered and not result.acknowledged and result.queued_id == entry_id
    entry = queue.load(entry_id)
    assert entry["state"] == rq.DELIVERED and "contacts" not in entry and "code" not in entry
    assert (entry["n_contacts"], entry["n_hellos"]) == (1, 1)
    [again] = retry(s.url, queue)  # no second POST: only the token's ACK is missing
    assert again.delivered and len(s.requests) == 1


def test_server_down_keeps_the_entry_pending(tmp_path, scripted):
    queue, entry_id = queued(tmp_path)
    s = scripted((503, "", 0))
    with pytest.raises(ReportQueued) as err:
        retry(s.url, queue)
    assert err.value.exit_code == 6 and "Retry" in err.value.message
    assert queue.load(entry_id)["contacts"] == CONTACTS and len(s.requests) == 1


def test_200_without_success_is_not_taken_as_delivered(tmp_path, scripted):
    queue, entry_id = queued(tmp_path)
    s = scripted((200, {"success": False, "message": "try later"}, 0))
    with pytest.raises(ReportQueued, match="try later"):
        retry(s.url, queue)
    assert queue.load(entry_id)["state"] == rq.PENDING
    assert queue.load(entry_id)["contacts"] == CONTACTS
