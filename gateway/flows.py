"""The kiosk's operations, each one what the pharmacist asks for with one button.

A flow drives a `TokenClient` and a `RobertApi` and returns a plain dataclass
that the CLI prints and the web page renders. `progress(stage, done, total)`
is called as work advances (transfers report bytes). The kiosk is only a
relay: the token builds every authenticated request itself (it alone holds
K_A), and contact data goes from the token to the server, through an
encrypted queue if the server cannot be reached.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from robert_token import frame

from gateway import report_queue as rq
from gateway.errors import (
    KioskError,
    LinkLost,
    ReportQueued,
    ServerError,
    ServerUnreachable,
    TokenError,
    UsageError,
)
from gateway.history import count_hellos, to_report_contacts
from gateway.robert_api import InDoubt, RobertApi, clock_ntp
from robert import timeutil

if TYPE_CHECKING:
    from gateway.token_client import TokenClient

Progress = Callable[[str, int, int], None]

RETENTION_DAYS = 14
ONSET_DAYS_BEFORE = 2
TEST_DAYS_BEFORE = 7
_TYPED_CODE = re.compile(r"^[0-9A-Z]{6}$|^[0-9A-Z]{12}$")  # SHORT and TEST codes
MAX_CODE_CHARS = 4096  # the longest report code a server takes (JWT codes are a few hundred)


def _noop(stage: str, done: int, total: int) -> None:
    pass


def ntp_to_datetime(ntp: int) -> datetime:
    return datetime.fromtimestamp(timeutil.unix_from_ntp(ntp), UTC)


def date_to_ntp(day: date) -> int:
    return timeutil.ntp_from_unix(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def now_ntp() -> int:
    return timeutil.ntp_from_unix(time.time())


# ---------------------------------------------------------------- what the token looks like


@dataclass
class TokenView:
    """What the pharmacist sees of a token."""

    serial: str
    state: str  # "ok" | "sync_needed" | "not_provisioned" | "clock_unset"
    risk_level: int | None
    last_contact: date | None
    tuples_until: datetime | None
    log_hellos: int
    battery_pct: int | None
    headline: str

    def to_json(self) -> dict:
        return {
            "serial": self.serial, "state": self.state, "risk_level": self.risk_level,
            "last_contact": self.last_contact.isoformat() if self.last_contact else None,
            "tuples_until": self.tuples_until.isoformat() if self.tuples_until else None,
            "log_hellos": self.log_hellos, "battery_pct": self.battery_pct,
            "headline": self.headline,
        }


def headline(state: str, risk_level: int | None, last_contact: date | None) -> str:
    """The big status sentence: risk first (it is what the holder came for), then sync state."""
    if state == "not_provisioned":
        return "Not provisioned"
    if risk_level is not None and risk_level > 0:
        return f"At risk: contact on {last_contact.day} {last_contact:%b}" if last_contact \
            else "At risk"
    if state in ("sync_needed", "clock_unset"):
        return "Sync needed"
    if risk_level is None:  # provisioned and working, but the server was never asked
        return "Status not checked yet"
    return "Not at risk"


STATES = ("ok", "sync_needed", "not_provisioned", "clock_unset")


def token_view(info: dict) -> TokenView:
    """Build the view from an INFO answer (docs/sync-protocol.md); odd fields -> TokenError."""
    try:
        return _token_view(info)
    except (TypeError, ValueError, AttributeError, OverflowError, OSError):
        raise TokenError("The token's INFO answer is not understood. Unplug it, plug it in "
                         "again and retry; if it happens again, update the kiosk software.",
                         frame.BAD_PAYLOAD) from None


def _token_view(info: dict) -> TokenView:
    state = info.get("state") or "not_provisioned"
    if state not in STATES:
        raise ValueError(state)
    risk = info.get("risk") or {}
    level = risk.get("level")
    if level is not None:
        level = int(level)
    last_contact = _ntp_day(risk.get("last_contact"))
    tuples = info.get("tuples") or {}
    until = None
    if tuples.get("last_epoch") is not None and tuples.get("count"):
        until = ntp_to_datetime(timeutil.epoch_start(int(tuples["last_epoch"]) + 1))
    battery = (info.get("battery") or {}).get("pct")
    return TokenView(
        serial=str(info.get("serial") or "?"),
        state=state,
        risk_level=level,
        last_contact=last_contact,
        tuples_until=until,
        log_hellos=int((info.get("log") or {}).get("hellos") or 0),
        battery_pct=None if battery is None else int(battery),
        headline=headline(state, level, last_contact),
    )


def _ntp_day(value) -> date | None:
    """ROBERT carries days as NTP seconds, as an int or a string; anything else is no date."""
    if value in (None, "", 0, "0"):
        return None
    try:
        return ntp_to_datetime(int(value)).date()
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _ntp_or_none(value) -> int | None:
    """NTP seconds carried as an int or a digit string; anything else is no time."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 1 << 32:
        return None
    return value


async def info_flow(client: TokenClient) -> TokenView:
    return token_view(await client.info())


# ---------------------------------------------------------------- status


@dataclass
class StatusResult:
    token: TokenView
    risk_level: int
    last_contact: date | None
    last_risk_scoring: datetime | None
    tuples_written: int  # tuples the token accepted from the new bundle
    clock_correction: int  # seconds the token's clock was off
    message: str | None = None

    def to_json(self) -> dict:
        return {"token": self.token.to_json(), "risk_level": self.risk_level,
                "last_contact": self.last_contact.isoformat() if self.last_contact else None,
                "last_risk_scoring": (self.last_risk_scoring.isoformat()
                                      if self.last_risk_scoring else None),
                "tuples_written": self.tuples_written,
                "clock_correction": self.clock_correction, "message": self.message}


# The server's clock and this computer's may differ by this much (seconds; env
# ROBERT_KIOSK_MAX_CLOCK_SKEW): beyond, the kiosk writes no time to the token. A server far
# ahead would make the token purge its whole history.
MAX_CLOCK_SKEW_S = 3600


def max_clock_skew() -> float:
    """The bound; "off" disables the check (a simulated bench whose server runs in virtual
    time while the kiosk reads the wall clock)."""
    text = (os.environ.get("ROBERT_KIOSK_MAX_CLOCK_SKEW") or "").strip().lower()
    if text == "off":
        return float("inf")
    try:
        return float(text) if text else MAX_CLOCK_SKEW_S
    except ValueError:
        return MAX_CLOCK_SKEW_S


def checked_server_time(clock: dict) -> int:
    """The server's NTP time, refused when it disagrees with this computer's clock."""
    server = clock_ntp(clock)
    skew = server - now_ntp()
    if abs(skew) > max_clock_skew():
        when = ntp_to_datetime(server).strftime("%Y-%m-%d %H:%M UTC")
        mine = ntp_to_datetime(now_ntp()).strftime("%Y-%m-%d %H:%M UTC")
        raise ServerError(f"The server's clock ({when}) and this kiosk's ({mine}) disagree by "
                          f"{_span(abs(skew))}. Nothing was written to the token. Check this "
                          "computer's date and time, or the server address, then retry.")
    return server


def _span(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{int(seconds // 86400)} days"
    if seconds >= 7200:
        return f"{int(seconds // 3600)} hours"
    return f"{int(seconds // 60)} minutes"


async def set_clock_from_server(client: TokenClient, api: RobertApi) -> dict:
    """The kiosk always sets the token's clock from the server before an authenticated request,
    only when the server's clock agrees with the kiosk's. The token refuses (DENIED) a jump of
    more than a day ahead of its own estimate; two clocks that agree confirm it."""
    ntp = checked_server_time(await api.clock())
    try:
        return await client.set_time(ntp)
    except TokenError as exc:
        if exc.status != frame.DENIED:
            raise
    return await client.set_time(ntp, confirm=True)


def _require_provisioned(info: dict) -> None:
    if info.get("state") == "not_provisioned" or info.get("provisioned") is False:
        raise TokenError("This token is not provisioned. Send it to the provisioning "
                         "station before using it.", frame.NOT_PROVISIONED)


# A status answer the token could not take (link lost after the server answered): the server
# refuses a second status for 2 epochs, so the retry writes this one instead. Kept in memory
# (the web page's process) and, when a stash is given (the CLI), encrypted in the queue folder.
_UNDELIVERED_STATUS: dict[str, tuple[float, dict]] = {}
STATUS_ANSWER_TTL = 2 * 900  # after that the server answers a new status request again


def _take_saved_status(serial: str, stash: rq.ReportQueue | None) -> dict | None:
    saved = _UNDELIVERED_STATUS.pop(serial, None)
    if stash is not None:
        for entry_id, entry in stash.entries():
            if entry.get("serial") == serial:
                stash.remove(entry_id)
                saved = saved or (entry["at"], entry["answer"])
    if saved and time.time() - saved[0] < STATUS_ANSWER_TTL:
        return saved[1]
    return None


async def status_flow(client: TokenClient, api: RobertApi, progress: Progress | None = None,
                      stash: rq.ReportQueue | None = None) -> StatusResult:
    """Clock -> token-built status request -> server -> risk state and new tuples to the token."""
    progress = progress or _noop
    progress("info", 0, 5)
    info = await client.info()
    _require_provisioned(info)
    serial = str(info.get("serial"))
    progress("clock", 1, 5)
    clock = await set_clock_from_server(client, api)
    progress("status", 2, 5)
    answer = _take_saved_status(serial, stash)
    if answer is None:
        answer = await api.status(await _status_request(client))
    try:
        return await _apply_status(client, answer, clock, progress)
    except LinkLost:
        _UNDELIVERED_STATUS[serial] = (time.time(), answer)
        if stash is not None:
            stash.add({"serial": serial, "at": time.time(), "answer": answer})
        raise LinkLost("The server answered, but the token was disconnected before it got the "
                       "new data. Plug it in again and run the status check again now: the "
                       "answer is kept until then (30 minutes).") from None


def status_fields(answer: dict) -> tuple[int, int | None, int | None]:
    """riskLevel, lastContactDate, lastRiskScoringDate of a /status answer, checked."""
    level = answer.get("riskLevel") if isinstance(answer, dict) else None
    if isinstance(level, str) and level.strip().isdigit():
        level = int(level)
    if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= 255:
        raise ServerError("The server's status answer has no valid risk level. Nothing was "
                          "written to the token; retry later.")
    return level, _ntp_or_none(answer.get("lastContactDate")), \
        _ntp_or_none(answer.get("lastRiskScoringDate"))


async def _status_request(client: TokenClient) -> dict:
    try:
        return await client.auth_request("status")
    except TokenError as exc:
        if exc.status != frame.NO_TUPLE:
            raise
        raise TokenError("The token holds no identifiers at all, so it cannot ask the server "
                         "for its status. Take it to the provisioning station to be registered "
                         "again.", exc.status) from None


async def _apply_status(client: TokenClient, answer: dict, clock: dict,
                        progress: Progress) -> StatusResult:
    """Write the server's answer to the token: risk state, then the new tuples bundle."""
    risk, last_contact, last_scoring = status_fields(answer)
    progress("store", 3, 5)
    await client.store_status(risk, last_contact, last_scoring)
    written = 0
    if answer.get("tuples"):
        try:
            blob = base64.b64decode(answer["tuples"], validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise ServerError("The server sent a tuples bundle that is not base64. "
                              "The token keeps its old tuples; retry later.") from None
        commit = await client.write_bundle(blob, progress=lambda d, t: progress("bundle", d, t))
        written = int(commit.get("count") or 0)
    progress("done", 5, 5)
    view = token_view(await client.info())
    return StatusResult(
        token=view, risk_level=risk, last_contact=_ntp_day(last_contact),
        last_risk_scoring=ntp_to_datetime(last_scoring) if last_scoring else None,
        tuples_written=written, clock_correction=int(clock.get("correction") or 0),
        message=answer.get("message"))


# ---------------------------------------------------------------- report


@dataclass
class ReportResult:
    delivered: bool
    contacts: int
    hellos: int
    window_from: date
    acknowledged: bool  # the token marked the history as reported
    queued_id: str | None = None  # set when the report waits in the queue
    message: str = ""
    validation_token: str | None = field(default=None, repr=False)
    state: str = "delivered"  # the queue state it was left in (report_queue)

    def to_json(self) -> dict:
        return {"delivered": self.delivered, "contacts": self.contacts, "hellos": self.hellos,
                "window_from": self.window_from.isoformat(), "acknowledged": self.acknowledged,
                "queued_id": self.queued_id, "message": self.message, "state": self.state}


def check_code(code: str) -> str:
    """A report code of any kind, trimmed; the server decides whether it is valid.

    The submission-code service issues SHORT (6 characters), TEST (12), LONG (a UUID) and
    JWT codes (ROBERT-PROTOCOL.md, report codes), and a JWT cannot be told from a typo by
    its length, so no length rule is applied. SHORT and TEST codes are drawn in upper case
    and LONG ones are lower-case UUIDs (submission-code-server `SubmissionCodeService`), so
    those are put in that case; a JWT is sent exactly as given (it is case-sensitive).
    Refused here only: nothing typed, a space or invisible character inside (no code has
    one), or more characters than any server takes.
    """
    code = (code or "").strip()
    if not code:
        raise UsageError("The test code is empty: type the code the holder was given.")
    odd = next((c for c in code if not (c.isascii() and c.isprintable()) or c.isspace()), None)
    if odd is not None:
        shown = "a space" if odd.isspace() else f"the character {odd!r}"
        raise UsageError(f"The test code is not valid: it contains {shown}, which no report "
                         "code has. Type it again exactly as the holder was given it.")
    if len(code) > MAX_CODE_CHARS:
        raise UsageError(f"The test code is not valid: it is {len(code)} characters long, "
                         f"longer than any report code ({MAX_CODE_CHARS}). Check what was pasted.")
    if _TYPED_CODE.match(code.upper()):
        return code.upper()
    try:
        return str(uuid.UUID(code)) if len(code) == 36 else code
    except ValueError:
        return code


def report_window_start(onset: date | None, test_date: date | None, today: date) -> date:
    """First day of the report window: 2 days before symptom onset, else 7 before the test."""
    if (onset is None) == (test_date is None):
        raise UsageError("Give either the symptom onset date or, without symptoms, "
                         "the positive test date (one of the two).")
    day, before, what = ((onset, ONSET_DAYS_BEFORE, "symptom onset") if onset
                         else (test_date, TEST_DAYS_BEFORE, "test"))
    if day > today:
        raise UsageError(f"The {what} date {day.isoformat()} is in the future. Check the date.")
    if day < today - timedelta(days=RETENTION_DAYS):
        raise UsageError(f"The {what} date {day.isoformat()} is more than {RETENTION_DAYS} days "
                         "ago: the token no longer holds contacts from then.")
    return max(day - timedelta(days=before), today - timedelta(days=RETENTION_DAYS))


# History reads cut by a lost link, kept in memory only (never on disk) so that the same
# report retried in this process (the web page) resumes at the offset: (serial, code) -> session.
_PARTIAL_READS: dict[tuple, dict] = {}
_MAX_PARTIAL_READS = 4


async def read_whole_history(client: TokenClient, start_ntp: int, end_ntp: int,
                             progress: Progress, key: tuple | None = None
                             ) -> tuple[dict, bytes]:
    """Read the window; after a lost link, the same `key` resumes where the last read stopped."""
    def bar(done: int, total: int) -> None:
        progress("history", done, total)

    session = _PARTIAL_READS.pop(key, None) if key else None
    if session is not None and session.get("window") == (start_ntp, end_ntp):
        try:
            return session, await _read_or_keep(client, session, key, bar)
        except TokenError as exc:
            if exc.status != frame.BAD_STATE:  # BAD_STATE: the token restarted, session gone
                raise
    for attempt in range(2):
        session = await client.open_history(start_ntp, end_ntp)
        session["window"] = (start_ntp, end_ntp)
        try:
            return session, await _read_or_keep(client, session, key, bar)
        except TokenError as exc:  # a repeated OPEN replaced the session its answer named
            if exc.status != frame.BAD_STATE or attempt:
                raise
    raise AssertionError("unreachable")


async def _read_or_keep(client: TokenClient, session: dict, key: tuple | None, bar) -> bytes:
    try:
        return await client.read_history(session, progress=bar)
    except LinkLost:
        if key:
            while len(_PARTIAL_READS) >= _MAX_PARTIAL_READS:
                _PARTIAL_READS.pop(next(iter(_PARTIAL_READS)))
            _PARTIAL_READS[key] = session
        raise


async def report_flow(client: TokenClient, api: RobertApi, code: str, *,
                      onset: date | None = None, test_date: date | None = None,
                      consent: bool, progress: Progress | None = None,
                      queue: rq.ReportQueue | None = None) -> ReportResult:
    """Read the history window, post it, and only after the server accepted, ACK the token."""
    progress = progress or _noop
    code = check_code(code)
    if consent is not True:
        raise UsageError("The holder's consent is needed before the history is uploaded. "
                         "Ask the holder, then confirm.")
    info = await client.info()
    _require_provisioned(info)
    queue = queue if queue is not None else rq.ReportQueue()
    for entry_id, entry in queue.entries():  # the same report typed again: deliver that one
        if entry.get("serial") == info.get("serial") and rq.same_code(entry, entry_id, code) \
                and entry.get("state") not in rq.NEEDS_NEW_CODE:
            return await deliver(client, api, queue, entry_id, entry, None, progress)
    key = (info.get("serial"), code)
    try:
        server_now = checked_server_time(await api.clock())
    except ServerUnreachable:
        # Server down: read the history anyway and queue it (exit 6), by the kiosk's clock.
        server_now = now_ntp()
    # Everything heard until now, by either clock (the token's may run a little ahead): the
    # window's end is fixed so that the same window can be reopened later for the ACK.
    token_now = _ntp_or_none((info.get("clock") or {}).get("ntp")) or 0
    end_ntp = max(server_now, token_now) + 1
    start_day = report_window_start(onset, test_date, ntp_to_datetime(server_now).date())
    start_ntp = date_to_ntp(start_day)
    partial = _PARTIAL_READS.get(key)
    if partial and partial["window"][0] == start_ntp:
        end_ntp = partial["window"][1]  # same report, resumed: same window as the cut read
    progress("history", 0, 1)
    session, stream = await read_whole_history(client, start_ntp, end_ntp, progress, key)
    contacts = to_report_contacts(stream)
    del stream
    entry = {"serial": info.get("serial"), "code": code, "contacts": contacts,
             "from": start_ntp, "to": end_ntp, "state": rq.PENDING, "created": now_ntp()}
    entry_id = queue.add(entry)
    done = await deliver(client, api, queue, entry_id, entry, session, progress, present=True)
    if done.delivered:  # sent again with a new code: the old refused/in-doubt entries are done
        for old_id, old in queue.entries():
            if old.get("serial") == entry["serial"] and old.get("state") in rq.NEEDS_NEW_CODE:
                queue.remove(old_id)
    return done


# Queue entries this process is posting now: a `sending` entry not in here was cut by a crash.
IN_FLIGHT: set[str] = set()


async def deliver(client: TokenClient | None, api: RobertApi, queue: rq.ReportQueue,
                  entry_id: str, entry: dict, session: dict | None,
                  progress: Progress, present: bool = False) -> ReportResult:
    """Post a queued report at most once per possible delivery, then ACK the token.

    The entry's state is written before each step (docs/kiosk.md, "Queue states"): `sending`
    just before the POST, so a kiosk killed during it finds the entry in doubt. `present`: the
    pharmacist typed this code just now (a refusal is then shown on the form and the entry
    dropped, the token still holding everything); otherwise a refusal is kept in the queue
    and shown.
    """
    contacts = entry.get("contacts") or []
    n_contacts = entry.get("n_contacts", len(contacts))
    n_hellos = entry.get("n_hellos", count_hellos(contacts))
    start_day = ntp_to_datetime(entry["from"]).date()

    def result(delivered: bool, acked: bool, message: str, queued: str | None) -> ReportResult:
        return ReportResult(delivered, n_contacts, n_hellos, start_day, acked, queued, message,
                            state=entry.get("state", rq.DELIVERED))

    state = entry["state"]
    if state == rq.SENDING:  # an earlier POST was cut by a crash: the server may have it
        state = rq.IN_DOUBT
    if state in rq.NEEDS_NEW_CODE:
        return result(False, False, rq.describe(entry), entry_id)
    if state in (rq.PENDING, rq.IN_DOUBT):
        progress("upload", 0, 1)
        entry["state"], entry["before"] = rq.SENDING, state
        entry["attempts"] = int(entry.get("attempts") or 0) + 1
        queue.save(entry_id, entry)
        IN_FLIGHT.add(entry_id)
        try:
            answer = await api.report(entry["code"], contacts)
        except InDoubt as exc:
            entry["state"] = rq.IN_DOUBT
            queue.save(entry_id, entry)
            raise rq_queued(exc, entry_id) from None
        except ServerUnreachable as exc:  # provably never sent
            entry["state"] = state
            queue.save(entry_id, entry)
            raise rq_queued(exc, entry_id) from None
        except ServerError as exc:
            if exc.http_status >= 500 or exc.http_status == 0:
                entry["state"] = rq.IN_DOUBT
                queue.save(entry_id, entry)
                raise rq_queued(exc, entry_id) from None
            if state == rq.IN_DOUBT:
                # The code may have been used by the earlier attempt whose answer was lost, or
                # may have expired unused: the v6 API cannot tell. Keep it and say so.
                entry.update(state=rq.DOUBT, reason=exc.message)
                queue.save(entry_id, entry)
                return result(False, False, rq.describe(entry), entry_id)
            if present:  # refused for good and the pharmacist is here: the form shows why
                queue.remove(entry_id)
                raise
            entry.update(state=rq.REFUSED, reason=exc.message)
            queue.save(entry_id, entry)
            return result(False, False, rq.describe(entry), entry_id)
        finally:
            IN_FLIGHT.discard(entry_id)
        if answer.get("success") is False:  # 200 but not accepted: keep it for a retry
            entry["state"] = state
            queue.save(entry_id, entry)
            raise rq_queued(ServerError("The server did not accept the report ("
                                        f"{str(answer.get('message') or 'no reason')[:100]})."),
                            entry_id)
        # Accepted: keep only what the ACK needs, drop the contact data and the code.
        entry = {"serial": entry.get("serial"), "from": entry["from"], "to": entry["to"],
                 "state": rq.DELIVERED, "n_contacts": n_contacts, "n_hellos": n_hellos,
                 "message": answer.get("message"), "code_tag": rq.code_tag(entry_id, entry["code"]),
                 "created": entry.get("created"), "delivered_at": now_ntp()}
        queue.save(entry_id, entry)
        progress("upload", 1, 1)
    message = entry.get("message") or "Report accepted by the server."
    if client is None:
        return result(True, False, "Report delivered; plug the token in and retry to mark its "
                      "history as reported.", entry_id)
    try:
        await acknowledge(client, entry, session)
    except KioskError as exc:
        return result(True, False, f"Report accepted by the server, but the token could not be "
                      f"told ({exc.message}); nothing more needs sending: plug the token in and "
                      "press Retry to mark its history.", entry_id)
    queue.remove(entry_id)
    return result(True, True, message, None)


async def acknowledge(client: TokenClient, entry: dict, session: dict | None) -> None:
    """HISTORY_ACK the reported window; reopen the same window if the session was lost."""
    info = await client.info()
    if entry.get("serial") and info.get("serial") != entry["serial"]:
        raise TokenError(f"this is token {info.get('serial')}, the report came from "
                         f"{entry['serial']}", 0)
    if session is not None:
        try:
            await client.ack_history(int(session["session"]))
            return
        except TokenError as exc:
            if exc.status != frame.BAD_STATE:
                raise
    session = await client.open_history(entry["from"], entry["to"])
    await client.ack_history(int(session["session"]))


def rq_queued(exc: KioskError, entry_id: str) -> ReportQueued:
    """The error for a report left in the queue: what failed, and that nothing was lost."""
    return ReportQueued(f"{exc.message} The report is kept, encrypted, in the kiosk's queue and "
                        "nothing was erased from the token: it is sent again by itself while "
                        "the kiosk page runs, or now with Retry.", entry_id)


async def retry_flow(client: TokenClient | None, api: RobertApi, queue: rq.ReportQueue,
                     progress: Progress | None = None) -> list[ReportResult]:
    """Deliver every queued report (each at most once), ACKing the token when it is the one."""
    progress = progress or _noop
    results = []
    for entry_id, entry in queue.entries():
        if entry_id in IN_FLIGHT:  # being posted by this process right now
            continue
        same_token = client is not None
        if same_token and entry.get("serial"):
            same_token = (await client.info()).get("serial") == entry["serial"]
        results.append(await deliver(client if same_token else None, api, queue, entry_id,
                                     entry, None, progress))
    return results


# ---------------------------------------------------------------- erase, retire


@dataclass
class EraseResult:
    server: bool
    erased_on_token: int
    message: str = ""

    def to_json(self) -> dict:
        return {"server": self.server, "erased_on_token": self.erased_on_token,
                "message": self.message}


@dataclass
class RetireResult:
    serial: str
    unregistered: bool
    wiped: bool

    def to_json(self) -> dict:
        return {"serial": self.serial, "unregistered": self.unregistered, "wiped": self.wiped}


async def erase_flow(client: TokenClient, api: RobertApi,
                     progress: Progress | None = None) -> EraseResult:
    """deleteExposureHistory on the server (token-built request), then erase the token's log."""
    progress = progress or _noop
    progress("clock", 0, 3)
    _require_provisioned(await client.info())
    await set_clock_from_server(client, api)
    progress("server", 1, 3)
    answer = await api.delete_history(await client.auth_request("deleteExposureHistory"))
    progress("token", 2, 3)
    erased = await client.erase_history()
    progress("done", 3, 3)
    return EraseResult(True, int(erased.get("erased") or 0), str(answer.get("message") or ""))


async def retire_flow(client: TokenClient, api: RobertApi,
                      progress: Progress | None = None, serial: str | None = None) -> RetireResult:
    """Unregister on the server (token-built request), then factory-reset the token; `serial`
    (typed by the pharmacist on the page) must be this token's."""
    progress = progress or _noop
    progress("clock", 0, 3)
    info = await client.info()
    _require_provisioned(info)
    if serial is not None and serial.strip().upper() != str(info.get("serial")).upper():
        raise UsageError(f"The serial typed ({serial[:20]}) is not this token's "
                         f"({info.get('serial')}): nothing was done.")
    await set_clock_from_server(client, api)
    progress("server", 1, 3)
    try:
        await api.unregister(await client.auth_request("unregister"))
    except ServerError as exc:
        # Already unknown to the server (an earlier retire stopped before the wipe): go on.
        if exc.http_status not in (404, 430):
            raise
    progress("token", 2, 3)
    await client.factory_reset()
    progress("done", 3, 3)
    return RetireResult(str(info.get("serial")), True, True)
