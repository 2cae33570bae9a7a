"""RobertApi's failure handling against a real HTTP server that answers as scripted.

(The flows are tested against the real robert-server; here we need answers the
stub never gives on purpose: 503s, silence, broken JSON.)
"""

import asyncio
import json
import socket

import pytest

from gateway.errors import ServerError, ServerUnreachable
from gateway.robert_api import InDoubt, RobertApi, clock_ntp


def run(coro_fn):
    async def go():
        return await coro_fn()
    return asyncio.run(go())


def api_for(url, **kw):
    return RobertApi(url, timeout=kw.pop("timeout", 2.0), backoff=0.01, **kw)


def test_5xx_is_retried_then_succeeds_on_the_v6_path(scripted):
    s = scripted((503, "", 0), (502, "", 0), (200, {"riskLevel": 0}, 0))

    async def go():
        async with api_for(s.url) as api:
            return await api.status({"ebid": "x"})

    assert run(go) == {"riskLevel": 0}
    assert [r[1] for r in s.requests] == ["/api/v6/status"] * 3
    assert json.loads(s.requests[0][2]) == {"ebid": "x"}


def test_report_is_never_reposted_after_a_5xx_or_a_silent_server(scripted):
    s = scripted((503, "", 0))

    async def go(url, timeout=2.0):
        async with api_for(url, timeout=timeout) as api:
            return await api.report("ABCDEF", [])

    with pytest.raises(ServerError) as err:
        run(lambda: go(s.url))
    assert err.value.http_status == 503 and len(s.requests) == 1
    slow = scripted((200, {"success": True}, 1.0))
    with pytest.raises(InDoubt):
        run(lambda: go(slow.url, timeout=0.3))
    assert len(slow.requests) == 1


def test_4xx_are_final_and_in_plain_words(scripted):
    s = scripted((401, {"message": "bad token"}, 0), (400, "", 0))

    async def go():
        async with api_for(s.url) as api:
            with pytest.raises(ServerError) as err:
                await api.report("ABCDEF", [])
            assert err.value.http_status == 401 and "already used" in err.value.message
            with pytest.raises(ServerError) as err:
                await api.status({})
            assert "30 minutes" in err.value.message

    run(go)
    assert len(s.requests) == 2


def test_nothing_listening_is_unreachable_after_retries():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()

    async def go():
        async with api_for(f"http://127.0.0.1:{port}", retries=2) as api:
            await api.clock()

    with pytest.raises(ServerUnreachable) as err:
        run(go)
    assert err.value.exit_code == 4 and "cannot be reached" in err.value.message


def test_non_json_answer_is_a_server_error(scripted):
    s = scripted((200, "<html>proxy login</html>", 0))

    async def go():
        async with api_for(s.url) as api:
            await api.clock()

    with pytest.raises(ServerError, match="not valid JSON"):
        run(go)


@pytest.mark.parametrize("clock, ntp", [
    ({"time": 3973000000}, 3973000000), ({"time": "3973000000"}, 3973000000),
    ({"time": "2025-11-23T12:00:00Z"}, 1763899200 + 2208988800),
    ({"time": "2025-11-23T12:00:00"}, 1763899200 + 2208988800),
])
def test_clock_time_as_ntp_or_iso(clock, ntp):
    assert clock_ntp(clock) == ntp


@pytest.mark.parametrize("clock", [{}, {"time": None}, {"time": "soon"}, {"time": 12}, []])
def test_bad_clock_is_a_server_error(clock):
    with pytest.raises(ServerError, match="clock"):
        clock_ntp(clock)


@pytest.mark.parametrize("url", ["", "foo", "ftp://x.org", "http://", "http://[::1", "://a"])
def test_bad_server_address_is_a_usage_error(url):
    from gateway.errors import UsageError

    with pytest.raises(UsageError, match="server address"):
        RobertApi(url)


def test_server_address_keeps_a_path_prefix():
    assert RobertApi("https://robert.example.org/proxy/").base_url == \
        "https://robert.example.org/proxy"
