"""The device side of the sync protocol (docs/sync-protocol.md): bytes in, bytes out.

A port creates one `Session` per link (USB, each BLE connection) and passes
every received chunk to `feed`, sending back what it returns. Every command
answers with a status; errors carry a message for a person and change nothing.
"""

import json
import struct
from binascii import b2a_base64

from robert_token import frame
from robert_token.bundle_json import BundleFormatError
from robert_token.crc import crc32
from robert_token.epochs import TIME_START, epoch_of
from robert_token.hello import KIND_PREFIX, auth_mac
from robert_token.keys import ProvisionError
from robert_token.token import STAGE_FILE
from robert_token.tuples import BundleAuthError

MAX_BUNDLE = 512 * 1024
RESET_WINDOW_MS = 30000
# A SET_TIME more than this past the token's running estimate (or, clock unset, past its newest
# logged observation) would purge days of history at the next daily purge: it needs
# `"confirm": true`, else DENIED and nothing changes (a wrong clock never wipes the log).
MAX_CLOCK_JUMP_S = 86400
MAX_JSON_DEPTH = 4  # our requests are flat objects; deeper is refused before parsing
HISTORY_READ_MAX = frame.MAX_PAYLOAD - 1


class Refused(Exception):
    """A command refused with a protocol status and a message for a person."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def _b64(data):
    return b2a_base64(data).decode().strip()


def json_too_deep(data, limit=MAX_JSON_DEPTH):
    """True when brackets outside strings nest deeper than `limit`, checked before parsing (a
    recursive parser on a device's small stack must never see such a payload; the kiosk page
    uses the same check)."""
    depth = 0
    in_str = False
    esc = False
    for b in data:
        if in_str:
            if esc:
                esc = False
            elif b == 0x5C:
                esc = True
            elif b == 0x22:
                in_str = False
        elif b == 0x22:
            in_str = True
        elif b == 0x5B or b == 0x7B:
            depth += 1
            if depth > limit:
                return True
        elif b == 0x5D or b == 0x7D:
            depth -= 1
    return False


def _json(payload):
    if payload and json_too_deep(payload):
        raise Refused(frame.BAD_PAYLOAD, "payload nested deeper than %d levels" % MAX_JSON_DEPTH)
    try:
        obj = json.loads(bytes(payload).decode()) if payload else None
    except (ValueError, UnicodeError, RuntimeError):  # RuntimeError: recursion depth
        raise Refused(frame.BAD_PAYLOAD, "payload is not valid JSON")
    if not isinstance(obj, dict):
        raise Refused(frame.BAD_PAYLOAD, "payload must be a JSON object")
    return obj


def _int_field(obj, name, lo, hi, nullable=False):
    v = obj.get(name)
    if v is None and nullable:
        return None
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise Refused(frame.BAD_PAYLOAD, "%s must be an integer in [%d, %d]" % (name, lo, hi))
    return v


def _dumps(obj):
    return json.dumps(obj).encode()


class Session:
    """One sync link to one token."""

    def __init__(self, token, link_ms=None):
        """`link_ms()` gives the milliseconds that age a partial frame (default: the token's
        timer; a port whose timer is virtual passes a wall clock)."""
        self.token = token
        self._link_ms = link_ms or token.clock.elapsed_ms
        self.decoder = frame.Decoder()
        self._armed = None  # (nonce, elapsed ms) of RESET_ARM
        self._seen = (0, 0)
        self._handlers = {
            frame.INFO: self._info, frame.SET_TIME: self._set_time, frame.AUTH_REQUEST: self._auth,
            frame.STORE_STATUS: self._store_status, frame.BUNDLE_WRITE: self._bundle_write,
            frame.BUNDLE_COMMIT: self._bundle_commit, frame.HISTORY_OPEN: self._history_open,
            frame.HISTORY_READ: self._history_read, frame.HISTORY_ACK: self._history_ack,
            frame.ERASE_HISTORY: self._erase, frame.PROVISION: self._provision,
            frame.RESET_ARM: self._reset_arm, frame.RESET_CONFIRM: self._reset_confirm,
            frame.ECHO: self._echo,
        }

    def feed(self, data):
        """Take received bytes; return the bytes to send back (possibly empty)."""
        d = self.decoder
        d.feed(data, self._link_ms())
        out = bytearray()
        for ok, ftype, seq, payload in d.events():
            if not ok:
                out.extend(frame.encode(frame.ERROR_TYPE, 0, payload))
                continue
            out.extend(self.handle(ftype, seq, payload))
            self.token.sync_activity()
        link = self.token.link
        link["garbage"] += d.garbage - self._seen[0]
        link["bad_frames"] += d.bad_frames - self._seen[1]
        self._seen = (d.garbage, d.bad_frames)
        return bytes(out)

    def handle(self, ftype, seq, payload):
        """The response frame to one well-formed request."""
        armed, self._armed = self._armed, None
        if ftype == frame.RESET_CONFIRM:
            self._armed = armed
        handler = self._handlers.get(ftype)
        if handler is None:
            return frame.response(ftype, seq, frame.UNKNOWN_COMMAND, ("unknown command 0x%02x" % ftype).encode())
        try:
            body = handler(payload)
            if len(body) > frame.MAX_PAYLOAD - 1:
                raise Refused(frame.BAD_STATE, "answer too long for one frame")
            return frame.response(ftype, seq, frame.OK, body)
        except Refused as e:
            return frame.response(ftype, seq, e.status, e.message.encode())
        except BundleAuthError:
            return frame.response(ftype, seq, frame.AUTH_FAILED, b"bundle authentication failed: old tuples kept")
        except (BundleFormatError, ProvisionError) as e:
            return frame.response(ftype, seq, frame.BAD_PAYLOAD, str(e).encode())
        except OSError as e:
            code = e.args[0] if e.args else "?"  # an OSError without errno must not break the answer
            return frame.response(ftype, seq, frame.STORAGE, ("flash error %s: nothing changed" % (code,)).encode())
        except (ValueError, TypeError, KeyError, IndexError, RuntimeError):
            # every frame gets an answer, whatever its payload holds
            return frame.response(ftype, seq, frame.BAD_PAYLOAD, b"request not understood: nothing changed")
        finally:
            if ftype == frame.RESET_CONFIRM:
                self._armed = None

    # ------------------------------------------------------------ guards
    def _provisioned(self):
        if not self.token.keys.provisioned:
            raise Refused(frame.NOT_PROVISIONED, "token not provisioned")

    def _now(self):
        now = self.token.clock.ntp()
        if now is None:
            raise Refused(frame.CLOCK_NOT_SET, "clock not set: send SET_TIME first")
        return now

    # ------------------------------------------------------------ commands
    def _info(self, payload):
        return _dumps(self.token.info())

    def _echo(self, payload):
        if len(payload) > frame.MAX_PAYLOAD - 1:
            raise Refused(frame.BAD_PAYLOAD, "ECHO takes at most %d bytes (the answer adds a status byte)"
                          % (frame.MAX_PAYLOAD - 1))
        return bytes(payload)

    def _set_time(self, payload):
        obj = _json(payload)
        ntp = _int_field(obj, "ntp", TIME_START, 0xFFFFFFFF)
        estimate = self.token.clock.ntp()
        if estimate is None:  # unset (a reset): the log's newest observation is a lower bound
            estimate = self.token.log.info().get("newest")
        if estimate is not None and ntp - estimate > MAX_CLOCK_JUMP_S and obj.get("confirm") is not True:
            raise Refused(frame.DENIED, "clock jump of %d days ahead refused: the history would be purged; "
                          "send again with confirm if the time is right" % ((ntp - estimate) // 86400))
        before, correction, drift = self.token.clock.set(ntp)
        return _dumps({"before": before, "correction": correction, "drift_ppm": drift})

    def _auth(self, payload):
        kind = _json(payload).get("kind")
        prefix = KIND_PREFIX.get(kind) if isinstance(kind, str) else None
        if prefix is None:
            raise Refused(frame.BAD_PAYLOAD, "kind must be status, unregister or deleteExposureHistory")
        self._provisioned()
        now = self._now()
        epoch = epoch_of(now)
        found = self.token.tuples.find(epoch)
        if found is not None:
            ebid = found[0]
        else:
            # tuples ran out: the latest past EBID with its own epochId still authenticates,
            # and the status answer brings a new bundle
            latest = self.token.tuples.latest(epoch)
            if latest is None:
                raise Refused(frame.NO_TUPLE, "no tuple for epoch %d or before: provision again" % epoch)
            epoch, ebid = latest[0], latest[1]
        mac = auth_mac(self.token.keys.mac_key(), prefix, ebid, epoch, now)
        return _dumps({"ebid": _b64(ebid), "epochId": epoch, "time": _b64(struct.pack(">I", now)),
                       "mac": _b64(mac)})

    def _store_status(self, payload):
        obj = _json(payload)
        level = _int_field(obj, "riskLevel", 0, 4)
        last = _int_field(obj, "lastContactDate", 0, 0xFFFFFFFF, nullable=True)
        scored = _int_field(obj, "lastRiskScoringDate", 0, 0xFFFFFFFF, nullable=True)
        self._provisioned()
        self.token.store_risk(level, last, scored)
        return b""

    def _bundle_write(self, payload):
        self._provisioned()
        if len(payload) < 4:
            raise Refused(frame.BAD_PAYLOAD, "BUNDLE_WRITE needs offset (4) and data")
        offset = struct.unpack(">I", payload[:4])[0]
        data = payload[4:]
        t = self.token
        staged = t.staged
        if offset > staged:
            raise Refused(frame.BAD_STATE, "gap: write at %d but %d bytes staged" % (offset, staged))
        if offset + len(data) > MAX_BUNDLE:
            raise Refused(frame.BAD_PAYLOAD, "bundle larger than %d bytes" % MAX_BUNDLE)
        st = t.port.storage
        mode = "wb" if offset == 0 or st.size(STAGE_FILE) < 0 else "r+b"
        with st.open(STAGE_FILE, mode) as f:
            f.seek(offset)
            f.write(data)
            f.flush()
        t.staged = offset + len(data)
        t.last_commit = None
        return _dumps({"received": t.staged})

    def _bundle_commit(self, payload):
        self._provisioned()
        if len(payload) != 8:
            raise Refused(frame.BAD_PAYLOAD, "BUNDLE_COMMIT needs total length (4) and CRC-32 (4)")
        length, crc = struct.unpack(">II", payload)
        t = self.token
        last = t.last_commit
        if last is not None and last[0] == (length, crc):
            return last[1]  # a repeated commit whose answer was lost
        staged = t.staged
        if staged != length:
            raise Refused(frame.BAD_STATE, "%d bytes staged, commit says %d" % (staged, length))
        st = t.port.storage
        c = 0
        with st.open(STAGE_FILE, "rb") as f:
            left = length
            while left:
                chunk = f.read(min(512, left))
                if not chunk:
                    break
                c = crc32(chunk, c)
                left -= len(chunk)
        if c != crc:
            raise Refused(frame.BAD_PAYLOAD, "staged bundle CRC mismatch: write it again")
        try:
            count, first, last_epoch = t.tuples.install(t.keys.tuples_key(), STAGE_FILE, length, t.port)
        finally:
            t.staged = 0
            if st.size(STAGE_FILE) >= 0:
                st.remove(STAGE_FILE)
        body = _dumps({"count": count, "first_epoch": first, "last_epoch": last_epoch})
        t.last_commit = ((length, crc), body)
        t.epoch = None  # take the new tuple now
        return body

    def _history_open(self, payload):
        obj = _json(payload)
        start = _int_field(obj, "from", 0, 0xFFFFFFFF)
        end = _int_field(obj, "to", 0, 0xFFFFFFFF, nullable=True)
        if end is None:
            end = self._now() + 1
        t = self.token
        snap = t.log.snapshot(start, end)
        sid = struct.unpack(">I", t.port.random(4))[0] & 0x7FFFFFFF
        t.history = (sid, snap)
        return _dumps({"session": sid, "size": snap.size, "contacts": snap.contacts, "hellos": snap.hellos})

    def _snap(self, sid):
        h = self.token.history
        if h is None or h[0] != sid:
            raise Refused(frame.BAD_STATE, "no open history session %d: send HISTORY_OPEN" % sid)
        return h[1]

    def _history_read(self, payload):
        if len(payload) != 10:
            raise Refused(frame.BAD_PAYLOAD, "HISTORY_READ needs session (4), offset (4), length (2)")
        sid, offset, n = struct.unpack(">IIH", payload)
        return self._snap(sid).read(offset, min(n, HISTORY_READ_MAX))

    def _history_ack(self, payload):
        sid = _int_field(_json(payload), "session", 0, 0xFFFFFFFF)
        snap = self._snap(sid)
        return _dumps({"marked": self.token.log.mark_reported(snap)})

    def _erase(self, payload):
        if _json(payload).get("confirm") != "ERASE":
            raise Refused(frame.DENIED, 'ERASE_HISTORY needs {"confirm": "ERASE"}')
        t = self.token
        t.history = None
        return _dumps({"erased": t.log.erase()})

    def _provision(self, payload):
        t = self.token
        if t.keys.provisioned:
            raise Refused(frame.ALREADY_PROVISIONED, "already provisioned: factory reset first")
        settings = t.keys.provision(payload)
        t.epoch = None
        return _dumps({"serial": settings.get("serial") or getattr(t.port, "serial", None)})

    def _reset_arm(self, payload):
        nonce = bytes(self.token.port.random(4))
        self._armed = (nonce, self.token.clock.elapsed_ms())
        return nonce

    def _reset_confirm(self, payload):
        armed = self._armed
        if armed is None:
            raise Refused(frame.DENIED, "factory reset not armed: send RESET_ARM first")
        if self.token.clock.elapsed_ms() - armed[1] > RESET_WINDOW_MS:
            raise Refused(frame.DENIED, "factory reset confirmation too late: arm again")
        if bytes(payload) != armed[0] + b"WIPE":
            raise Refused(frame.DENIED, "factory reset confirmation does not match")
        self.token.factory_reset()
        self.token.history = None
        return b""
