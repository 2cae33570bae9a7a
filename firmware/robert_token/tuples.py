"""EBID/ECC tuples: opening the server's encrypted bundle and the compact store on flash.

The store (`tuples.bin`) is a plain array of 13-byte records
`epochId (4) || EBID (8) || ECC (1)`, replaced (power-cut safe, `flashfile`) by a new bundle once
its GCM tag has been checked. Bundles are decrypted as a stream (from flash
in chunks), never held twice in RAM.
"""

import struct

from robert_token import flashfile
from robert_token.bundle_json import BundleFormatError, BundleScanner
from robert_token.crypto import block_cipher
from robert_token.gcm import GcmDecryptor

FILE = "tuples.bin"
_TMP = flashfile.tmp_name(FILE)
RECORD = 13
IV_SIZE = 12
TAG_SIZE = 16
CHUNK = 512


class BundleAuthError(ValueError):
    """The bundle's GCM tag did not verify (wrong key or tampered data)."""


class _ListSink:
    def __init__(self):
        self.items = []

    def add(self, t):
        self.items.append(t)


def _decrypt(k_tuples, read, length, sink, port=None):
    """Decrypt and parse `length` bytes of blob given by `read(n)`; sink gets each tuple.

    The tag is checked over the whole ciphertext even when the plaintext does
    not parse, so a tampered bundle is always reported as such.
    """
    if length < IV_SIZE + TAG_SIZE:
        raise BundleFormatError("bundle too short: %d bytes" % length)
    iv = read(IV_SIZE)
    gcm = GcmDecryptor(block_cipher(k_tuples, port), iv)
    scanner = BundleScanner()
    problem = None
    left = length - IV_SIZE - TAG_SIZE
    while left > 0:
        chunk = read(min(CHUNK, left))
        if not chunk:
            raise BundleFormatError("bundle ended early")
        left -= len(chunk)
        plain = gcm.update(chunk)
        if not left:
            plain += gcm.finish()
        if problem is None:
            try:
                for t in scanner.feed(plain):
                    sink.add(t)
            except BundleFormatError as e:
                problem = e
    tag = read(TAG_SIZE)
    if not gcm.verify(tag):
        raise BundleAuthError("bundle authentication failed")
    if problem is None:
        try:
            scanner.close()
        except BundleFormatError as e:
            problem = e
    if problem is not None:
        raise problem
    return scanner.count


def open_bundle(k_tuples, blob, port=None):
    """The (epoch_id, ebid, ecc) tuples of an in-memory bundle blob (IV || ct || tag)."""
    blob = bytes(blob)
    pos = [0]

    def read(n):
        p = pos[0]
        pos[0] = p + n
        return blob[p : p + n]

    sink = _ListSink()
    _decrypt(k_tuples, read, len(blob), sink, port)
    return sink.items


class _FileSink:
    """Writes tuples to the temporary store file, tracking the coverage."""

    def __init__(self, f):
        self._f = f
        self._buf = bytearray()
        self.count = 0
        self.first = None
        self.last = None

    def add(self, t):
        epoch_id, ebid, ecc = t
        self._buf.extend(struct.pack(">I", epoch_id) + ebid + bytes((ecc,)))
        self.count += 1
        if self.first is None or epoch_id < self.first:
            self.first = epoch_id
        if self.last is None or epoch_id > self.last:
            self.last = epoch_id
        if len(self._buf) >= 32 * RECORD:
            self.flush()

    def flush(self):
        if self._buf:
            self._f.write(self._buf)
            self._buf = bytearray()


class TupleStore:
    """The tuples on flash: lookup by epoch, coverage for INFO."""

    def __init__(self, storage):
        self._storage = storage
        self.count = 0
        self.first_epoch = None
        self.last_epoch = None
        self._cache = None  # (epoch_id, ebid, ecc) of the last lookup
        flashfile.recover(storage, FILE)
        self._scan_coverage()

    def _records(self):
        if self._storage.size(FILE) < RECORD:
            return
        with self._storage.open(FILE, "rb") as f:
            while True:
                block = f.read(RECORD * 64)
                if not block:
                    return
                for i in range(0, len(block) - RECORD + 1, RECORD):
                    yield block[i : i + RECORD]

    def _scan_coverage(self):
        self.count = 0
        self.first_epoch = self.last_epoch = None
        for r in self._records():
            e = struct.unpack(">I", r[:4])[0]
            self.count += 1
            if self.first_epoch is None or e < self.first_epoch:
                self.first_epoch = e
            if self.last_epoch is None or e > self.last_epoch:
                self.last_epoch = e

    def find(self, epoch_id):
        """(ebid, ecc) for `epoch_id`, or None."""
        c = self._cache
        if c is not None and c[0] == epoch_id:
            return c[1], c[2]
        for r in self._records():
            if struct.unpack(">I", r[:4])[0] == epoch_id:
                self._cache = (epoch_id, bytes(r[4:12]), r[12])
                return self._cache[1], self._cache[2]
        return None

    def latest(self, epoch_id):
        """(epoch, ebid, ecc) of the latest tuple at or before `epoch_id`, or None."""
        best = None
        for r in self._records():
            e = struct.unpack(">I", r[:4])[0]
            if e <= epoch_id and (best is None or e > best[0]):
                best = (e, bytes(r[4:12]), r[12])
        return best

    def remaining(self, epoch_id):
        """How many stored tuples are for `epoch_id` or later."""
        n = 0
        for r in self._records():
            if struct.unpack(">I", r[:4])[0] >= epoch_id:
                n += 1
        return n

    def install(self, k_tuples, stage_name, length, port=None):
        """Decrypt the staged blob from flash; replace the store only if it authenticates."""
        storage = self._storage
        try:
            with storage.open(stage_name, "rb") as src, storage.open(_TMP, "wb") as dst:
                sink = _FileSink(dst)
                _decrypt(k_tuples, src.read, length, sink, port)
                sink.flush()
                flashfile.sync(dst)
            if not sink.count:
                raise BundleFormatError("bundle holds no tuples")
        except Exception:
            if storage.size(_TMP) >= 0:
                storage.remove(_TMP)
            raise
        flashfile.commit(storage, FILE)
        self._cache = None
        self._scan_coverage()
        return sink.count, sink.first, sink.last

    def wipe(self):
        flashfile.remove(self._storage, FILE)
        self._cache = None
        self._scan_coverage()
