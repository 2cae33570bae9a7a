"""The FD64 GATT exchange in the core: connectable adverts when the port runs it, any write survived."""

from fwtest import Port, Radio
from hypothesis import given, settings
from hypothesis import strategies as st
from robert_token import gatt_profile, scanner
from tokenkit import ready_token


class ExchangeRadio(Radio):
    """A port radio that runs the FD64 exchange service (ports/host/air.py, the device ports)."""

    gatt_exchange = True

    def __init__(self):
        super().__init__()
        self.connectable = None

    def advertise(self, addr6, data, interval_ms, connectable=False):
        super().advertise(addr6, data, interval_ms)
        self.connectable = connectable


def test_a_port_with_the_exchange_advertises_connectable_and_one_without_does_not():
    port, token, _ = ready_token(Port())
    token.tick()
    assert port.radio.adv is not None  # the old three-argument radio still works
    ex_port = Port()
    ex_port.radio = ExchangeRadio()
    _, token2, _ = ready_token(ex_port)
    token2.tick()
    assert ex_port.radio.connectable is True
    # nothing but flags, the UUID and the HELLO service data: no name, no serial
    data = ex_port.radio.adv[1]
    assert scanner.parse_advert(data) is not None and len(data) == 3 + 4 + 22
    assert b"RT-" not in data


_port, _token, _ = ready_token(Port())
_token.tick()


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.binary(max_size=80), st.text(max_size=20), st.none(), st.integers()), st.integers(-127, 20))
def test_any_write_is_refused_or_logged_never_raised(payload, rssi):
    before = _token.heard["hellos"]
    got = _token.on_hello_payload(payload, rssi, _port.clock.ticks_ms())
    assert got in (True, False)
    if got:
        assert gatt_profile.EXCHANGE_PAYLOAD_MIN <= len(payload) <= gatt_profile.EXCHANGE_PAYLOAD_MAX
        assert _token.heard["hellos"] == before + 1


def _exchange_token(count):
    port = Port()
    port.radio = ExchangeRadio()
    _, token, _ = ready_token(port, count=count)
    token.tick()
    return port, token


def test_daily_sync_window_shows_only_the_sync_service_then_the_hello_comes_back():
    from robert_token.token import SYNC_ADVERT

    port, token = _exchange_token(4 * 96)
    now = token.clock.ntp()
    start, end = token.sync_window(now)
    assert 0 < end - start == token.schedule["sync_window_s"] and start - now < 86400
    assert scanner.parse_advert(port.radio.adv[1]) is not None
    port.clock.advance((start - now) * 1000 + 10)
    token.tick()
    addr, data, interval = port.radio.adv
    assert data == SYNC_ADVERT and port.radio.connectable is True and interval == 200
    assert scanner.parse_advert(data) is None and b"RT-" not in data  # no HELLO, no name, no serial
    assert token.info()["sync"]["in_window"] is True
    port.clock.advance(token.schedule["sync_window_s"] * 1000 + 10)
    token.tick()
    assert scanner.parse_advert(port.radio.adv[1]) is not None, "the HELLO advert is back"
    assert token.info()["sync"]["window_at"] == start + 86400


def test_led_says_sync_needed_a_day_before_the_identifiers_run_out():
    port, token = _exchange_token(4 * 96)
    until = token.protected_until()
    assert token.info()["sync"]["protected_until"] == until
    assert port.led.pattern == "ok"
    now = token.clock.ntp()
    port.clock.advance((until - 86400 - now - 60) * 1000)
    token.tick()
    assert port.led.pattern == "ok"
    port.clock.advance(120 * 1000)
    token.tick()
    assert port.led.pattern == "sync_needed" and token.state() == "ok"  # still advertising
