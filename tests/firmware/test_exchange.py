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
