"""`robert-provision token --captcha ask` against `robert-server --require-captcha`, the way a
real ROBERT server registers: the station shows the server's captcha (PNG saved, path
printed), the operator types the answer on stdin, one token at a time.

The test plays the operator: it reads the answer from the stub's database with the
test-only hook `Store.captcha_answer` (docs/server-stub.md); nothing in the API reveals it."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from pathlib import Path

import pytest
from kiosk_live import BIN, child_env, server_in
from station_live import token_info

from server_stub.store import Store


@pytest.fixture(scope="module")
def strict(tmp_path_factory):
    srv = server_in(tmp_path_factory.mktemp("strict"), "--require-captcha").start()
    yield srv
    srv.stop()


def provision_cmd(server, token, *extra: str) -> list[str]:
    return [str(BIN / "robert-provision"), "token", "--port", token.pty, "--server", server.url,
            "--server-key", server.public_key(), "--json", *extra]


def lines_of(stream) -> queue.Queue:
    q: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in stream:
            q.put(line)
        q.put(None)
    threading.Thread(target=pump, daemon=True).start()
    return q


def next_captcha(q: queue.Queue, seen: list[str]) -> Path:
    while True:
        line = q.get(timeout=60)
        assert line is not None, "".join(seen)
        seen.append(line)
        if "captcha image: " in line:
            return Path(line.split("captcha image: ", 1)[1].split()[0])


def test_the_operator_solves_one_captcha_per_token(strict, make_token, tmp_path):
    token = make_token()
    proc = subprocess.Popen(provision_cmd(strict, token, "--captcha", "ask", "--captcha-dir",
                                          str(tmp_path / "captchas")),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=child_env())
    seen: list[str] = []
    err = lines_of(proc.stderr)
    try:
        first = next_captcha(err, seen)
        assert first.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"      # the server's own image
        proc.stdin.write("\n")                                      # "another one, please"
        proc.stdin.flush()
        second = next_captcha(err, seen)
        assert second != first
        proc.stdin.write("WRONG1\n")                                # a typo: a new captcha
        proc.stdin.flush()
        third = next_captcha(err, seen)
        captcha_id = third.stem.removeprefix("captcha-")
        with Store(strict.db) as store:
            answer = store.captcha_answer(captcha_id)
        proc.stdin.write(answer.lower() + "\n")
        proc.stdin.flush()
        out, _ = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0, "".join(seen)
    assert json.loads(out)["result"] == "provisioned"
    assert any("wrong captcha answer" in line for line in seen)
    assert token_info(token.pty)["provisioned"] is True


def test_without_captcha_ask_a_strict_server_is_explained(strict, make_token):
    token = make_token()
    out = subprocess.run(provision_cmd(strict, token), capture_output=True, text=True,
                         timeout=120, env=child_env())
    assert out.returncode == 1
    assert "--captcha ask" in out.stderr and "Traceback" not in out.stderr
    assert token_info(token.pty)["provisioned"] is False             # untouched


def test_no_answer_at_end_of_input_leaves_the_token_untouched(strict, make_token):
    token = make_token()
    out = subprocess.run(provision_cmd(strict, token, "--captcha", "ask"), input="",
                         capture_output=True, text=True, timeout=120, env=child_env())
    assert out.returncode == 1 and "no captcha answer" in out.stderr
    assert token_info(token.pty)["provisioned"] is False
