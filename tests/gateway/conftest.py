"""Fixtures of the kiosk tests: a real robert-server and real host-port tokens over ptys."""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kiosk_live import provision, server_in, tokens_in  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One robert-server per test module (tests use their own tokens and codes)."""
    s = server_in(tmp_path_factory.mktemp("server")).start()
    yield s
    s.stop()


@pytest.fixture
def own_server(tmp_path):
    """A robert-server of this test alone (it gets killed and restarted)."""
    s = server_in(tmp_path / "server").start()
    yield s
    s.stop()


@pytest.fixture
def spawn_token(tmp_path):
    """spawn_token(serial="RT-00000001") -> a started token in tmp_path/serial (killed at the end)."""
    with tokens_in(tmp_path) as start:
        yield lambda serial="RT-00000001": start(serial)


@pytest.fixture
def token(server, spawn_token):
    """A provisioned host-port token, registered with `server`."""
    t = spawn_token()
    provision(t, server)
    return t


@pytest.fixture
def seeded_token(server, spawn_token, tmp_path):
    """A provisioned token whose log holds 600 HELLOs from 30 neighbours (restarted on it)."""
    from seed import seed_history

    t = spawn_token("RT-00000002")
    provision(t, server)
    t.stop()
    assert seed_history(t.state, 600, per_contact=20) == 600
    return t.start()


@pytest.fixture(autouse=True)
def _queue_in_tmp(tmp_path, monkeypatch):
    """No test may touch the real kiosk queue in the home folder."""
    monkeypatch.setenv("ROBERT_KIOSK_QUEUE", str(tmp_path / "default-queue"))


class Scripted:
    """An HTTP server answering each request with the next (status, body, delay) of a script."""

    def __init__(self, script):
        self.script = list(script)
        self.requests: list[tuple[str, str, bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _answer(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.requests.append((self.command, self.path, body))
                status, payload, delay = outer.script.pop(0) if outer.script else (500, "", 0)
                time.sleep(delay)
                data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def scripted():
    servers = []

    def make(*script):
        s = Scripted(script)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()
