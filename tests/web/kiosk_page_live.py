"""Live parts of the kiosk page tests: server, host-port tokens, `robert-kiosk serve`, Chromium."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gateway"))

from kiosk_live import BIN, START_TIMEOUT, free_port, server_in, token_in  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


class KioskProcess:
    """`robert-kiosk serve` on a free loopback port, watching the given token ports."""

    def __init__(self, folder: Path, server_url: str, ports: list[str]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.url = f"http://127.0.0.1:{free_port()}"
        self.args = [str(BIN / "robert-kiosk"), "serve", "--host", "127.0.0.1",
                     "--http-port", self.url.rsplit(":", 1)[1], "--server", server_url,
                     "--port", ",".join(ports), "--queue", str(folder / "queue")]
        self.proc: subprocess.Popen | None = None

    def start(self) -> KioskProcess:
        log = open(self.folder / "kiosk.log", "ab")  # noqa: SIM115 (owned by the process)
        self.proc = subprocess.Popen(self.args, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"robert-kiosk serve exited: {self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/", timeout=1).status_code == 200:
                    return self
            time.sleep(0.1)
        raise RuntimeError(f"robert-kiosk serve did not answer: {self.log()}")

    def secret(self) -> str:
        """The per-start secret, read from the page as the kiosk's own browser gets it."""
        page = httpx.get(self.url + "/", timeout=10).text
        return re.search(r'name="kiosk-secret" content="([^"]+)"', page).group(1)

    def api(self, method: str, path: str, **kw) -> httpx.Response:
        """A call to the page's API as the page makes it (with the secret)."""
        headers = {"X-Kiosk-Secret": self.secret(), **kw.pop("headers", {})}
        if "content" in kw:
            headers.setdefault("Content-Type", "application/json")
        return httpx.request(method, self.url + path, headers=headers, timeout=30, **kw)

    def token_ids(self) -> list[str]:
        return [t["id"] for t in self.api("GET", "/api/tokens").json()["tokens"]]

    def view(self, index: int) -> dict | None:
        return self.api("GET", "/api/tokens").json()["tokens"][index]["view"]

    def log(self) -> str:
        return (self.folder / "kiosk.log").read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def missing_parts() -> str | None:
    """What the live page tests still lack (the token core, robert.crypto, the server stub)."""
    for module in ("robert.crypto", "robert_token.frame", "robert_token.sync", "server_stub.cli"):
        try:
            __import__(module)
        except ImportError:
            return f"{module} cannot be imported"
    return None


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    """A server, one provisioned and one blank token, and the kiosk page watching both and an
    empty port."""
    from provisioning import cli

    missing = missing_parts()
    if missing:
        pytest.fail(missing)

    tmp = tmp_path_factory.mktemp("kiosk")
    started: list = []
    try:
        server = server_in(tmp / "server").start()
        started.append(server)
        tokens = [token_in(tmp / name, serial).start()
                  for name, serial in (("a", "RT-W0000001"), ("b", "RT-W0000002"))]
        started += tokens
        assert cli.main(["token", "--port", tokens[0].pty, "--server", server.url,
                         "--server-key", server.public_key(), "--days", "4"]) == 0
        unplugged = str(tmp / "unplugged-token")  # a port where no token is plugged in
        kiosk = KioskProcess(tmp / "kiosk", server.url, [t.pty for t in tokens] + [unplugged]).start()
        started.append(kiosk)
        yield {"server": server, "tokens": tokens, "kiosk": kiosk}
    finally:
        for proc in reversed(started):
            proc.stop()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        # CI must run the page tests: there a missing browser is a failure, not a skip.
        (pytest.fail if os.environ.get("CI") else pytest.skip)(
            f"headless Chromium is not installed at {CHROMIUM} (make browser installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()
