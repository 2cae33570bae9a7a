"""The read-back check after provisioning: a token is only recorded as done when INFO says so."""

from __future__ import annotations

import pytest

from provisioning.errors import ProvisionError
from provisioning.station import TokenOptions, verify

NOW = 3_973_000_000


def info(**changes) -> dict:
    base = {"serial": "RT-1", "provisioned": True, "state": "ok",
            "clock": {"set": True, "ntp": NOW + 1},
            "tuples": {"count": 2880, "first_epoch": 100, "last_epoch": 2979, "remaining": 2800}}
    base.update(changes)
    return base


def test_good_token_gives_a_record_without_secrets():
    record = verify(info(), "RT-1", NOW, TokenOptions(model="esp32"))
    assert (record.serial, record.result, record.model, record.clock_error_s) == ("RT-1", "provisioned", "esp32", 1)
    assert record.tuples_last_epoch == 2979
    assert record.tuples_until.endswith("Z")


@pytest.mark.parametrize("changes, words", [
    ({"provisioned": False}, "does not report keys"),
    ({"serial": "RT-2"}, "serial reads"),
    ({"clock": {"set": False}}, "clock is not set"),
    ({"clock": {"set": True, "ntp": NOW + 60}}, "60 s off"),
    ({"tuples": {"count": 0, "remaining": 0}}, "no tuples"),
    ({"state": "sync_needed"}, "sync_needed"),
])
def test_each_failed_check_is_named(changes, words):
    with pytest.raises(ProvisionError) as err:
        verify(info(**changes), "RT-1", NOW, TokenOptions())
    assert words in err.value.message and "--factory-reset" in err.value.message
