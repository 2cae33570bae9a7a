"""robert-provision against a real robert-server process and real host-port tokens over ptys."""

from __future__ import annotations

import base64
import json
import subprocess

import pytest
from kiosk_live import BIN
from PIL import Image
from station_live import token_info

from provisioning import cli


@pytest.fixture
def key_spy(monkeypatch):
    """Records the keys the station sends (the real PROVISION still runs) to search outputs for them."""
    from gateway.token_client import TokenClient

    class Seen(list):
        buffers: list = []  # the station's own key buffers, to check they were wiped

    seen = Seen()
    real = TokenClient.provision

    async def provision(self, k_mac, k_tuples, id_a, settings):
        seen.extend([bytes(k_mac), bytes(k_tuples)])
        seen.buffers += [k_mac, k_tuples]
        return await real(self, k_mac, k_tuples, id_a, settings)

    monkeypatch.setattr(TokenClient, "provision", provision)
    return seen


def key_forms(keys: list[bytes]) -> list[str]:
    forms = []
    for k in keys:
        forms += [k.hex(), k.hex().upper(), base64.b64encode(k).decode(), base64.urlsafe_b64encode(k).decode().rstrip("=")]
    return forms


def assert_no_keys(keys: list[bytes], *texts: str | bytes) -> None:
    assert keys, "the spy saw no key"
    for text in texts:
        blob = text if isinstance(text, bytes) else text.encode()
        for k in keys:
            assert k not in blob
        for form in key_forms(keys):
            assert form.encode() not in blob


def test_token_is_provisioned_verified_and_labelled(server, server_key, make_token, tmp_path, capsys, key_spy):
    token = make_token()
    labels = tmp_path / "labels"
    code = cli.main(["token", "--port", token.pty, "--server", server.url, "--server-key", server_key,
                     "--serial", "RT-P0000001", "--model", "esp32", "--days", "5", "--json",
                     "--labels", str(labels)])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out)
    assert result["serial"] == "RT-P0000001" and result["result"] == "provisioned"
    info = token_info(token.pty)
    assert info["provisioned"] is True and info["state"] == "ok"
    assert info["serial"] == "RT-P0000001" and info["model"] == "esp32"
    assert info["clock"]["set"] is True
    assert info["tuples"]["remaining"] >= 4 * 96  # at least 4 of the 5 days asked
    label = labels / "RT-P0000001.png"
    with Image.open(label) as img:
        assert img.format == "PNG" and img.size[0] > 0
    assert_no_keys(key_spy, out, err, label.read_bytes())
    # The station zeroed its key buffers once the token was verified.
    assert len(key_spy.buffers) == 2
    assert all(isinstance(b, bytearray) and not any(b) for b in key_spy.buffers)


def test_already_provisioned_token_is_refused_and_untouched(server, server_key, make_token, capsys):
    token = make_token()
    args = ["token", "--port", token.pty, "--server", server.url, "--server-key", server_key]
    assert cli.main(args) == 0
    before = token_info(token.pty)
    capsys.readouterr()
    assert cli.main(args) == 3
    assert "already provisioned" in capsys.readouterr().err
    # --factory-reset without a terminal and without --yes: asked to confirm, so refused too.
    assert cli.main([*args, "--factory-reset"]) == 3
    assert "--yes" in capsys.readouterr().err
    after = token_info(token.pty)
    assert after["provisioned"] and after["tuples"] == before["tuples"]


def test_factory_reset_path_reprovisions(server, server_key, make_token, capsys, key_spy):
    token = make_token()
    args = ["token", "--port", token.pty, "--server", server.url, "--server-key", server_key]
    assert cli.main([*args, "--serial", "RT-R0000001"]) == 0
    first = list(key_spy)
    assert cli.main([*args, "--serial", "RT-R0000002", "--factory-reset", "--yes"]) == 0
    info = token_info(token.pty)
    assert info["provisioned"] and info["serial"] == "RT-R0000002" and info["state"] == "ok"
    assert key_spy[2:] != first  # a new registration, new keys


def test_wrong_server_key_touches_nothing(server, make_token, capsys):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    other = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    token = make_token()
    code = cli.main(["token", "--port", token.pty, "--server", server.url,
                     "--server-key", base64.b64encode(other).decode()])
    assert code == 1
    assert "not this server's key" in capsys.readouterr().err
    assert token_info(token.pty)["provisioned"] is False


def test_batch_provisions_several_tokens_and_records_no_secret(server, server_key, make_token, tmp_path, key_spy):
    tokens = [make_token(f"b{i}") for i in range(3)]
    manifest = tmp_path / "batch.csv"
    manifest.write_text("port,serial,model\n" + "".join(
        f"{t.pty},RT-B000000{i},{'nrf52840' if i else 'esp32'}\n" for i, t in enumerate(tokens)))
    record = tmp_path / "out" / "record.json"
    labels = tmp_path / "labels"
    proc = subprocess.run(  # the real console script, as the operator runs it
        [str(BIN / "robert-provision"), "batch", "--manifest", str(manifest), "--server", server.url,
         "--server-key", server_key, "--record", str(record), "--labels", str(labels), "--days", "4"],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "3 of 3 tokens provisioned" in proc.stdout
    assert "batch [" in proc.stderr  # the progress bar
    rows = json.loads(record.read_text())
    assert [r["serial"] for r in rows] == ["RT-B0000000", "RT-B0000001", "RT-B0000002"]
    assert all(r["result"] == "provisioned" for r in rows)
    for t, r in zip(tokens, rows, strict=True):
        info = token_info(t.pty)
        assert info["serial"] == r["serial"] and info["state"] == "ok"
    assert sorted(p.name for p in labels.iterdir()) == [f"RT-B000000{i}.png" for i in range(3)]
    # The subprocess's keys are not visible to the in-process spy: provision one more
    # token in-process through the same batch path and search every output for its keys.
    extra = make_token("b3")
    manifest2 = tmp_path / "one.json"
    manifest2.write_text(json.dumps([{"port": extra.pty, "serial": "RT-B0000003"}]))
    record2 = tmp_path / "record2.csv"
    assert cli.main(["batch", "--manifest", str(manifest2), "--server", server.url,
                     "--server-key", server_key, "--record", str(record2)]) == 0
    assert_no_keys(key_spy, record2.read_text(), record.read_text(), proc.stdout, proc.stderr)
    assert "RT-B0000003,nrf52840,provisioned" in record2.read_text()


def test_batch_goes_on_past_a_failed_token(server, server_key, make_token, tmp_path, capsys):
    good = make_token("g")
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"port,serial\n{tmp_path}/no-such-pty,RT-X1\n{good.pty},RT-X2\n")
    record = tmp_path / "r.csv"
    assert cli.main(["batch", "--manifest", str(manifest), "--server", server.url,
                     "--server-key", server_key, "--record", str(record), "--timeout", "1"]) == 4
    text = record.read_text()
    assert ",RT-X1,nrf52840,failed," in text and ",RT-X2,nrf52840,provisioned," in text
    assert token_info(good.pty)["serial"] == "RT-X2"


def test_factory_reset_waits_for_the_server_before_wiping(server, server_key, make_token, capsys):
    """Server down: the token asked to be wiped keeps its keys and tuples."""
    from kiosk_live import free_port

    token = make_token()
    assert cli.main(["token", "--port", token.pty, "--server", server.url, "--server-key", server_key]) == 0
    before = token_info(token.pty)
    down = f"http://127.0.0.1:{free_port()}"
    assert cli.main(["token", "--port", token.pty, "--server", down, "--server-key", server_key,
                     "--factory-reset", "--yes"]) == 1
    assert "cannot be reached" in capsys.readouterr().err
    after = token_info(token.pty)
    assert after["provisioned"] and after["tuples"] == before["tuples"]


def _run_in_terminal(args: list[str], answer: str) -> tuple[int, str]:
    """Run robert-provision with a real pty as its terminal and type `answer` at the prompt."""
    import os
    import select
    import time

    master, slave = os.openpty()
    proc = subprocess.Popen([str(BIN / "robert-provision"), *args], stdin=slave, stdout=slave,
                            stderr=slave, close_fds=True)
    os.close(slave)
    seen, answered = b"", False
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # the child closed the terminal
                    break
                seen += chunk
                if not answered and b"Type its serial" in seen:
                    os.write(master, answer.encode() + b"\n")
                    answered = True
            elif proc.poll() is not None:
                break
        return proc.wait(30), seen.decode(errors="replace")
    finally:
        os.close(master)


def test_factory_reset_is_confirmed_at_the_terminal(server, server_key, make_token):
    token = make_token(serial="RT-T0000009")
    base = ["token", "--port", token.pty, "--server", server.url, "--server-key", server_key]
    assert cli.main([*base, "--serial", "RT-T0000009"]) == 0
    code, screen = _run_in_terminal([*base, "--factory-reset"], "RT-WRONG")
    assert code == 3 and "not confirmed" in screen
    assert token_info(token.pty)["provisioned"]
    code, screen = _run_in_terminal([*base, "--factory-reset", "--serial", "RT-T0000010"], "RT-T0000009")
    assert code == 0, screen
    assert "RT-T0000010: provisioned" in screen
    assert "%" in screen  # the progress bar drawn on the terminal
    assert token_info(token.pty)["serial"] == "RT-T0000010"


def test_token_lost_after_the_keys_says_to_factory_reset(server, server_key, make_token, monkeypatch, capsys):
    """Power cut right after PROVISION: the operator is told the token needs a factory reset."""
    from gateway.token_client import TokenClient

    token = make_token()
    real = TokenClient.set_time

    async def set_time_after_power_cut(self, ntp):
        token.kill()
        return await real(self, ntp)

    monkeypatch.setattr(TokenClient, "set_time", set_time_after_power_cut)
    assert cli.main(["token", "--port", token.pty, "--server", server.url, "--server-key", server_key,
                     "--timeout", "0.5"]) == 1
    err = capsys.readouterr().err
    assert "already holds its new keys" in err and "--factory-reset" in err, err
    assert "nothing was erased" not in err
