"""robert-provision's usage errors: exit 2 and a sentence saying what to give, before any work."""

from __future__ import annotations

import pytest

from provisioning import cli

SERVER = ["--server", "http://127.0.0.1:9"]  # nothing listens: these must fail before the network


@pytest.fixture(autouse=True)
def no_env_key(monkeypatch):
    monkeypatch.delenv(cli.SERVER_KEY_ENV, raising=False)


@pytest.mark.parametrize("args, words", [
    (["token", "--port", "/dev/null", *SERVER], "needs the server's public key"),
    (["token", "--port", "/dev/null", *SERVER, "--server-key", "bm9wZQ=="], "not a public key"),
    (["token", "--port", "/dev/null", *SERVER, "--server-key-file", "/nonexistent/key"], "cannot read the server key"),
    (["token", "--port", "/dev/null", *SERVER, "--days", "0"], "days 0 is out of range"),
    (["token", "--port", "/dev/null", *SERVER, "--country", "999"], "country code 999"),
    (["token", "--port", "/dev/null", *SERVER, "--serial", "RT 1"], "serial 'RT 1' is not valid"),
    (["batch", "--manifest", "/nonexistent.csv", *SERVER], "cannot read the manifest"),
])
def test_usage_errors(args, words, capsys):
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("robert-provision: ") and words in err


def test_bad_manifest_touches_no_token(tmp_path, capsys):
    manifest = tmp_path / "m.csv"
    manifest.write_text("port,serial\n/dev/pts/1,RT-1\n/dev/pts/2,RT-1\n")
    assert cli.main(["batch", "--manifest", str(manifest), *SERVER, "--server-key", "x"]) == 2
    assert "appears twice" in capsys.readouterr().err
    assert not (tmp_path / "m.record.csv").exists()


def test_help_lists_commands_and_exit_codes(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert all(word in out for word in ("token", "batch", "label", "exit codes"))
