"""Fixtures of the kiosk page tests (helpers in kiosk_page_live.py, a name no other folder uses)."""

from kiosk_page_live import browser, system  # noqa: F401 (fixtures)
