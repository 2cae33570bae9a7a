"""`robert-kiosk`: the kiosk in a terminal (a pharmacist's commands, plain messages, exit codes).

Exit codes: 0 done, 2 bad input, 3 token problem, 4 server problem,
5 no token / link lost, 6 report queued for a later retry, 1 unexpected.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import date

from gateway import flows
from gateway.errors import (
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_QUEUED,
    EXIT_USAGE,
    KioskError,
    UsageError,
)

DEFAULT_SERVER = os.environ.get("ROBERT_SERVER", "http://127.0.0.1:8080")  # robert-server's default
DEFAULT_PORT = os.environ.get("ROBERT_KIOSK_PORT", "auto")

EPILOG = """exit codes: 0 done, 2 bad input, 3 token problem, 4 server problem,
5 no token or link lost, 6 report kept in the queue for a retry, 1 unexpected error"""


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--port", default=DEFAULT_PORT,
                        help="the token: a serial device (/dev/ttyACM0), ble:ADDRESS, or auto "
                             "(default: %(default)s; env ROBERT_KIOSK_PORT)")
    common.add_argument("--server", default=DEFAULT_SERVER,
                        help="ROBERT server root URL (default: %(default)s; env ROBERT_SERVER)")
    common.add_argument("--json", action="store_true", help="print the result as JSON")
    common.add_argument("--queue", default=None,
                        help="folder of the encrypted report queue (env ROBERT_KIOSK_QUEUE)")
    common.add_argument("--timeout", type=float, default=2.0,
                        help="seconds to wait for each token answer (default: %(default)s)")

    parser = argparse.ArgumentParser(
        prog="robert-kiosk", description="The ROBERT token kiosk: check, report, erase, retire.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    sub.add_parser("info", parents=[common], help="show the token's state (no server needed)",
                   description="Show the token's state at a glance (no server needed).",
                   epilog=EPILOG)
    sub.add_parser("status", parents=[common], epilog=EPILOG,
                   help="check the exposure status with the server and refresh the token",
                   description="Set the token's clock, relay its status request to the server, "
                               "show the answer and write the risk state and new tuples.")
    report = sub.add_parser("report", parents=[common], epilog=EPILOG,
                            help="upload the history of a holder who tested positive",
                            description="Upload the contacts of a holder who tested positive "
                                        "(with consent). The token keeps its data until the "
                                        "server accepted the report; an undelivered report "
                                        "waits encrypted in the queue (--retry).")
    report.add_argument("--code", help="the positive test code (6 characters or a long code)")
    when = report.add_mutually_exclusive_group()
    when.add_argument("--onset", type=_day, help="symptom onset date, YYYY-MM-DD")
    when.add_argument("--test-date", type=_day, help="positive test date (no symptoms), "
                                                     "YYYY-MM-DD")
    report.add_argument("--yes", action="store_true",
                        help="the holder has consented to the upload (otherwise asked)")
    report.add_argument("--retry", action="store_true",
                        help="deliver the reports waiting in the queue instead")
    sub.add_parser("erase", parents=[common], epilog=EPILOG,
                   help="delete the exposure history on the server and on the token",
                   description="Delete the exposure history on the server "
                               "(deleteExposureHistory), then on the token.")
    retire = sub.add_parser("retire", parents=[common], epilog=EPILOG,
                            help="unregister the token and wipe it (factory reset)",
                            description="Unregister the token from the server, then wipe it "
                                        "(keys, tuples, history).")
    retire.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    serve = sub.add_parser("serve", parents=[common], epilog=EPILOG,
                           help="run the kiosk web page",
                           description="Run the kiosk web page on this machine.")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--http-port", type=int, default=8088,
                       help="port of the kiosk page (default 8088; robert-server uses 8080)")
    serve.add_argument("--locale", default=os.environ.get("ROBERT_KIOSK_LOCALE"),
                       help="language and region of the page's dates, e.g. fr-FR (default: the "
                            "browser's; env ROBERT_KIOSK_LOCALE)")
    gw = sub.add_parser("gateway", epilog=EPILOG, help="run unattended as a home gateway",
                        description="Listen for tokens' daily sync windows over BLE and run the "
                                    "status check on each (clock, status, new identifiers, risk "
                                    "on the token's light), unattended, until stopped. Reports "
                                    "still go through the pharmacist (docs/kiosk.md).")
    gw.add_argument("--server", default=DEFAULT_SERVER,
                    help="ROBERT server root URL (default: %(default)s; env ROBERT_SERVER)")
    gw.add_argument("--transport", default=os.environ.get("ROBERT_KIOSK_BLE_TRANSPORT", "usb:0"),
                    help="the Bluetooth controller, a Bumble transport (default: %(default)s; "
                         "env ROBERT_KIOSK_BLE_TRANSPORT)")
    gw.add_argument("--timeout", type=float, default=3.0,
                    help="seconds to wait for each token answer (default: %(default)s)")
    return parser


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; write it as YYYY-MM-DD "
                                         "(e.g. 2026-11-20)") from None


class ProgressBar:
    """A one-line progress bar on stderr (only on a terminal, or when forced)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._shown = False

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        width = 30
        filled = int(width * min(done, total) / total)
        sys.stderr.write(f"\r{stage:<8} [{'#' * filled}{'.' * (width - filled)}] "
                         f"{done}/{total}")
        sys.stderr.flush()
        self._shown = True

    def end(self) -> None:
        if self._shown:
            sys.stderr.write("\n")
            self._shown = False


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "gateway":
        from gateway.home import main_gateway

        return main_gateway(args)
    bar = ProgressBar(sys.stderr.isatty() or os.environ.get("ROBERT_KIOSK_PROGRESS") == "1")
    try:
        result = asyncio.run(run(args, bar))
    except KioskError as exc:
        bar.end()
        _print_error(args, exc.message, exc.exit_code)
        return exc.exit_code
    except KeyboardInterrupt:
        bar.end()
        _print_error(args, "Stopped. Nothing was erased; run the command again.", 130)
        return 130
    bar.end()
    print(json.dumps(result.to_json() if hasattr(result, "to_json") else result, indent=1)
          if args.json else render(result))
    return EXIT_QUEUED if _undelivered(result) else EXIT_OK


def _undelivered(result) -> bool:
    """A report (or a retry) that left something in the queue: exit 6, never 0."""
    if isinstance(result, flows.ReportResult):
        return not result.delivered
    if isinstance(result, dict) and "retried" in result:
        return any(not r["delivered"] for r in result["retried"])
    return False


def _print_error(args, message: str, code: int) -> None:
    if code == EXIT_QUEUED:
        message += " In a terminal: robert-kiosk report --retry."
    if args.json:
        print(json.dumps({"error": message, "exit_code": code}))
    print(f"robert-kiosk: {message}", file=sys.stderr)


async def run(args, progress: ProgressBar):
    """Open what the command needs, run its flow, close everything."""
    from gateway.report_queue import ReportQueue
    from gateway.robert_api import RobertApi

    queue = ReportQueue(args.queue)
    if args.command == "report":
        _check_report_args(args)
    api = RobertApi(args.server) if args.command != "info" else None
    client = None
    try:
        client = await _open_client(args)
        if args.command == "info":
            return await flows.info_flow(client)
        if args.command == "status":
            return await flows.status_flow(client, api, progress,
                                           stash=ReportQueue(queue.directory / "status"))
        if args.command == "report":
            if args.retry:
                results = await flows.retry_flow(client, api, queue, progress)
                return {"retried": [r.to_json() for r in results]}
            return await flows.report_flow(client, api, args.code, onset=args.onset,
                                           test_date=args.test_date, consent=_consent(args),
                                           progress=progress, queue=queue)
        if args.command == "erase":
            return await flows.erase_flow(client, api, progress)
        if args.command == "retire":
            if not (args.yes or _ask("Unregister this token and wipe it? Type WIPE: ", "WIPE")):
                raise UsageError("Not confirmed: the token was left as it was.")
            return await flows.retire_flow(client, api, progress)
        raise UsageError(f"unknown command {args.command}")
    finally:
        if client is not None:
            await client.link.close()
        if api is not None:
            await api.aclose()


async def _open_client(args):
    from gateway.connect import open_link
    from gateway.token_client import TokenClient

    if args.command == "report" and args.retry:
        try:
            return TokenClient(await open_link(args.port), timeout=args.timeout)
        except KioskError:
            return None  # deliver to the server now; the token is told on a later retry
    return TokenClient(await open_link(args.port), timeout=args.timeout)


def _check_report_args(args) -> None:
    if args.retry:
        return
    if not args.code:
        raise UsageError("Give the positive test code with --code.")
    flows.check_code(args.code)
    if args.onset is None and args.test_date is None:
        raise UsageError("Give the symptom onset date (--onset YYYY-MM-DD) or, without "
                         "symptoms, the test date (--test-date YYYY-MM-DD).")


def _consent(args) -> bool:
    if args.yes:
        return True
    return _ask("The holder agrees to upload the contacts of the token to the ROBERT server. "
                "Type YES to confirm: ", "YES")


def _ask(question: str, expected: str) -> bool:
    if not sys.stdin.isatty():
        return False
    try:
        return input(question).strip().upper() == expected
    except EOFError:
        return False


def render(result) -> str:
    """The plain-text result for the pharmacist."""
    if isinstance(result, flows.TokenView):
        return _render_view(result)
    if isinstance(result, flows.StatusResult):
        lines = [_render_view(result.token)]
        lines.append(f"Server: risk level {result.risk_level}"
                     + (f", last contact {result.last_contact}" if result.last_contact else ""))
        lines.append(f"Token refreshed: {result.tuples_written} tuples, clock corrected by "
                     f"{result.clock_correction} s.")
        return "\n".join(lines)
    if isinstance(result, flows.ReportResult):
        if not result.delivered:
            return result.message
        return (f"{result.message}\nContacts sent: {result.contacts} ({result.hellos} HELLOs) "
                f"since {result.window_from}."
                + ("" if result.acknowledged else "\nThe token was not yet told; retry with "
                   "`robert-kiosk report --retry` with the token plugged in."))
    if isinstance(result, flows.EraseResult):
        return f"History erased on the server and on the token ({result.erased_on_token} entries)."
    if isinstance(result, flows.RetireResult):
        return f"Token {result.serial} unregistered and wiped. It can be provisioned again."
    if isinstance(result, dict) and "retried" in result:
        if not result["retried"]:
            return "No report waiting in the queue."
        return "\n".join(r["message"] for r in result["retried"])
    return str(result)


def _render_view(view: flows.TokenView) -> str:
    lines = [f"== {view.headline} ==", f"Token {view.serial}: {view.state}"]
    if view.state != "not_provisioned":
        from gateway.home import protected_until_text

        lines.append(protected_until_text(view))
    lines.append(f"HELLOs in the log: {view.log_hellos}")
    if view.battery_pct is not None:
        lines.append(f"Battery: {view.battery_pct}%")
    return "\n".join(lines)


def serve(args) -> int:
    """Run the web page (gateway.web.app, written separately); a clear message if it is missing."""
    try:
        from gateway.web import app as web_app
    except ImportError as exc:
        if exc.name and exc.name.startswith("gateway.web"):
            print("robert-kiosk: the kiosk web page is not installed in this build "
                  "(module gateway.web.app is missing).", file=sys.stderr)
            return EXIT_USAGE
        raise
    runner = getattr(web_app, "main", None) or getattr(web_app, "serve", None)
    if runner is None:
        print("robert-kiosk: gateway.web.app has no main(args) entry.", file=sys.stderr)
        return EXIT_INTERNAL
    return int(runner(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
