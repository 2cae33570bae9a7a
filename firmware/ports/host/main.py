"""`robert-token`: run one token as a CPython process (see docs/host-port.md)."""

import argparse
import asyncio
import logging
import re
import signal
import sys

from ports.host.process import HostToken

SERIAL_RE = re.compile(r"^RT-[0-9A-Z]{1,16}$")


def _air(value: str):
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError("expected HOST:PORT, e.g. 127.0.0.1:7600, got %r" % value)
    return host, int(port)


def _serial(value: str) -> str:
    if not SERIAL_RE.match(value):
        raise argparse.ArgumentTypeError("a serial looks like RT-00000001, got %r" % value)
    return value


def _drift(value: str) -> float:
    try:
        ppm = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError("drift must be a number of ppm, got %r" % value) from None
    if not -1000 <= ppm <= 1000:
        raise argparse.ArgumentTypeError("drift must be within +-1000 ppm, got %r" % value)
    return ppm


def _offset(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError("clock offset must be seconds, got %r" % value) from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="robert-token",
        description="A ROBERT token as a process: a folder as flash, a pty as USB, "
                    "optionally the virtual radio (--air) and the BLE sync service (--ble). "
                    "Prints 'PTY /dev/pts/N' then 'READY' on stdout. Kill it to cut the power.")
    p.add_argument("--state", required=True, metavar="DIR",
                   help="folder holding the token's flash; survives restarts")
    p.add_argument("--air", type=_air, metavar="HOST:PORT",
                   help="join the virtual radio at HOST:PORT; its virtual time drives the clock")
    p.add_argument("--pty-link", metavar="PATH", help="also make PATH a symlink to the pty")
    p.add_argument("--ble", metavar="SPEC",
                   help="expose the GATT sync service on this Bumble HCI transport "
                        "(e.g. tcp-client:127.0.0.1:9001)")
    p.add_argument("--serial", type=_serial, metavar="RT-...",
                   help="factory serial (shown by INFO before provisioning; joins the air with it)")
    p.add_argument("--model", default="host", help="hardware model reported by INFO (e.g. nrf52840)")
    p.add_argument("--drift-ppm", type=_drift, default=0.0, metavar="X",
                   help="the hardware timer runs X ppm fast (negative: slow)")
    p.add_argument("--clock-offset", type=_offset, default=0.0, metavar="S",
                   help="the hardware timer is S seconds ahead of the base time")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    return p


async def _run(args) -> int:
    log = logging.getLogger("robert_token.host")
    try:
        token = HostToken(args.state, serial=args.serial, model=args.model, air=args.air,
                          pty_link=args.pty_link, ble=args.ble, drift_ppm=args.drift_ppm,
                          clock_offset=args.clock_offset, out=sys.stdout)
    except OSError as exc:
        log.error("cannot start: %s", exc)
        return 2
    loop = asyncio.get_running_loop()
    # Before start(), which prints READY: a SIGTERM right after READY must be a clean stop.
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, token.stop)
    try:
        await token.start()
    except OSError as exc:
        log.error("cannot start: %s", exc)
        await token.close()
        return 2
    return await token.run()


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
        format="%(asctime)s " + (args.serial or "token") + " %(name)s %(levelname)s %(message)s")
    # Bumble's debug log dumps ATT payloads, i.e. frame bytes (a PROVISION over BLE holds keys).
    logging.getLogger("bumble").setLevel(logging.WARNING)
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
