"""The contact log: the ROBERT HELLOs the token heard, on flash, safe against power cuts.

Batches follow the 15-minute epochs (a contact's EBID changes with them, so
it is stored once per batch). One segment file per UTC day (`log_<day>.bin`), so the 14-day purge deletes
whole files and never rewrites the rest. A segment is a sequence of batches:

    sync 0xC7 0x4C (2) | seq (4) | body length (2) | CRC-32 of seq..body (4) | body

A batch is written with one append + flush + sync; a power cut can only tear
the batch in flight, which the CRC exposes: at open the torn tail is cut off
(the valid prefix is copied and replaced through `flashfile`). The body is a list
of contact groups after the batch's base time (the start of its epoch):

    base (4, NTP s) | groups: ECC (1) | EBID (8) | n (1) | n x HELLO
    HELLO = Time16 (2) | MAC (5) | rssiCalibrated (1, signed) | d (1, signed)

where d = reception time - Time16 (seconds, mod 2^16): the reception time is
the first time at or after the base whose low 16 bits are Time16 + d. A peer
whose clock is off by more than 127 s gets d = -128 and 2 more bytes: the
reception time - base. So a stored HELLO costs 9 bytes plus its share of the
group (10) and batch (16) headers. When the log would pass its capacity the oldest day goes first
(`dropped_days`); today's data is never dropped for older data, and when
today alone fills the log new HELLOs are refused and counted.
"""

import json
import struct

from robert_token import flashfile
from robert_token.crc import crc32
from robert_token.epochs import DAY_S, EPOCH_S, TIME_START

SYNC = b"\xc7\x4c"
BATCH_HEAD = 12
GROUP_HEAD = 10
HELLO_REC = 9
ESCAPE = -128
MAX_BODY = 4096
BATCH_BYTES = 2048  # a batch is written when its body reaches this size, at each epoch change ...
FLUSH_S = 900  # ... or when its oldest entry is this old (what a power cut can lose)
KEEP_DAYS = 14
CAPACITY = 1 << 20
META = "log_meta.json"
ENTRY_CONTACT = 0x01
ENTRY_HELLO = 0x02


def segment_name(day):
    return "log_%d.bin" % day


def encode_batch(seq, body):
    head = struct.pack(">IH", seq, len(body))
    return SYNC + head + struct.pack(">I", crc32(body, crc32(head))) + body


def parse_groups(body):
    """Yield (ecc, ebid, hellos) of a batch body; hellos is a list of (t16, mac5, rssi, rx_ntp)."""
    n = len(body)
    if n < 4:
        return
    base = struct.unpack(">I", body[:4])[0]
    low = base & 0xFFFF
    i = 4
    while i + GROUP_HEAD <= n:
        ecc = body[i]
        ebid = body[i + 1 : i + 9]
        count = body[i + 9]
        i += GROUP_HEAD
        hellos = []
        for _ in range(count):
            if i + HELLO_REC > n:
                return
            t16 = (body[i] << 8) | body[i + 1]
            mac = body[i + 2 : i + 7]
            rssi = body[i + 7] - 256 if body[i + 7] > 127 else body[i + 7]
            d = body[i + 8] - 256 if body[i + 8] > 127 else body[i + 8]
            i += HELLO_REC
            if d == ESCAPE:
                if i + 2 > n:
                    return
                rx = base + ((body[i] << 8) | body[i + 1])
                i += 2
            else:
                rx = base + ((t16 + d - low) & 0xFFFF)
            hellos.append((t16, mac, rssi, rx))
        yield ecc, ebid, hellos


def encode_hello(t16, mac5, rssi, rx, base):
    """One stored HELLO (see the module doc)."""
    d = rx - t16
    d = ((d + 0x8000) & 0xFFFF) - 0x8000  # signed difference of the low 16 bits
    head = struct.pack(">H", t16 & 0xFFFF) + bytes(mac5)[:5] + struct.pack(">b", rssi)
    if -128 < d < 128 and base + ((t16 + d - (base & 0xFFFF)) & 0xFFFF) == rx:
        return head + struct.pack(">b", d)
    return head + struct.pack(">bH", ESCAPE, rx - base)


def read_batches(f, pos=0):
    """Yield (offset, seq, body) of the valid batches of an open segment from `pos`, stopping at damage."""
    if pos:
        f.seek(pos)
    while True:
        head = f.read(BATCH_HEAD)
        if len(head) < BATCH_HEAD or head[:2] != SYNC:
            return
        seq, length = struct.unpack(">IH", head[2:8])
        (crc,) = struct.unpack(">I", head[8:12])
        if length > MAX_BODY:
            return
        body = f.read(length)
        if len(body) < length or crc32(body, crc32(head[2:8])) != crc:
            return
        yield pos, seq, body
        pos += BATCH_HEAD + length


class _Group:
    def __init__(self, ecc, ebid):
        self.ecc = ecc
        self.ebid = ebid
        self.hellos = bytearray()
        self.n = 0


class ContactLog:
    """Append-only, day-segmented HELLO log with bounded size."""

    def __init__(self, storage, capacity=CAPACITY, batch_bytes=BATCH_BYTES, flush_s=FLUSH_S):
        self._storage = storage
        self.capacity = capacity
        self.batch_bytes = batch_bytes
        self.flush_s = flush_s
        self.days = {}  # day -> [bytes, hellos, groups, oldest, newest]
        self.seq = 0
        self.dropped_days = 0
        self.dropped_hellos = 0
        self.full = False
        self.acked = []  # [from, to, max_seq] of reported snapshots
        self._pending = []
        self._pending_day = None
        self._pending_size = 0
        self._pending_since = None
        self._base = self._oldest = self._newest = None
        self._open()

    # ------------------------------------------------------------ opening
    def _open(self):
        meta = self._read_meta()
        days = meta.get("days") or []
        self.seq = int(meta.get("seq", 0))
        self.dropped_days = int(meta.get("dropped_days", 0))
        self.dropped_hellos = int(meta.get("dropped_hellos", 0))
        self.acked = meta.get("acked") or []
        listdir = getattr(self._storage, "listdir", None)
        if listdir is not None:
            try:
                for name in listdir():
                    if name.endswith(".new"):  # a segment whose replace was cut: recovered by _scan_day
                        name = name[:-4]
                    if name.startswith("log_") and name.endswith(".bin") and name[4:-4].isdigit():
                        d = int(name[4:-4])
                        if d not in days:
                            days.append(d)
            except OSError:
                pass
        for day in sorted(days):
            self._scan_day(day)

    def _read_meta(self):
        flashfile.recover(self._storage, META)
        if self._storage.size(META) <= 0:
            return {}
        try:
            with self._storage.open(META, "r") as f:
                meta = json.loads(f.read())
            return meta if isinstance(meta, dict) else {}
        except (ValueError, OSError):
            return {}

    def _write_meta(self):
        meta = {"days": sorted(self.days), "seq": self.seq, "dropped_days": self.dropped_days,
                "dropped_hellos": self.dropped_hellos, "acked": self.acked[-8:]}
        flashfile.replace(self._storage, META, json.dumps(meta))

    def _scan_day(self, day):
        """Count a segment's records and cut a torn tail."""
        name = segment_name(day)
        flashfile.recover(self._storage, name)
        size = self._storage.size(name)
        if size < 0:
            return
        stats = [0, 0, 0, None, None]
        end = 0
        with self._storage.open(name, "rb") as f:
            for pos, seq, body in read_batches(f):
                end = pos + BATCH_HEAD + len(body)
                if seq >= self.seq:
                    self.seq = seq + 1
                for _ecc, _ebid, hellos in parse_groups(body):
                    stats[2] += 1
                    for h in hellos:
                        t = h[3]
                        stats[1] += 1
                        if stats[3] is None or t < stats[3]:
                            stats[3] = t
                        if stats[4] is None or t > stats[4]:
                            stats[4] = t
        if end < size:
            self._truncate(name, end)
        stats[0] = end
        self.days[day] = stats

    def _truncate(self, name, end):
        """Keep the first `end` bytes of a segment (copy + power-cut-safe replace)."""
        if end == 0:
            self._storage.remove(name)
            return
        with self._storage.open(name, "rb") as src, self._storage.open(flashfile.tmp_name(name), "wb") as dst:
            left = end
            while left:
                chunk = src.read(min(512, left))
                if not chunk:
                    break
                dst.write(chunk)
                left -= len(chunk)
            flashfile.sync(dst)
        flashfile.commit(self._storage, name)

    # ------------------------------------------------------------ stats
    @property
    def bytes(self):
        return sum(s[0] for s in self.days.values())

    @property
    def hellos(self):
        return sum(s[1] for s in self.days.values()) + sum(g.n for g in self._pending)

    @property
    def contacts(self):
        return sum(s[2] for s in self.days.values()) + len(self._pending)

    def info(self):
        olds = [s[3] for s in self.days.values() if s[3] is not None]
        news = [s[4] for s in self.days.values() if s[4] is not None]
        if self._pending:
            olds.append(self._oldest)
            news.append(self._newest)
        return {"hellos": self.hellos, "contacts": self.contacts, "bytes": self.bytes,
                "capacity": self.capacity, "oldest": min(olds) if olds else None,
                "newest": max(news) if news else None, "full": self.full,
                "dropped_days": self.dropped_days, "dropped_hellos": self.dropped_hellos,
                "pending": sum(g.n for g in self._pending)}

    # ------------------------------------------------------------ writing
    def add(self, ecc, ebid, time16, mac5, ntp_rx, rssi, elapsed_ms=0):
        """Queue one HELLO reception; writes a batch when one is full or the day changes."""
        day = ntp_rx // DAY_S
        base = ntp_rx - (ntp_rx - TIME_START) % EPOCH_S
        if self._pending and base != self._base:
            self.flush()  # one batch per epoch: a contact's EBID is stored once
        if not self._pending:
            self._pending_day = day
            self._pending_since = elapsed_ms
            self._base = base
            self._oldest = self._newest = ntp_rx
            self._pending_size = 4
        g = None
        for cand in self._pending:
            if cand.ebid == ebid and cand.ecc == ecc and cand.n < 255:
                g = cand
                break
        if g is None:
            g = _Group(ecc, bytes(ebid))
            self._pending.append(g)
            self._pending_size += GROUP_HEAD
        rec = encode_hello(time16, mac5, rssi, ntp_rx, self._base)
        g.hellos.extend(rec)
        g.n += 1
        if ntp_rx > self._newest:
            self._newest = ntp_rx
        if ntp_rx < self._oldest:
            self._oldest = ntp_rx
        self._pending_size += len(rec)
        if self._pending_size >= self.batch_bytes:
            self.flush()

    def due(self, elapsed_ms, now=None):
        """Write the pending batch once its epoch is over or it has waited `flush_s`; True when it did."""
        if not self._pending:
            return False
        if (now is not None and now >= self._base + EPOCH_S) or elapsed_ms - self._pending_since >= self.flush_s * 1000:
            self.flush()
            return True
        return False

    def flush_at(self, elapsed_ms, now_ms):
        """Milliseconds until the pending batch is due, or None when nothing is pending."""
        if not self._pending:
            return None
        by_age = self._pending_since + self.flush_s * 1000 - elapsed_ms
        return min(by_age, (self._base + EPOCH_S) * 1000 - now_ms)

    def flush(self):
        """Write the pending batch as one record (append, flush, sync)."""
        if not self._pending:
            self._pending_day = None
            return 0
        day = self._pending_day
        body = bytearray(struct.pack(">I", self._base))
        n = 0
        for g in self._pending:
            body.extend(bytes((g.ecc,)) + g.ebid + bytes((g.n,)) + g.hellos)
            n += g.n
        groups = len(self._pending)
        oldest = self._oldest
        newest = self._newest
        self._pending = []
        self._pending_size = 0
        self._pending_day = None
        record = encode_batch(self.seq, body)
        if not self._make_room(day, len(record)):
            self.dropped_hellos += n
            self.full = True
            return 0
        new_day = day not in self.days
        name = segment_name(day)
        try:
            with self._storage.open(name, "ab") as f:
                f.write(record)
                flashfile.sync(f)
        except OSError:
            # whatever reached flash is a torn tail: cut it now so later batches stay readable
            self.days.pop(day, None)
            self._scan_day(day)
            self.dropped_hellos += n
            raise
        self.seq += 1
        s = self.days.setdefault(day, [0, 0, 0, None, None])
        s[0] += len(record)
        s[1] += n
        s[2] += groups
        s[3] = oldest if s[3] is None else min(s[3], oldest)
        s[4] = newest if s[4] is None else max(s[4], newest)
        if new_day:
            self._write_meta()
        return n

    def _make_room(self, day, size):
        """Drop the oldest days until `size` more bytes fit; False when only newer data is left."""
        while self.bytes + size > self.capacity:
            older = [d for d in self.days if d < day]
            if not older:
                return False
            self._remove_day(min(older))
            self.dropped_days += 1
            self.full = True
        return True

    def _remove_day(self, day):
        flashfile.remove(self._storage, segment_name(day))
        self.days.pop(day, None)

    def purge(self, today):
        """Delete the days older than 14 days (today included in the 14); returns hellos removed."""
        removed = 0
        for day in sorted(self.days):
            if day <= today - KEEP_DAYS:
                removed += self.days[day][1]
                self._remove_day(day)
        if removed:
            self.full = False
            self._write_meta()
        return removed

    def erase(self):
        """Delete every observation (ERASE_HISTORY, factory reset); returns how many."""
        n = self.hellos
        self._pending = []
        self._pending_size = 0
        self._pending_day = None
        for day in list(self.days):
            self._remove_day(day)
        self.full = False
        self.acked = []
        self.dropped_hellos = 0
        self.dropped_days = 0
        self._write_meta()
        return n

    # ------------------------------------------------------------ reading
    def batches(self, max_seq=None, start=None):
        """Yield (day, offset, seq, body) of the stored batches, oldest day first, from `start` (day, offset)."""
        for day in sorted(self.days):
            if start is not None and day < start[0]:
                continue
            name = segment_name(day)
            if self._storage.size(name) < 0:
                continue
            pos = start[1] if start is not None and day == start[0] else 0
            with self._storage.open(name, "rb") as f:
                for at, seq, body in read_batches(f, pos):
                    if max_seq is None or seq <= max_seq:
                        yield day, at, seq, body

    def snapshot(self, start, end):
        """A frozen window [start, end) of the log for HISTORY_READ."""
        self.flush()
        return History(self, start, end, self.seq - 1)

    def mark_reported(self, snap):
        self.acked.append([snap.start, snap.end, snap.max_seq])
        self.acked = self.acked[-8:]
        self._write_meta()
        return snap.hellos


def render(body, start, end):
    """The HISTORY stream entries of one batch body for receptions in [start, end)."""
    out = bytearray()
    contacts = hellos = 0
    for ecc, ebid, recs in parse_groups(body):
        head = False
        for t16, mac, rssi, t in recs:
            if t < start or t >= end:
                continue
            if not head:
                out.extend(bytes((ENTRY_CONTACT, ecc)) + ebid)
                contacts += 1
                head = True
            out.extend(struct.pack(">BIH", ENTRY_HELLO, t, t16) + mac + struct.pack(">b", rssi))
            hellos += 1
    return out, contacts, hellos


class History:
    """A history window: its size is known at open; reads by offset resume anywhere.

    Sequential reads continue from a cursor. A read that goes back to where
    the previous read started (a kiosk repeating a request whose answer was
    lost) restarts from that read's batch; any other read backwards restarts
    from the beginning of the log, which is slow but right.
    """

    def __init__(self, log, start, end, max_seq):
        self._log = log
        self.start = start
        self.end = end
        self.max_seq = max_seq
        self.size = self.contacts = self.hellos = 0
        for _day, _at, _seq, body in log.batches(max_seq):
            out, c, h = render(body, start, end)
            self.size += len(out)
            self.contacts += c
            self.hellos += h
        self._iter = None
        self._chunk = b""
        self._chunk_at = 0  # stream offset of _chunk[0]
        self._chunk_src = None  # (day, file offset) of the batch _chunk was rendered from
        self._ckpt = None  # (src, stream offset) of the chunk where the last read started
        self.full_restarts = 0  # reads that had to start again from the first batch

    def _restart(self, src=None, at=0):
        self._iter = self._log.batches(self.max_seq, src)
        self._chunk = b""
        self._chunk_at = at
        if src is None:
            self.full_restarts += 1

    def read(self, offset, n):
        if offset >= self.size:
            return b""
        if self._iter is None:
            self._restart()
        elif offset < self._chunk_at:
            ck = self._ckpt
            if ck is not None and offset >= ck[1]:
                self._restart(ck[0], ck[1])
            else:
                self._restart()
        out = bytearray()
        first = True
        while len(out) < n:
            rel = offset + len(out) - self._chunk_at
            if rel < len(self._chunk):
                if first:
                    self._ckpt = (self._chunk_src, self._chunk_at)
                    first = False
                out.extend(self._chunk[rel : rel + n - len(out)])
                continue
            self._chunk_at += len(self._chunk)
            self._chunk = b""
            nxt = None
            for day, at, _seq, body in self._iter:
                piece = render(body, self.start, self.end)[0]
                if piece:
                    nxt = piece
                    self._chunk_src = (day, at)
                    break
            if nxt is None:
                break
            self._chunk = bytes(nxt)
        return bytes(out[: max(0, min(n, self.size - offset))])
