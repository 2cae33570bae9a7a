"""`robert-token` command line: help, bad options, an air that is not there."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

CMD = [sys.executable, "-m", "ports.host.main"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CMD, *args], capture_output=True, text=True, timeout=30)


def test_help_lists_every_option():
    result = run("--help")
    assert result.returncode == 0
    for option in ("--state", "--air", "--pty-link", "--ble", "--serial", "--model",
                   "--drift-ppm", "--clock-offset"):
        assert option in result.stdout


@pytest.mark.parametrize("args, message", [
    (["--air", "nowhere"], "expected HOST:PORT"),
    (["--air", "127.0.0.1:99999"], "expected HOST:PORT"),
    (["--serial", "token 1"], "RT-00000001"),
    (["--drift-ppm", "fast"], "number of ppm"),
    (["--drift-ppm", "5000"], "1000 ppm"),
    (["--clock-offset", "later"], "seconds"),
])
def test_bad_options_are_refused_clearly(tmp_path, args, message):
    result = run("--state", str(tmp_path / "flash"), *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "flash").exists(), "nothing is created for a refused command line"


def test_missing_state_is_refused():
    result = run()
    assert result.returncode == 2 and "--state" in result.stderr


def test_an_air_that_is_not_listening_is_a_clear_error(tmp_path):
    with socket.socket() as s:  # a free port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = run("--state", str(tmp_path), "--air", f"127.0.0.1:{port}")
    assert result.returncode == 2
    assert "cannot start" in result.stderr and str(port) in result.stderr
    assert "READY" not in result.stdout


def test_state_that_is_a_file_is_refused(tmp_path):
    state = tmp_path / "flash"
    state.write_bytes(b"not a folder")
    result = run("--state", str(state))
    assert result.returncode == 2
    assert "is a file, not a folder" in result.stderr
    assert state.read_bytes() == b"not a folder"


def test_pty_link_over_a_regular_file_is_refused(tmp_path):
    precious = tmp_path / "notes.txt"
    precious.write_text("keep me")
    result = run("--state", str(tmp_path / "flash"), "--pty-link", str(precious))
    assert result.returncode == 2
    assert "not a symlink" in result.stderr
    assert precious.read_text() == "keep me"


def test_two_tokens_on_one_flash_are_refused(spawn_token, tmp_path):
    first = spawn_token("--serial", "RT-00000050")
    result = run("--state", str(first.state), "--serial", "RT-00000051")
    assert result.returncode == 2
    assert "in use by another robert-token" in result.stderr
    assert first.proc.poll() is None


@pytest.mark.parametrize("spec", ["tcp-client:127.0.0.1:{port}", "no-such-transport:x"])
def test_a_ble_transport_that_cannot_open_is_a_clear_error(tmp_path, spec):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = run("--state", str(tmp_path / "flash"), "--ble", spec.format(port=port))
    assert result.returncode == 2
    assert "cannot open the BLE transport" in result.stderr
    assert "Traceback" not in result.stderr
