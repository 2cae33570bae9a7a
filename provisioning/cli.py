"""`robert-provision`: the operator's command line (docs/provisioning.md).

Subcommands: `token` (one token), `batch` (a manifest of tokens), `label` (a printable QR
label). Keys are never printed, logged or written: output and records name serials only.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import inspect
import json
import os
import sys
from pathlib import Path

from provisioning.errors import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_REFUSED,
    EXIT_USAGE,
    ProvisionError,
)
from provisioning.keys import load_server_key
from provisioning.labels import label_path, write_label
from provisioning.manifest import (
    Defaults,
    ManifestEntry,
    check_country,
    check_days,
    check_serial,
    read_manifest,
)
from provisioning.models import MODELS
from provisioning.progress import ProgressBar
from provisioning.record import TokenRecord, write_record
from provisioning.station import TokenOptions, provision_token

SERVER_KEY_ENV = "ROBERT_SERVER_KEY"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="robert-provision",
        description="Register new ROBERT tokens with the server and write their keys, clock, "
                    "tuples and settings over USB. Keys never leave the station's memory.",
        epilog="exit codes: 0 done, 1 a token failed, 2 bad input, 3 refused (already "
               "provisioned), 4 batch partly failed",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--server", required=True, metavar="URL", help="ROBERT server root, e.g. http://127.0.0.1:8080")
    key = common.add_mutually_exclusive_group()
    key.add_argument("--server-key", metavar="B64",
                     help="the server's ECDH public key (base64 DER or PEM, from `robert-server public-key`); "
                          f"default: ${SERVER_KEY_ENV}")
    key.add_argument("--server-key-file", metavar="FILE", type=Path, help="read the server key from FILE")
    common.add_argument("--country", type=int, default=33, help="country code written to the token (default 33, France)")
    common.add_argument("--days", type=int, default=4,
                        help="days of tuples asked from the server (default 4, all a real ROBERT "
                             "server gives; more is the stub's tuplesDays extension)")
    common.add_argument("--captcha", choices=("none", "ask"), default="none",
                        help="ask: show the server's captcha for each token (PNG saved, path "
                             "printed) and read the operator's answer from stdin; needed by a "
                             "real ROBERT server (default none: for a stub without "
                             "--require-captcha)")
    common.add_argument("--captcha-dir", type=Path, metavar="DIR",
                        help="where --captcha ask saves the images (default: a temporary folder)")
    common.add_argument("--model", default="nrf52840", choices=sorted(MODELS), help="token model: sets the RSSI gains (default nrf52840)")
    common.add_argument("--factory-reset", action="store_true", help="wipe an already provisioned token first (asks to confirm)")
    common.add_argument("--yes", action="store_true", help="confirm the factory reset without a prompt")
    common.add_argument("--labels", metavar="DIR", type=Path, help="also write a label PNG per token into DIR")
    common.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for a token's answer (default 3)")

    tok = sub.add_parser("token", parents=[common], help="provision one token",
                         description="Provision the token on --port.")
    tok.add_argument("--port", required=True, metavar="DEVICE", help="serial device of the token, e.g. /dev/ttyACM0")
    tok.add_argument("--serial", help="serial to give the token (default: keep the token's own)")
    tok.add_argument("--json", action="store_true", help="print the result as JSON (no keys in it)")

    bat = sub.add_parser("batch", parents=[common], help="provision every token of a manifest",
                         description="Provision the tokens listed in a CSV or JSON manifest, one after the other.")
    bat.add_argument("--manifest", required=True, type=Path, metavar="FILE", help="CSV or JSON manifest (docs/provisioning.md)")
    bat.add_argument("--record", type=Path, metavar="FILE",
                     help="where to write the record of results (.csv or .json; default: MANIFEST.record.csv)")

    lab = sub.add_parser("label", help="write a printable QR label",
                         description="Write the QR label PNG of a token serial.")
    lab.add_argument("--serial", required=True)
    lab.add_argument("--out", required=True, type=Path, metavar="FILE.png")
    lab.add_argument("--model", default="", help="model named on the label")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "label":
            return _label(args)
        return asyncio.run(_token(args) if args.command == "token" else _batch(args))
    except ProvisionError as exc:
        print(f"robert-provision: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("robert-provision: interrupted", file=sys.stderr)
        return EXIT_FAILED


def _label(args: argparse.Namespace) -> int:
    try:
        path = write_label(args.serial, args.out, _caption(args.model))
    except ValueError as exc:
        raise ProvisionError(str(exc), EXIT_USAGE) from None
    except OSError as exc:
        raise ProvisionError(f"cannot write {args.out}: {exc.strerror}", EXIT_USAGE) from None
    print(f"label for {args.serial} written to {path}")
    return EXIT_OK


def _caption(model: str) -> str:
    return f"ROBERT token {model}".strip()


def _options(args: argparse.Namespace, entry: ManifestEntry | None = None) -> TokenOptions:
    try:
        if entry is not None:
            return TokenOptions(country=entry.country, days=entry.days, model=entry.model,
                                serial=entry.serial, factory_reset=args.factory_reset)
        return TokenOptions(country=check_country(args.country), days=check_days(args.days),
                            model=args.model,
                            serial=check_serial(args.serial) if args.serial else None,
                            factory_reset=args.factory_reset)
    except ValueError as exc:
        raise ProvisionError(str(exc), EXIT_USAGE) from None


def _server_key(args: argparse.Namespace):
    if args.server_key_file:
        try:
            text = args.server_key_file.read_text()
        except OSError as exc:
            raise ProvisionError(f"cannot read the server key file: {exc.strerror}", EXIT_USAGE) from None
    else:
        text = args.server_key or os.environ.get(SERVER_KEY_ENV, "")
    if not text.strip():
        raise ProvisionError(
            "the station needs the server's public key: give --server-key, --server-key-file "
            f"or ${SERVER_KEY_ENV} (print it with `robert-server public-key --db PATH`)",
            EXIT_USAGE,
        )
    return load_server_key(text)


def _confirm(args: argparse.Namespace):
    def confirm(serial: str) -> bool:
        if args.yes:
            return True
        if not sys.stdin.isatty():
            raise ProvisionError(
                f"token {serial} is provisioned and --factory-reset needs a confirmation: "
                "run in a terminal to be asked, or add --yes",
                EXIT_REFUSED,
            )
        answer = input(f"Token {serial} is already provisioned. Wiping it erases its keys and "
                       f"history for good. Type its serial to confirm: ")
        return answer.strip() == serial

    return confirm


async def _provision_one(args, api, server_key, port: str, options: TokenOptions,
                         progress: ProgressBar) -> TokenRecord:
    from gateway.errors import KioskError

    client = None
    try:
        client = await open_client(port, args.timeout)
        record = await provision_token(client, api, server_key, options, _confirm(args), progress, port,
                                       solve_captcha=_captcha_solver(args))
    except KioskError as exc:
        raise ProvisionError(f"{port}: {exc.message}", EXIT_FAILED) from None
    finally:
        progress.end()
        if client is not None:
            await close_client(client)
    if args.labels:
        write_label(record.serial, label_path(args.labels, record.serial), _caption(options.model))
    return record


_SOLVERS: dict[int, object] = {}


def _captcha_solver(args: argparse.Namespace):
    """One AskOperator per run (one image folder), or None without --captcha ask."""
    if getattr(args, "captcha", "none") != "ask":
        return None
    from provisioning.captcha import AskOperator

    return _SOLVERS.setdefault(id(args), AskOperator(args.captcha_dir))


async def _token(args: argparse.Namespace) -> int:
    from gateway.robert_api import RobertApi

    options = _options(args)
    server_key = _server_key(args)
    async with RobertApi(args.server) as api:
        record = await _provision_one(args, api, server_key, args.port, options, ProgressBar())
    if args.json:
        print(json.dumps(dataclasses.asdict(record)))
    else:
        print(f"{record.serial}: provisioned; tuples until {record.tuples_until}, "
              f"clock {record.clock_error_s:+d} s from the server")
    return EXIT_OK


async def _batch(args: argparse.Namespace) -> int:
    from gateway.robert_api import RobertApi

    try:
        defaults = Defaults(model=args.model, country=check_country(args.country),
                            days=check_days(args.days))
    except ValueError as exc:
        raise ProvisionError(str(exc), EXIT_USAGE) from None
    entries = read_manifest(args.manifest, defaults)
    server_key = _server_key(args)
    record_path = args.record or args.manifest.with_name(args.manifest.stem + ".record.csv")
    records: list[TokenRecord] = []
    overall = ProgressBar(prefix="batch ")
    async with RobertApi(args.server) as api:
        for n, entry in enumerate(entries):
            overall(f"token {n + 1} of {len(entries)} on {entry.port}", n, len(entries))
            try:
                record = await _provision_one(args, api, server_key, entry.port, _options(args, entry),
                                              ProgressBar(prefix="  "))
            except ProvisionError as exc:
                result = "refused" if exc.exit_code == EXIT_REFUSED else "failed"
                record = TokenRecord(port=entry.port, serial=entry.serial or "", model=entry.model,
                                     result=result, message=exc.message)
                print(f"  {result}: {exc.message}", file=sys.stderr)
            records.append(record)
            write_record(record_path, records)
        overall("done", len(entries), len(entries))
        overall.end()
    done = sum(r.result == "provisioned" for r in records)
    print(f"{done} of {len(records)} tokens provisioned; record written to {record_path}")
    if done == len(records):
        return EXIT_OK
    return EXIT_PARTIAL if done else EXIT_FAILED


async def open_client(port: str, timeout: float):
    """A gateway TokenClient on the token at `port`."""
    from gateway.connect import open_link
    from gateway.token_client import TokenClient

    link = open_link(port)
    if inspect.isawaitable(link):
        link = await link
    return TokenClient(link, timeout=timeout)


async def close_client(client) -> None:
    closing = getattr(client, "aclose", None) or getattr(client.link, "close", None)
    if closing is not None:
        result = closing()
        if inspect.isawaitable(result):
            await result


if __name__ == "__main__":
    sys.exit(main())
