"""Calibration gains of a new board on the apps' scale, from a bench measurement with reference phones.

The server's thresholds are in calibrated RSSI: `raw - txGain(peer) - rxGain(self)`
(ROBERT-PROTOCOL.md). A token is on the apps' scale when, at the same distance,
it gives the server the same calibrated RSSI as a reference phone would. With
two reference phones R1, R2 (an Android model of the app's table: tx -30, rx -5)
and the board B at the same fixed distance (1 m, same fixture, same
orientation, many adverts averaged):

- `rr`: mean raw RSSI R2 hears from R1;
- `br`: mean raw RSSI R2 hears from B (B transmits);
- `rb`: mean raw RSSI B hears from R1 (B receives).

B radiates `br - rr` dB more than a reference phone and hears `rb - rr` dB
better, so its gains are the reference's plus those differences. Then every
pair (board-phone, phone-board, board-board) gives the reference pair's
calibrated RSSI on average (`calibrated`, tested against the channel model).
"""

from __future__ import annotations

ANDROID_DEFAULT = (-30, -5)  # the app's calibration table, DEFAULT row (tx, rx)


def gains_from_bench(rr: float, br: float, rb: float,
                     reference: tuple[int, int] = ANDROID_DEFAULT) -> tuple[int, int]:
    """(tx_gain, rx_gain) to provision the board with (integers, as PROVISION carries them)."""
    return round(reference[0] + (br - rr)), round(reference[1] + (rb - rr))


def calibrated(raw: float, tx_gain_peer: float, rx_gain_self: float) -> float:
    return raw - tx_gain_peer - rx_gain_self
