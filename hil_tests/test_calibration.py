"""A board calibrated with the bench procedure reads like a reference phone to the server."""

from hil_tests.sim.calibration import ANDROID_DEFAULT, calibrated, gains_from_bench
from hil_tests.sim.channel import Channel


def test_a_calibrated_board_gives_the_reference_pair_s_rssi():
    ch = Channel()
    board_tx, board_rx = -4.0, -7.0  # the board radiates 4 dB less and hears 7 dB worse than a phone
    # the bench at 1 m: what each pair measures on average
    rr = ch.mean_rssi(1.0)
    br = ch.mean_rssi(1.0, board_tx)
    rb = ch.mean_rssi(1.0) + board_rx
    tx, rx = gains_from_bench(rr, br, rb)
    assert (tx, rx) == (ANDROID_DEFAULT[0] - 4, ANDROID_DEFAULT[1] - 7)
    phone_tx, phone_rx = ANDROID_DEFAULT
    for d in (0.5, 2.0, 5.0):
        ref = calibrated(ch.mean_rssi(d), phone_tx, phone_rx)
        assert calibrated(ch.mean_rssi(d, board_tx), tx, phone_rx) == ref  # phone hears board
        assert calibrated(ch.mean_rssi(d) + board_rx, phone_tx, rx) == ref  # board hears phone
        assert calibrated(ch.mean_rssi(d, board_tx) + board_rx, tx, rx) == ref  # board hears board
