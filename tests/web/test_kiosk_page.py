"""The kiosk page in a real headless Chromium against real `robert-kiosk serve`, server and token."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

pytestmark = pytest.mark.browser


def test_status_then_report_with_consent(system, browser, tmp_path):
    kiosk, server = system["kiosk"], system["server"]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(kiosk.url)
    first = page.locator("#tokens button").first
    first.wait_for()
    assert "RT-W0000001" in first.inner_text()
    headline = page.locator("#headline")
    headline.wait_for()
    # Freshly provisioned: working, but the server was never asked about it.
    assert headline.inner_text() == "Status not checked yet"

    page.evaluate("""() => {  // record every progress shown while the flow runs
        window.progressSeen = [];
        const box = document.querySelector('#progress-box');
        new MutationObserver(() => { if (!box.hidden) window.progressSeen.push(
            document.querySelector('#progress-label').textContent); })
          .observe(box, {attributes: true, subtree: true, childList: true, characterData: true});
    }""")
    page.click("#btn-status")
    message = page.locator("#message")
    page.wait_for_function("document.querySelector('#message').textContent.startsWith('Status checked')",
                           timeout=30_000)
    assert "Not at risk" in message.inner_text()
    assert headline.inner_text() == "Not at risk"
    assert "ok" in headline.get_attribute("class")
    assert page.evaluate("window.progressSeen.length") > 0  # progress was on screen
    assert page.locator("#progress-box").is_hidden()  # and is gone once done
    page.screenshot(path=str(tmp_path / "status.png"))

    # The report: code, onset date, the consent step; Send stays disabled until consent.
    code = server.new_code()
    page.click("#btn-report")
    page.fill("#report-code", code)
    page.fill("#report-date", dt.date.today().isoformat())
    assert page.locator("#btn-report-send").is_disabled()
    page.check("#consent")
    assert page.locator("#btn-report-send").is_enabled()
    page.screenshot(path=str(tmp_path / "report-form.png"), full_page=True)
    page.click("#btn-report-send")
    page.wait_for_function("document.querySelector('#message').textContent.startsWith('Report accepted')",
                           timeout=30_000)
    page.screenshot(path=str(tmp_path / "report-done.png"))
    # The server really took it: the single-use code is now spent.
    again = httpx.post(server.url + "/api/v6/report", json={"token": code, "contacts": []}, timeout=10)
    assert again.status_code == 401
    page.close()


def test_wrong_code_is_shown_in_plain_words_and_loses_nothing(system, browser):
    kiosk = system["kiosk"]
    page = browser.new_page()
    page.goto(kiosk.url)
    page.locator("#tokens button").first.wait_for()
    page.wait_for_function("!document.querySelector('#btn-report').disabled")
    page.click("#btn-report")
    page.fill("#report-code", "ZZZZZZ")  # well-formed, but never issued by the server
    page.fill("#report-date", dt.date.today().isoformat())
    page.check("#consent")
    page.click("#btn-report-send")
    page.wait_for_function("document.querySelector('#message').classList.contains('error')",
                           timeout=30_000)
    text = page.locator("#message").inner_text()
    assert "code" in text and "nothing was erased" in text
    page.close()


def test_unprovisioned_token_and_keyboard_use(system, browser):
    kiosk = system["kiosk"]
    page = browser.new_page()
    page.goto(kiosk.url)
    buttons = page.locator("#tokens button")
    buttons.nth(1).wait_for()
    buttons.nth(1).focus()
    page.keyboard.press("Enter")  # select the second token with the keyboard
    page.wait_for_function("document.querySelector('#headline').textContent === 'Not provisioned'")
    assert page.locator("#btn-status").is_disabled()
    assert page.locator("#btn-report").is_disabled()
    # The list refreshes every few seconds: keyboard focus stays on the same token.
    second = kiosk.token_ids()[1]
    assert page.evaluate("document.activeElement.dataset.token") == second
    page.evaluate("refreshList()")
    assert page.evaluate("document.activeElement.dataset.token") == second
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")  # back to the first token, still by keyboard
    page.wait_for_function("document.querySelector('#headline').textContent !== 'Not provisioned'")
    page.close()


def test_page_never_shows_key_material(system, browser):
    """Whatever the page and its API show, nothing looks like a 32-byte key."""
    import re

    kiosk = system["kiosk"]
    page = browser.new_page()
    page.goto(kiosk.url)
    page.locator("#tokens button").first.wait_for()
    api = kiosk.api("GET", "/api/tokens").text
    for text in (page.content(), api):
        assert not re.search(r"[0-9a-fA-F]{64}", text)
        assert not re.search(r"[A-Za-z0-9+/]{43}=", text)
    page.close()


def test_erase_then_retire_with_confirmation(system, browser):
    """Last in this module: it wipes the provisioned token."""
    kiosk = system["kiosk"]
    page = browser.new_page()
    page.goto(kiosk.url)
    page.wait_for_function("!document.querySelector('#btn-erase').disabled")
    page.click("#btn-erase")
    assert "cannot be undone" in page.locator("#confirm-text").inner_text()
    page.click("#btn-confirm-cancel")  # cancel does nothing
    assert page.locator("#confirm").is_hidden() and page.locator("#message").is_hidden()
    page.click("#btn-erase")
    page.click("#btn-confirm")
    page.wait_for_function("document.querySelector('#message').textContent.startsWith('History erased')",
                           timeout=30_000)
    page.click("#btn-retire")
    assert page.locator("#btn-confirm").is_disabled()  # the serial must be typed, as WIPE in the CLI
    page.fill("#confirm-serial", "RT-W0000009")
    assert page.locator("#btn-confirm").is_disabled()
    page.fill("#confirm-serial", "RT-W0000001")
    page.click("#btn-confirm")
    page.wait_for_function("document.querySelector('#message').textContent.includes('retired')",
                           timeout=30_000)
    page.wait_for_function("document.querySelector('#headline').textContent === 'Not provisioned'",
                           timeout=15_000)
    page.close()
