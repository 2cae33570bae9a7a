"""Contact log: batches, reopen, torn tails, purge, capacity policy, history windows."""

import struct

from fwtest import RamStorage, eq, ok, run
from robert_token import contact_log
from robert_token.contact_log import ContactLog
from robert_token.epochs import DAY_S
from robert_token.vfs_storage import VfsStorage

DAY0 = 45800
T0 = DAY0 * DAY_S + 3600
_n = [0]


def fresh_dir():
    _n[0] += 1
    return VfsStorage("flash_log_%d" % _n[0])


def ebid(i):
    return struct.pack(">II", i, i * 7)


def fill(log, count, start=T0, contacts=10, step=6):
    for k in range(count):
        c = k % contacts
        log.add(0x21, ebid(c), (start + k * step) & 0xFFFF, bytes((k & 0xFF,)) * 5, start + k * step, -60 - (k % 30))


def test_write_reopen_same_content():
    st = fresh_dir()
    log = ContactLog(st)
    fill(log, 500)
    log.flush()
    info = log.info()
    eq(info["hellos"], 500)
    again = ContactLog(st)
    eq(again.info()["hellos"], 500)
    eq(again.info()["contacts"], info["contacts"])
    eq(again.seq, log.seq)
    per = float(again.bytes) / 500
    ok(per <= 11.5, "%.2f bytes per HELLO" % per)


def test_pending_batch_written_after_flush_interval():
    st = fresh_dir()
    log = ContactLog(st, flush_s=300)
    log.add(1, ebid(1), 5, b"12345", T0, -50, elapsed_ms=0)
    eq(log.bytes, 0)
    eq(log.due(299000), False)
    eq(log.due(300000), True)
    ok(log.bytes > 0, "written")


def test_torn_tail_cut_and_log_continues():
    st = RamStorage()
    log = ContactLog(st, batch_bytes=100)
    fill(log, 40)
    log.flush()
    committed = log.hellos
    name = contact_log.segment_name(T0 // DAY_S)
    st.files[name].extend(b"\xc7\x4c\x00\x00\x00\x63\x00\x40garbage")  # a torn batch
    again = ContactLog(st)
    eq(again.hellos, committed)
    eq(len(st.files[name]), again.bytes)
    fill(again, 10, start=T0 + 2000)
    again.flush()
    eq(ContactLog(st).hellos, committed + 10)


def test_purge_drops_old_days_only():
    st = fresh_dir()
    log = ContactLog(st)
    for d in range(16):
        fill(log, 20, start=(DAY0 + d) * DAY_S + 100)
        log.flush()
    eq(len(log.days), 16)
    removed = log.purge(DAY0 + 15)
    eq(removed, 40)
    eq(sorted(log.days)[0], DAY0 + 2)
    eq(st.size(contact_log.segment_name(DAY0)), -1)
    eq(ContactLog(st).hellos, 14 * 20)


def test_capacity_drops_oldest_day_first():
    st = RamStorage()
    log = ContactLog(st, capacity=3000)
    for d in range(5):
        fill(log, 100, start=(DAY0 + d) * DAY_S + 100)
        log.flush()
    ok(log.bytes <= 3000, "bounded")
    ok(log.dropped_days >= 1, "dropped a day")
    ok(DAY0 + 4 in log.days, "today kept")
    ok(DAY0 not in log.days, "oldest gone")
    eq(log.info()["full"], True)


def test_today_alone_full_refuses_new_hellos_and_says_so():
    st = RamStorage()
    log = ContactLog(st, capacity=600, batch_bytes=100)
    fill(log, 200)
    log.flush()
    ok(log.bytes <= 600, "bounded: %d" % log.bytes)
    ok(log.dropped_hellos > 0, "refused HELLOs are counted")
    info = log.info()
    eq((info["full"], info["dropped_days"]), (True, 0))
    eq(ContactLog(st).hellos, log.hellos)


def test_history_window_and_offsets():
    st = fresh_dir()
    log = ContactLog(st, batch_bytes=120)
    fill(log, 300, contacts=7)
    snap = log.snapshot(T0 + 60, T0 + 1200)
    eq(snap.hellos, 190)
    whole = snap.read(0, snap.size + 10)
    eq(len(whole), snap.size)
    # parse the stream back
    i = 0
    hellos = contacts = 0
    while i < len(whole):
        tag = whole[i]
        if tag == contact_log.ENTRY_CONTACT:
            contacts += 1
            i += 10
        else:
            eq(tag, contact_log.ENTRY_HELLO)
            t = struct.unpack(">I", whole[i + 1 : i + 5])[0]
            ok(T0 + 60 <= t < T0 + 1200, "in window")
            hellos += 1
            i += 13
    eq((contacts, hellos), (snap.contacts, snap.hellos))
    # chunked reads, a repeated read and a restart from an earlier offset give the same bytes
    parts = bytearray()
    off = 0
    while off < snap.size:
        p = snap.read(off, 97)
        eq(snap.read(off, 97), p)
        parts.extend(p)
        off += len(p)
    eq(bytes(parts), whole)
    # a repeated read (lost answer) restarts from its own batch, not from the log's start
    snap.read(0, 1)
    r0 = snap.full_restarts
    off = 0
    while off < snap.size:
        p = snap.read(off, 97)
        eq(snap.read(off, 97), p)
        off += len(p)
    eq(snap.full_restarts, r0)
    eq(snap.read(50, 30), whole[50:80])
    eq(snap.full_restarts, r0 + 1)
    # new observations after the snapshot do not change it
    fill(log, 10, start=T0 + 100)
    eq(snap.read(0, snap.size), whole)


def test_erase():
    st = fresh_dir()
    log = ContactLog(st)
    fill(log, 50)
    eq(log.erase(), 50)
    eq(ContactLog(st).hellos, 0)


run(globals())
