"""Status, erase, retire and the CLI end to end: real robert-server, host-port tokens on ptys."""

from __future__ import annotations

import importlib
import json
import subprocess

import pytest

importlib.import_module("robert_token.frame")

from kiosk_live import KIOSK, api_of, history_size, run, with_client  # noqa: E402

from gateway import flows  # noqa: E402
from gateway.errors import LinkLost, ServerError, TokenError  # noqa: E402
from gateway.report_queue import ReportQueue  # noqa: E402
from gateway.token_client import TokenClient  # noqa: E402
from gateway.transport.serial import SerialLink  # noqa: E402


def test_status_flow_refreshes_the_token(token, server):
    stages = []

    async def go(client):
        async with api_of(server) as api:
            return await flows.status_flow(client, api, lambda s, d, t: stages.append(s))

    result = run(with_client(token.pty, go))
    assert result.risk_level == 0 and result.token.headline == "Not at risk"
    assert result.token.state == "ok" and result.token.serial == "RT-00000001"
    assert result.tuples_written > 0 and "bundle" in stages
    assert abs(result.clock_correction) < 5
    assert result.token.risk_level == 0  # stored on the token, read back by INFO

    async def again(client):  # a second status at once: too frequent for the server
        async with api_of(server) as api:
            await flows.status_flow(client, api)

    with pytest.raises(ServerError) as err:
        run(with_client(token.pty, again))
    assert err.value.http_status == 400 and "30 minutes" in err.value.message


def test_cli_info_and_status_json(token, server):
    out = subprocess.run([*KIOSK, "info", "--port", token.pty, "--json"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["serial"] == "RT-00000001"
    out = subprocess.run([*KIOSK, "status", "--port", token.pty, "--server", server.url],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("== Not at risk ==")


def test_cli_errors_have_plain_words_and_exit_codes(tmp_path, server):
    out = subprocess.run([*KIOSK, "info", "--port", str(tmp_path / "ttyACM7")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 5 and "no such port" in out.stderr and "Traceback" not in out.stderr
    out = subprocess.run([*KIOSK, "report", "--port", "auto", "--code", "bad code", "--onset",
                          "2026-01-01", "--yes", "--queue", str(tmp_path / "q")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "test code is not valid" in out.stderr
    out = subprocess.run([*KIOSK, "report", "--onset", "yesterday"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 2 and "YYYY-MM-DD" in out.stderr


def test_erase_flow_clears_server_and_token(seeded_token, server):
    async def go(client):
        async with api_of(server) as api:
            return await flows.erase_flow(client, api)

    assert history_size(seeded_token.pty)["hellos"] == 600
    result = run(with_client(seeded_token.pty, go))
    assert result.server and result.erased_on_token > 0
    assert history_size(seeded_token.pty)["hellos"] == 0


def test_retire_flow_unregisters_and_wipes_and_can_finish_a_half_done_retire(token, server):
    async def retire(client):
        async with api_of(server) as api:
            return await flows.retire_flow(client, api)

    async def unregister_only(client):  # a retire that stopped after the server step
        async with api_of(server) as api:
            await flows.set_clock_from_server(client, api)
            await api.unregister(await client.auth_request("unregister"))

    run(with_client(token.pty, unregister_only))
    result = run(with_client(token.pty, retire))
    assert result.unregistered and result.wiped and result.serial == "RT-00000001"

    async def view(client):
        return await flows.info_flow(client)

    assert run(with_client(token.pty, view)).headline == "Not provisioned"

    async def status(client):
        async with api_of(server) as api:
            await flows.status_flow(client, api)

    with pytest.raises(TokenError, match="not provisioned"):
        run(with_client(token.pty, status))


def status_check(pty: str, server, pull_cable_mid_bundle: bool = False,
                 stash: ReportQueue | None = None) -> flows.StatusResult:
    """One kiosk status check on a fresh link; optionally the cable is pulled mid-bundle."""
    async def go():
        link = SerialLink.open(pty)

        def progress(stage, done, total):
            if pull_cable_mid_bundle and stage == "bundle" and done < total:
                link._port.close()

        try:
            async with api_of(server) as api:
                return await flows.status_flow(TokenClient(link), api, progress, stash=stash)
        finally:
            await link.close()

    return run(go())


def test_status_cut_during_the_bundle_write_is_finished_by_a_retry(token, server):
    """The server answered; the cable is pulled mid-bundle. The retry must not ask the server
    again (it would refuse: too frequent) but write the answer it already has."""
    with pytest.raises(LinkLost, match="run the status check again now"):
        status_check(token.pty, server, pull_cable_mid_bundle=True)
    result = status_check(token.pty, server)
    assert result.tuples_written > 0 and result.token.headline == "Not at risk"


def test_status_answer_stashed_encrypted_survives_a_new_kiosk_process(token, server, tmp_path):
    stash = ReportQueue(tmp_path / "queue" / "status")
    with pytest.raises(LinkLost):
        status_check(token.pty, server, pull_cable_mid_bundle=True, stash=stash)
    assert len(stash) == 1
    assert b"riskLevel" not in b"".join(p.read_bytes() for p in stash.directory.iterdir())
    flows._UNDELIVERED_STATUS.clear()  # what a new `robert-kiosk status` process starts with
    result = status_check(token.pty, server, stash=stash)
    assert result.tuples_written > 0 and len(stash) == 0
