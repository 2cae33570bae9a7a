"""Building provisioned tokens over the doubles and speaking frames to them (tests only)."""

import json
import struct

from fwtest import Port, eq
from robert_token import frame
from robert_token.crc import crc32
from robert_token.epochs import epoch_of
from robert_token.sync import Session
from robert_token.token import Token
from sealing import bundle_json, make_tuples, seal

K_MAC = bytes(range(1, 33))
K_TUPLES = bytes(range(33, 65))
NOW = 3960000123


class Kiosk:
    """Sends requests to a Session and decodes the answers."""

    def __init__(self, session):
        self.session = session
        self.decoder = frame.Decoder()
        self.seq = 0

    def raw(self, data):
        self.decoder.feed(self.session.feed(data))
        return list(self.decoder.events())

    def call(self, command, payload=b"", seq=None):
        if seq is None:
            self.seq += 1
            seq = self.seq
        got = self.raw(frame.encode(command, seq, payload))
        eq(len(got), 1, "one answer")
        ok_, ftype, aseq, body = got[0]
        eq((ok_, ftype, aseq), (True, command | 0x80, seq), "answer header")
        return body[0], bytes(body[1:])

    def json(self, command, obj=None):
        status, body = self.call(command, b"" if obj is None else json.dumps(obj).encode())
        eq(status, 0, "status of 0x%02x (%s)" % (command, body))
        return json.loads(body) if body else None


def provision_payload(serial="RT-00000042"):
    return K_MAC + K_TUPLES + b"\x01" + b"IDA05" + json.dumps(
        {"cc": 33, "rx_gain": -10, "tx_gain": -5, "serial": serial, "model": "nrf52840"}).encode()


def write_bundle(kiosk, blob, chunk=1000):
    off = 0
    while off < len(blob):
        status, body = kiosk.call(frame.BUNDLE_WRITE, struct.pack(">I", off) + blob[off : off + chunk])
        eq(status, 0, "bundle write")
        off += chunk
    return kiosk.call(frame.BUNDLE_COMMIT, struct.pack(">II", len(blob), crc32(blob)))


def ready_token(port=None, count=12, now=NOW):
    """A provisioned token with its clock set and `count` tuples (epochs) from now."""
    port = port or Port()
    token = Token(port)
    kiosk = Kiosk(Session(token))
    status, _ = kiosk.call(frame.PROVISION, provision_payload())
    eq(status, 0, "provision")
    kiosk.json(frame.SET_TIME, {"ntp": now})
    blob = seal(K_TUPLES, b"0123456789ab", bundle_json(make_tuples(epoch_of(now), count)))
    status, body = write_bundle(kiosk, blob)
    eq(status, 0, "commit %s" % body)
    token.busy_until = None  # the kiosk is gone: no "busy" LED left over
    return port, token, kiosk
