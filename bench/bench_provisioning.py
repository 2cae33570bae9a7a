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


async def _provision_timed(pty: str, server_url: str, server_key, days: int) -> dict:
    """Seconds spent in each stage of one provisioning, and the bundle size."""
    from gateway.connect import open_link
    from gateway.robert_api import RobertApi
    from gateway.token_client import TokenClient
    from provisioning.station import TokenOptions, provision_token

    marks: list[tuple[str, float]] = []
    sizes = {"bundle": 0}

    def progress(stage: str, done: int, total: int) -> None:
        if not marks or marks[-1][0] != stage:
            marks.append((stage, time.perf_counter()))
        if stage == "bundle":
            sizes["bundle"] = total

    link = await open_link(pty)
    try:
        async with RobertApi(server_url) as api:
            start = time.perf_counter()
            await provision_token(TokenClient(link), api, server_key,
                                  TokenOptions(days=days, model="host"), lambda s: False, progress)
            end = time.perf_counter()
    finally:
        await link.close()
    spent = {s: 0.0 for s in STAGES}
    for (stage, t0), (_, t1) in zip(marks, [*marks[1:], ("end", end)], strict=True):
        spent[stage] = spent.get(stage, 0.0) + (t1 - t0)
    spent["total"] = end - start
    spent["bytes"] = sizes["bundle"]
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
    from kiosk_live import ServerProcess, TokenProcess
    from kiosk_page_live import CHROMIUM, KioskProcess

    from provisioning.keys import load_server_key

    stage_table = Table(
        "provisioning: time per stage (ms, mean of tokens), host-port tokens over ptys",
        ["days", "tokens", *STAGES, "total", "bundle bytes", "tokens/min"])
    page_table = Table("kiosk page: open -> headline shown (headless Chromium, loopback)",
                       ["loads", "median ms", "min ms", "max ms"])
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        server = ServerProcess(tmp / "server").start()
        procs: list = [server]
        try:
            key = load_server_key(server.public_key())
            warm = TokenProcess(tmp / "warm", "RT-BENCHWARM").start()  # first-call costs, untimed
            procs.append(warm)
            asyncio.run(_provision_timed(warm.pty, server.url, key, 4))
            totals = {}
            for days in (4, 30):
                runs = []
                for i in range(TOKENS_PER_CASE):
                    token = TokenProcess(tmp / f"t{days}-{i}", f"RT-BENCH{days:02d}{i}").start()
                    procs.append(token)
                    runs.append(asyncio.run(_provision_timed(token.pty, server.url, key, days)))
                mean = {k: statistics.mean(r[k] for r in runs) for k in [*STAGES, "total"]}
                totals[days] = mean["total"]
                stage_table.rows.append([days, len(runs), *(round(mean[s] * 1000, 1) for s in STAGES),
                                         round(mean["total"] * 1000, 1), runs[0]["bytes"],
                                         round(60 / mean["total"], 1)])
            stage_table.note = (f"30 days / 4 days total time ratio: {totals[30] / totals[4]:.2f} "
                                "(same run, same machine, after one untimed warm-up token). "
                                "register = POST /register + ECDH + KDF + bundle check; "
                                "provision = PROVISION + GET /clock; verify = INFO + GET /clock")
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
