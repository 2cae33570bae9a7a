"""Client of a ROBERT server, API v6 (our stub or the real robert-server).

Connection errors and 5xx answers are retried with exponential backoff (they
say nothing about the request); 4xx answers are final and turned into plain
words. POST /report is only retried when the request provably never left the
kiosk (connect errors): a report code is single-use.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx

from gateway.errors import ServerError, ServerUnreachable, UsageError
from robert import timeutil

API_PREFIX = "/api/v6"

# What a 4xx means, per call, for the pharmacist.
_PLAIN_4XX = {
    ("status", 400): "The server refused the status request: the token's clock was off or "
                     "its status was checked less than 30 minutes ago. Wait 30 minutes and retry.",
    ("status", 404): "This token's registration is gone from the server (it was retired or "
                     "never registered): re-provision it.",
    # robert-server answers 430 when it no longer knows the registration (unregistered, or
    # lost); the real apps reset themselves on 430 and only on it.
    ("status", 430): "This token's registration is gone from the server: re-provision it "
                     "(robert-provision token --factory-reset).",
    ("report", 400): "The server refused the report as malformed. Nothing was erased from the "
                     "token; retry, and contact support if it happens again.",
    ("report", 401): "The server refused the test code: it is wrong, expired or already used "
                     "(the code service checked it, not the kiosk). Check the code with the "
                     "holder; nothing was erased from the token.",
    ("register", 401): "The server refused the registration: the captcha answer was wrong or "
                       "the captcha expired (a real ROBERT server always asks for one: "
                       "robert-provision --captcha ask). Nothing was written to the token.",
    ("captcha", 404): "The server no longer has this captcha (it expired or was used): ask "
                      "for a new one.",
    ("deleteExposureHistory", 430): "This token's registration is gone from the server: "
                                    "re-provision it (robert-provision token --factory-reset).",
    ("unregister", 430): "This token's registration is already gone from the server.",
}
_GENERIC_4XX = {
    400: "The server refused the request (bad request or clock mismatch). Retry in a minute.",
    401: "The server refused the request as unauthorised.",
    404: "The server does not know this token (unknown registration).",
    430: "This token's registration is gone from the server (or the server has no key for "
         "that day): re-provision it.",
}


class InDoubt(ServerUnreachable):
    """The request left the kiosk but no answer came back: it may or may not have been processed."""

    def __init__(self) -> None:
        super().__init__("The server did not answer after the report was sent. It is kept, "
                         "encrypted, in the kiosk's queue; retry later with `report --retry`.")


class RobertApi:
    """A ROBERT v6 client; `base_url` is the server root (the /api/v6 prefix is added)."""

    def __init__(self, base_url: str, timeout: float = 10.0, retries: int = 3,
                 backoff: float = 0.5) -> None:
        self.base_url = _check_url(base_url)
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._client = httpx.AsyncClient(base_url=self.base_url + API_PREFIX, timeout=timeout)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> RobertApi:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def clock(self) -> dict:
        return await self._call("clock", "GET", "/clock")

    async def register(self, client_public_key_b64: str, extra: dict | None = None,
                       captcha: tuple[str, str] | None = None) -> dict:
        """POST /register; `captcha` = (captchaId, the person's answer). Without one a
        placeholder is sent, which only a server that does not check captchas accepts (the
        real one always checks: ROBERT-PROTOCOL.md, captcha)."""
        captcha_id, answer = captcha or ("none", "none")
        body = {"captchaId": captcha_id, "captcha": answer,
                "clientPublicECDHKey": client_public_key_b64, **(extra or {})}
        return await self._call("register", "POST", "/register", body, idempotent=False)

    async def new_captcha(self, kind: str = "IMAGE", locale: str = "fr-FR") -> str:
        """POST /captcha {type, locale} -> the captcha's id (robert-server sends it as `id`
        and `captchaId`)."""
        answer = await self._call("captcha", "POST", "/captcha", {"type": kind, "locale": locale})
        captcha_id = answer.get("id") or answer.get("captchaId")
        if not isinstance(captcha_id, str) or not captcha_id:
            raise ServerError("The server's captcha answer has no id. Check the server address.")
        return captcha_id

    async def captcha_image(self, captcha_id: str) -> bytes:
        """GET /captcha/{id}/image: the PNG to show the person."""
        return await self._call("captcha", "GET", f"/captcha/{captcha_id}/image", raw=True)

    async def status(self, auth_body: dict) -> dict:
        return await self._call("status", "POST", "/status", auth_body)

    async def report(self, token: str, contacts: list[dict]) -> dict:
        body = {"token": token, "contacts": contacts}
        return await self._call("report", "POST", "/report", body, idempotent=False)

    async def unregister(self, auth_body: dict) -> dict:
        return await self._call("unregister", "POST", "/unregister", auth_body)

    async def delete_history(self, auth_body: dict) -> dict:
        return await self._call("deleteExposureHistory", "POST", "/deleteExposureHistory",
                                auth_body)

    async def _call(self, name: str, method: str, path: str, body: dict | None = None,
                    idempotent: bool = True, raw: bool = False):
        """Send with retries; `idempotent=False` retries only when nothing was sent."""
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                answer = await self._client.request(method, path, json=body)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout):
                if last:
                    raise ServerUnreachable() from None
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError):
                if not idempotent:
                    raise InDoubt() from None
                if last:
                    raise ServerUnreachable() from None
            else:
                if answer.status_code < 300:
                    return answer.content if raw else _json(answer, name)
                if answer.status_code < 500:
                    raise ServerError(_plain_4xx(name, answer.status_code), answer.status_code)
                if not idempotent:
                    raise ServerError(f"The server failed while handling the {name} "
                                      f"(HTTP {answer.status_code}). Retry later.",
                                      answer.status_code)
                if last:
                    raise ServerError(f"The server is failing (HTTP {answer.status_code}). "
                                      "Retry later.", answer.status_code)
            await asyncio.sleep(self.backoff * 2 ** attempt)
        raise AssertionError("unreachable")


def _plain_4xx(name: str, status: int) -> str:
    return _PLAIN_4XX.get((name, status)) or _GENERIC_4XX.get(
        status, f"The server refused the {name} request (HTTP {status}).")


def _json(answer: httpx.Response, name: str) -> dict:
    try:
        data = answer.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ServerError(f"The server's answer to {name} is not valid JSON. "
                          "Check the server address.", answer.status_code)
    return data


def clock_ntp(clock: dict) -> int:
    """NTP seconds from a GET /clock answer: `time` as NTP seconds, or an ISO 8601 instant."""
    t = clock.get("time") if isinstance(clock, dict) else None
    if isinstance(t, str) and t.strip().isdigit():
        t = int(t)
    if isinstance(t, int) and not isinstance(t, bool) and t > timeutil.NTP_UNIX_DELTA:
        return t
    if isinstance(t, str):
        try:
            when = datetime.fromisoformat(t.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            when = when if when.tzinfo else when.replace(tzinfo=UTC)
            return timeutil.ntp_from_unix(when.timestamp())
    raise ServerError("The server's clock answer is not understood. Check the server address.")


def _check_url(base_url: str) -> str:
    """The server root, or a plain UsageError for anything that is not an http(s) URL."""
    try:
        url = httpx.URL(str(base_url or "").strip())
    except (httpx.InvalidURL, TypeError, ValueError):
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise UsageError(f"The server address {str(base_url)[:100]!r} is not valid: write it "
                         "like https://robert.example.org or http://127.0.0.1:8080.")
    return str(url).rstrip("/")
