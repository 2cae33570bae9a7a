"""The HTTP face of the server: FastAPI routes over `RobertService`, errors as JSON.

Every error is `{"message": ...}` with a documented 4xx status; malformed
bodies are 400 (as the real server answers), oversized bodies 413, and an
unexpected fault is a bare 500 without a traceback.
"""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from robert.errors import ProtocolError
from robert.report import MAX_TOKEN_CHARS
from server_stub import models
from server_stub.clock import Clock
from server_stub.service import ApiError, RobertService, Settings
from server_stub.store import Store

log = logging.getLogger("server_stub")

API = "/api/v6"
MAX_REPORT_BODY = 32 * 1024 * 1024
MAX_BODY = 64 * 1024
LOOPBACK = {"127.0.0.1", "::1", "localhost"}

_ERRORS = {code: {"model": models.ErrorResponse} for code in (400, 401, 404, 413, 430)}


def create_app(store: Store, clock: Clock, settings: Settings | None = None,
               dev_admin: bool = False) -> FastAPI:
    service = RobertService(store, clock, settings)
    app = FastAPI(title="ROBERT server stub", version="6",
                  description="ROBERT server API v6 with real crypto, for development and tests.")
    app.state.service = service
    app.add_middleware(BodyLimit, limits={f"{API}/report": MAX_REPORT_BODY}, default=MAX_BODY)
    _install_error_handlers(app)

    @app.post(f"{API}/register", status_code=201, response_model=models.RegisterResponse,
              responses=_ERRORS)
    async def register(body: models.RegisterRequest) -> models.RegisterResponse:
        return service.register(body)

    @app.post(f"{API}/status", response_model=models.StatusResponse,
              response_model_exclude_none=True, responses=_ERRORS)
    async def status(body: models.StatusRequest) -> dict:
        return service.status(body)

    # CaptchaControllerImpl: the captcha provider's answers passed through (201 on creation).
    @app.post(f"{API}/captcha", status_code=201, response_model=models.CaptchaResponse,
              responses=_ERRORS)
    async def new_captcha(body: models.CaptchaRequest) -> models.CaptchaResponse:
        return service.new_captcha(body)

    @app.get(f"{API}/captcha/{{captcha_id}}/image", response_class=Response,
             responses={200: {"content": {"image/png": {}}}, 404: {"model": models.ErrorResponse}})
    async def captcha_image(captcha_id: str = Path(max_length=64)) -> Response:
        return Response(service.captcha_media(captcha_id, "image"), media_type="image/png")

    @app.get(f"{API}/captcha/{{captcha_id}}/audio", response_class=Response,
             responses={200: {"content": {"audio/wav": {}}}, 404: {"model": models.ErrorResponse}})
    async def captcha_audio(captcha_id: str = Path(max_length=64)) -> Response:
        return Response(service.captcha_media(captcha_id, "audio"), media_type="audio/wav")

    @app.post(f"{API}/report", response_model=models.ReportResponse, responses=_ERRORS,
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                  "schema": {"$ref": "#/components/schemas/ReportRequest"}}}}})
    async def report(request: Request) -> models.ReportResponse:
        # The body is as ReportRequest documents it, but robert.report.parse_report checks
        # it (one pass instead of two over up to 500,000 HELLOs) and names the bad field.
        try:
            body = json.loads(await request.body())
        except (ValueError, RecursionError):
            raise ApiError(400, "malformed JSON body") from None
        return service.report(body)

    @app.post(f"{API}/unregister", response_model=models.SuccessResponse, responses=_ERRORS)
    async def unregister(body: models.AuthRequest) -> models.SuccessResponse:
        return service.unregister(body)

    @app.post(f"{API}/deleteExposureHistory", response_model=models.SuccessResponse,
              responses=_ERRORS)
    async def delete_exposure_history(body: models.AuthRequest) -> models.SuccessResponse:
        return service.delete_exposure_history(body)

    @app.get(f"{API}/clock", response_model=models.ClockResponse)
    async def clock_info() -> models.ClockResponse:
        return service.clock_info()

    @app.get("/api/v1/verify", response_model=models.VerifyResponse, responses=_ERRORS)
    async def verify(code: str = Query(max_length=MAX_TOKEN_CHARS)) -> models.VerifyResponse:
        return service.verify_code(code)

    if dev_admin:
        @app.put("/admin/clock", response_model=models.AdminClockResponse,
                 responses={403: {"model": models.ErrorResponse}, **_ERRORS})
        async def admin_clock(body: models.AdminClockRequest,
                              request: Request) -> models.AdminClockResponse:
            if request.client is None or request.client.host not in LOOPBACK:
                raise ApiError(403, "the admin clock is for loopback clients only")
            clock.offset = body.offset
            log.info("server clock offset set to %s s", body.offset)
            return models.AdminClockResponse(offset=clock.offset, time=clock.ntp())

    _openapi_without_422(app)
    return app


def _openapi_without_422(app: FastAPI) -> None:
    """This server answers 400 to a malformed body, as the real one does: say so in the schema."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = build()
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    responses = operation.get("responses", {})
                    if responses.pop("422", None) is not None:
                        responses.setdefault("400", {
                            "description": "Bad request",
                            "content": {"application/json": {"schema": {
                                "$ref": "#/components/schemas/ErrorResponse"}}}})
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                components.pop(name, None)
            report = models.ReportRequest.model_json_schema(
                ref_template="#/components/schemas/{model}")
            components.update(report.pop("$defs", {}))
            components["ReportRequest"] = report
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"message": exc.message}, status_code=exc.status)

    @app.exception_handler(ProtocolError)
    async def protocol_error(_: Request, exc: ProtocolError) -> JSONResponse:
        # robert refuses a value the models let through: still the client's input.
        return JSONResponse({"message": str(exc)}, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"message": validation_message(exc.errors())}, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"message": str(exc.detail)}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def internal_error(_: Request, exc: Exception) -> JSONResponse:
        log.error("internal error: %s", type(exc).__name__)
        return JSONResponse({"message": "internal error"}, status_code=500)


def validation_message(errors: list[dict]) -> str:
    """One line naming the first bad field, without echoing the input (it may be large)."""
    if not errors:
        return "bad request"
    first = errors[0]
    loc = tuple(first.get("loc", ()))
    if first.get("type") == "json_invalid":
        return "malformed JSON body"
    if loc == ("body",) and isinstance(first.get("input"), bytes | str):
        return "the body must be a JSON object sent as Content-Type: application/json"
    where = ".".join(str(p) for p in loc if p != "body") or "body"
    more = f" (and {len(errors) - 1} more errors)" if len(errors) > 1 else ""
    return f"{where}: {first.get('msg', 'invalid')}{more}"


class BodyLimit:
    """Answer 413 (JSON) to a body over the limit, before or while it is read.

    A declared Content-Length is checked first; a chunked body is counted as it
    arrives, and on overflow the app sees a disconnect and its answer is
    replaced by the 413.
    """

    def __init__(self, app: ASGIApp, limits: dict[str, int], default: int) -> None:
        self.app = app
        self.limits = limits
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.get(scope["path"], self.default)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(limit, scope, send)
            return
        seen = 0
        overflow = False

        async def limited_receive() -> Message:
            nonlocal seen, overflow
            if overflow:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    overflow = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not overflow:
                await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not overflow:
                raise
        if overflow:
            await _too_large(limit, scope, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _too_large(limit: int, scope: Scope, send: Send) -> None:
    response = JSONResponse({"message": f"request body larger than {limit} bytes"},
                            status_code=413)
    await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}
