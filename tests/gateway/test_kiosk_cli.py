"""`robert-kiosk` as the pharmacist runs it: help, bad input, exit codes (no token needed)."""

import json
import subprocess
import sys
from pathlib import Path

KIOSK = [str(Path(sys.executable).parent / "robert-kiosk")]


def kiosk(*args, **kw):
    return subprocess.run([*KIOSK, *args], capture_output=True, text=True, timeout=60, **kw)


def test_help_lists_the_commands_and_exit_codes():
    out = kiosk("--help")
    assert out.returncode == 0
    for word in ("info", "status", "report", "erase", "retire", "serve", "exit codes"):
        assert word in out.stdout
    out = kiosk("report", "--help")
    assert out.returncode == 0 and "--onset" in out.stdout and "--retry" in out.stdout


def test_usage_errors_exit_2_in_plain_words(tmp_path):
    out = kiosk("report", "--onset", "20/11/2026")
    assert out.returncode == 2 and "YYYY-MM-DD" in out.stderr
    out = kiosk("report", "--code", "1 2", "--onset", "2026-11-20", "--queue", str(tmp_path))
    assert out.returncode == 2 and "test code is not valid" in out.stderr
    assert "Traceback" not in out.stderr
    out = kiosk("report", "--code", "ABC123", "--queue", str(tmp_path))
    assert out.returncode == 2 and "--onset" in out.stderr


def test_missing_token_exits_5_with_json_error(tmp_path):
    out = kiosk("info", "--port", str(tmp_path / "ttyACM3"), "--json")
    assert out.returncode == 5
    assert json.loads(out.stdout)["exit_code"] == 5
    assert "plugged in" in json.loads(out.stdout)["error"]


def test_retry_with_an_empty_queue_needs_no_server_nor_token(tmp_path):
    out = kiosk("report", "--retry", "--port", str(tmp_path / "none"), "--queue",
                str(tmp_path / "q"), "--server", "http://127.0.0.1:9")
    assert out.returncode == 0, out.stderr
    assert "No report waiting" in out.stdout


def test_auto_without_any_token_says_so(tmp_path):
    out = kiosk("info", "--port", "auto")  # no USB token board on a test machine
    assert out.returncode == 5 and "No token found on USB" in out.stderr


def test_token_board_usb_ids():
    from gateway.connect import is_token_usb_id

    assert is_token_usb_id(0x303A, 0x1001)  # ESP32-S3 native USB
    assert is_token_usb_id(0x239A, 0x8029)  # any Adafruit board
    assert not is_token_usb_id(0x046D, 0xC52B)  # a mouse receiver
    assert not is_token_usb_id(None, None)  # a pty or a built-in UART
