"""The ROBERT server's behaviour, free of HTTP: one method per API v6 call.

Each method takes a request model and returns a response model, or raises
`ApiError(status, message)`. Protocol crypto, report validation and scoring are
`robert`'s; this module only applies them to the stored state.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hmac
import math
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from robert import crypto, errors, scoring, skinny, timeutil
from robert import report as robert_report
from server_stub import codes, models
from server_stub.clock import Clock
from server_stub.store import Registration, Store

TIME_TOLERANCE = 60            # seconds between a request's time and the server's
MIN_EPOCHS_BETWEEN_STATUS = 2
RETENTION_DAYS = 14
RISK_LEVEL_NONE = 0
RISK_LEVEL_HIGH = 4
_UNIX_START = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
CAPTCHA_DEV_ANSWER = "ROBERT"  # the one answer --require-captcha accepts (a stub has no captcha server)


class ApiError(Exception):
    """A documented 4xx answer: `status` and a message for the client (never a secret)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Settings:
    require_captcha: bool = False
    country_code: int = crypto.COUNTRY_FRANCE
    tuples_days: int = models.TUPLES_DAYS_MIN


CLIENT_CONFIG = [
    models.ClientConfig(name="app.epochDuration", value=timeutil.EPOCH_SECONDS),
    models.ClientConfig(name="app.minStatusRequestEpochs", value=MIN_EPOCHS_BETWEEN_STATUS),
    models.ClientConfig(name="app.dataRetentionPeriod", value=RETENTION_DAYS),
    models.ClientConfig(name="app.checkStatusFrequency", value=24),
]


class RobertService:
    def __init__(self, store: Store, clock: Clock, settings: Settings | None = None) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings or Settings()

    # -- unauthenticated calls ------------------------------------------------------------

    def register(self, req: models.RegisterRequest) -> models.RegisterResponse:
        if self.settings.require_captcha and req.captcha.strip().upper() != CAPTCHA_DEV_ANSWER:
            raise ApiError(401, "captcha not solved")
        client_key = _client_public_key(req.clientPublicECDHKey)
        shared = self.store.ecdh_private_key.exchange(ec.ECDH(), client_key)
        k_mac, k_tuples = crypto.derive_keys(shared)
        days = self.settings.tuples_days
        if req.tuplesDays is not None:
            days = min(max(req.tuplesDays, models.TUPLES_DAYS_MIN), models.TUPLES_DAYS_MAX)
        now = self.clock.ntp()
        id_a = self.store.add_registration(k_mac, k_tuples, days, now)
        reg = self.store.registration(id_a)
        return models.RegisterResponse(
            tuples=self._bundle(reg, timeutil.epoch_id(now)),
            timeStart=timeutil.TIME_START, config=CLIENT_CONFIG, message=None)

    def clock_info(self) -> models.ClockResponse:
        """As the real server: the start date, the instant in ISO 8601 UTC, the epoch."""
        unix = self.clock.unix()
        start = datetime.datetime.fromtimestamp(timeutil.unix_from_ntp(timeutil.TIME_START),
                                                datetime.UTC)
        return models.ClockResponse(serviceStartDate=start.date().isoformat(),
                                    time=iso_utc(unix),
                                    epoch=timeutil.epoch_id(timeutil.ntp_from_unix(unix)))

    def verify_code(self, code: str) -> models.VerifyResponse:
        """Like the submission-code service's verify, but it does not burn the code."""
        code = _normal_code(code)
        valid = codes.well_formed(code) and self.store.code_valid(code, self.clock.ntp())
        return models.VerifyResponse(valid=valid)

    # -- authenticated calls ---------------------------------------------------------------

    def status(self, req: models.StatusRequest) -> models.StatusResponse:
        reg = self._authenticate(req, crypto.PREFIX_STATUS)
        now = self.clock.ntp()
        now_epoch = timeutil.epoch_id(now)
        last = reg.last_status_epoch
        if last is not None and now_epoch - last < MIN_EPOCHS_BETWEEN_STATUS:
            raise ApiError(400, f"status requested too often: at least "
                                f"{MIN_EPOCHS_BETWEEN_STATUS} epochs must separate two requests")
        self.purge()
        before = RiskState(reg.notified_ntp, reg.risk_epoch)
        risk = next_risk_state(before, self.store.exposures(reg.id_a), now_epoch, now)
        if risk != before:
            self.store.set_risk(reg.id_a, risk.notified_ntp, risk.risk_epoch)
        self.store.set_status_epoch(reg.id_a, now_epoch)
        last_contact = None
        if risk.at_risk:
            last_contact = str(timeutil.day_start_ntp(timeutil.day_of_epoch(risk.risk_epoch)))
        return models.StatusResponse(
            riskLevel=RISK_LEVEL_HIGH if risk.at_risk else RISK_LEVEL_NONE,
            tuples=self._bundle(reg, now_epoch), config=CLIENT_CONFIG,
            lastContactDate=last_contact,
            lastRiskScoringDate=None if reg.last_scoring_ntp is None else str(reg.last_scoring_ntp),
            message=None)

    def unregister(self, req: models.AuthRequest) -> models.SuccessResponse:
        reg = self._authenticate(req, crypto.PREFIX_UNREGISTER)
        self.store.delete_registration(reg.id_a)
        return models.SuccessResponse(success=True, message="registration deleted")

    def delete_exposure_history(self, req: models.AuthRequest) -> models.SuccessResponse:
        reg = self._authenticate(req, crypto.PREFIX_DELETE_HISTORY)
        self.store.delete_exposures(reg.id_a)
        return models.SuccessResponse(success=True, message="exposure history deleted")

    # -- report ---------------------------------------------------------------------------

    def report(self, body: dict) -> models.ReportResponse:
        """Check the code, validate every contact, add the scores to the emitters."""
        now = self.clock.ntp()
        try:
            token, contacts = robert_report.parse_report_columns(body)
        except errors.ReportFormatError as exc:
            raise ApiError(400, f"malformed report: {exc}") from None
        token = _normal_code(token)
        if not codes.well_formed(token):
            raise ApiError(400, "the report token must be a 6-character code or a UUID")
        if not self.store.code_valid(token, now):
            raise ApiError(401, "invalid report token: unknown, already used or expired")
        accepted, _stats = robert_report.validate_report(contacts, _ReportKeys(self))
        exposures = [(c.id_a, c.epoch_id, c.score) for c in accepted]
        if not self.store.record_report(token, exposures, now):
            raise ApiError(401, "invalid report token: unknown, already used or expired")
        self.purge()
        return models.ReportResponse(success=True, message="report accepted",
                                     reportValidationToken=_opaque_token())

    # -- internals --------------------------------------------------------------------------

    def purge(self) -> None:
        """Retention: exposures older than 14 days go."""
        now_epoch = timeutil.epoch_id(self.clock.ntp())
        self.store.purge_exposures(now_epoch - RETENTION_DAYS * timeutil.EPOCHS_PER_DAY)

    def _authenticate(self, req: models.AuthRequest, prefix: int) -> Registration:
        """The checks shared by status, unregister and deleteExposureHistory."""
        ebid = _b64(req.ebid, 8, "ebid")
        time32 = _b64(req.time, 4, "time")
        mac = _b64(req.mac, 32, "mac")
        ntp_time = int.from_bytes(time32, "big")
        if abs(ntp_time - self.clock.ntp()) > TIME_TOLERANCE:
            raise ApiError(400, f"request time is more than {TIME_TOLERANCE} s away from the "
                                "server's: set the clock from GET /api/v6/clock and retry")
        k_s = self.store.k_s(timeutil.day_of_epoch(req.epochId))
        if k_s is None:
            raise ApiError(430, "no server key for the day of this epoch")
        epoch_id, id_a = crypto.ebid_open(k_s, ebid)
        if epoch_id != req.epochId:
            raise ApiError(400, "the EBID is not the one of epochId")
        reg = self.store.registration(id_a)
        if reg is None:
            raise ApiError(404, "registration not found")
        expected = crypto.auth_mac(reg.k_mac, prefix, ebid, req.epochId, ntp_time)
        if not hmac.compare_digest(expected, mac):
            raise ApiError(400, "bad MAC")
        return reg

    def _bundle(self, reg: Registration, from_epoch: int) -> str:
        """Sealed tuples from `from_epoch` to the end of today + (tuples_days - 1) days."""
        first_day = timeutil.day_of_epoch(from_epoch)
        tuples = []
        for day in range(first_day, first_day + reg.tuples_days):
            start = max(from_epoch, day * timeutil.EPOCHS_PER_DAY)
            epochs = range(start, (day + 1) * timeutil.EPOCHS_PER_DAY)
            tuples += day_tuples(self.store.k_s(day, create=True), self.store.k_g, reg.id_a,
                                 epochs, self.settings.country_code)
        return base64.b64encode(crypto.tuples_seal(reg.k_tuples, tuples)).decode()


@dataclass(frozen=True)
class RiskState:
    """A registration's risk notification: at risk since `notified_ntp` (None: not at
    risk); the scores of exposed epochs up to `risk_epoch` are spent (already notified)."""

    notified_ntp: int | None = None
    risk_epoch: int | None = None

    @property
    def at_risk(self) -> bool:
        return self.notified_ntp is not None


def next_risk_state(state: RiskState, exposures: list[tuple[int, float]], now_epoch: int,
                    now_ntp: int) -> RiskState:
    """The state a status request at `now_epoch` answers from (ROBERT-PROTOCOL.md, risk).

    At risk, it stays so while the last contact (any exposure, old or new) is within
    7 days, then resets, spending every score so far. Not at risk, S sums only the
    exposures after the spent ones; crossing the threshold with a recent last
    exposure is a new notification.
    """
    last_seen = max((epoch for epoch, _ in exposures), default=None)
    if state.at_risk:
        last = max(e for e in (state.risk_epoch, last_seen) if e is not None)
        if now_epoch - last <= scoring.AT_RISK_DAYS * timeutil.EPOCHS_PER_DAY:
            return RiskState(state.notified_ntp, last)
        state = RiskState(None, last)
    spent = state.risk_epoch
    fresh = [(epoch, score) for epoch, score in exposures if spent is None or epoch > spent]
    if not fresh:
        return state
    last = max(epoch for epoch, _ in fresh)
    if scoring.is_at_risk(scoring.risk_from_scores(score for _, score in fresh), last, now_epoch):
        return RiskState(now_ntp, last)
    return state


def iso_utc(unix: float) -> str:
    """An instant as ISO 8601 UTC to the millisecond, e.g. 2026-11-23T17:40:12.123Z
    (truncated, so that it reads back as the same NTP second as `Clock.ntp`)."""
    when = _UNIX_START + datetime.timedelta(milliseconds=math.floor(unix * 1000))
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def day_tuples(k_s: bytes, k_g: bytes, id_a: bytes, epochs: range,
               country_code: int) -> list[tuple[int, bytes, int]]:
    """(epochId, EBID, ECC) for epochs of one day, batched: the same values as
    `crypto.ebid` and `crypto.ecc` one by one (a test holds them equal), ~10x faster."""
    plain = b"".join(e.to_bytes(3, "big") + id_a for e in epochs)  # crypto.ebid's block
    ebids = skinny.encrypt_many(k_s, plain)
    enc = Cipher(algorithms.AES(k_g), modes.ECB()).encryptor()
    masks = enc.update(b"".join(ebids[i:i + 8] + bytes(8) for i in range(0, len(ebids), 8)))
    return [(e, ebids[8 * n:8 * n + 8], masks[16 * n] ^ country_code)
            for n, e in enumerate(epochs)]


class _ReportKeys:
    """The keys report validation asks for, read from the store (K_A cached per report)."""

    def __init__(self, service: RobertService) -> None:
        self._store = service.store
        self.k_g = service.store.k_g
        self.country_code = service.settings.country_code
        self._k_mac: dict[bytes, bytes | None] = {}

    def __repr__(self) -> str:
        return "_ReportKeys(<hidden>)"

    def k_s(self, day: int) -> bytes | None:
        return self._store.k_s(day)

    def k_mac(self, id_a: bytes) -> bytes | None:
        if id_a not in self._k_mac:
            reg = self._store.registration(id_a)
            self._k_mac[id_a] = None if reg is None else reg.k_mac
        return self._k_mac[id_a]


def _b64(value: str, size: int, name: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, f"{name}: not valid base64") from None
    if len(raw) != size:
        raise ApiError(400, f"{name}: expected {size} bytes, got {len(raw)}")
    return raw


def _client_public_key(value: str) -> ec.EllipticCurvePublicKey:
    der = _b64_any(value, "clientPublicECDHKey")
    try:
        key = serialization.load_der_public_key(der)
    except (ValueError, TypeError, Exception):  # cryptography raises several kinds on bad DER
        raise ApiError(400, "clientPublicECDHKey: not a SubjectPublicKeyInfo") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ApiError(400, "clientPublicECDHKey: must be a P-256 (secp256r1) key")
    return key


def _b64_any(value: str, name: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, f"{name}: not valid base64") from None


def _normal_code(code: str) -> str:
    code = code.strip()
    return code.lower() if len(code) == codes.LONG_LENGTH else code.upper()


def _opaque_token() -> str:
    return base64.urlsafe_b64encode(os.urandom(24)).decode().rstrip("=")
