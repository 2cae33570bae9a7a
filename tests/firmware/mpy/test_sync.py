"""The sync session end to end over the doubles: every command, errors change nothing."""

import json
import struct

from fwtest import Port, eq, ok, run
from robert_token import frame, hello
from robert_token.crc import crc32
from robert_token.epochs import epoch_of
from robert_token.sync import Session
from robert_token.token import Token
from sealing import bundle_json, make_tuples, seal
from tokenkit import K_MAC, K_TUPLES, NOW, Kiosk, provision_payload, ready_token, write_bundle


def test_fresh_token_info_and_refusals():
    port = Port()
    k = Kiosk(Session(Token(port)))
    info = k.json(frame.INFO)
    eq((info["provisioned"], info["state"], info["proto"]), (False, "not_provisioned", 1))
    eq(k.call(frame.AUTH_REQUEST, b'{"kind":"status"}')[0], frame.NOT_PROVISIONED)
    eq(k.call(frame.BUNDLE_WRITE, b"\x00\x00\x00\x00ab")[0], frame.NOT_PROVISIONED)
    eq(k.call(0x3F)[0], frame.UNKNOWN_COMMAND)
    eq(k.call(frame.SET_TIME, b"not json")[0], frame.BAD_PAYLOAD)
    eq(k.call(frame.SET_TIME, b'{"ntp": "x"}')[0], frame.BAD_PAYLOAD)
    eq(k.call(frame.PROVISION, b"short")[0], frame.BAD_PAYLOAD)
    eq(k.call(frame.ECHO, b"ping")[1], b"ping")


def test_provision_once_then_auth_request_matches_mac():
    port, token, k = ready_token()
    eq(k.call(frame.PROVISION, provision_payload())[0], frame.ALREADY_PROVISIONED)
    info = k.json(frame.INFO)
    eq(info["state"], "ok")
    eq(info["serial"], "RT-00000042")
    eq(info["tuples"]["count"], 12)
    body = k.json(frame.AUTH_REQUEST, {"kind": "status"})
    from binascii import a2b_base64

    epoch = epoch_of(NOW)
    eq(body["epochId"], epoch)
    ebid = a2b_base64(body["ebid"].encode())
    t32 = a2b_base64(body["time"].encode())
    eq(struct.unpack(">I", t32)[0], NOW)
    eq(a2b_base64(body["mac"].encode()), hello.auth_mac(K_MAC, 2, ebid, epoch, NOW))
    eq(k.call(frame.AUTH_REQUEST, b'{"kind":"other"}')[0], frame.BAD_PAYLOAD)
    token.tuples.wipe()
    eq(k.call(frame.AUTH_REQUEST, b'{"kind":"status"}')[0], frame.NO_TUPLE)
    text = json.dumps(info)
    for key in (K_MAC, K_TUPLES):
        ok("".join("%02x" % b for b in key) not in text, "no key in INFO")


def test_tampered_bundle_keeps_old_tuples():
    port, token, k = ready_token()
    blob = bytearray(seal(K_TUPLES, b"abcdefghijkl", bundle_json(make_tuples(epoch_of(NOW) + 50, 12))))
    blob[40] ^= 0x01
    status, msg = write_bundle(k, bytes(blob))
    eq(status, frame.AUTH_FAILED)
    ok(b"old tuples kept" in msg, "message")
    eq(k.json(frame.INFO)["tuples"]["first_epoch"], epoch_of(NOW))


def test_bundle_write_gap_retry_and_crc():
    port, token, k = ready_token()
    blob = seal(K_TUPLES, b"abcdefghijkl", bundle_json(make_tuples(epoch_of(NOW), 40)))
    eq(k.call(frame.BUNDLE_WRITE, struct.pack(">I", 0) + blob[:500])[0], 0)
    eq(k.call(frame.BUNDLE_WRITE, struct.pack(">I", 900) + blob[900:1000])[0], frame.BAD_STATE)
    eq(k.call(frame.BUNDLE_WRITE, struct.pack(">I", 400) + blob[400:800]), (0, b'{"received": 800}'))
    for off in range(800, len(blob), 1000):
        eq(k.call(frame.BUNDLE_WRITE, struct.pack(">I", off) + blob[off : off + 1000])[0], 0)
    eq(k.call(frame.BUNDLE_COMMIT, struct.pack(">II", len(blob), 1234))[0], frame.BAD_PAYLOAD)
    write_bundle(k, blob)
    commit = struct.pack(">II", len(blob), crc32(blob))
    again = k.call(frame.BUNDLE_COMMIT, commit)  # the answer was lost: same result
    eq(json.loads(again[1])["count"], 40)


def test_set_time_reports_correction():
    port, token, k = ready_token()
    port.clock.advance(3600 * 1000)
    ans = k.json(frame.SET_TIME, {"ntp": NOW + 3600 + 2})
    eq((ans["before"], ans["correction"]), (NOW + 3600, 2))
    ok(ans["drift_ppm"] > 500 - 1, "2 s in an hour is 555 ppm, clamped to 500: %r" % ans["drift_ppm"])


def test_history_open_read_ack_and_erase():
    port, token, k = ready_token()
    sd = b"\x16\x64\xfd" + hello.build(b"k" * 32, 0x21, b"EBIDEBID", NOW) + b"\x00\x00"
    adv = bytes((len(sd),)) + sd
    for i in range(30):
        port.clock.advance(10000)
        token.on_advert(b"\xc0\x01\x02\x03\x04\x05", adv, -60, port.clock.ticks_ms())
    eq(token.log.hellos, 30)  # heard every 10 s: more than the 4 s burst window apart
    token.on_advert(b"\xc0\x01\x02\x03\x04\x05", adv, -60, port.clock.ticks_ms())
    eq(token.heard["duplicates"], 1)
    s = k.json(frame.HISTORY_OPEN, {"from": NOW, "to": None})
    data = bytearray()
    while len(data) < s["size"]:
        st, piece = k.call(frame.HISTORY_READ, struct.pack(">IIH", s["session"], len(data), 7))
        eq(st, 0)
        data.extend(piece)
    eq(data[0], 1)
    eq(bytes(data[2:10]), b"EBIDEBID")
    eq(k.call(frame.HISTORY_READ, struct.pack(">IIH", s["session"] + 1, 0, 7))[0], frame.BAD_STATE)
    eq(k.json(frame.HISTORY_ACK, {"session": s["session"]})["marked"], s["hellos"])
    eq(k.call(frame.ERASE_HISTORY, b'{"confirm":"no"}')[0], frame.DENIED)
    eq(k.json(frame.ERASE_HISTORY, {"confirm": "ERASE"})["erased"], s["hellos"])


def test_factory_reset_needs_arm_and_exact_nonce():
    port, token, k = ready_token()
    eq(k.call(frame.RESET_CONFIRM, b"\x00\x00\x00\x00WIPE")[0], frame.DENIED)
    st, nonce = k.call(frame.RESET_ARM)
    eq(k.call(frame.INFO)[0], 0)  # any other frame disarms
    eq(k.call(frame.RESET_CONFIRM, nonce + b"WIPE")[0], frame.DENIED)
    st, nonce = k.call(frame.RESET_ARM)
    eq(k.call(frame.RESET_CONFIRM, nonce + b"WIPX")[0], frame.DENIED)
    st, nonce = k.call(frame.RESET_ARM)
    port.clock.advance(31000)
    eq(k.call(frame.RESET_CONFIRM, nonce + b"WIPE")[0], frame.DENIED)
    st, nonce = k.call(frame.RESET_ARM)
    eq(k.call(frame.RESET_CONFIRM, nonce + b"WIPE"), (0, b""))
    info = k.json(frame.INFO)
    eq((info["provisioned"], info["tuples"]["count"], info["clock"]["set"]), (False, 0, False))
    eq(sorted(port.storage.files), ["log_meta.json"])
    eq(k.call(frame.PROVISION, provision_payload())[0], 0)


def test_damaged_key_file_means_not_provisioned():
    port, token, k = ready_token()
    port.storage.files["keys.bin"][40] ^= 0x01
    eq(Token(port).keys.provisioned, False)
    eq(Kiosk(Session(Token(port))).json(frame.INFO)["state"], "not_provisioned")


def test_keys_never_leave_the_token():
    port, token, k = ready_token()
    hexes = ["".join("%02x" % b for b in key) for key in (K_MAC, K_TUPLES)]
    texts = [repr(token), repr(token.keys), json.dumps(token.info())]
    for command, payload in ((frame.PROVISION, provision_payload()), (frame.SET_TIME, b"{}"),
                             (frame.BUNDLE_COMMIT, b"12345678"), (frame.HISTORY_READ, b"x"),
                             (frame.AUTH_REQUEST, b'{"kind": 5}'), (frame.INFO, b"")):
        status, body = k.call(command, payload)
        texts.append(body.decode())
        ok(K_MAC not in body and K_TUPLES not in body, "raw key in an answer")
    for text in texts:
        for h in hexes:
            ok(h not in text, "a key in %r" % text[:60])


def test_garbage_and_bad_frames_answered_without_state_change():
    port, token, k = ready_token()
    before = k.json(frame.INFO)
    bad = bytearray(frame.encode(frame.ERASE_HISTORY, 5, b'{"confirm":"ERASE"}'))
    bad[-2] ^= 0xFF
    got = k.raw(b"noise" + bytes(bad))
    eq(got[0][1], 0xFF)
    eq(got[0][3][0], frame.BAD_FRAME)
    after = k.json(frame.INFO)
    eq(after["link"]["garbage"] >= 5, True)
    eq(after["link"]["bad_frames"], 1)
    eq(after["tuples"], before["tuples"])


def test_flash_error_without_errno_is_answered():
    port, token, k = ready_token()

    def broken_open(name, mode="rb"):
        raise OSError()  # some VFS errors carry no errno

    port.storage.open = broken_open
    status, body = k.call(frame.SET_TIME, json.dumps({"ntp": NOW + 60}).encode())
    eq((status, body), (frame.STORAGE, b"flash error ?: nothing changed"))


def _heard(port, token, n=20):
    sd = b"\x16\x64\xfd" + hello.build(b"k" * 32, 0x21, b"EBIDEBID", NOW) + b"\x00\x00"
    adv = bytes((len(sd),)) + sd
    for i in range(n):
        port.clock.advance(10000)
        token.on_advert(b"\xc0\x01\x02\x03\x04\x05", adv, -60, port.clock.ticks_ms())
    token.tick()
    return k_hellos(token)


def k_hellos(token):
    return token.log.info()["hellos"]


def test_set_time_far_ahead_is_refused_and_the_log_kept():
    """Issue 10, point 2: a clock 15 days ahead would purge the whole log at the next tick."""
    port, token, k = ready_token()
    before = _heard(port, token)
    ok(before > 0, "hellos logged")
    clock_before = k.json(frame.INFO)["clock"]["ntp"]
    status, body = k.call(frame.SET_TIME, json.dumps({"ntp": NOW + 15 * 86400}).encode())
    eq(status, frame.DENIED)
    ok(b"confirm" in body and b"14 days" in body, body)  # 200 s were heard meanwhile
    eq(k.json(frame.INFO)["clock"]["ntp"] - clock_before < 5, True)  # clock unchanged
    token.tick()
    eq(k_hellos(token), before)
    # A small correction (less than a day) is taken as usual.
    k.json(frame.SET_TIME, {"ntp": NOW + 3 * 3600})
    token.tick()
    eq(k_hellos(token), before)
    # With the explicit confirmation the jump takes effect (and the purge runs).
    ans = k.json(frame.SET_TIME, {"ntp": NOW + 15 * 86400, "confirm": True})
    ok(ans["correction"] > 14 * 86400, ans)
    token.tick()
    eq(k_hellos(token), 0)


def test_set_time_on_an_unset_clock_is_bounded_by_the_log():
    port, token, k = ready_token()
    before = _heard(port, token)
    token.clock.forget()  # a reset on a port whose timer does not keep running
    eq(k.json(frame.INFO)["clock"]["set"], False)
    status, _ = k.call(frame.SET_TIME, json.dumps({"ntp": NOW + 20 * 86400}).encode())
    eq(status, frame.DENIED)
    token.tick()
    eq(k_hellos(token), before)
    k.json(frame.SET_TIME, {"ntp": NOW + 600})
    eq(k.json(frame.INFO)["clock"]["set"], True)


def test_deeply_nested_payloads_are_answered():
    """Issue 10, point 8: a payload nested 1000 deep got no answer at all."""
    port, token, k = ready_token()
    for command in (frame.SET_TIME, frame.AUTH_REQUEST, frame.STORE_STATUS, frame.HISTORY_OPEN):
        for payload in (b"[" * 1000 + b"]" * 1000, b'{"a":' * 300 + b"1" + b"}" * 300,
                        b"[" * 2000):
            status, body = k.call(command, payload)
            eq(status, frame.BAD_PAYLOAD, body)
    # brackets inside strings do not count
    eq(k.call(frame.AUTH_REQUEST, json.dumps({"kind": "[[[[[[[[[[{{{{{{"}).encode())[0],
       frame.BAD_PAYLOAD)
    eq(k.json(frame.INFO)["state"], "ok")


run(globals())
