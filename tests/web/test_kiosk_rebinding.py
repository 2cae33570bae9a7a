"""Issue 10, point 1, DNS rebinding in a real Chromium: the attacker's name resolves to the
kiosk's address (Chromium's host resolver rules stand for the rebound DNS answer). The page
and the API refuse that Host, so a script in that origin can neither read the secret nor act.
(Its own module: it launches its own Chromium with the resolver rule.)"""

from __future__ import annotations

import pytest
from kiosk_page_live import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser


def _port(kiosk) -> str:
    return kiosk.url.rsplit(":", 1)[1]


def test_a_rebinding_page_in_chromium_gets_nothing(system):
    if not CHROMIUM.exists():
        pytest.skip("no Chromium (make browser installs it)")
    from playwright.sync_api import sync_playwright

    kiosk = system["kiosk"]
    tid = kiosk.token_ids()[0]
    origin = f"http://rebind.test:{_port(kiosk)}"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM),
                              args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP rebind.test 127.0.0.1"])
        try:
            page = b.new_page()
            first = page.goto(origin + "/")
            assert first.status == 421
            assert kiosk.secret() not in page.content()
            got = page.evaluate("""async (tid) => {
                const out = [];
                for (const [m, path] of [["GET", "/api/tokens"], ["POST", "/api/tokens/" + tid + "/retire"]]) {
                  const r = await fetch(path, {method: m, headers: {"Content-Type": "application/json"},
                                               body: m === "POST" ? '{"confirm": true}' : undefined});
                  out.push([r.status, await r.text()]);
                }
                return out; }""", tid)
        finally:
            b.close()
    assert [g[0] for g in got] == [421, 421], got
    assert all("RT-W" not in g[1] for g in got)
    assert kiosk.view(0)["state"] == "ok"
