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
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from gateway import flows
from gateway.errors import KioskError, UsageError
from gateway.web.jobs import Job, Jobs

STATIC = Path(__file__).with_name("static")
TOKEN_TIMEOUT = 2.0


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
            token_id = f"t{len(self._ids) + 1}"
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
               queue_dir: str | Path | None = None) -> FastAPI:
    """The kiosk web app for the ROBERT server at `server_url` and the tokens on `ports`."""
    from gateway.report_queue import ReportQueue
    from gateway.robert_api import RobertApi

    watched = TokenPorts(ports)
    jobs = Jobs()
    queue = ReportQueue(queue_dir)
    holder: dict[str, RobertApi] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        holder["api"] = RobertApi(server_url)
        try:
            yield
        finally:
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
        return JSONResponse({"error": exc.message}, status_code=400)

    @app.middleware("http")
    async def no_cache(request: Request, call_next):
        origin = request.headers.get("origin")
        if request.method == "POST" and origin and urlsplit(origin).netloc != request.headers.get("host"):
            return JSONResponse({"error": "Requests from other sites are refused."}, status_code=403)
        response = await call_next(request)
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

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
        return start(token_id, "retire", lambda c, api, job: flows.retire_flow(c, api, job.progress))

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
    try:
        body = await request.json()
    except ValueError:
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


def serve(host: str = "127.0.0.1", port: int = 8088, server_url: str = "http://127.0.0.1:8080",
          ports: str | list[str] = "auto", queue_dir: str | Path | None = None) -> None:
    """Run the kiosk page until interrupted."""
    import uvicorn

    app = create_app(server_url, ports, queue_dir)
    print(f"Kiosk page on http://{host}:{port}/ (ROBERT server {server_url})", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def main(args) -> int:
    """`robert-kiosk serve`: --host, --http-port, --server, --port (auto or a comma list), --queue."""
    serve(args.host, args.http_port, args.server, args.port, getattr(args, "queue", None))
    return 0
