"""The report flow end to end: real robert-server, host-port tokens on ptys, faults injected."""

from __future__ import annotations

import importlib
import json
import subprocess
from datetime import date, timedelta

import httpx
import pytest

importlib.import_module("robert_token.frame")

from kiosk_live import KIOSK, api_of, history_size, provision, run, with_client  # noqa: E402

from gateway import flows  # noqa: E402
from gateway.errors import LinkLost, ReportQueued, ServerError, UsageError  # noqa: E402
from gateway.history import to_report_contacts  # noqa: E402
from gateway.report_queue import ReportQueue  # noqa: E402
from gateway.token_client import TokenClient  # noqa: E402
from gateway.transport.serial import SerialLink  # noqa: E402


def test_report_flow_delivers_then_acks_and_the_code_is_single_use(token, server, tmp_path):
    queue = ReportQueue(tmp_path / "queue")
    code = server.new_code()
    onset = date.today() - timedelta(days=1)

    async def go(client):
        async with api_of(server) as api:
            return await flows.report_flow(client, api, code, onset=onset, consent=True,
                                           queue=queue)

    result = run(with_client(token.pty, go))
    assert result.delivered and result.acknowledged and result.queued_id is None
    assert result.window_from == onset - timedelta(days=2)
    assert len(queue) == 0
    with pytest.raises(ServerError) as err:  # single-use code
        run(with_client(token.pty, go))
    assert err.value.http_status == 401 and "already used" in err.value.message
    assert len(queue) == 0


def test_wrong_code_is_refused_plainly_and_nothing_is_erased(token, server, tmp_path):
    queue = ReportQueue(tmp_path / "queue")
    before = history_size(token.pty)

    async def go(client):
        async with api_of(server) as api:
            return await flows.report_flow(client, api, "ZZZZZZ", test_date=date.today(),
                                           consent=True, queue=queue)

    with pytest.raises(ServerError) as err:
        run(with_client(token.pty, go))
    assert err.value.exit_code == 4 and "wrong, expired or already used" in err.value.message
    assert history_size(token.pty) == before and len(queue) == 0

    async def no_consent(client):
        async with api_of(server) as api:
            return await flows.report_flow(client, api, server.new_code(),
                                           test_date=date.today(), consent=False, queue=queue)

    with pytest.raises(UsageError, match="consent"):
        run(with_client(token.pty, no_consent))


def test_server_killed_mid_report_then_retry_delivers_once(spawn_token, own_server, tmp_path):
    server = own_server
    token = spawn_token("RT-00000003")
    provision(token, server)
    queue = ReportQueue(tmp_path / "queue")
    code = server.new_code()

    def kill_before_upload(stage, done, total):
        if stage == "upload" and done == 0:
            server.kill()

    async def go(client):
        async with api_of(server) as api:
            return await flows.report_flow(client, api, code, test_date=date.today(),
                                           consent=True, queue=queue, progress=kill_before_upload)

    with pytest.raises(ReportQueued) as err:
        run(with_client(token.pty, go))
    assert err.value.exit_code == 6 and "nothing was erased" in err.value.message
    assert len(queue) == 1
    raw = b"".join(p.read_bytes() for p in (tmp_path / "queue").glob("*.report"))
    assert code.encode() not in raw  # encrypted at rest
    server.start()  # back, same port, same database

    async def retry(client):
        async with api_of(server) as api:
            return await flows.retry_flow(client, api, queue)

    async def same_report_again(client):  # typed again instead of --retry: the queued one
        async with api_of(server) as api:
            return await flows.report_flow(client, api, code, test_date=date.today(),
                                           consent=True, queue=queue)

    result = run(with_client(token.pty, same_report_again))
    assert result.delivered and result.acknowledged and len(queue) == 0
    assert run(with_client(token.pty, retry)) == []  # nothing left: never posted twice
    with httpx.Client(base_url=server.url) as http:  # the server burned the code exactly once
        assert http.post("/api/v6/report", json={"token": code, "contacts": []}).status_code == 401


def test_link_lost_mid_history_read_resumes_from_the_offset(seeded_token):
    """The cable is pulled during HISTORY_READ; a new link resumes the same session."""

    async def go():
        link = SerialLink.open(seeded_token.pty)
        client = TokenClient(link)
        info = await client.info()
        session = await client.open_history(info["clock"]["ntp"] - 14 * 86400, None)
        assert session["hellos"] == 600 and session["size"] > 3 * 2047

        def pull(done, total):
            if done < total:
                link._port.close()  # the cable is pulled after the first chunk

        with pytest.raises(LinkLost):
            await client.read_history(session, progress=pull)
        got_before = len(session["data"])
        link2 = SerialLink.open(seeded_token.pty)
        reads = []
        data = await TokenClient(link2).read_history(session, lambda d, t: reads.append(d))
        await link2.close()
        return session, got_before, reads, data

    session, got_before, reads, data = run(go())
    assert got_before == 2047 and reads[0] == 2 * 2047  # resumed at the offset, not at 0
    assert len(data) == session["size"]
    contacts = to_report_contacts(data)
    assert len(contacts) == 30 and sum(len(c["ids"]) for c in contacts) == 600


def test_token_power_cut_mid_report_then_retry_succeeds(seeded_token, server, tmp_path):
    queue = ReportQueue(tmp_path / "queue")
    code = server.new_code()

    def cut(stage, done, total):
        if stage == "history" and 0 < done < total:
            seeded_token.kill()  # the token loses power: its end of the pty closes

    async def go(client, progress=None):
        async with api_of(server) as api:
            return await flows.report_flow(client, api, code, onset=date.today(), consent=True,
                                           queue=queue, progress=progress)

    with pytest.raises(LinkLost) as err:
        run(with_client(seeded_token.pty, lambda c: go(c, cut), timeout=0.5))
    assert "nothing was erased" in err.value.message and len(queue) == 0
    seeded_token.start()  # powered on again: same flash, new pty
    result = run(with_client(seeded_token.pty, go))
    assert result.delivered and result.acknowledged
    assert (result.contacts, result.hellos) == (30, 600)
    log = history_size(seeded_token.pty)
    assert log["hellos"] == 600  # acknowledged, not erased: kept until the 14-day purge


def test_cli_report_then_retry_from_the_queue(seeded_token, server, tmp_path):
    queue = str(tmp_path / "cliqueue")
    dead = "http://127.0.0.1:9"  # nothing listens: the report must wait in the queue
    code = server.new_code()
    out = subprocess.run([*KIOSK, "report", "--port", seeded_token.pty, "--server", dead,
                          "--code", code, "--test-date", date.today().isoformat(), "--yes",
                          "--queue", queue], capture_output=True, text=True, timeout=120)
    # Issue 10, point 5: a server down at the start used to queue nothing (exit 4); the
    # history is now read and queued (exit 6), and typing the same report again delivers it.
    assert out.returncode == 6, out.stderr
    assert "cannot be reached" in out.stderr and code not in out.stderr + out.stdout
    assert len(ReportQueue(queue)) == 1
    out = subprocess.run([*KIOSK, "report", "--port", seeded_token.pty, "--server", server.url,
                          "--code", code, "--test-date", date.today().isoformat(), "--yes",
                          "--queue", queue, "--json"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert answer["delivered"] and answer["acknowledged"] and answer["hellos"] == 600
    out = subprocess.run([*KIOSK, "report", "--retry", "--port", seeded_token.pty, "--server",
                          server.url, "--queue", queue], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and "No report waiting" in out.stdout


def test_report_cut_by_a_pulled_cable_resumes_at_the_offset(seeded_token, server, tmp_path):
    queue = ReportQueue(tmp_path / "queue")
    code = server.new_code()
    links = []

    def pull(stage, done, total):
        if stage == "history" and 0 < done < total:
            links[0]._port.close()  # kiosk side: the cable is pulled

    async def go(progress):
        link = SerialLink.open(seeded_token.pty)
        links.insert(0, link)
        try:
            async with api_of(server) as api:
                return await flows.report_flow(TokenClient(link), api, code, onset=date.today(),
                                               consent=True, queue=queue, progress=progress)
        finally:
            await link.close()

    with pytest.raises(LinkLost):
        run(go(pull))
    assert len(queue) == 0
    seen = []
    result = run(go(lambda stage, done, total: seen.append((stage, done))))
    assert result.delivered and result.acknowledged and result.hellos == 600
    history = [done for stage, done in seen if stage == "history" and done > 0]
    assert history[0] == 2 * 2047  # the first read of the retry starts after the cut chunk
