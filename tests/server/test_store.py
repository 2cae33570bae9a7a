"""The SQLite store: state survives a reopen, secrets are sealed, codes are single-use."""

from __future__ import annotations

import os
import stat

import pytest

from server_stub import codes
from server_stub.kek import KekError, kek_path
from server_stub.store import Store

NOW = 3_990_000_000


def test_state_survives_reopen(tmp_path):
    db = tmp_path / "s.db"
    s = Store(db)
    id_a = s.add_registration(b"m" * 32, b"t" * 32, 7, NOW)
    k_s = s.k_s(100, create=True)
    k_g, spki = s.k_g, s.public_key_spki()
    s.set_status_epoch(id_a, 1234)
    code = codes.new_code(s, NOW)
    s.close()

    s = Store(db)
    reg = s.registration(id_a)
    assert (reg.k_mac, reg.k_tuples, reg.tuples_days, reg.last_status_epoch) == (
        b"m" * 32, b"t" * 32, 7, 1234)
    assert s.k_s(100) == k_s
    assert s.k_g == k_g and s.public_key_spki() == spki
    assert s.code_valid(code, NOW)
    s.close()


def test_k_s_is_created_only_on_demand(store):
    assert store.k_s(5) is None
    key = store.k_s(5, create=True)
    assert len(key) == 24 and store.k_s(5) == key and store.k_s(6, create=True) != key


def test_kek_file_is_private_and_secrets_are_not_in_the_database(tmp_path):
    db = tmp_path / "s.db"
    s = Store(db)
    k_mac, k_tuples = os.urandom(32), os.urandom(32)
    s.add_registration(k_mac, k_tuples, 4, NOW)
    k_s = s.k_s(1, create=True)
    k_g = s.k_g
    s.close()
    assert stat.S_IMODE(os.stat(kek_path(db)).st_mode) == 0o600
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("s.db")
                   and not p.name.endswith(".kek"))
    for secret in (k_mac, k_tuples, k_s, k_g):
        assert secret not in raw


def test_wrong_kek_is_a_clear_error(tmp_path):
    db = tmp_path / "s.db"
    Store(db).close()
    kek_path(db).write_bytes(os.urandom(32))
    with pytest.raises(KekError, match="key-encryption key"):
        Store(db)
    kek_path(db).write_bytes(b"short")
    with pytest.raises(KekError, match="damaged"):
        Store(db)


def test_repr_hides_keys(store):
    id_a = store.add_registration(b"\xaa" * 32, b"\xbb" * 32, 4, NOW)
    reg = store.registration(id_a)
    text = repr(reg) + repr(store._kek)
    assert reg.k_mac == b"\xaa" * 32
    for leak in ("\\xaa" * 6, "aa" * 6, "\\xbb" * 6, "bb" * 6):
        assert leak not in text


def test_codes_are_single_use_and_expire(store):
    short = codes.new_code(store, NOW)
    long = codes.new_code(store, NOW, long=True)
    assert len(short) == 6 and all(c in codes.SHORT_ALPHABET for c in short)
    assert len(long) == 36 and codes.normal(long.upper()) == long
    assert store.code_valid(short, NOW + codes.SHORT_TTL - 1)
    assert not store.code_valid(short, NOW + codes.SHORT_TTL)
    assert store.code_valid(long, NOW + codes.LONG_TTL - 1)
    assert not store.code_valid(long, NOW + codes.LONG_TTL)
    assert store.record_report(short, [], NOW)
    assert not store.record_report(short, [], NOW)          # used
    assert not store.record_report(long, [], NOW + codes.LONG_TTL)  # expired
    assert not store.record_report("NOCODE", [], NOW)       # unknown


def test_report_adds_scores_only_to_known_registrations(store):
    a = store.add_registration(b"m" * 32, b"t" * 32, 4, NOW)
    code = codes.new_code(store, NOW)
    assert store.record_report(code, [(a, 10, 1.5), (a, 10, 2.0), (a, 11, 3.0),
                                      (b"\0" * 5, 10, 9.0)], NOW)
    assert store.exposures(a) == [(10, 3.5), (11, 3.0)]
    assert store.exposures(b"\0" * 5) == []
    assert store.registration(a).last_scoring_ntp == NOW


def test_failed_report_writes_nothing(store):
    a = store.add_registration(b"m" * 32, b"t" * 32, 4, NOW)
    assert not store.record_report("ABCDEF", [(a, 10, 1.0)], NOW)
    assert store.exposures(a) == []


def test_purge_and_delete(store):
    a = store.add_registration(b"m" * 32, b"t" * 32, 4, NOW)
    store.record_report(codes.new_code(store, NOW), [(a, 10, 1.0), (a, 2000, 1.0)], NOW)
    assert store.purge_exposures(1000) == 1
    assert store.exposures(a) == [(2000, 1.0)]
    store.delete_exposures(a)
    assert store.exposures(a) == [] and store.registration(a).last_scoring_ntp is None
    assert store.delete_registration(a) and store.registration(a) is None
    assert not store.delete_registration(a)


@pytest.mark.parametrize("code,kind", [
    (" abc123 ", "lookup"), ("abcdefghijkl", "lookup"),
    ("123E4567-E89B-12D3-A456-426614174000", "lookup"), ("ABC12", "jwt"), ("", "jwt"),
    ("eyJ.eyJ.sig", "jwt")])
def test_code_shapes_as_the_code_service_reads_them(code, kind):
    """6, 12 and 36 characters are looked up, anything else is read as a JWT
    (SubmissionCodeService.validateAndUse); no shape is refused before the lookup."""
    assert codes.is_jwt_shaped(codes.normal(code)) is (kind == "jwt")


def test_risk_notification_survives_reopen_and_delete_history_clears_it(tmp_path):
    db = tmp_path / "s.db"
    s = Store(db)
    a = s.add_registration(b"m" * 32, b"t" * 32, 4, NOW)
    assert (s.registration(a).notified_ntp, s.registration(a).risk_epoch) == (None, None)
    s.set_risk(a, NOW, 1234)
    s.close()
    s = Store(db)
    assert (s.registration(a).notified_ntp, s.registration(a).risk_epoch) == (NOW, 1234)
    s.delete_exposures(a)
    assert (s.registration(a).notified_ntp, s.registration(a).risk_epoch) == (None, None)
    s.close()


def test_an_older_database_gets_the_risk_columns(tmp_path):
    import sqlite3
    db = tmp_path / "s.db"
    s = Store(db)
    a = s.add_registration(b"m" * 32, b"t" * 32, 4, NOW)
    s.set_status_epoch(a, 77)
    s.close()
    raw = sqlite3.connect(db)                   # as the first release left it
    raw.execute("ALTER TABLE registrations DROP COLUMN notified_ntp")
    raw.execute("ALTER TABLE registrations DROP COLUMN risk_epoch")
    raw.commit()
    raw.close()

    s = Store(db)
    reg = s.registration(a)
    assert (reg.k_mac, reg.last_status_epoch, reg.notified_ntp, reg.risk_epoch) == (
        b"m" * 32, 77, None, None)
    s.set_risk(a, NOW, 5)
    assert s.registration(a).risk_epoch == 5
    s.close()
    Store(db).close()                           # a second open finds nothing to add


def test_an_older_at_risk_row_gets_its_last_contact_day(tmp_path):
    """An older stub kept the last contact's epoch in risk_epoch and no date: the reset rule
    (by date) needs one, so opening gives it that epoch's UTC day."""
    import sqlite3
    db = tmp_path / "s.db"
    s = Store(db)
    a = s.add_registration(b"m" * 32, b"t" * 32, 4, NOW)
    s.set_risk(a, NOW, 96 * 2000 + 50)
    s.close()
    raw = sqlite3.connect(db)
    raw.execute("ALTER TABLE registrations DROP COLUMN last_contact_ntp")
    raw.commit()
    raw.close()
    s = Store(db)
    assert s.registration(a).last_contact_ntp == 3799958400 + 2000 * 86400
    s.close()
