"""The kiosk page's HTTP side: token list, flow jobs and the static page.

`create_app(server_url, ports)` builds the FastAPI app; `serve(...)` runs it with uvicorn
(called lazily by `robert-kiosk serve`). Each request opens the token's link, does its work
and closes it, under one lock per port, so a token unplugged and plugged again is simply
seen again. The page gets token views, job progress and plain-words errors: never keys,
codes or contact data.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import errno
import inspect
import ipaddress
import json
import os
import re
import secrets
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from robert_token.sync import json_too_deep

from gateway import flows
from gateway.errors import KioskError, UsageError
from gateway.web.jobs import Job, Jobs

STATIC = Path(__file__).with_name("static")
TOKEN_TIMEOUT = 2.0
MAX_FORM_BODY = 16 * 1024  # the page's forms are a few hundred bytes
MAX_FORM_DEPTH = 4
SECRET_HEADER = "x-kiosk-secret"
RETRY_FIRST_S = float(os.environ.get("ROBERT_KIOSK_RETRY_S") or 30)  # then doubling, up to:
RETRY_MAX_S = 600


class FormTooLarge(UsageError):
    """A form body over MAX_FORM_BODY (answered 413, read no further)."""

    def __init__(self) -> None:
        super().__init__(f"The form is too large (over {MAX_FORM_BODY // 1024} KiB). Reload "
                         "the page and retry.")


class Guard:
    """Who may use the page: only the kiosk's own browser.

    - The Host header must name the address the page is served on (an IP literal of it, or
      `localhost` for a loopback address, with the port): a DNS-rebinding name is refused, so
      another site's script never runs in this origin.
    - Every /api call carries `X-Kiosk-Secret`, a random per-start value that only the page
      served by this origin contains; another origin cannot read that page (same-origin
      policy), and a custom header forces a CORS preflight this app never grants.
    - A POST whose Origin is not this page's is refused.
    """

    def __init__(self, host: str, port: int, secret: str | None = None) -> None:
        self.port = int(port)
        self.secret = secret or secrets.token_urlsafe(32)
        self.hosts = _allowed_hosts(host, self.port)

    def refusal(self, request: Request) -> JSONResponse | None:
        host = (request.headers.get("host") or "").lower()
        if host not in self.hosts:
            return JSONResponse({"error": "This kiosk page answers only at its own address "
                                 f"(http://{sorted(self.hosts)[0]}/)."}, status_code=421)
        origin = request.headers.get("origin")
        if origin is not None and urlsplit(origin).netloc.lower() not in self.hosts:
            return JSONResponse({"error": "Requests from other sites are refused."},
                                status_code=403)
        if request.url.path.startswith("/api/"):
            given = request.headers.get(SECRET_HEADER, "")
            if not secrets.compare_digest(given.encode(), self.secret.encode()):
                return JSONResponse({"error": "This request did not come from the kiosk page. "
                                     "Reload the page and retry."}, status_code=403)
        return None


def _allowed_hosts(host: str, port: int) -> set[str]:
    """Host header values that name this server: the served address, `localhost` for a
    loopback one, every loopback literal for a wildcard bind."""
    names = {host.lower()}
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None and (ip.is_loopback or ip.is_unspecified):
        names |= {"localhost", "127.0.0.1", "::1"}
    if ip is not None and ip.is_unspecified:
        names.discard(host)
    out = set()
    for name in names:
        literal = f"[{name}]" if ":" in name else name
        out.add(f"{literal}:{port}")
    return out


class TokenPorts:
    """The ports the kiosk watches, each with a stable short id for the page and a lock."""

    def __init__(self, ports: str | list[str]) -> None:
        self.auto = ports == "auto" or ports == ["auto"]
        self.fixed = [] if self.auto else _port_list(ports)
        self._ids: dict[str, str] = {}
        self._ports: dict[str, str] = {}
        self.locks: dict[str, asyncio.Lock] = {}
        self.views: dict[str, dict | None] = {}
        for port in self.fixed:
            self.id_of(port)

    def id_of(self, port: str) -> str:
        if port not in self._ids:
            token_id = "t" + secrets.token_hex(6)  # random: another page cannot guess one
            self._ids[port], self._ports[token_id] = token_id, port
            self.locks[port] = asyncio.Lock()
        return self._ids[port]

    def port_of(self, token_id: str) -> str:
        try:
            return self._ports[token_id]
        except KeyError:
            raise HTTPException(404, {"error": "This token is no longer listed. "
                                               "Refresh the list of tokens."}) from None

    async def current(self) -> list[str]:
        """The ports to show now: the fixed list, or what auto-detection finds."""
        if not self.auto:
            return self.fixed
        found = await _discover()
        for port in found:
            self.id_of(port)
        return found


def _port_list(ports: str | list[str]) -> list[str]:
    items = ports.split(",") if isinstance(ports, str) else list(ports)
    return [p.strip() for p in items if p.strip()]


async def _discover() -> list[str]:
    """USB serial ports with a token board's USB IDs (the kiosk core's auto-detection)."""
    from gateway.connect import candidate_ports

    return await asyncio.to_thread(candidate_ports)


def plain_error(exc: BaseException) -> str:
    """What the page says about a failure: the kiosk's plain words, or a safe generic line."""
    if isinstance(exc, KioskError):
        return exc.message
    if isinstance(exc, HTTPException) and isinstance(exc.detail, dict):
        return str(exc.detail.get("error"))
    return (f"Something unexpected went wrong ({type(exc).__name__}). Unplug the token, plug "
            "it in again and retry; if it happens again, call support.")


def create_app(server_url: str, ports: str | list[str] = "auto",
               queue_dir: str | Path | None = None, host: str = "127.0.0.1",
               port: int = 8088, secret: str | None = None,
               locale: str | None = None) -> FastAPI:
    """The kiosk web app for the ROBERT server at `server_url` and the tokens on `ports`,
    answering only requests addressed to `host:port` (see `Guard`)."""
    from gateway.report_queue import ReportQueue
    from gateway.robert_api import RobertApi

    watched = TokenPorts(ports)
    jobs = Jobs()
    queue = ReportQueue(queue_dir)
    holder: dict[str, RobertApi] = {}

    retry_lock = asyncio.Lock()  # one delivery pass at a time (background or Retry button)

    async def deliver_queue(job: Job | None = None) -> list[dict]:
        """Post what waits in the queue (each entry at most once per pass), then tell the
        tokens that are plugged in about their delivered reports."""
        from gateway import report_queue as rq

        done = []
        async with retry_lock:
            for entry_id, entry in queue.entries():
                if entry_id in flows.IN_FLIGHT or entry.get("state") not in rq.TO_SEND:
                    continue
                try:
                    r = await flows.deliver(None, holder["api"], queue, entry_id, entry, None,
                                            job.progress if job else flows._noop)
                    done.append(r.to_json())
                except KioskError as exc:
                    done.append({"delivered": False, "message": exc.message, "queued_id": entry_id})
            for entry_id, entry in queue.entries():
                if entry.get("state") != rq.DELIVERED:
                    continue
                for port, view in list(watched.views.items()):
                    if not view or view.get("serial") != entry.get("serial"):
                        continue
                    lock = watched.locks[port]
                    if lock.locked():
                        continue
                    try:
                        async with lock, client_on(port) as client:
                            await flows.acknowledge(client, entry, None)
                        queue.remove(entry_id)
                        done.append({"delivered": True, "acknowledged": True,
                                     "message": "The token was told: its history is marked as "
                                                "reported.", "queued_id": None})
                    except KioskError as exc:
                        done.append({"delivered": True, "acknowledged": False,
                                     "message": exc.message, "queued_id": entry_id})
        return done

    async def background_retries() -> None:
        """While the page runs, undelivered reports are sent again, with backoff."""
        from gateway import report_queue as rq

        delay = first = RETRY_FIRST_S
        while True:
            await asyncio.sleep(delay)
            try:
                waiting = [e for _, e in queue.entries() if e.get("state") in rq.TO_SEND]
                if not waiting:
                    delay = first
                    continue
                results = await deliver_queue()
                ok = all(r.get("delivered") for r in results)
                delay = first if ok else min(RETRY_MAX_S, delay * 2)
            except Exception:  # never let the loop die: the next pass tries again
                delay = min(RETRY_MAX_S, delay * 2)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        holder["api"] = RobertApi(server_url)
        retrying = asyncio.get_running_loop().create_task(background_retries())
        try:
            yield
        finally:
            retrying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await retrying
            await holder["api"].aclose()

    app = FastAPI(title="ROBERT kiosk", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.ports = watched
    app.state.jobs = jobs

    @contextlib.asynccontextmanager
    async def client_on(port: str):
        from gateway.connect import open_link
        from gateway.token_client import TokenClient

        link = open_link(port)
        if inspect.isawaitable(link):
            link = await link
        try:
            yield TokenClient(link, timeout=TOKEN_TIMEOUT)
        finally:
            with contextlib.suppress(Exception):
                await link.close()

    async def token_entry(port: str) -> dict:
        token_id = watched.id_of(port)
        lock = watched.locks[port]
        entry = {"id": token_id, "port": port, "busy": lock.locked(), "view": None, "error": None}
        if lock.locked():
            entry["view"] = watched.views.get(port)
            return entry
        async with lock:
            try:
                async with client_on(port) as client:
                    entry["view"] = (await flows.info_flow(client)).to_json()
            except Exception as exc:
                entry["error"] = plain_error(exc)
        watched.views[port] = entry["view"]
        return entry

    def start(token_id: str, kind: str,
              flow: Callable[[object, RobertApi, Job], Awaitable[object]]) -> dict:
        port = watched.port_of(token_id)
        lock = watched.locks[port]
        if lock.locked():
            raise HTTPException(409, {"error": "This token is busy with another operation. "
                                               "Wait for it to finish."})

        async def work(job: Job) -> dict:
            async with lock, client_on(port) as client:
                result = await flow(client, holder["api"], job)
                with contextlib.suppress(Exception):
                    watched.views[port] = (await flows.info_flow(client)).to_json()
            return result.to_json()

        return jobs.start(token_id, kind, work, plain_error).to_json()

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, dict) else {"error": str(exc.detail)}
        return JSONResponse(detail, status_code=exc.status_code)

    @app.exception_handler(KioskError)
    async def kiosk_error(request: Request, exc: KioskError) -> JSONResponse:
        return JSONResponse({"error": exc.message},
                            status_code=413 if isinstance(exc, FormTooLarge) else 400)

    guard = Guard(host, port, secret)
    app.state.guard = guard

    @app.middleware("http")
    async def no_cache(request: Request, call_next):
        refusal = guard.refusal(request)
        if refusal is not None:
            return refusal
        response = await call_next(request)
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
        return response

    @app.get("/", include_in_schema=False)
    async def index() -> HTMLResponse:
        # The per-start secret goes only into the page served to this origin; the API wants it.
        page = (STATIC / "index.html").read_text(encoding="utf-8")
        lang = _locale_tag(locale)
        page = page.replace("__KIOSK_SECRET__", guard.secret).replace("__KIOSK_LOCALE__", lang)
        if lang:
            page = page.replace('<html lang="en">', f'<html lang="{lang}">')
        return HTMLResponse(page)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")

    @app.get("/api/tokens")
    async def list_tokens() -> dict:
        try:
            ports_now = await watched.current()
        except KioskError as exc:
            return {"tokens": [], "error": exc.message}
        return {"tokens": list(await asyncio.gather(*(token_entry(p) for p in ports_now)))}

    @app.get("/api/tokens/{token_id}")
    async def one_token(token_id: str) -> dict:
        return await token_entry(watched.port_of(token_id))

    @app.post("/api/tokens/{token_id}/status")
    async def check_status(token_id: str) -> dict:
        return start(token_id, "status",
                     lambda c, api, job: flows.status_flow(c, api, job.progress))

    @app.post("/api/tokens/{token_id}/report")
    async def report(token_id: str, request: Request) -> dict:
        body = await _json_body(request)
        code, onset, test_date = check_report_form(body)
        return start(token_id, "report", lambda c, api, job: flows.report_flow(
            c, api, code, onset=onset, test_date=test_date, consent=True,
            progress=job.progress, queue=queue))

    @app.post("/api/tokens/{token_id}/erase")
    async def erase(token_id: str, request: Request) -> dict:
        body = await _json_body(request)
        _require_confirm(body, "erasing the token's history")
        return start(token_id, "erase", lambda c, api, job: flows.erase_flow(c, api, job.progress))

    @app.post("/api/tokens/{token_id}/retire")
    async def retire(token_id: str, request: Request) -> dict:
        body = await _json_body(request)
        _require_confirm(body, "retiring the token")
        serial = str(body.get("serial") or "").strip()
        if not serial:
            raise UsageError("Type the token's serial number to confirm retiring it.")
        return start(token_id, "retire", lambda c, api, job: flows.retire_flow(
            c, api, job.progress, serial=serial))

    @app.get("/api/queue")
    async def queue_list() -> dict:
        """The reports waiting in the queue, in plain words (no code, no contact data)."""
        return {"entries": queue.summaries()}

    @app.post("/api/queue/retry")
    async def queue_retry() -> dict:
        async def work(job: Job) -> dict:
            results = await deliver_queue(job)
            return {"retried": results, "entries": queue.summaries()}

        return jobs.start("queue", "retry", work, plain_error).to_json()

    @app.get("/api/jobs/{job_id}")
    async def job_state(job_id: str) -> dict:
        job = jobs.get(job_id)
        if job is None:
            raise HTTPException(404, {"error": "This operation is not known (the kiosk was "
                                               "restarted?). Check the token's status again."})
        return job.to_json()

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


async def _json_body(request: Request) -> dict:
    """The JSON body of a form post; only `application/json`, which another site's page cannot
    send here without a CORS preflight this app never grants (no cross-site form posts)."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise UsageError("The form was not understood (not JSON). Reload the page and retry.")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_FORM_BODY:
            raise FormTooLarge()
    if json_too_deep(bytes(raw), MAX_FORM_DEPTH):
        raise UsageError("The form was not understood (nested too deep). Reload the page and "
                         "retry.")
    try:
        body = json.loads(bytes(raw))
    except (ValueError, RecursionError):
        body = None
    if not isinstance(body, dict):
        raise UsageError("The form was not understood. Reload the page and retry.")
    return body


def _require_confirm(body: dict, what: str) -> None:
    if not isinstance(body, dict) or body.get("confirm") is not True:
        raise UsageError(f"Please confirm before {what}.")


def check_report_form(body: dict) -> tuple[str, dt.date | None, dt.date | None]:
    """The report form's code and dates, checked before anything is read from the token."""
    if not isinstance(body, dict):
        raise UsageError("The report form was not understood. Reload the page and retry.")
    if body.get("consent") is not True:
        raise UsageError("The holder's consent is needed before the history is uploaded. "
                         "Ask the holder, tick the consent box, then confirm.")
    code = flows.check_code(str(body.get("code") or ""))
    onset = _form_date(body.get("onset"), "symptom onset")
    test_date = _form_date(body.get("test_date"), "test")
    flows.report_window_start(onset, test_date, dt.datetime.now(dt.UTC).date())
    return code, onset, test_date


def _form_date(value: object, what: str) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise UsageError(f"The {what} date is not a date; use the date picker "
                         "(year-month-day).") from None


def bind(host: str, port: int):
    """The listening socket, or a UsageError in plain words (port taken, address unknown)."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(64)
    except OSError as exc:
        sock.close()
        what = ("is already in use (another kiosk page or program runs there)"
                if exc.errno in (errno.EADDRINUSE, errno.EACCES) else f"cannot be used ({exc.strerror})")
        raise UsageError(f"The kiosk page's address http://{host}:{port}/ {what}. Stop the "
                         "other program, or choose another one with --http-port.") from None
    return sock


def _locale_tag(locale: str | None) -> str:
    """A BCP 47 tag for the page (fr-FR), or "" for the browser's own; anything odd is ""."""
    tag = (locale or "").replace("_", "-").split(".")[0]
    return tag if re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", tag) else ""


def serve(host: str = "127.0.0.1", port: int = 8088, server_url: str = "http://127.0.0.1:8080",
          ports: str | list[str] = "auto", queue_dir: str | Path | None = None,
          locale: str | None = None) -> None:
    """Run the kiosk page until interrupted; the socket is bound before anything is printed."""
    import uvicorn

    sock = bind(host, port)
    port = sock.getsockname()[1]
    app = create_app(server_url, ports, queue_dir, host=host, port=port, locale=locale)
    print(f"Kiosk page on http://{host if ':' not in host else '[' + host + ']'}:{port}/ "
          f"(ROBERT server {server_url})", flush=True)
    # Slow or idle clients cannot pile up: idle keep-alive connections close after 5 s, at
    # most 64 connections at once (the kiosk's own browser needs a few).
    config = uvicorn.Config(app, log_level="warning", timeout_keep_alive=5,
                            limit_concurrency=64, h11_max_incomplete_event_size=16 * 1024)
    uvicorn.Server(config).run(sockets=[sock])


def main(args) -> int:
    """`robert-kiosk serve`: --host, --http-port, --server, --port (auto or a comma list), --queue."""
    try:
        serve(args.host, args.http_port, args.server, args.port, getattr(args, "queue", None),
              getattr(args, "locale", None))
    except KioskError as exc:
        print(f"robert-kiosk: {exc.message}", file=sys.stderr)
        return exc.exit_code
    return 0
