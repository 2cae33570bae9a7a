"""`robert-server`: run the stub, or hand out a report code or one of the server's public keys.

    robert-server --db PATH [--host H] [--port P] [--clock-offset S] [--require-captcha]
                  [--dev-admin] [--seed N]
    robert-server new-code --db PATH [--kind short|long|test|jwt] [--long] [--clock-offset S]
    robert-server public-key --db PATH
    robert-server declaration-key --db PATH
    robert-server analytics-key --db PATH
"""

from __future__ import annotations

import argparse
import base64
import socket
import sqlite3
import sys

from server_stub import codes, tokens
from server_stub.clock import Clock
from server_stub.kek import KekError
from server_stub.store import Store

SUBCOMMANDS = ("new-code", "public-key", "declaration-key", "analytics-key")


def serve_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="robert-server",
        description="A ROBERT server (API v6) with the real crypto, backed by SQLite.",
        epilog="Other commands: 'robert-server new-code --help', 'robert-server public-key "
               "--help', 'robert-server declaration-key --help', 'robert-server analytics-key "
               "--help'.")
    p.add_argument("--db", required=True, help="SQLite database file (created if missing); "
                   "its key-encryption key is kept next to it as DB.kek")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080,
                   help="TCP port (default 8080; 0 picks a free one, printed at start)")
    _clock_offset_arg(p)
    p.add_argument("--require-captcha", action="store_true",
                   help="check captchas as the real server: /register needs the captchaId of a "
                        "POST /captcha and its answer, else 401 (without it any captcha passes)")
    p.add_argument("--dev-admin", action="store_true",
                   help="enable PUT /admin/clock {\"offset\": S} for loopback clients (simulator)")
    p.add_argument("--seed", type=int, default=None,
                   help="seed of the lastContactDate randomisation (reproducible runs)")
    p.add_argument("--log-level", default="warning",
                   choices=["critical", "error", "warning", "info", "debug"])
    p.add_argument("--access-log", action="store_true", help="log one line per request")
    return p


def new_code_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="robert-server new-code",
        description="Print a fresh single-use report code on stdout and nothing else, of the "
                    "kinds of the submission-code service: short (6 characters, valid 1 hour), "
                    "long (a UUID, 10 days), test (12 characters, 15 days), jwt (a signed JWT, "
                    "10 days).")
    p.add_argument("--db", required=True, help="the server's SQLite database")
    p.add_argument("--kind", choices=codes.KINDS, default=None, help="code kind (default short)")
    p.add_argument("--long", action="store_true", help="same as --kind long")
    _clock_offset_arg(p)
    return p


def public_key_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="robert-server public-key",
        description="Print the server's ECDH public key (base64 of the SubjectPublicKeyInfo DER) "
                    "on stdout and nothing else; created with the database if missing.")
    p.add_argument("--db", required=True, help="the server's SQLite database")
    return p


def key_parser(name: str, what: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=f"robert-server {name}",
        description=f"Print the public key that checks the {what} JWTs of status answers (RS256; "
                    "base64 of the X.509 SubjectPublicKeyInfo DER, as robert-server's "
                    "configuration holds it) on stdout and nothing else; created if missing.")
    p.add_argument("--db", required=True, help="the server's SQLite database")
    return p


def _clock_offset_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--clock-offset", type=float, default=0.0, metavar="SECONDS",
                   help="shift the server clock by this many seconds (default 0)")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv and argv[0] == "new-code":
            args = new_code_parser().parse_args(argv[1:])
            with _open_store(args.db) as store:
                if args.long and args.kind not in (None, "long"):
                    new_code_parser().error("--long and --kind other than long disagree")
                print(codes.new_code(store, Clock(args.clock_offset).ntp(),
                                     kind=args.kind or ("long" if args.long else "short")))
            return 0
        if argv and argv[0] in ("declaration-key", "analytics-key"):
            what = argv[0].split("-")[0]
            args = key_parser(argv[0], "declarationToken" if what == "declaration"
                              else "analyticsToken").parse_args(argv[1:])
            with _open_store(args.db) as store:
                key = store.declaration_key() if what == "declaration" else store.analytics_key()
                print(tokens.public_key_b64(key))
            return 0
        if argv and argv[0] == "public-key":
            args = public_key_parser().parse_args(argv[1:])
            with _open_store(args.db) as store:
                print(base64.b64encode(store.public_key_spki()).decode())
            return 0
        return serve(serve_parser().parse_args(argv))
    except (KekError, sqlite3.Error, OSError) as exc:
        print(f"robert-server: {exc}", file=sys.stderr)
        return 1


class _open_store:
    def __init__(self, path: str) -> None:
        self.store = Store(path)

    def __enter__(self) -> Store:
        return self.store

    def __exit__(self, *exc: object) -> None:
        self.store.close()


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from server_stub.app import create_app
    from server_stub.service import Settings

    store = Store(args.db)
    clock = Clock(args.clock_offset)
    app = create_app(store, clock, Settings(require_captcha=args.require_captcha, seed=args.seed),
                     dev_admin=args.dev_admin)
    sock = _listen(args.host, args.port)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"robert-server: listening on http://{shown}:{port} (db {args.db}, clock offset "
          f"{args.clock_offset:+g} s{', dev admin' if args.dev_admin else ''})",
          file=sys.stderr, flush=True)
    config = uvicorn.Config(app, log_level=args.log_level, access_log=args.access_log,
                            lifespan="off")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        store.close()
    return 0


def _listen(host: str, port: int) -> socket.socket:
    """Bind and listen before printing the address, so a client can connect at once."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto IPPROTO_TCP (not 0): asyncio sets TCP_NODELAY on accepted sockets only then;
    # without it every answer waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


if __name__ == "__main__":
    sys.exit(main())
