"""Provisioning one token: register it with the server and write everything it needs.

Order matters: the token is asked first (an already provisioned token is refused before any
registration is made), the station registers and derives K_A, checks that K_A_tuples opens
the server's bundle (a wrong server key is caught before the token is touched), then
PROVISION, SET_TIME from the server clock, the bundle, and INFO to verify. The keys are
wiped from station memory at the end, whatever happened.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec

from gateway.errors import KioskError, LinkLost
from provisioning.errors import EXIT_FAILED, EXIT_REFUSED, ProvisionError
from provisioning.keys import StationKeyPair, TokenKeys
from provisioning.models import model_named
from provisioning.record import TokenRecord

NTP_UNIX_OFFSET = 2208988800
EPOCH_S = 900
MAX_CLOCK_ERROR_S = 5
STEPS = 6  # progress: read, register, keys, clock, tuples (two steps' worth), verify
REAL_BUNDLE_DAYS = 4  # what the real server gives (ROBERT-PROTOCOL.md, tuples bundle)
MAX_CAPTCHA_TRIES = 3
Progress = Callable[[str, int, int], None]
ConfirmReset = Callable[[str], Awaitable[bool] | bool]
SolveCaptcha = Callable[[object], Awaitable[tuple[str, str]]]


@dataclass(frozen=True)
class TokenOptions:
    country: int = 33
    days: int = REAL_BUNDLE_DAYS
    model: str = "nrf52840"
    serial: str | None = None
    factory_reset: bool = False


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


async def provision_token(client, api, server_key: ec.EllipticCurvePublicKey, options: TokenOptions,
                          confirm_reset: ConfirmReset, progress: Progress = _no_progress,
                          port: str = "", solve_captcha: SolveCaptcha | None = None) -> TokenRecord:
    """Provision the token behind `client` (a gateway TokenClient) with `api` (a RobertApi).

    Everything that can fail without the token (the confirmation, the server, a wrong server
    key) happens before the token is wiped or written.
    """
    model = model_named(options.model)
    progress("reading the token", 0, STEPS)
    info = await client.info()
    wipe_first = bool(info.get("provisioned"))
    if wipe_first:
        await _confirm_reset(info, options, confirm_reset)
    serial = options.serial or info.get("serial") or ""
    progress("registering with the server", 1, STEPS)
    pair = StationKeyPair()
    answer = await _register(api, pair.public_b64, options, solve_captcha)
    bundle = _bundle_of(answer)
    with TokenKeys.derive(pair.shared_secret(server_key)) as keys:
        if not opens_bundle(keys.k_tuples, bundle):
            raise ProvisionError(
                "the server's tuples bundle does not open with the derived key: the server key "
                "given to the station is not this server's key. The token was not touched.",
                EXIT_FAILED,
            )
        if wipe_first:
            progress("factory reset", 2, STEPS)
            await client.factory_reset()
            if (await client.info()).get("provisioned"):
                raise ProvisionError("the token still reports keys after the factory reset; set it aside")
        settings = {"cc": options.country, "rx_gain": model.rx_gain, "tx_gain": model.tx_gain,
                    "serial": serial, "model": model.name}
        progress("writing the keys", 2, STEPS)
        answer = await client.provision(keys.k_mac, keys.k_tuples, None, settings)
        serial = (answer or {}).get("serial") or serial
        try:
            progress("setting the clock", 3, STEPS)
            await client.set_time(await _server_ntp(api))
            await client.write_bundle(bundle, lambda done, total: progress(
                "writing the tuples", 3 * total + 2 * done, STEPS * total) if total else None)
            progress("verifying", 5, STEPS)
            info = await client.info()
        except KioskError as exc:
            what = ("The connection to the token was lost" if isinstance(exc, LinkLost)
                    else exc.message.rstrip("."))
            raise ProvisionError(
                f"{what}. Token {serial or '?'} already holds its new keys but is not finished: "
                "plug it in again and provision it again with --factory-reset.", EXIT_FAILED) from None
        record = verify(info, serial, await _server_ntp(api), options)
    progress("done", STEPS, STEPS)
    record.port = port
    return record


async def _register(api, public_b64: str, options: TokenOptions,
                    solve_captcha: SolveCaptcha | None) -> dict:
    """Register, through the operator's captcha when there is a solver; a wrong answer gets a
    new captcha. More days than the real server's 4 go as the stub's `tuplesDays` extension
    (docs/server-stub.md), and only then."""
    from gateway.errors import ServerError

    extra = {"tuplesDays": options.days} if options.days > REAL_BUNDLE_DAYS else None
    for attempt in range(MAX_CAPTCHA_TRIES):
        captcha = await solve_captcha(api) if solve_captcha else None
        try:
            return await api.register(public_b64, extra=extra, captcha=captcha)
        except ServerError as exc:
            if exc.http_status != 401:
                raise
            if solve_captcha is None:
                raise ProvisionError(
                    "the server refused the registration: it requires a captcha (a real ROBERT "
                    "server always does). Run again with --captcha ask to solve one per token. "
                    "The token was not touched.", EXIT_FAILED) from None
            if attempt + 1 < MAX_CAPTCHA_TRIES:
                print("robert-provision: wrong captcha answer (or it expired); here is a new one.",
                      file=sys.stderr, flush=True)
    raise ProvisionError(f"the captcha was answered wrongly {MAX_CAPTCHA_TRIES} times; the token "
                         "was not touched.", EXIT_FAILED)


async def _confirm_reset(info: dict, options: TokenOptions, confirm_reset: ConfirmReset) -> None:
    serial = info.get("serial") or "?"
    if not options.factory_reset:
        raise ProvisionError(
            f"token {serial} is already provisioned; it was left untouched. To wipe it and "
            "provision it again, add --factory-reset (this erases its keys and history).",
            EXIT_REFUSED,
        )
    confirmed = confirm_reset(serial)
    if not isinstance(confirmed, bool):
        confirmed = await confirmed
    if not confirmed:
        raise ProvisionError(f"factory reset of token {serial} not confirmed; it was left untouched.",
                             EXIT_REFUSED)


def _bundle_of(answer: dict) -> bytes:
    try:
        return base64.b64decode(answer["tuples"], validate=True)
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise ProvisionError("the server's registration answer has no valid tuples bundle; "
                             "check the server address") from None


def opens_bundle(k_tuples: bytes | bytearray, blob: bytes) -> bool:
    """True when the bundle authenticates under K_A_tuples and holds tuples."""
    from robert.crypto import tuples_open
    from robert.errors import BundleError

    try:
        return bool(tuples_open(bytes(k_tuples), blob))
    except BundleError:
        return False


async def _server_ntp(api) -> int:
    from gateway.robert_api import clock_ntp

    return clock_ntp(await api.clock())


def ntp_to_iso(ntp: int) -> str:
    return dt.datetime.fromtimestamp(ntp - NTP_UNIX_OFFSET, dt.UTC).strftime("%Y-%m-%dT%H:%MZ")


def verify(info: dict, serial: str, server_ntp: int, options: TokenOptions) -> TokenRecord:
    """The record of a token whose INFO, read back after provisioning, shows it is ready."""
    problems = []
    if not info.get("provisioned"):
        problems.append("it does not report keys")
    if serial and info.get("serial") != serial:
        problems.append(f"its serial reads {info.get('serial')!r}, not {serial!r}")
    clock = info.get("clock") or {}
    clock_error = None
    if not clock.get("set"):
        problems.append("its clock is not set")
    else:
        clock_error = int(clock.get("ntp", 0)) - server_ntp
        if abs(clock_error) > MAX_CLOCK_ERROR_S:
            problems.append(f"its clock is {clock_error} s off the server's")
    tuples = info.get("tuples") or {}
    first, last = tuples.get("first_epoch"), tuples.get("last_epoch")
    if not tuples.get("remaining") or last is None:
        problems.append("it holds no tuples for now")
    if info.get("state") != "ok":
        problems.append(f"its state is {info.get('state')!r}, not 'ok'")
    if problems:
        raise ProvisionError(
            f"token {serial or '?'} failed verification after provisioning: {'; '.join(problems)}. "
            "Provision it again with --factory-reset.",
            EXIT_FAILED,
        )
    days_covered = int(tuples["remaining"]) * EPOCH_S / 86400
    message = "ok"
    if days_covered < options.days - 1:
        message = f"ok; the server gave tuples for {days_covered:.1f} of the {options.days} days asked"
    return TokenRecord(
        port="", serial=info.get("serial") or serial, model=options.model, result="provisioned",
        message=message, tuples_first_epoch=first, tuples_last_epoch=last,
        tuples_until=ntp_to_iso(server_ntp - server_ntp % EPOCH_S + int(tuples["remaining"]) * EPOCH_S),
        clock_error_s=clock_error,
        at=ntp_to_iso(server_ntp),
    )
