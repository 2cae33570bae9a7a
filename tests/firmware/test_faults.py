"""Power cuts at every byte: the log keeps every committed record, tuples and keys stay whole."""

import pytest
from fwtest import PowerCut, RamStorage
from robert_token import contact_log
from robert_token.contact_log import ContactLog
from robert_token.epochs import DAY_S
from robert_token.keys import Keys
from robert_token.tuples import BundleAuthError, TupleStore
from sealing import bundle_json, make_tuples, seal

DAY0 = 45800
T0 = DAY0 * DAY_S + 7200


def _add(log, k, start):
    log.add(0x21, (k % 5).to_bytes(8, "big"), (start + k) & 0xFFFF, bytes((k & 0xFF,)) * 5, start + k * 7,
            -40 - k % 50)


def _observations(storage):
    """Every HELLO readable from the flash, as the history stream would give it."""
    log = ContactLog(storage)
    snap = log.snapshot(0, 1 << 32)
    return snap.read(0, snap.size), log


def _committed_log():
    st = RamStorage()
    log = ContactLog(st, batch_bytes=150)
    for k in range(60):
        _add(log, k, T0)
    log.flush()
    return st, log


@pytest.mark.parametrize("new_day", [False, True], ids=["same-day", "new-day-segment"])
def test_cut_at_every_byte_of_a_batch(new_day):
    st, log = _committed_log()
    before, _ = _observations(st.clone())
    start = T0 + DAY_S if new_day else T0 + 3000
    # measure the size of the in-flight batch (and the meta file for a new day)
    probe = st.clone()
    plog = ContactLog(probe, batch_bytes=1 << 20)
    for k in range(12):
        _add(plog, k, start)
    w0 = probe.written
    plog.flush()
    batch_bytes = probe.written - w0
    full, _ = _observations(probe)
    assert len(full) > len(before)
    for cut in range(batch_bytes + 1):
        flash = st.clone()
        live = ContactLog(flash, batch_bytes=1 << 20)
        for k in range(12):
            _add(live, k, start)
        flash.budget = cut
        try:
            live.flush()
        except PowerCut:
            pass
        flash.budget = None
        after, reopened = _observations(flash)
        assert after[: len(before)] == before, f"cut at byte {cut}: committed records lost"
        assert after in (before, full), f"cut at byte {cut}: a partial batch was read back"
        # the reopened log keeps working after the cut
        _add(reopened, 99, start + 500)
        reopened.flush()
        again, _ = _observations(flash)
        assert again.startswith(after[: len(before)])
        assert reopened.hellos == ContactLog(flash).hellos


def test_torn_tail_is_cut_off_on_open():
    st, log = _committed_log()
    name = contact_log.segment_name(DAY0)
    size = st.size(name)
    st.files[name].extend(contact_log.encode_batch(log.seq, b"\x00" * 40)[:-3])
    reopened = ContactLog(st)
    assert st.size(name) == size
    assert reopened.hellos == log.hellos


K = bytes(range(32))


def test_cut_during_bundle_install_keeps_old_tuples():
    st = RamStorage()
    store = TupleStore(st)
    old = seal(K, b"123456789012", bundle_json(make_tuples(100, 20)))
    new = seal(K, b"abcdefghijkl", bundle_json(make_tuples(500, 20)))
    for name, blob in (("old", old), ("new", new)):
        with st.open(name, "wb") as f:
            f.write(blob)
    store.install(K, "old", len(old))
    tuples_before = bytes(st.files["tuples.bin"])
    for cut in range(0, 20 * 13 + 2, 7):
        flash = st.clone()
        flash.budget = cut
        try:
            TupleStore(flash).install(K, "new", len(new))
        except PowerCut:
            pass
        flash.budget = None
        got = bytes(flash.files["tuples.bin"])
        assert got == tuples_before or TupleStore(flash).first_epoch == 500
        assert TupleStore(flash).count == 20


def test_tampered_bundle_on_flash_refused_old_kept():
    st = RamStorage()
    store = TupleStore(st)
    old = seal(K, b"123456789012", bundle_json(make_tuples(100, 20)))
    with st.open("old", "wb") as f:
        f.write(old)
    store.install(K, "old", len(old))
    bad = bytearray(seal(K, b"abcdefghijkl", bundle_json(make_tuples(500, 20))))
    bad[-20] ^= 0x80
    with st.open("bad", "wb") as f:
        f.write(bad)
    with pytest.raises(BundleAuthError):
        store.install(K, "bad", len(bad))
    assert (store.first_epoch, store.count) == (100, 20)
    assert "tuples.bin.tmp" not in st.files


def test_cut_during_provision_leaves_token_unprovisioned():
    payload = bytes(range(64)) + b"\x01IDA01" + b'{"cc":33,"serial":"RT-1"}'
    for cut in range(0, 100, 3):
        st = RamStorage()
        st.budget = cut
        keys = Keys(st)
        try:
            keys.provision(payload)
        except PowerCut:
            pass
        st.budget = None
        assert Keys(st).provisioned in (False, True)
        if not Keys(st).provisioned:
            assert "keys.bin" not in st.files
