"""Issue 10, point 2: no history wiped by a clock. A server 15 days ahead used to make
`robert-kiosk status` set the token 15 days ahead, and the token purged its whole log."""

from __future__ import annotations

import json
import subprocess

from kiosk_live import KIOSK, child_env, history_size, provision, run, server_in, with_client
from robert_token import frame
from seed import seed_history

AHEAD = str(15 * 86400)


def test_a_server_15_days_ahead_is_refused_and_the_log_kept(tmp_path, spawn_token):
    server = server_in(tmp_path / "server").start()
    try:
        t = spawn_token("RT-00000077")
        provision(t, server)
        t.stop()
        assert seed_history(t.state, 300, per_contact=20) == 300
        t.start()
        server.restart("--clock-offset", AHEAD)
        out = subprocess.run([*KIOSK, "status", "--port", t.pty, "--server", server.url,
                              "--json"], capture_output=True, text=True, timeout=60,
                             env=child_env())
        assert out.returncode == 4, out.stderr
        error = json.loads(out.stdout)["error"]
        assert "disagree by 15 days" in error and "Nothing was written to the token" in error
        assert "Traceback" not in out.stderr
        info = _info(t.pty)
        assert info["log"]["hellos"] == 300
        assert abs(info["clock"]["ntp"] - _now()) < 120  # the token's clock was left alone
    finally:
        server.stop()


def test_a_raw_set_time_far_ahead_needs_confirmation(server, spawn_token):
    t = spawn_token("RT-00000078")
    provision(t, server)
    t.stop()
    assert seed_history(t.state, 100) == 100
    t.start()

    async def go(client):
        await client.set_time(_now())
        answer = await client.request(frame.SET_TIME, json.dumps({"ntp": _now() + 15 * 86400})
                                      .encode())
        return answer, await client.info()

    from gateway.errors import TokenError

    try:
        run(with_client(t.pty, go))
    except TokenError as exc:
        assert exc.status == frame.DENIED
    else:
        raise AssertionError("a 15-day jump was accepted without confirmation")
    assert history_size(t.pty)["hellos"] == 100


def _info(pty):
    async def go(client):
        return await client.info()
    return run(with_client(pty, go))


def _now():
    from gateway.flows import now_ntp
    return now_ntp()
