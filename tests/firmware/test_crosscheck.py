"""The firmware core against the CPython protocol library `robert/` on random inputs."""

from hypothesis import given, settings
from hypothesis import strategies as st
from robert_token import hello, tuples

from robert import crypto

keys = st.binary(min_size=32, max_size=32)
ebids = st.binary(min_size=8, max_size=8)
bytes1 = st.integers(0, 255)
ntp = st.integers(3799958400, 0xFFFFFFFF)


@settings(max_examples=200, deadline=None)
@given(keys, bytes1, ebids, ntp)
def test_hello_matches_robert(k, ecc, ebid, t):
    assert hello.build(k, ecc, ebid, t) == crypto.hello(k, ecc, ebid, t)


@settings(max_examples=100, deadline=None)
@given(keys, st.sampled_from([2, 3, 4]), ebids, st.integers(0, 1 << 24), ntp)
def test_auth_mac_matches_robert(k, prefix, ebid, epoch, t):
    assert hello.auth_mac(k, prefix, ebid, epoch, t) == crypto.auth_mac(k, prefix, ebid, epoch, t)


@settings(max_examples=25, deadline=None)
@given(keys, st.lists(st.tuples(st.integers(0, (1 << 24) - 1), ebids, bytes1), min_size=1, max_size=40))
def test_open_bundle_of_robert_seal(k, items):
    blob = crypto.tuples_seal(k, items)
    assert tuples.open_bundle(k, blob) == [(e, b, c) for e, b, c in items]


def test_day_of_tuples_sealed_by_robert_installs_on_flash(tmp_path):
    """A full server-sized bundle (4 days) through the token's streaming path to its store."""
    from fwtest import Port  # the doubles of tests/firmware/mpy, on sys.path via conftest
    from robert_token.tuples import TupleStore
    from robert_token.vfs_storage import VfsStorage

    k = bytes(range(32))
    items = [(200000 + i, i.to_bytes(8, "big"), i & 0xFF) for i in range(384)]
    port = Port(storage=VfsStorage(str(tmp_path / "flash")))
    blob = crypto.tuples_seal(k, items)
    with port.storage.open("stage", "wb") as f:
        f.write(blob)
    store = TupleStore(port.storage)
    assert store.install(k, "stage", len(blob)) == (384, 200000, 200383)
    assert store.find(200100) == ((100).to_bytes(8, "big"), 100)
    assert store.find(199999) is None
    assert port.storage.size("tuples.bin") == 384 * 13
