"""The kiosk against the server as the real one answers (robert-server + submission-code
service, as the stub now follows them): every code kind, 430 after the registration is gone,
a contact's HELLOs sent in reception order."""

from __future__ import annotations

import importlib
import json
import struct
import subprocess
from datetime import date

import pytest

importlib.import_module("robert_token.frame")

from kiosk_live import KIOSK, api_of, run, with_client  # noqa: E402

from gateway import flows  # noqa: E402
from gateway.errors import ServerError, UsageError  # noqa: E402
from gateway.history import TAG_CONTACT, TAG_HELLO, to_report_contacts  # noqa: E402
from gateway.report_queue import ReportQueue  # noqa: E402


@pytest.mark.parametrize("kind", ["test", "jwt"])
def test_report_with_a_test_or_jwt_code_is_delivered(token, server, tmp_path, kind):
    """The kiosk used to refuse both before asking the server (6 characters or a UUID only)."""
    code = server.new_code(kind=kind)
    typed = code.lower() if kind == "test" else code

    async def go(client):
        async with api_of(server) as api:
            return await flows.report_flow(client, api, typed, test_date=date.today(),
                                           consent=True, queue=ReportQueue(tmp_path / kind))

    result = run(with_client(token.pty, go))
    assert result.delivered and result.acknowledged


def test_a_registration_gone_from_the_server_says_re_provision(token, server):
    async def unregister(client):
        async with api_of(server) as api:
            await flows.set_clock_from_server(client, api)
            return await api.unregister(await client.auth_request("unregister"))

    assert run(with_client(token.pty, unregister))["success"] is True

    async def status(client):
        async with api_of(server) as api:
            return await flows.status_flow(client, api)

    with pytest.raises(ServerError) as err:
        run(with_client(token.pty, status))
    assert err.value.http_status == 430 and "re-provision" in err.value.message
    out = subprocess.run([*KIOSK, "status", "--port", token.pty, "--server", server.url, "--json"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "re-provision" in json.loads(out.stdout or out.stderr)["error"]


@pytest.mark.parametrize("code, expected", [
    (" 4k7p2q ", "4K7P2Q"), ("ab12cd34ef56", "AB12CD34EF56"),
    ("3F2504E0-4F89-11D3-9A0C-0305E82C3301", "3f2504e0-4f89-11d3-9a0c-0305e82c3301"),
    ("eyJhbGciOiJFUzI1NiJ9.eyJqdGkiOiJ4In0.AbC", "eyJhbGciOiJFUzI1NiJ9.eyJqdGkiOiJ4In0.AbC"),
    ("ABC", "ABC"), ("ABCDEFG", "ABCDEFG")])
def test_every_code_kind_passes_the_kiosk_for_the_server_to_decide(code, expected):
    assert flows.check_code(code) == expected


@pytest.mark.parametrize("code, words", [("", "empty"), ("   ", "empty"),
                                         ("AB 12CD", "a space"), ("ÀBCDEF", "'À'"),
                                         ("x" * 5000, "longer than any report code")])
def test_what_the_kiosk_refuses_it_names(code, words):
    with pytest.raises(UsageError, match=words):
        flows.check_code(code)


def _contact(ebid: bytes) -> bytes:
    return bytes([TAG_CONTACT, 0x21]) + ebid


def _hello(t: int, rssi: int = -50) -> bytes:
    return bytes([TAG_HELLO]) + struct.pack(">IH", t, t & 0xFFFF) + b"M" * 5 + struct.pack(">b", rssi)


def test_hellos_of_a_contact_go_in_reception_order():
    """A contact logged in two batches, the later-heard batch first in the stream: robert-server
    starts its 1-minute bins at the first HELLO in list order, so the kiosk sorts them."""
    ebid = b"E" * 8
    stream = (_contact(ebid) + _hello(5000) + _hello(5010)
              + _contact(b"F" * 8) + _hello(4000)
              + _contact(ebid) + _hello(4900) + _hello(4950) + _hello(4950, -60))
    contacts = to_report_contacts(stream)
    times = [h["timeCollectedOnDevice"] for h in contacts[0]["ids"]]
    assert times == [4900, 4950, 4950, 5000, 5010]
    assert [h["rssiCalibrated"] for h in contacts[0]["ids"]][1:3] == [-50, -60]  # stable
