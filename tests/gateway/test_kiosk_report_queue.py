"""The encrypted report queue: nothing readable at rest, atomic entries, tamper detected."""

import os
import stat

import pytest

from gateway.report_queue import KEY_FILE, QueueError, ReportQueue

SECRET_EBID = "U1RPUENPVjE="  # what must not appear in clear on disk


def entry():
    return {"serial": "RT-1", "code": "4K7P2Q", "state": "pending", "from": 1, "to": 2,
            "contacts": [{"ebid": SECRET_EBID, "ecc": "IQ==", "ids": []}]}


def test_round_trip_and_nothing_in_clear(tmp_path):
    q = ReportQueue(tmp_path / "q")
    entry_id = q.add(entry())
    assert q.ids() == [entry_id] and len(q) == 1
    assert q.load(entry_id) == entry()
    for path in (tmp_path / "q").iterdir():
        raw = path.read_bytes()
        assert b"4K7P2Q" not in raw and SECRET_EBID.encode() not in raw and b"RT-1" not in raw
    key = tmp_path / "q" / KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_bytes().hex() not in repr(q)


def test_entries_survive_a_new_queue_object_and_remove_deletes(tmp_path):
    ReportQueue(tmp_path).add(entry())
    q = ReportQueue(tmp_path)
    [(entry_id, loaded)] = q.entries()
    assert loaded["code"] == "4K7P2Q"
    q.remove(entry_id)
    assert q.entries() == [] and not list(tmp_path.glob("*.report"))


def test_tampered_or_renamed_entry_is_refused_with_plain_words(tmp_path):
    q = ReportQueue(tmp_path)
    a = q.add(entry())
    path = tmp_path / f"{a}.report"
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 1
    path.write_bytes(bytes(raw))
    with pytest.raises(QueueError, match="cannot be decrypted"):
        q.load(a)
    assert path.exists()  # left in place for support, not deleted


def test_key_readable_by_others_is_refused(tmp_path):
    q = ReportQueue(tmp_path)
    q.add(entry())
    os.chmod(tmp_path / KEY_FILE, 0o644)
    with pytest.raises(QueueError, match="chmod 600"):
        ReportQueue(tmp_path).entries()


def test_empty_or_missing_folder_has_no_entries(tmp_path):
    assert ReportQueue(tmp_path / "nothing").entries() == []
