"""The batch manifest parser: good manifests read right, bad ones fail with a clear message."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioning.errors import EXIT_USAGE, ProvisionError
from provisioning.manifest import Defaults, parse_manifest, read_manifest

DEFAULTS = Defaults(model="nrf52840", country=33, days=30)


def test_csv_with_defaults_and_overrides():
    text = "port,serial,model,days\n/dev/pts/3,RT-00000001,,\n/dev/pts/4,RT-00000002,esp32,7\n"
    a, b = parse_manifest(text, "csv", DEFAULTS)
    assert (a.port, a.serial, a.model, a.country, a.days) == ("/dev/pts/3", "RT-00000001", "nrf52840", 33, 30)
    assert (b.port, b.serial, b.model, b.days) == ("/dev/pts/4", "RT-00000002", "esp32", 7)


def test_json_list_and_wrapped_forms_agree():
    tokens = [{"port": "/dev/pts/3", "serial": "RT-1", "country": 33}, {"port": "/dev/pts/4"}]
    assert parse_manifest(json.dumps(tokens), "json", DEFAULTS) == parse_manifest(
        json.dumps({"tokens": tokens}), "json", DEFAULTS)
    assert parse_manifest(json.dumps(tokens), "json", DEFAULTS)[1].serial is None


@pytest.mark.parametrize(
    "text, fmt, words",
    [
        ("serial\nRT-1\n", "csv", "header"),
        ("port,colour\n/dev/pts/1,red\n", "csv", "unknown column"),
        ("port,serial\n/dev/pts/1,RT 1\n", "csv", "line 2: serial"),
        ("port,days\n/dev/pts/1,400\n", "csv", "days 400 is out of range"),
        ("port,model\n/dev/pts/1,nrf51\n", "csv", "unknown model"),
        ("port\n/dev/pts/1\n/dev/pts/1\n", "csv", "appears twice"),
        ("port\n", "csv", "no token"),
        ("{", "json", "not valid JSON"),
        ('{"port": "x"}', "json", "list of tokens"),
        ('[{"port": 5}]', "json", "expected text"),
        ('[{"port": "a", "country": true}]', "json", "whole number"),
        ('[{"port": "a", "country": 300}]', "json", "out of range"),
        ('["a"]', "json", "not an object"),
    ],
)
def test_bad_manifests_name_the_problem(text, fmt, words):
    with pytest.raises(ProvisionError) as err:
        parse_manifest(text, fmt, DEFAULTS)
    assert err.value.exit_code == EXIT_USAGE
    assert words in err.value.message


def test_every_bad_row_is_reported_at_once():
    text = "port,days\n/dev/a,0\n/dev/b,1\n/dev/c,x\n"
    with pytest.raises(ProvisionError) as err:
        parse_manifest(text, "csv", DEFAULTS)
    assert "line 2" in err.value.message and "line 4" in err.value.message
    assert "line 3" not in err.value.message


def test_read_manifest_picks_format_by_extension(tmp_path):
    (tmp_path / "m.json").write_text('[{"port": "/dev/pts/9"}]')
    (tmp_path / "m.csv").write_text("\ufeffport\n/dev/pts/9\n")  # Excel's BOM is accepted
    assert read_manifest(tmp_path / "m.json", DEFAULTS) == read_manifest(tmp_path / "m.csv", DEFAULTS)
    with pytest.raises(ProvisionError, match="cannot read"):
        read_manifest(tmp_path / "missing.csv", DEFAULTS)
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00port")
    with pytest.raises(ProvisionError, match="not UTF-8"):
        read_manifest(tmp_path / "bin.csv", DEFAULTS)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300), st.sampled_from(["csv", "json"]))
def test_fuzz_any_text_gives_entries_or_a_clear_error(text, fmt):
    try:
        entries = parse_manifest(text, fmt, DEFAULTS)
    except ProvisionError as exc:
        assert exc.exit_code == EXIT_USAGE and exc.message
    else:
        assert entries and all(e.port for e in entries)


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["port", "serial", "model", "country", "days", "x"]),
                                json_scalars, max_size=5), max_size=5))
def test_fuzz_json_structures(tokens):
    try:
        entries = parse_manifest(json.dumps(tokens), "json", DEFAULTS)
    except ProvisionError as exc:
        assert exc.exit_code == EXIT_USAGE and exc.message
    else:
        assert len(entries) == len(tokens)
