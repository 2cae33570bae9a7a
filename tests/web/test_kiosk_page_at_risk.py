"""The page end to end with real contacts: two tokens near each other in the simulated world
(real token processes on the virtual air, real server), one reports positive on the page,
the other then shows "At risk" on the page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from kiosk_page_live import KioskProcess, missing_parts

pytestmark = pytest.mark.browser


@pytest.fixture
def world(tmp_path):
    if missing_parts():
        pytest.fail(missing_parts())
    from hil_tests.sim.world import World

    with World(tmp_path / "world", seed=7) as w:
        yield w


def _open(browser, url: str, index: int):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(url)
    page.locator("#tokens button").nth(index).click()
    page.wait_for_function("!document.querySelector('#btn-status').disabled", timeout=15_000)
    return page


def test_report_on_the_page_puts_the_other_token_at_risk(world, browser, tmp_path):
    for name in ("a", "b"):
        world.add_token(name)
        world.provision(name)
    world.place("a", (0, 0))
    world.place("b", (1, 0))
    world.run_for(30 * 60)
    world.place("a", None)
    world.place("b", None)
    world.run_for(60)
    world.sync_server_clock()
    kiosk = KioskProcess(tmp_path / "kiosk", world.server.url,
                         [world.tokens["a"].pty, world.tokens["b"].pty]).start()
    try:
        page = _open(browser, kiosk.url, 0)
        page.click("#btn-report")
        page.fill("#report-code", world.desk.new_code())
        page.fill("#report-date", world.today().isoformat())
        page.check("#consent")
        page.click("#btn-report-send")
        page.wait_for_function(
            "document.querySelector('#message').textContent.startsWith('Report accepted')", timeout=60_000)
        sent = page.locator("#message").inner_text()
        assert "contacts sent" in sent and int(sent.split(": ")[1].split()[0]) >= 1, sent
        page.close()  # no page polling the tokens while the world runs

        world.run_for(35 * 60)  # the next status window
        world.sync_server_clock()
        page = _open(browser, kiosk.url, 1)
        page.click("#btn-status")
        page.wait_for_function(
            "document.querySelector('#message').textContent.startsWith('Status checked')", timeout=60_000)
        headline = page.locator("#headline")
        # robert-server randomises lastContactDate: the contact's day or the day before
        days = (world.today(), world.today() - timedelta(days=1))
        assert headline.inner_text() in [f"At risk: contact on {d.day} {d:%b}" for d in days]
        assert "risk" in headline.get_attribute("class")
        page.screenshot(path=str(tmp_path / "at-risk.png"))
        page.close()
    finally:
        kiosk.stop()
