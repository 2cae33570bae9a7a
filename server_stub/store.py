"""SQLite store (stdlib sqlite3, WAL): everything the server must remember across restarts.

Secrets (K_A, K_S, K_G, the ECDH private key) are sealed under the KEK
(`server_stub.kek`) before they touch the database.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from server_stub import kek as kek_mod

ID_A_SIZE = 5
K_S_SIZE = 24
K_G_SIZE = 32

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS registrations (
    id_a BLOB PRIMARY KEY,
    k_a BLOB NOT NULL,               -- K_A_mac || K_A_tuples, sealed under the KEK
    tuples_days INTEGER NOT NULL,
    created_ntp INTEGER NOT NULL,
    last_status_epoch INTEGER,
    last_scoring_ntp INTEGER,
    notified_ntp INTEGER,            -- at risk since (robert-server's atRisk); NULL: not at risk
    risk_epoch INTEGER,              -- latestRiskEpoch: the epoch of the last detection;
                                     -- only exposed epochs after it are scored
    last_contact_ntp INTEGER         -- lastContactTimestamp: randomised day of the last contact
);
CREATE TABLE IF NOT EXISTS exposures (
    id_a BLOB NOT NULL,
    epoch_id INTEGER NOT NULL,
    score REAL NOT NULL,
    PRIMARY KEY (id_a, epoch_id)
);
CREATE INDEX IF NOT EXISTS exposures_by_epoch ON exposures (epoch_id);
CREATE TABLE IF NOT EXISTS server_keys (
    day INTEGER PRIMARY KEY,         -- UTC day number (days since the service start)
    k_s BLOB NOT NULL                -- sealed
);
CREATE TABLE IF NOT EXISTS codes (
    code TEXT PRIMARY KEY,
    kind TEXT NOT NULL,              -- 'short', 'long', 'test' or 'jwt' (code = 'jti:' + hash)
    expires_ntp INTEGER NOT NULL,
    used_ntp INTEGER
);
CREATE TABLE IF NOT EXISTS captchas (
    id TEXT PRIMARY KEY,
    answer TEXT NOT NULL,            -- plain: a captcha answer is no secret once shown
    kind TEXT NOT NULL,              -- 'IMAGE' or 'AUDIO'
    expires_ntp INTEGER NOT NULL,
    used_ntp INTEGER
);
"""

# Columns added after the first release: (name, type) added to an older database at open.
_ADDED_COLUMNS = {"registrations": (("notified_ntp", "INTEGER"), ("risk_epoch", "INTEGER"),
                                     ("last_contact_ntp", "INTEGER"))}
# A database of an older stub: risk_epoch was the last contact's epoch and no last contact
# date was kept; an at-risk row gets the start of that epoch's UTC day (timeStart is midnight).
_MIGRATE_LAST_CONTACT = ("UPDATE registrations SET last_contact_ntp = "
                         "3799958400 + (risk_epoch / 96) * 86400 "
                         "WHERE last_contact_ntp IS NULL AND notified_ntp IS NOT NULL "
                         "AND risk_epoch IS NOT NULL")


@dataclass(frozen=True)
class Registration:
    id_a: bytes
    k_mac: bytes = field(repr=False)
    k_tuples: bytes = field(repr=False)
    tuples_days: int
    last_status_epoch: int | None
    last_scoring_ntp: int | None
    notified_ntp: int | None = None   # at risk since (None: not at risk)
    risk_epoch: int | None = None     # latestRiskEpoch: exposures up to this epoch are spent
    last_contact_ntp: int | None = None  # lastContactTimestamp (randomised day, NTP)


class Store:
    """One connection, serialised by a lock: the stub's load is small and SQLite is fast."""

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        self.path = Path(db_path)
        self._kek = kek_mod.load_or_create(kek_mod.kek_path(self.path))
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=10000")
        with self._lock:
            self._db.executescript(_SCHEMA)
            _add_missing_columns(self._db)
            self._db.execute(_MIGRATE_LAST_CONTACT)
        self._k_s_cache: dict[int, bytes] = {}
        self._keys: dict[bytes, object] = {}
        self.k_g = self._meta_secret(b"k_g", lambda: os.urandom(K_G_SIZE))
        self._ecdh = serialization.load_der_private_key(
            self._meta_secret(b"ecdh", _new_ecdh_key_der), password=None)

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- server secrets -------------------------------------------------------------

    def _meta_secret(self, name: bytes, make) -> bytes:
        with self.transaction() as db:
            row = db.execute("SELECT value FROM meta WHERE name = ?", (name.decode(),)).fetchone()
            if row is None:
                secret = make()
                db.execute("INSERT INTO meta (name, value) VALUES (?, ?)",
                           (name.decode(), self._kek.seal(b"meta:" + name, secret)))
                return secret
        return self._kek.open(b"meta:" + name, row[0])

    @property
    def ecdh_private_key(self) -> ec.EllipticCurvePrivateKey:
        return self._ecdh

    def public_key_spki(self) -> bytes:
        return self._ecdh.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    def k_s(self, day: int, create: bool = False) -> bytes | None:
        """K_S of a UTC day; created (and kept) on demand only when `create`."""
        key = self._k_s_cache.get(day)
        if key is not None:
            return key
        label = b"k_s:%d" % day
        with self.transaction() as db:
            row = db.execute("SELECT k_s FROM server_keys WHERE day = ?", (day,)).fetchone()
            if row is None:
                if not create:
                    return None
                key = os.urandom(K_S_SIZE)
                db.execute("INSERT INTO server_keys (day, k_s) VALUES (?, ?)",
                           (day, self._kek.seal(label, key)))
        if key is None:
            key = self._kek.open(label, row[0])
        self._k_s_cache[day] = key
        return key

    # -- registrations ----------------------------------------------------------------

    def add_registration(self, k_mac: bytes, k_tuples: bytes, tuples_days: int,
                         now_ntp: int) -> bytes:
        """Store a new registration under a fresh random, unique ID_A; return the ID_A."""
        with self.transaction() as db:
            while True:
                id_a = os.urandom(ID_A_SIZE)
                if db.execute("SELECT 1 FROM registrations WHERE id_a = ?", (id_a,)).fetchone():
                    continue
                db.execute(
                    "INSERT INTO registrations (id_a, k_a, tuples_days, created_ntp) "
                    "VALUES (?, ?, ?, ?)",
                    (id_a, self._kek.seal(b"k_a:" + id_a, k_mac + k_tuples), tuples_days, now_ntp))
                return id_a

    def registration(self, id_a: bytes) -> Registration | None:
        with self._lock:
            row = self._db.execute(
                "SELECT k_a, tuples_days, last_status_epoch, last_scoring_ntp, notified_ntp, "
                "risk_epoch, last_contact_ntp FROM registrations WHERE id_a = ?",
                (id_a,)).fetchone()
        if row is None:
            return None
        k_a = self._kek.open(b"k_a:" + id_a, row[0])
        return Registration(id_a, k_a[:32], k_a[32:], *row[1:])

    def count_registrations(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM registrations").fetchone()[0]

    def set_status_epoch(self, id_a: bytes, epoch_id: int) -> None:
        with self.transaction() as db:
            db.execute("UPDATE registrations SET last_status_epoch = ? WHERE id_a = ?",
                       (epoch_id, id_a))

    def set_risk(self, id_a: bytes, notified_ntp: int | None, risk_epoch: int | None,
                 last_contact_ntp: int | None = None) -> None:
        """The risk bookkeeping: at risk since `notified_ntp` (None: not at risk), exposures
        up to `risk_epoch` spent, the (randomised) last contact day."""
        with self.transaction() as db:
            db.execute("UPDATE registrations SET notified_ntp = ?, risk_epoch = ?, "
                       "last_contact_ntp = ? WHERE id_a = ?",
                       (notified_ntp, risk_epoch, last_contact_ntp, id_a))

    def delete_registration(self, id_a: bytes) -> bool:
        with self.transaction() as db:
            db.execute("DELETE FROM exposures WHERE id_a = ?", (id_a,))
            return db.execute("DELETE FROM registrations WHERE id_a = ?", (id_a,)).rowcount > 0

    # -- exposures ----------------------------------------------------------------------

    def exposures(self, id_a: bytes) -> list[tuple[int, float]]:
        """(epoch_id, summed score) of a registration, oldest first (at most 14 days kept)."""
        with self._lock:
            return self._db.execute(
                "SELECT epoch_id, score FROM exposures WHERE id_a = ? ORDER BY epoch_id",
                (id_a,)).fetchall()

    def delete_exposures(self, id_a: bytes) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM exposures WHERE id_a = ?", (id_a,))
            db.execute("UPDATE registrations SET last_scoring_ntp = NULL, notified_ntp = NULL, "
                       "risk_epoch = NULL, last_contact_ntp = NULL WHERE id_a = ?", (id_a,))

    def purge_exposures(self, before_epoch: int) -> int:
        """Retention: forget exposures of epochs before `before_epoch`."""
        with self.transaction() as db:
            return db.execute("DELETE FROM exposures WHERE epoch_id < ?",
                              (before_epoch,)).rowcount

    def record_report(self, code: str, exposures: Iterable[tuple[bytes, int, float]],
                      now_ntp: int) -> bool:
        """Burn `code` and add the exposures, atomically; False (nothing written) if the
        code is unknown, used or expired."""
        with self.transaction() as db:
            used = db.execute(
                "UPDATE codes SET used_ntp = ? "
                "WHERE code = ? AND used_ntp IS NULL AND expires_ntp > ?",
                (now_ntp, code, now_ntp)).rowcount
            if not used:
                return False
            touched = set()
            for id_a, epoch_id, score in exposures:
                db.execute(
                    "INSERT INTO exposures (id_a, epoch_id, score) "
                    "SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM registrations WHERE id_a = ?) "
                    "ON CONFLICT (id_a, epoch_id) DO UPDATE SET score = score + excluded.score",
                    (id_a, epoch_id, score, id_a))
                touched.add(id_a)
            db.executemany("UPDATE registrations SET last_scoring_ntp = ? WHERE id_a = ?",
                           [(now_ntp, id_a) for id_a in touched])
            return True

    # -- report codes -------------------------------------------------------------------

    def add_code(self, code: str, kind: str, expires_ntp: int) -> bool:
        """False if the code already exists (the caller draws another)."""
        with self.transaction() as db:
            return db.execute(
                "INSERT OR IGNORE INTO codes (code, kind, expires_ntp) VALUES (?, ?, ?)",
                (code, kind, expires_ntp)).rowcount > 0

    def code_signing_key(self) -> ec.EllipticCurvePrivateKey:
        """The P-256 key the stub's code service signs JWT codes with (created on first use)."""
        return self._lazy_key(b"code_es256", _new_ecdh_key_der)

    def declaration_key(self) -> rsa.RSAPrivateKey:
        """The RSA key of `declarationToken` (RS256), created on first use."""
        return self._lazy_key(b"declaration_rs256", _new_rsa_key_der)

    def analytics_key(self) -> rsa.RSAPrivateKey:
        """The RSA key of `analyticsToken` (RS256), created on first use."""
        return self._lazy_key(b"analytics_rs256", _new_rsa_key_der)

    def _lazy_key(self, name: bytes, make):
        key = self._keys.get(name)
        if key is None:
            key = serialization.load_der_private_key(self._meta_secret(name, make), password=None)
            self._keys[name] = key
        return key

    # -- captchas (the stub's captcha service) -------------------------------------------------

    def add_captcha(self, captcha_id: str, answer: str, kind: str, expires_ntp: int) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO captchas (id, answer, kind, expires_ntp) VALUES (?, ?, ?, ?)",
                       (captcha_id, answer, kind, expires_ntp))

    def captcha_answer(self, captcha_id: str, now_ntp: int | None = None) -> str | None:
        """The answer of a live (unused, unexpired) captcha. Also the test-only hook that lets
        a test play the operator who reads the image (docs/server-stub.md)."""
        with self._lock:
            row = self._db.execute(
                "SELECT answer FROM captchas WHERE id = ? AND used_ntp IS NULL "
                "AND (? IS NULL OR expires_ntp > ?)", (captcha_id, now_ntp, now_ntp)).fetchone()
        return None if row is None else row[0]

    def latest_captcha(self) -> tuple[str, str] | None:
        """Test-only: (id, answer) of the captcha created last, if still unused."""
        with self._lock:
            row = self._db.execute("SELECT id, answer FROM captchas WHERE used_ntp IS NULL "
                                   "ORDER BY rowid DESC LIMIT 1").fetchone()
        return None if row is None else (row[0], row[1])

    def use_captcha(self, captcha_id: str, now_ntp: int) -> str | None:
        """Burn a live captcha and return its answer (None: unknown, used or expired)."""
        with self.transaction() as db:
            row = db.execute("SELECT answer FROM captchas WHERE id = ? AND used_ntp IS NULL "
                             "AND expires_ntp > ?", (captcha_id, now_ntp)).fetchone()
            if row is None:
                return None
            db.execute("UPDATE captchas SET used_ntp = ? WHERE id = ?", (now_ntp, captcha_id))
            return row[0]

    def code_valid(self, code: str, now_ntp: int) -> bool:
        with self._lock:
            return self._db.execute(
                "SELECT 1 FROM codes WHERE code = ? AND used_ntp IS NULL AND expires_ntp > ?",
                (code, now_ntp)).fetchone() is not None


def _add_missing_columns(db: sqlite3.Connection) -> None:
    """Schema migration: a database made by an older stub gets the new columns (NULL)."""
    for table, columns in _ADDED_COLUMNS.items():
        have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        for name, kind in columns:
            if name not in have:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")


def _new_ecdh_key_der() -> bytes:
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())


def _new_rsa_key_der() -> bytes:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
