"""The token models the station knows, with the RSSI calibration written into each token.

The gains enter `rssiCalibrated = rssiRaw - txGain(peer) - rxGain(self)` (ROBERT-PROTOCOL.md).
They are per-model defaults from the board's antenna and front end; a model measured in a
test chamber gets its measured values here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TokenModel:
    name: str
    tx_gain: int  # dB, integer (the PROVISION JSON carries integers)
    rx_gain: int
    description: str


MODELS: dict[str, TokenModel] = {
    m.name: m
    for m in (
        TokenModel("nrf52840", tx_gain=-5, rx_gain=-10, description="nRF52840 coin-cell token, PCB antenna"),
        TokenModel("esp32", tx_gain=-2, rx_gain=-6, description="ESP32 token, PCB antenna"),
        TokenModel("host", tx_gain=0, rx_gain=0, description="host-port simulation (no radio front end)"),
    )
}


def model_named(name: str) -> TokenModel:
    """The model called `name`, or ValueError listing the known ones."""
    try:
        return MODELS[name]
    except KeyError:
        known = ", ".join(sorted(MODELS))
        raise ValueError(f"unknown token model {name!r}; known models: {known}") from None
