"""Issue 10, points 3-5: a report is delivered exactly once, or the pharmacist is told.

The real `robert-kiosk report` is SIGKILLed at each step of a report (right after or before
a queue state is written: queued, about to post, accepted but not yet recorded, recorded but
the token not told), the server is down at the start, the token is killed after the server
accepted. After `robert-kiosk report --retry`, the server's used codes count the accepted
reports: exactly one, never two; where the kiosk cannot know (its answer lost, then the code
refused), the entry stays in the queue as "in doubt" and the exit code is 6, never 0.

Before: a kill after the server accepted left `pending`, the retry's 401 deleted the entry as
"delivered"; a never-sent report whose code expired was also called delivered (exit 0); a
server down at the start queued nothing (exit 4).
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import date

import pytest
from kiosk_live import KIOSK, child_env, provision, server_in

from gateway import report_queue as rq

CRASHER = """
import os, signal, sys
from gateway import cli, report_queue as rq
when, state = os.environ["CRASH_AT"].split(":")
orig = rq.ReportQueue.save
def save(self, entry_id, entry):
    if when == "before" and entry.get("state") == state:
        os.kill(os.getpid(), signal.SIGKILL)
    orig(self, entry_id, entry)
    if when == "after" and entry.get("state") == state:
        os.kill(os.getpid(), signal.SIGKILL)
rq.ReportQueue.save = save
sys.exit(cli.main(sys.argv[1:]))
"""

# step -> (exit of `report --retry`, queue states left, accepted reports on the server)
STEPS = {
    "after:pending": (0, [], 1),  # history read and queued, nothing sent
    "after:sending": (0, [], 1),  # about to post (a restart finds it in doubt; code unused)
    "before:delivered": (6, [rq.DOUBT], 1),  # the server accepted, the kiosk died first
    "after:delivered": (0, [], 1),  # recorded, the token not yet told
}
FAST = ("before:delivered",)


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    from ports.host.launcher import TokenProcess

    tmp = tmp_path_factory.mktemp("matrix")
    server = server_in(tmp / "server").start()
    token = TokenProcess(tmp / "token" / "flash", serial="RT-00000099").start()
    provision(token, server)
    yield server, token
    token.kill()
    server.stop()


def used_codes(server) -> int:
    with sqlite3.connect(server.db) as db:
        return db.execute("SELECT count(*) FROM codes WHERE used_ntp IS NOT NULL").fetchone()[0]


def kiosk(args, env=None, crasher=False):
    cmd = [sys.executable, "-c", CRASHER] if crasher else KIOSK
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=120,
                          env={**child_env(), **(env or {})})


@pytest.mark.parametrize("step", [pytest.param(s, marks=() if s in FAST else pytest.mark.slow)
                                  for s in STEPS])
def test_kiosk_killed_at_each_step(bench, step, tmp_path):
    server, token = bench
    queue = tmp_path / "queue"
    before = used_codes(server)
    common = ["--port", token.pty, "--server", server.url, "--queue", str(queue)]
    out = kiosk(["report", *common, "--code", server.new_code(), "--onset",
                 date.today().isoformat(), "--yes"], {"CRASH_AT": step}, crasher=True)
    assert out.returncode == -9, (out.returncode, out.stderr)
    code, states, accepted = STEPS[step]
    retry = kiosk(["report", "--retry", *common, "--json"])
    assert retry.returncode == code, retry.stdout + retry.stderr
    assert "Traceback" not in retry.stderr
    left = [e["state"] for _, e in rq.ReportQueue(queue).entries()]
    assert left == states
    assert used_codes(server) - before == accepted  # never twice, never silently zero
    if states == [rq.DOUBT]:
        assert "In doubt" in retry.stdout and "new code" in retry.stdout
        again = kiosk(["report", "--retry", *common])  # asking again changes nothing
        assert again.returncode == 6 and used_codes(server) - before == accepted


def test_server_down_at_the_start_queues_the_report(bench, tmp_path):
    server, token = bench
    queue = tmp_path / "queue"
    before = used_codes(server)
    common = ["--port", token.pty, "--server", server.url, "--queue", str(queue)]
    code = server.new_code()
    server.stop()
    try:
        out = kiosk(["report", *common, "--code", code, "--onset", date.today().isoformat(),
                     "--yes"])
    finally:
        server.start()
    assert out.returncode == 6, out.stderr
    assert "kept, encrypted" in out.stderr and "report --retry" in out.stderr
    assert [e["state"] for _, e in rq.ReportQueue(queue).entries()] == [rq.PENDING]
    retry = kiosk(["report", "--retry", *common])
    assert retry.returncode == 0, retry.stderr
    assert len(rq.ReportQueue(queue)) == 0 and used_codes(server) - before == 1
