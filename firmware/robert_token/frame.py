"""The one frame codec of docs/sync-protocol.md, shared by the token and the kiosk.

`encode` builds a frame; `Decoder` takes bytes as they come from any stream
and gives back whole frames and error events. It never raises on garbage: a
bad frame becomes an error event carrying the payload of the `0xFF` answer.
"""

import struct

from robert_token.crc import crc32

MAGIC = b"RT"
VERSION = 1
HEADER_SIZE = 8
CRC_SIZE = 4
OVERHEAD = HEADER_SIZE + CRC_SIZE
MAX_PAYLOAD = 2048
RESPONSE = 0x80
ERROR_TYPE = 0xFF
STALE_MS = 2000

# Commands
INFO = 0x01
SET_TIME = 0x02
AUTH_REQUEST = 0x03
STORE_STATUS = 0x04
BUNDLE_WRITE = 0x05
BUNDLE_COMMIT = 0x06
HISTORY_OPEN = 0x07
HISTORY_READ = 0x08
HISTORY_ACK = 0x09
ERASE_HISTORY = 0x0A
PROVISION = 0x0B
RESET_ARM = 0x0C
RESET_CONFIRM = 0x0D
ECHO = 0x0E

# Response statuses
OK = 0
BAD_FRAME = 1
UNSUPPORTED_VERSION = 2
UNKNOWN_COMMAND = 3
BAD_PAYLOAD = 4
NOT_PROVISIONED = 5
ALREADY_PROVISIONED = 6
CLOCK_NOT_SET = 7
NO_TUPLE = 8
AUTH_FAILED = 9
BAD_STATE = 10
STORAGE = 11
DENIED = 12


def encode(ftype, seq, payload=b""):
    """One frame: magic, version, type, seq, length, payload, CRC-32 of bytes 2..end of payload."""
    n = len(payload)
    if n > MAX_PAYLOAD:
        raise ValueError("payload too long: %d bytes (at most %d)" % (n, MAX_PAYLOAD))
    body = struct.pack(">BBHH", VERSION, ftype & 0xFF, seq & 0xFFFF, n) + bytes(payload)
    return MAGIC + body + struct.pack(">I", crc32(body))


def response(ftype, seq, status, body=b""):
    """The answer to a request of type `ftype`: status byte then body."""
    return encode(ftype | RESPONSE, seq, bytes((status,)) + bytes(body))


def error_frame(status, message):
    """The `0xFF` answer to a frame that could not be read (sequence 0)."""
    return encode(ERROR_TYPE, 0, bytes((status,)) + message.encode())


def _find_magic(buf, start):
    try:
        return buf.find(MAGIC, start)
    except AttributeError:  # pragma: no cover - bytearray without find on some ports
        return bytes(buf).find(MAGIC, start)


class Decoder:
    """Streaming decoder: `feed(data)` then iterate `events()` (or `frames()`).

    `events()` yields `(ok, type, seq, payload)`. For a good frame `ok` is True.
    For a bad one `ok` is False, `type` is 0xFF, `seq` 0 and `payload` is the
    status byte and message of the error answer to send back. The buffer never
    holds more than one maximal frame.
    """

    def __init__(self, stale_ms=STALE_MS):
        self._buf = bytearray()
        self.stale_ms = stale_ms
        self._last_ms = None
        self.garbage = 0  # bytes skipped before a magic
        self.bad_frames = 0  # frames dropped (CRC, length, version, stale)

    def feed(self, data, now_ms=None):
        """Add received bytes. `now_ms` (ticks) lets a partial frame older than 2 s be dropped."""
        if now_ms is not None:
            if self._buf and self._last_ms is not None and now_ms - self._last_ms > self.stale_ms:
                if _find_magic(self._buf, 0) == 0:
                    self.bad_frames += 1
                else:
                    self.garbage += len(self._buf)
                self._buf = bytearray()
            self._last_ms = now_ms
        self._buf.extend(data)

    def pending(self):
        """Bytes held waiting for the rest of a frame."""
        return len(self._buf)

    def events(self):
        """Parse what was fed: yields `(ok, type, seq, payload)` (see the class doc)."""
        buf = self._buf
        while True:
            i = _find_magic(buf, 0)
            if i < 0:
                # keep a trailing "R" that may start the next magic
                keep = 1 if buf and buf[-1] == MAGIC[0] else 0
                self.garbage += len(buf) - keep
                self._buf = buf[len(buf) - keep :]
                return
            if i:
                self.garbage += i
                self._buf = buf = buf[i:]
            if len(buf) < HEADER_SIZE:
                if len(buf) >= 3 and buf[2] != VERSION:
                    yield self._drop(UNSUPPORTED_VERSION, "unsupported protocol version %d" % buf[2])
                    buf = self._buf
                    continue
                return
            version, ftype, seq, n = struct.unpack_from(">BBHH", buf, 2)
            if version != VERSION:
                yield self._drop(UNSUPPORTED_VERSION, "unsupported protocol version %d" % version)
                buf = self._buf
                continue
            if n > MAX_PAYLOAD:
                yield self._drop(BAD_FRAME, "frame length %d over the limit of %d" % (n, MAX_PAYLOAD))
                buf = self._buf
                continue
            total = HEADER_SIZE + n + CRC_SIZE
            if len(buf) < total:
                j = self._cut_short(buf)
                if j < 0:
                    return
                self.bad_frames += 1  # a frame cut by a pulled cable: dropped silently
                self._buf = buf = buf[j:]
                continue
            body = bytes(buf[2 : HEADER_SIZE + n])
            (crc,) = struct.unpack_from(">I", buf, HEADER_SIZE + n)
            if crc != crc32(body):
                yield self._drop(BAD_FRAME, "frame CRC mismatch")
                buf = self._buf
                continue
            self._buf = buf = buf[total:]
            yield True, ftype, seq, body[6:]

    @staticmethod
    def _cut_short(buf):
        """Where a whole frame starts inside an incomplete one and ends the buffer, or -1.

        A sender that waits for an answer stops right after its frame, so such
        a frame means the incomplete one before it was cut (the kiosk's cable
        was pulled mid-frame and it came back with a new request).
        """
        j = _find_magic(buf, 1)
        while j > 0:
            if len(buf) - j >= OVERHEAD:
                version, _t, _s, n = struct.unpack_from(">BBHH", buf, j + 2)
                if version == VERSION and j + HEADER_SIZE + n + CRC_SIZE == len(buf):
                    body = bytes(buf[j + 2 : j + HEADER_SIZE + n])
                    if struct.unpack_from(">I", buf, j + HEADER_SIZE + n)[0] == crc32(body):
                        return j
            j = _find_magic(buf, j + 1)
        return -1

    def frames(self):
        """Only the good frames `(type, seq, payload)`; bad ones are counted and skipped."""
        for ok, ftype, seq, payload in self.events():
            if ok:
                yield ftype, seq, payload

    def _drop(self, status, message):
        """Drop the bad magic and resume scanning at the byte after it."""
        self.bad_frames += 1
        self._buf = self._buf[1:]
        return False, ERROR_TYPE, 0, bytes((status,)) + message.encode()
