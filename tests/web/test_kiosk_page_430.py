"""The kiosk page on a token whose registration the server no longer knows (HTTP 430, as
robert-server answers after an unregister): the job fails with the plain words
"re-provision it" (the page shows a failed job's `error`)."""

from __future__ import annotations

import asyncio
import time

import pytest
from kiosk_page_live import KioskProcess, missing_parts, server_in, token_in


def test_status_of_a_token_gone_from_the_server_says_re_provision(tmp_path):
    from provisioning import cli

    if missing_parts():
        pytest.fail(missing_parts())
    server = server_in(tmp_path / "server").start()
    token = token_in(tmp_path / "tok", "RT-W0000430").start()
    kiosk = None
    try:
        assert cli.main(["token", "--port", token.pty, "--server", server.url,
                         "--server-key", server.public_key()]) == 0
        asyncio.run(_unregister(token.pty, server.url))
        kiosk = KioskProcess(tmp_path / "kiosk", server.url, [token.pty]).start()
        token_id = kiosk.token_ids()[0]  # random ids, the page's secret (issue 10)
        job = kiosk.api("POST", f"/api/tokens/{token_id}/status", json={}).json()
        deadline = time.monotonic() + 60
        while job["state"] == "running" and time.monotonic() < deadline:
            time.sleep(0.2)
            job = kiosk.api("GET", f"/api/jobs/{job['id']}").json()
        assert job["state"] == "failed", job
        assert "registration is gone" in job["error"] and "re-provision" in job["error"]
    finally:
        if kiosk:
            kiosk.stop()
        token.kill()
        server.stop()


async def _unregister(pty: str, url: str) -> None:
    from gateway import flows
    from gateway.connect import open_link
    from gateway.robert_api import RobertApi
    from gateway.token_client import TokenClient

    link = await open_link(pty)
    try:
        client = TokenClient(link)
        async with RobertApi(url) as api:
            await flows.set_clock_from_server(client, api)
            await api.unregister(await client.auth_request("unregister"))
    finally:
        await link.close()
