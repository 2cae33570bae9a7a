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
import random
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from robert import crypto, errors, scoring, skinny, timeutil
from robert import report as robert_report
from server_stub import captcha, codes, models, tokens
from server_stub.clock import Clock
from server_stub.store import Registration, Store

TIME_TOLERANCE = 60            # seconds between a request's time and the server's
MIN_EPOCHS_BETWEEN_STATUS = 2
RETENTION_DAYS = 14
RISK_LEVEL_NONE = 0
RISK_LEVEL_HIGH = 4
_UNIX_START = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
RISK_RETENTION_DAYS = 7  # robert-server's riskLevelRetentionPeriodInDays and lastContactDelay


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
    tuples_days: int = models.TUPLES_DAYS_MIN   # the real epoch-bundle-duration-in-days (4)
    seed: int | None = None   # the lastContactDate randomisation, reproducible when given


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
        self.random = (random.Random(self.settings.seed) if self.settings.seed is not None
                       else random.SystemRandom())

    # -- unauthenticated calls ------------------------------------------------------------

    def register(self, req: models.RegisterRequest) -> models.RegisterResponse:
        now = self.clock.ntp()
        if self.settings.require_captcha:
            # RegisterControllerImpl.register: 401 unless the captcha service says SUCCESS.
            answer = self.store.use_captcha(req.captchaId, now)
            if answer is None or not captcha.matches(answer, req.captcha):
                raise ApiError(401, "captcha not solved: unknown, expired or already used "
                                    "captchaId, or a wrong answer")
        client_key = _client_public_key(req.clientPublicECDHKey)
        shared = self.store.ecdh_private_key.exchange(ec.ECDH(), client_key)
        k_mac, k_tuples = crypto.derive_keys(shared)
        days = self.settings.tuples_days
        if req.tuplesDays is not None:
            days = min(max(req.tuplesDays, models.TUPLES_DAYS_MIN), models.TUPLES_DAYS_MAX)
        id_a = self.store.add_registration(k_mac, k_tuples, days, now)
        reg = self.store.registration(id_a)
        return models.RegisterResponse(
            tuples=self._bundle(reg, timeutil.epoch_id(now)),
            timeStart=timeutil.TIME_START, config=CLIENT_CONFIG, message=None)

    def new_captcha(self, req: models.CaptchaRequest) -> models.CaptchaResponse:
        kind = req.type.strip().upper()
        if kind not in captcha.TYPES:
            raise ApiError(400, f"type: one of {', '.join(captcha.TYPES)}")
        captcha_id = captcha.new_id()
        self.store.add_captcha(captcha_id, captcha.new_answer(), kind,
                               self.clock.ntp() + captcha.TTL)
        return models.CaptchaResponse(id=captcha_id, captchaId=captcha_id)

    def captcha_media(self, captcha_id: str, media: str) -> bytes:
        """The PNG or WAV of a live captcha; 404 as robert-server when there is none."""
        answer = self.store.captcha_answer(captcha_id, self.clock.ntp())
        if answer is None:
            raise ApiError(404, "no such captcha (unknown, expired or already used)")
        return captcha.png(answer) if media == "image" else captcha.wav(answer)

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
        key = self._code_key(code)
        return models.VerifyResponse(valid=key is not None
                                     and self.store.code_valid(key, self.clock.ntp()))

    # -- authenticated calls ---------------------------------------------------------------

    def status(self, req: models.StatusRequest) -> dict:
        reg = self._authenticate(req, crypto.PREFIX_STATUS)
        now = self.clock.ntp()
        now_epoch = timeutil.epoch_id(now)
        last = reg.last_status_epoch
        if last is not None and now_epoch - last < MIN_EPOCHS_BETWEEN_STATUS:
            raise ApiError(400, f"status requested too often: at least "
                                f"{MIN_EPOCHS_BETWEEN_STATUS} epochs must separate two requests")
        self.purge()
        before = RiskState(reg.notified_ntp, reg.risk_epoch, reg.last_contact_ntp)
        risk = next_risk_state(before, self.store.exposures(reg.id_a), now_epoch, now,
                               self.random)
        if risk != before:
            self.store.set_risk(reg.id_a, risk.notified_ntp, risk.risk_epoch,
                                risk.last_contact_ntp)
        self.store.set_status_epoch(reg.id_a, now_epoch)
        return self._status_answer(reg, risk, now_epoch, now)

    def _status_answer(self, reg: Registration, risk: RiskState, now_epoch: int,
                       now: int) -> dict:
        """As StatusControllerImpl.validate builds it; null fields left out (StatusResponseDto
        is @JsonInclude(NON_NULL)): the dates and the declaration token only when at risk."""
        level = RISK_LEVEL_HIGH if risk.at_risk else RISK_LEVEL_NONE
        answer: dict = {"riskLevel": level, "tuples": self._bundle(reg, now_epoch),
                        "config": [c.model_dump() for c in CLIENT_CONFIG]}
        now_unix = timeutil.unix_from_ntp(now)
        if risk.at_risk:
            if risk.last_contact_ntp:
                answer["lastContactDate"] = str(risk.last_contact_ntp)
            if risk.risk_epoch:
                answer["lastRiskScoringDate"] = str(timeutil.epoch_start(risk.risk_epoch))
            if risk.last_contact_ntp:
                answer["declarationToken"] = tokens.declaration_token(
                    self.store.declaration_key(), reg.id_a, level, risk.risk_epoch or 0,
                    timeutil.epoch_start(now_epoch), risk.last_contact_ntp, now_unix)
        answer["analyticsToken"] = tokens.analytics_token(self.store.analytics_key(), now_unix)
        return answer

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
        # ReportControllerDelegate.checkReportTokenValidity: whatever the code service does not
        # call valid is 401 (robert-server has no shape rule of its own).
        key = self._code_key(token)
        if key is None or not self.store.code_valid(key, now):
            raise ApiError(401, "invalid report token: unknown, already used or expired")
        accepted, _stats = robert_report.validate_report(contacts, _ReportKeys(self))
        exposures = [(c.id_a, c.epoch_id, c.score) for c in accepted]
        if not self.store.record_report(key, exposures, now):
            raise ApiError(401, "invalid report token: unknown, already used or expired")
        self.purge()
        return models.ReportResponse(success=True, message="report accepted",
                                     reportValidationToken=_opaque_token())

    # -- internals --------------------------------------------------------------------------

    def _code_key(self, code: str) -> str | None:
        """The codes-table key of a report code (server_stub.codes), None if it cannot be one."""
        code = codes.normal(code)
        if not codes.is_jwt_shaped(code):
            return code
        jti = codes.jwt_id(self.store, code, self.clock.ntp())
        return None if jti is None else codes.jwt_key(jti)

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
            # Status/Unregister/DeleteHistoryControllerImpl answer 430 when the crypto service
            # does not know the ID_A (unregister deletes it there too). Their 404 (crypto knows
            # it, the registration store does not) cannot happen here: one store holds both.
            raise ApiError(430, "registration not found")
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
    """A registration's risk, as robert-server's `Registration` keeps it: at risk since
    `notified_ntp` (`atRisk`; None: not at risk), `risk_epoch` (`latestRiskEpoch`: only
    exposed epochs after it are scored), `last_contact_ntp` (`lastContactTimestamp`)."""

    notified_ntp: int | None = None
    risk_epoch: int | None = None
    last_contact_ntp: int | None = None

    @property
    def at_risk(self) -> bool:
        return self.notified_ntp is not None


def next_risk_state(state: RiskState, exposures: list[tuple[int, float]], now_epoch: int,
                    now_ntp: int, rng: random.Random | None = None) -> RiskState:
    """What robert-server's batch would have made of a registration by `now` (ROBERT-PROTOCOL.md,
    risk), evaluated lazily at a status request.

    1. Reset (`RegistrationRiskLevelResetProcessor`): at risk, and the last contact date more
       than 7 days before today: not at risk any more (`latestRiskEpoch` and the date stay).
    2. Scoring (`BatchRegistrationServiceImpl.updateRegistrationIfRisk`): S = the scores of the
       exposed epochs after `latestRiskEpoch`; when risk(S) >= 0.1 and the latest exposed epoch
       (all of them) started within 7 days, risk is detected: the last contact date becomes
       that epoch's day randomised by -1/0/+1 day (never after today, never moving back),
       `latestRiskEpoch` becomes the current epoch, and the registration is at risk.
    """
    rng = rng or random.SystemRandom()
    today = timeutil.utc_day_ntp(now_ntp)
    notified, latest, last_contact = state.notified_ntp, state.risk_epoch, state.last_contact_ntp
    if notified is not None and (today - (last_contact or 0)) // timeutil.DAY_SECONDS \
            > RISK_RETENTION_DAYS:
        notified = None
    fresh = [score for epoch, score in exposures if latest is None or epoch > latest]
    last_exposed = max((epoch for epoch, _ in exposures), default=0)
    exposed_ntp = timeutil.epoch_start(last_exposed)
    recent = exposed_ntp > now_ntp - RISK_RETENTION_DAYS * timeutil.DAY_SECONDS
    if fresh and recent and scoring.risk_from_scores(fresh) >= scoring.RISK_THRESHOLD:
        randomised = randomised_contact_day(exposed_ntp, now_ntp, rng)
        if randomised > now_ntp:
            last_contact = today
        elif randomised > (last_contact or 0):
            last_contact = randomised
        latest = now_epoch
        notified = notified if notified is not None else now_ntp
    return RiskState(notified, latest, last_contact)


def randomised_contact_day(contact_ntp: int, now_ntp: int, rng: random.Random) -> int:
    """`BatchRegistrationServiceImpl.randomizePlusOrMinusOneDay`: the contact's instant moved by
    a random whole day in [-1, +1] (narrowed at the edges so that the 7-day rule does not
    change), truncated to 00:00 UTC."""
    days_since = (now_ntp - contact_ntp) // timeutil.DAY_SECONDS
    if days_since == 0:
        low, high = -1, 0
    elif days_since == RISK_RETENTION_DAYS:
        low, high = 0, 1
    elif days_since == RISK_RETENTION_DAYS + 1:
        low, high = -1, 0
    else:
        low, high = -1, 1
    return timeutil.utc_day_ntp(contact_ntp + rng.randint(low, high) * timeutil.DAY_SECONDS)


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


def _opaque_token() -> str:
    return base64.urlsafe_b64encode(os.urandom(24)).decode().rstrip("=")
