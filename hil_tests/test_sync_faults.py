"""Scenario 5: report syncs cut or garbled at random points; delivered once, nothing lost.

The kiosk's own flows run over a link that fails at a random byte (pty
closed, or garbage slipped in). The kiosk retries as a pharmacist would (the
same code; the queue's retry when the report is already out) until it is done.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from gateway import flows
from gateway.errors import KioskError
from gateway.history import parse_entries
from gateway.robert_api import RobertApi
from gateway.token_client import TokenClient
from gateway.transport.serial import SerialLink
from hil_tests.faults import FaultyLink

TRIALS = 4
MAX_ATTEMPTS = 8


class RecordingApi(RobertApi):
    """The kiosk's ROBERT client, noting every report the server accepted."""

    accepted: list[tuple[str, frozenset]] = []

    async def report(self, token: str, contacts: list[dict]) -> dict:
        answer = await super().report(token, contacts)
        hellos = frozenset((c["ebid"], h["timeCollectedOnDevice"], h["mac"])
                           for c in contacts for h in c["ids"])
        self.accepted.append((token, hellos))
        return answer


def _hellos(stream: bytes) -> frozenset:
    import base64

    out, ebid = set(), None
    for e in parse_entries(stream):
        if e[0] == "contact":
            ebid = base64.b64encode(e[2]).decode()
        else:
            out.add((ebid, e[1], base64.b64encode(e[3]).decode()))
    return frozenset(out)


async def snapshot(client, api, onset):
    """The HELLOs a report made now would carry (read without ACK)."""
    end = flows.clock_ntp(await api.clock())
    start = flows.date_to_ntp(flows.report_window_start(onset, None, onset))
    _, stream = await flows.read_whole_history(client, start, end, lambda *x: None)
    return _hellos(stream)


async def attempt(bench, port, api_url, code, onset, wrap, fired):
    """One go at the kiosk: the report flow, or the queue's retry when the report is out."""
    link = wrap(SerialLink.open(port))
    try:
        async with RecordingApi(api_url, timeout=10, backoff=0.05, retries=2) as api:
            client = TokenClient(link, timeout=1.0, retries=2)
            if len(bench.kiosk.queue):
                return (await flows.retry_flow(client, api, bench.kiosk.queue))[0]
            return await flows.report_flow(client, api, code, onset=onset, consent=True,
                                           queue=bench.kiosk.queue)
    finally:
        fired.append(link.fired)
        await link.close()


@pytest.mark.sim_only  # needs the contacts the simulated world makes
def test_interrupted_reports_are_delivered_once_and_nothing_is_lost(bench):
    rng = random.Random(5)
    a, b = bench.tokens(2)
    bench.provision(a)
    bench.provision(b)
    bench.place(a, (0, 0))
    bench.place(b, (1, 0))
    RecordingApi.accepted = []
    api_url = bench.kiosk.server_url
    fired: list[bool] = []

    for trial in range(TRIALS):
        bench.advance(20 * 60)
        code = bench.kiosk.new_code()
        onset = bench.today()

        expected = bench.on_port(a, lambda client, api, onset=onset: snapshot(client, api, onset))
        assert expected, "no contact to report"

        done, errors = None, []
        for n in range(MAX_ATTEMPTS):
            mode = "garbage" if rng.random() < 0.4 else "cut"
            at = rng.randrange(1, 1200) if n < MAX_ATTEMPTS - 2 else 10**9  # the last ones clean
            bench.world.sync_server_clock()
            try:
                result = asyncio.run(attempt(bench, a.port, api_url, code, onset,
                                             FaultyLink.factory(at, mode, rng), fired))
            except KioskError as exc:
                errors.append(exc.message)
                continue
            if result.delivered and result.acknowledged:
                done = result
                break
            errors.append(result.message)
        assert done is not None, f"trial {trial}: never delivered: {errors}"
        mine = [h for c, h in RecordingApi.accepted if c == code]
        assert len(mine) == 1, f"trial {trial}: the report went {len(mine)} times"
        assert mine[0] == expected, f"trial {trial}: HELLOs lost or added on the way"
        assert len(bench.kiosk.queue) == 0
    assert sum(fired) >= TRIALS, "the faults hardly ever hit: the test proves little"
