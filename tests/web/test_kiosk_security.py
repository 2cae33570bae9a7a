"""Issue 10, point 1: the kiosk page is reachable only by the kiosk's own browser.

Before: any Host header was accepted and the Origin check compared Origin with Host, so a
DNS-rebinding page (Host and Origin both `evil.example:PORT`) could read every token and
erase, retire or report; token ids were `t1`, `t2`...; there was no body size or nesting limit.
"""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

pytestmark = pytest.mark.browser


def _port(kiosk) -> str:
    return kiosk.url.rsplit(":", 1)[1]


def test_a_rebinding_host_is_refused_everywhere(system):
    kiosk = system["kiosk"]
    token_id = kiosk.token_ids()[0]
    evil = {"Host": f"evil.example:{_port(kiosk)}", "Origin": f"http://evil.example:{_port(kiosk)}"}
    for method, path, body in (("GET", "/", None), ("GET", "/api/tokens", None),
                               ("POST", f"/api/tokens/{token_id}/erase", {"confirm": True}),
                               ("POST", f"/api/tokens/{token_id}/retire", {"confirm": True})):
        answer = httpx.request(method, kiosk.url + path, json=body, timeout=10,
                               headers={**evil, "X-Kiosk-Secret": kiosk.secret()})
        assert answer.status_code == 421, (path, answer.text)
        assert "only at its own address" in answer.json()["error"]
        assert kiosk.secret() not in answer.text
    assert kiosk.view(0)["state"] == "ok"  # still provisioned


def test_api_calls_need_the_page_secret_and_ids_are_random(system):
    kiosk = system["kiosk"]
    ids = kiosk.token_ids()
    assert all(re.fullmatch(r"t[0-9a-f]{12}", i) for i in ids), ids
    for method, path in (("GET", "/api/tokens"), ("GET", f"/api/tokens/{ids[0]}"),
                         ("POST", f"/api/tokens/{ids[0]}/status")):
        answer = httpx.request(method, kiosk.url + path, json={}, timeout=10)
        assert answer.status_code == 403 and "did not come from the kiosk page" in answer.json()["error"]
        answer = httpx.request(method, kiosk.url + path, json={}, timeout=10,
                               headers={"X-Kiosk-Secret": "x" * 43})
        assert answer.status_code == 403
    secret = kiosk.secret()
    assert len(secret) >= 40 and secret in httpx.get(kiosk.url + "/", timeout=10).text


def test_body_size_and_nesting_limits_answer_4xx_in_plain_words(system):
    kiosk = system["kiosk"]
    path = f"/api/tokens/{kiosk.token_ids()[0]}/report"
    big = b'{"code": "' + b"A" * (50 * 1024 * 1024) + b'"}'
    answer = kiosk.api("POST", path, content=big)
    assert answer.status_code == 413 and "too large" in answer.json()["error"]
    deep = b"[" * 5_000 + b"]" * 5_000
    answer = kiosk.api("POST", path, content=deep)
    assert answer.status_code == 400 and "nested too deep" in answer.json()["error"]
    deeper = b"[" * 100_000 + b"]" * 100_000  # was a 500 and a traceback
    assert kiosk.api("POST", path, content=deeper).status_code == 413
    assert "Traceback" not in kiosk.log()
    assert kiosk.api("GET", "/api/tokens").status_code == 200  # still serving


ATTACK = """<!doctype html><html><body><form id="f" method="post" enctype="text/plain"
 action="{kiosk}/api/tokens/{tid}/retire"><input name='{{"confirm": true, "x": "' value='"}}'></form>
<script>
window.results = [];
async function tryit(name, fn) {{
  try {{ const r = await fn(); window.results.push([name, "answered", r.status, r.type,
        await r.text().catch(() => "")]); }}
  catch (e) {{ window.results.push([name, "blocked", String(e)]); }}
}}
(async () => {{
  await tryit("read", () => fetch("{kiosk}/api/tokens"));
  await tryit("read-secret-page", () => fetch("{kiosk}/"));
  for (const tid of ["t1", "t2", "{tid}"]) {{
    await tryit("retire-nocors-" + tid, () => fetch("{kiosk}/api/tokens/" + tid + "/retire",
      {{method: "POST", mode: "no-cors", headers: {{"Content-Type": "text/plain"}},
        body: JSON.stringify({{confirm: true}})}}));
    await tryit("retire-cors-" + tid, () => fetch("{kiosk}/api/tokens/" + tid + "/retire",
      {{method: "POST", headers: {{"Content-Type": "application/json", "X-Kiosk-Secret": "guess"}},
        body: JSON.stringify({{confirm: true}})}}));
  }}
  window.done = true;
  setTimeout(() => document.getElementById("f").submit(), 300);
}})();
</script></body></html>"""


class _Site:
    """Another site's page, served on another loopback address (127.0.0.2)."""

    def __init__(self, html: str) -> None:
        body = html.encode()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.2", 0), Handler)
        self.url = f"http://127.0.0.2:{self.httpd.server_port}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_a_foreign_page_can_neither_read_nor_act(system, browser):
    kiosk = system["kiosk"]
    tid = kiosk.token_ids()[0]
    site = _Site(ATTACK.format(kiosk=kiosk.url, tid=tid))
    try:
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(site.url)
        try:
            page.wait_for_function("window.done === true", timeout=60_000)
        except Exception:
            raise AssertionError(f"{errors} {page.evaluate('window.results')}") from None
        results = page.evaluate("window.results")
        page.wait_for_url(kiosk.url + "/**", timeout=10_000)  # the form post landed
        assert page.evaluate("document.body.innerText").find("RT-W") < 0
        page.close()
    finally:
        site.close()
    by_name = {r[0]: r for r in results}
    # Reads: CORS never granted, the browser hands the script nothing.
    assert by_name["read"][1] == "blocked" and by_name["read-secret-page"][1] == "blocked"
    for r in results:  # a no-cors answer is opaque (status 0), a CORS one blocked
        assert r[1] == "blocked" or (r[2] == 0 and r[3] == "opaque" and r[4] == ""), r
    assert kiosk.view(0)["state"] == "ok", "a foreign page retired the token"
