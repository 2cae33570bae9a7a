"""Provisioning station and kiosk page benchmarks, all real on loopback.

- Time of each provisioning stage (register, PROVISION, SET_TIME, bundle, verify) for a few
  host-port tokens against a robert-server process, for 4 and 30 days of tuples (bundle size
  and write time grow with the days: the ratio is measured in the same run).
- Time from opening the kiosk page in headless Chromium to the token's headline shown.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "gateway"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "web"))

TOKENS_PER_CASE = 3
PAGE_LOADS = 5
STAGES = ("info", "register", "provision", "clock", "bundle", "verify")
# The station's progress labels (provisioning.station.provision_token) -> the columns above.
# "writing the tuples" is reported after each chunk; the bundle stage is marked when
# write_bundle is called instead (_MeasuredClient), so its first chunk is not counted as clock.
STAGE_OF_LABEL = {"reading the token": "info", "registering with the server": "register",
                  "factory reset": "provision", "writing the keys": "provision",
                  "setting the clock": "clock", "writing the tuples": None, "verifying": "verify",
                  "done": "end"}


def _client_class():
    from gateway.token_client import TokenClient

    class MeasuredClient(TokenClient):
        """The kiosk's client, noting when the bundle write starts and its size."""

        def __init__(self, link, mark) -> None:
            super().__init__(link)
            self.mark = mark
            self.bundle_bytes = 0

        async def write_bundle(self, blob: bytes, progress=None) -> dict:
            self.mark("bundle")
            self.bundle_bytes = len(blob)
            return await super().write_bundle(blob, progress)

    return MeasuredClient


def stage_seconds(marks: list[tuple[str, float]]) -> dict[str, float]:
    """Seconds per stage from (stage, time it began) marks ending with ("end", t)."""
    if not marks or marks[-1][0] != "end":
        raise ValueError(f"the provisioning did not reach its end: {[m[0] for m in marks]}")
    spent = {s: 0.0 for s in STAGES}
    for (stage, t0), (_, t1) in zip(marks, marks[1:], strict=False):
        spent[stage] += t1 - t0
    return spent


async def _provision_timed(pty: str, server_url: str, server_key, days: int) -> dict:
    """Seconds spent in each stage of one provisioning, and the bundle size."""
    from gateway.connect import open_link
    from gateway.robert_api import RobertApi
    from provisioning.station import TokenOptions, provision_token

    marks: list[tuple[str, float]] = []

    def mark(stage: str) -> None:
        if not marks or marks[-1][0] != stage:
            marks.append((stage, time.perf_counter()))

    def progress(label: str, done: int, total: int) -> None:
        if label not in STAGE_OF_LABEL:  # a renamed stage must not silently read as 0 ms
            raise KeyError(f"unknown provisioning stage {label!r}: update STAGE_OF_LABEL")
        if STAGE_OF_LABEL[label]:
            mark(STAGE_OF_LABEL[label])

    link = await open_link(pty)
    try:
        async with RobertApi(server_url) as api:
            client = _client_class()(link, mark)
            start = time.perf_counter()
            await provision_token(client, api, server_key,
                                  TokenOptions(days=days, model="host"), lambda s: False, progress)
            end = time.perf_counter()
    finally:
        await link.close()
    spent = stage_seconds(marks)
    spent["total"] = end - start
    spent["bytes"] = client.bundle_bytes
    return spent


def _page_headline_ms(kiosk_url: str) -> list[float]:
    from kiosk_page_live import CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for _ in range(PAGE_LOADS):
            page = browser.new_page()
            start = time.perf_counter()
            page.goto(kiosk_url)
            page.wait_for_function("document.querySelector('#headline').textContent.length > 0")
            times.append((time.perf_counter() - start) * 1000)
            page.close()
        browser.close()
    return times


def run() -> list[Table]:
    from kiosk_live import server_in, token_in
    from kiosk_page_live import CHROMIUM, KioskProcess

    from provisioning.keys import load_server_key

    stage_table = Table(
        "provisioning: time per stage (ms, mean of tokens), host-port tokens over ptys",
        ["days", "tokens", *STAGES, "total", "bundle bytes", "tokens/min"])
    page_table = Table("kiosk page: open -> headline shown (headless Chromium, loopback)",
                       ["loads", "median ms", "min ms", "max ms"])
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        server = server_in(tmp / "server").start()
        procs: list = [server]
        try:
            key = load_server_key(server.public_key())
            warm = token_in(tmp / "warm", "RT-BENCHWARM").start()  # first-call costs, untimed
            procs.append(warm)
            asyncio.run(_provision_timed(warm.pty, server.url, key, 4))
            totals, covered = {}, {}
            for days in (4, 30):
                runs = []
                for i in range(TOKENS_PER_CASE):
                    token = token_in(tmp / f"t{days}-{i}", f"RT-BENCH{days:02d}{i}").start()
                    procs.append(token)
                    runs.append(asyncio.run(_provision_timed(token.pty, server.url, key, days)))
                mean = {k: statistics.mean(r[k] for r in runs) for k in [*STAGES, "total"]}
                totals[days] = mean["total"]
                covered[days] = sum(mean[s] for s in STAGES) / mean["total"]
                stage_table.rows.append([days, len(runs), *(mean[s] * 1000 for s in STAGES),
                                         mean["total"] * 1000, runs[0]["bytes"],
                                         60 / mean["total"]])
            stage_table.note = (f"30 days / 4 days total time ratio: {totals[30] / totals[4]:.2f} "
                                f"(the stages cover {min(covered.values()):.1%} of the total or more) "
                                "(same run, same machine, after one untimed warm-up token). "
                                "info = INFO; register = POST /register + ECDH + KDF + bundle check; "
                                "provision = PROVISION; clock = GET /clock + SET_TIME; "
                                "bundle = BUNDLE_WRITE chunks + BUNDLE_COMMIT; "
                                "verify = INFO + GET /clock")
            if CHROMIUM.exists():
                kiosk = KioskProcess(tmp / "kiosk", server.url, [warm.pty]).start()
                procs.append(kiosk)
                ms = _page_headline_ms(kiosk.url)
                page_table.rows.append([len(ms), round(statistics.median(ms), 1),
                                        round(min(ms), 1), round(max(ms), 1)])
            else:
                page_table.note = f"not measured: no Chromium at {CHROMIUM}"
        finally:
            for proc in reversed(procs):
                proc.stop()
    return [stage_table, page_table]
