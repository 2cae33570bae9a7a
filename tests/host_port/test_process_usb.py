"""`robert-token` as a real process, spoken to over its pty with pyserial."""

from __future__ import annotations

import importlib
import json
import os
import struct
import threading
import time

import serial

frame = importlib.import_module("robert_token.frame")
importlib.import_module("robert_token.sync")

from .usb_kiosk import UsbKiosk  # noqa: E402


def ntp_now() -> int:
    return int(time.time()) + 2208988800


def provision_payload(serial_no: str) -> bytes:
    config = {"cc": 33, "rx_gain": -10, "tx_gain": -5, "serial": serial_no, "model": "nrf52840"}
    return os.urandom(32) + os.urandom(32) + b"\x01" + os.urandom(5) + json.dumps(config).encode()


def test_prints_pty_then_ready_and_answers_info(spawn_token, tmp_path):
    link = tmp_path / "usb0"
    token = spawn_token("--serial", "RT-00000007", "--model", "nrf52840", "--pty-link", str(link))
    assert token.pty.startswith("/dev/pts/")
    assert os.path.realpath(link) == token.pty
    with UsbKiosk(str(link)) as kiosk:
        info = kiosk.info()
    assert info["proto"] == 1
    assert info["serial"] == "RT-00000007"
    assert info["model"] == "nrf52840"
    assert info["provisioned"] is False
    assert info["state"] == "not_provisioned"
    assert info["led"] == "not_provisioned", "the LED pattern is shown in INFO"
    assert "LED not_provisioned" in token.log()
    assert token.stop() == 0
    assert not os.path.lexists(link), "the --pty-link symlink is removed on a clean stop"


def test_set_time_echo_and_garbage(spawn_token):
    token = spawn_token("--serial", "RT-00000008")
    with UsbKiosk(token.pty) as kiosk:
        kiosk.ok(frame.PROVISION, provision_payload("RT-00000008"))
        answer = kiosk.json(frame.SET_TIME, {"ntp": ntp_now() + 3600})
        assert 3590 <= answer["correction"] <= 3610, answer
        assert kiosk.info()["clock"]["set"] is True

        blob = (bytes(range(256)) * 8)[:2047]  # the largest echo: the answer adds a status byte
        assert kiosk.ok(frame.ECHO, blob) == blob

        kiosk.send(b"line noise\r\n")  # skipped, counted as garbage
        bad = bytearray(frame.encode(frame.ECHO, 77, b"abc"))
        bad[-1] ^= 0xFF  # CRC broken
        kiosk.send(bytes(bad))
        ok, ftype, seq, payload = kiosk.next_event()
        assert (ok, ftype, seq) == (True, 0xFF, 0)
        assert payload[0] == frame.BAD_FRAME and b"CRC" in payload[1:]

        status, body = kiosk.request(0x55)
        assert status == frame.UNKNOWN_COMMAND and body

        link = kiosk.info()["link"]
        assert link["garbage"] >= len(b"line noise\r\n")
        assert link["bad_frames"] >= 1


def test_kiosk_reconnects_to_the_same_pty(spawn_token):
    token = spawn_token("--serial", "RT-00000009")
    for round_ in range(3):
        with UsbKiosk(token.pty) as kiosk:
            assert kiosk.ok(frame.ECHO, b"round %d" % round_) == b"round %d" % round_
            if round_ == 1:  # cable pulled in the middle of a frame
                kiosk.send(frame.encode(frame.ECHO, 9, b"x" * 100)[:40])
    with UsbKiosk(token.pty) as kiosk:
        time.sleep(2.2)  # the half frame is older than 2 s: dropped, not glued to the next
        assert kiosk.info()["serial"] == "RT-00000009"


def test_power_cut_mid_write_keeps_state(spawn_token, tmp_path):
    state = tmp_path / "flash"
    token = spawn_token("--serial", "RT-00000010", state=state)
    with UsbKiosk(token.pty) as kiosk:
        kiosk.ok(frame.PROVISION, provision_payload("RT-00000010"))
        kiosk.json(frame.SET_TIME, {"ntp": ntp_now()})
        before = kiosk.info()

    stop = threading.Event()
    written = []

    def hammer() -> None:
        """Bundle chunks as fast as the token takes them, until the power goes."""
        try:
            with UsbKiosk(token.pty, timeout=2) as kiosk:
                offset = 0
                while not stop.is_set():
                    kiosk.request(frame.BUNDLE_WRITE, struct.pack(">I", offset) + b"\xa5" * 1024)
                    offset += 1024
                    written.append(offset)
        except (TimeoutError, OSError, serial.SerialException, AssertionError):
            pass

    writer = threading.Thread(target=hammer)
    writer.start()
    deadline = time.monotonic() + 10
    while len(written) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    token.kill()  # power cut while the token is writing flash
    stop.set()
    writer.join(10)
    assert written, "no bundle chunk was accepted before the cut"

    token = spawn_token("--serial", "RT-00000010", state=state)
    with UsbKiosk(token.pty) as kiosk:
        after = kiosk.info()
        assert after["provisioned"] is True
        assert after["serial"] == "RT-00000010"
        assert after["clock"]["set"] is True
        assert after["tuples"] == before["tuples"], "a half-staged bundle must not touch tuples"
        status, body = kiosk.request(frame.PROVISION, provision_payload("RT-00000010"))
        assert status == frame.ALREADY_PROVISIONED, "keys survived the cut"
        received = json.loads(kiosk.ok(frame.BUNDLE_WRITE, struct.pack(">I", 0) + b"\x5a" * 64))
        assert received["received"] == 64, "staging restarts cleanly at offset 0"


def test_keys_never_reach_the_log_or_the_answers(spawn_token):
    import base64

    token = spawn_token("--serial", "RT-00000011", "-v")
    k_mac, k_tuples = os.urandom(32), os.urandom(32)
    config = {"cc": 33, "rx_gain": -10, "tx_gain": -5, "serial": "RT-00000011", "model": "host"}
    answers = []
    with UsbKiosk(token.pty) as kiosk:
        answers.append(kiosk.ok(frame.PROVISION, k_mac + k_tuples + b"\x00" + bytes(5)
                                + json.dumps(config).encode()))
        answers.append(kiosk.ok(frame.SET_TIME, json.dumps({"ntp": ntp_now()}).encode()))
        answers.append(kiosk.request(frame.PROVISION, k_mac + k_tuples + b"\x00" + bytes(5)
                                     + json.dumps(config).encode())[1])
        answers.append(kiosk.request(frame.BUNDLE_COMMIT, struct.pack(">II", 0, 0))[1])
        answers.append(kiosk.ok(frame.INFO))
    assert token.stop() == 0
    text = token.log() + " ".join(a.decode(errors="replace") for a in answers)
    for key in (k_mac, k_tuples):
        for form in (key.hex(), key.hex().upper(), base64.b64encode(key).decode(), repr(key)):
            assert form not in text


def test_clock_offset_shows_in_the_first_correction(spawn_token):
    token = spawn_token("--serial", "RT-00000012", "--clock-offset", "3600")
    with UsbKiosk(token.pty) as kiosk:
        answer = kiosk.json(frame.SET_TIME, {"ntp": ntp_now()})
    assert -3610 <= answer["correction"] <= -3590, answer


def test_line_noise_never_kills_the_token(spawn_token):
    import random

    token = spawn_token("--serial", "RT-00000013")
    rng = random.Random(4)
    with UsbKiosk(token.pty) as kiosk:
        for _ in range(20):
            noise = bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 3000)))
            if rng.random() < 0.5:  # noise that looks like the start of frames
                noise = noise.replace(noise[:2], b"RT\x01")
            kiosk.send(noise)
        time.sleep(2.1)  # any half frame left by the noise goes stale
        kiosk.port.reset_input_buffer()  # error frames answered to the noise
        kiosk.decoder = frame.Decoder()
        info = kiosk.info()
    assert info["serial"] == "RT-00000013"
    assert info["link"]["garbage"] + info["link"]["bad_frames"] > 0
    assert token.proc.poll() is None


def test_sigterm_right_after_ready_is_a_clean_stop(spawn_token, tmp_path):
    # The handler is installed before READY is printed: no window where SIGTERM kills it.
    for n in range(3):
        token = spawn_token(state=tmp_path / f"flash{n}")
        assert token.stop() == 0, token.log()
