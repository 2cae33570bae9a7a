"""Replacing a file on a FAT-like flash (no rename over a file): a power cut after every storage operation."""

import pytest
from fwtest import Port, PowerCut, RamStorage
from robert_token import contact_log, flashfile, frame
from robert_token.clock import Clock
from robert_token.contact_log import ContactLog
from robert_token.epochs import DAY_S, epoch_of
from robert_token.keys import Keys
from robert_token.token import Token
from robert_token.tuples import TupleStore
from sealing import bundle_json, make_tuples, seal
from test_faults import _add, _committed_log
from tokenkit import K_TUPLES, NOW, ready_token, write_bundle

NAME = "f.bin"
OLD = b"the old content"
NEW = b"the new content, a little longer"
K = bytes(range(32))


def _naive_replace(storage, name, data):
    """What VfsStorage did before: write a temp, remove the target, rename (not power-cut safe)."""
    with storage.open(name + ".tmp", "wb") as f:
        f.write(data)
    if storage.size(name) >= 0:
        storage.remove(name)
    storage.rename(name + ".tmp", name)


def _ops(base, action):
    probe = base.clone()
    probe.ops = 0
    action(probe)
    return probe.ops


def _cut_after(base, ops, action):
    """The flash as a power cut after `ops` storage operations of `action` leaves it."""
    flash = base.clone()
    flash.op_budget = ops
    try:
        action(flash)
    except PowerCut:
        pass
    return flash.clone()


def _outcomes(base, replace, old):
    """The content of NAME after reboot and recovery, for a cut after every operation (and none)."""
    total = _ops(base, lambda st: replace(st, NAME, NEW))
    seen = []
    for ops in range(total + 1):
        flash = _cut_after(base, ops, lambda st: replace(st, NAME, NEW))
        # the recovery itself can be cut, at every one of its operations too
        for rops in range(_ops(flash, lambda st: flashfile.recover(st, NAME)) + 1):
            again = _cut_after(flash, rops, lambda st: flashfile.recover(st, NAME))
            flashfile.recover(again, NAME)
            got = again.files.get(NAME)
            seen.append(None if got is None else bytes(got))
            assert not [n for n in again.files if n.endswith((".tmp", ".new"))], "recovery left a temp file"
    return seen


def test_the_fat_double_refuses_rename_over_a_file():
    st = RamStorage(fat=True)
    st.files.update({"a": bytearray(b"1"), "b": bytearray(b"2")})
    with pytest.raises(OSError):
        st.rename("a", "b")
    assert st.files == {"a": b"1", "b": b"2"}


def test_the_harness_catches_a_naive_replace():
    base = RamStorage(fat=True)
    base.files[NAME] = bytearray(OLD)
    seen = _outcomes(base, _naive_replace, OLD)
    assert None in seen  # a cut between remove and rename loses the file


@pytest.mark.parametrize("old", [OLD, None], ids=["replace", "create"])
def test_replace_is_power_cut_safe_without_rename_over(old):
    base = RamStorage(fat=True)
    if old is not None:
        base.files[NAME] = bytearray(old)
    seen = _outcomes(base, flashfile.replace, old)
    assert set(seen) <= {old, NEW}
    assert seen[-1] == NEW
    # once the commit point is passed every later cut ends with the new content
    first_new = seen.index(NEW)
    assert all(s == NEW for s in seen[first_new:])
    assert old in seen or old is None


def test_recover_finishes_a_committed_replace_and_drops_a_partial_one():
    st = RamStorage(fat=True)
    st.files.update({NAME + ".new": bytearray(NEW), NAME + ".tmp": bytearray(b"torn")})
    flashfile.recover(st, NAME)
    assert st.files == {NAME: NEW}
    st.files[NAME + ".tmp"] = bytearray(b"torn")
    flashfile.recover(st, NAME)
    assert st.files == {NAME: NEW}


def test_bundle_install_on_fat_keeps_whole_tuples_at_every_cut():
    base = RamStorage(fat=True)
    old = seal(K, b"123456789012", bundle_json(make_tuples(100, 20)))
    new = seal(K, b"abcdefghijkl", bundle_json(make_tuples(500, 20)))
    for name, blob in (("old", old), ("new", new)):
        base.files[name] = bytearray(blob)
    TupleStore(base).install(K, "old", len(old))
    before = bytes(base.files["tuples.bin"])

    def install(st):
        TupleStore(st).install(K, "new", len(new))

    firsts = []
    for ops in range(_ops(base, install) + 1):
        store = TupleStore(_cut_after(base, ops, install))
        assert store.count == 20, f"cut after {ops} operations: tuples lost"
        firsts.append(store.first_epoch)
    assert firsts[0] == 100 and firsts[-1] == 500
    assert set(firsts) == {100, 500}
    assert bytes(base.files["tuples.bin"]) == before


def test_provision_on_fat_is_all_or_nothing_at_every_cut():
    payload = bytes(range(64)) + b"\x01IDA01" + b'{"cc":33,"serial":"RT-1"}'
    base = RamStorage(fat=True)

    def provision(st):
        Keys(st).provision(payload)

    states = []
    for ops in range(_ops(base, provision) + 1):
        keys = Keys(_cut_after(base, ops, provision))
        states.append(keys.provisioned)
        if keys.provisioned:
            assert keys.mac_key() == payload[:32] and keys.settings["serial"] == "RT-1"
    assert states[0] is False and states[-1] is True


def test_clock_state_on_fat_survives_every_cut():
    class Hw:
        continuous = True

        def __init__(self):
            self.t = 0

        def ticks_ms(self):
            return self.t

    base = RamStorage(fat=True)
    hw = Hw()
    Clock(hw, base).set(3_900_000_000)

    def second_set(st):
        Clock(hw, st).set(3_900_000_600)

    for ops in range(_ops(base, second_set) + 1):
        clock = Clock(hw, _cut_after(base, ops, second_set))
        assert clock.ntp() in (3_900_000_000, 3_900_000_600), f"cut after {ops} operations"


def test_log_tail_cut_on_fat_at_every_operation():
    st, log = _committed_log()
    fat = RamStorage(fat=True)
    fat.files = st.files
    name = contact_log.segment_name(min(log.days))
    fat.files[name].extend(contact_log.encode_batch(log.seq, b"\x00" * 40)[:-3])

    def reopen(s):
        ContactLog(s)

    for ops in range(_ops(fat, reopen) + 1):
        reopened = ContactLog(_cut_after(fat, ops, reopen))
        assert reopened.hellos == log.hellos, f"cut after {ops} operations"


def test_a_token_lifecycle_never_renames_over_a_file():
    """Every file the core keeps is replaced at least once on a flash that refuses rename-over."""
    port, token, kiosk = ready_token(Port(storage=RamStorage(fat=True)))
    kiosk.json(frame.SET_TIME, {"ntp": NOW + 700})
    blob = seal(K_TUPLES, b"ba9876543210", bundle_json(make_tuples(epoch_of(NOW), 20)))
    status, body = write_bundle(kiosk, blob)
    assert status == 0, body
    token.store_risk(4, NOW, None)
    token.store_risk(1, NOW, None)
    for start in (NOW, NOW + 1000, NOW + DAY_S):
        for k in range(5):
            _add(token.log, k, start)
        token.log.flush()
    files = sorted(port.storage.files)
    assert not [n for n in files if n.endswith((".tmp", ".new"))], files
    rebooted = Token(Port(storage=port.storage.clone()))
    assert rebooted.keys.provisioned and rebooted.tuples.count == 20
    assert rebooted.risk["level"] == 1
    assert rebooted.log.hellos == token.log.hellos == 15
