"""The stub answers as robert-server and the submission-code service do, where a real app
or kiosk would notice: captchas, 430, report codes of every kind, the status JWTs and the
4-day bundle. Each names the real class it follows (server_stub docstrings)."""

from __future__ import annotations

import base64
import io
import json
import struct
import wave

import pytest
from cryptography.exceptions import InvalidSignature
from hypothesis import given, settings
from hypothesis import strategies as st

from server_stub import codes
from server_stub.clock import Clock

from .spec_client import (
    PREFIX_STATUS,
    SpecClient,
    captcha_media,
    epoch_of,
    jwt_parts,
    new_captcha,
    report_body,
    verify_rs256,
)
from .test_api import advance, contact_log, registered


@pytest.fixture
def strict(store):
    """An app in process with --require-captcha."""
    from fastapi.testclient import TestClient

    from server_stub.app import create_app
    from server_stub.service import Settings

    with TestClient(create_app(store, Clock(), Settings(require_captcha=True))) as http:
        yield http


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_captcha_endpoints_give_a_real_png_and_wav(world):
    r = world.http.post("/api/v6/captcha", json={"type": "IMAGE", "locale": "fr-FR"})
    assert r.status_code == 201 and r.json()["id"] == r.json()["captchaId"]
    image = captcha_media(world.http, r.json()["id"], "image")
    assert image.headers["content-type"] == "image/png"
    width, height = png_size(image.content)
    assert width >= 100 and height >= 40
    from PIL import Image
    Image.open(io.BytesIO(image.content)).verify()               # pillow decodes it
    audio = captcha_media(world.http, new_captcha(world.http, "AUDIO"), "audio")
    assert audio.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(audio.content)) as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        assert w.getnframes() / w.getframerate() > 2              # six spoken characters
    assert captcha_media(world.http, "nope", "image").status_code == 404
    bad = world.http.post("/api/v6/captcha", json={"type": "VIDEO", "locale": "fr"})
    assert bad.status_code == 400
    assert world.http.post("/api/v6/captcha", json={"type": "IMAGE"}).status_code == 400


def test_require_captcha_checks_the_answer_once(strict, store):
    key = base64.b64encode(store.public_key_spki()).decode()
    client = SpecClient(strict, key)
    assert client.register().status_code == 401                    # no captcha at all
    wrong = new_captcha(strict)
    right = store.captcha_answer(wrong)
    assert client.register(wrong, "nothing").status_code == 401
    assert client.register(wrong, right).status_code == 401        # a captcha is checked once
    good = new_captcha(strict)
    answer = store.captcha_answer(good)                            # test-only hook
    assert client.register(good, f" {answer.lower()} ").status_code == 201
    assert SpecClient(strict, key).register(good, answer).status_code == 401   # used


def test_without_require_captcha_any_captcha_passes(world):
    assert SpecClient(world.http, world.key_b64).register("any", "thing").status_code == 201


def test_unknown_registration_is_430_on_every_authenticated_call(world):
    c = registered(world)
    now = world.now()
    assert c.unregister(now).status_code == 200
    for call in (c.status, c.unregister, c.delete_history):
        assert call(now).status_code == 430


@pytest.mark.parametrize("kind,length,ttl", [
    ("short", 6, codes.SHORT_TTL), ("long", 36, codes.LONG_TTL), ("test", 12, None),
    ("jwt", None, codes.JWT_TTL)])
def test_every_code_kind_reports_once_and_expires(world, kind, length, ttl):
    exposed = registered(world)
    e0 = epoch_of(world.now())
    log = contact_log(exposed, e0, 1)
    advance(world, 2 * 900)
    code = codes.new_code(world.store, world.now(), kind=kind)
    if length:
        assert len(code) == length
    else:
        header, claims, _, _ = jwt_parts(code)
        assert header["alg"] == "ES256" and header["kid"] and claims["jti"] and claims["iat"]
    spare = codes.new_code(world.store, world.now(), kind=kind)
    assert world.http.get("/api/v1/verify", params={"code": code}).json() == {"valid": True}
    shown = code.lower() if kind in ("short", "test") else code   # typed in any case
    r = world.http.post("/api/v6/report", json=report_body(shown, log))
    assert r.status_code == 200, r.text
    again = world.http.post("/api/v6/report", json=report_body(code, log))
    assert again.status_code == 401
    if kind == "test":     # 15 days, to the start of that UTC day (generateTestCode)
        now = world.now()
        ttl = (now + 15 * 86400) - (now + 15 * 86400) % 86400 - now
    advance(world, ttl + 1)
    assert world.http.post("/api/v6/report", json=report_body(spare, log)).status_code == 401


@pytest.mark.parametrize("token", ["TOOLONGCODE", "x", "a.b.c", "ABCDEFGHIJKL", "eyJhbGciOi",
                                   "%" * 300])
def test_a_bad_code_of_any_shape_is_401(world, token):
    r = world.http.post("/api/v6/report", json=report_body(token, []))
    assert r.status_code == 401 and r.json()["message"]


def test_a_forged_jwt_code_is_401(world):
    code = codes.new_code(world.store, world.now(), kind="jwt")
    head, body, sig = code.split(".")
    claims = jwt_parts(code)[1]
    forged_body = base64.urlsafe_b64encode(
        json.dumps({"jti": "other", "iat": claims["iat"]}).encode()).decode().rstrip("=")
    for forged in (f"{head}.{forged_body}.{sig}", f"{head}.{body}.{sig[:-4]}AAAA"):
        r = world.http.post("/api/v6/report", json=report_body(forged, []))
        assert r.status_code == 401


def test_declaration_token_is_an_rs256_jwt_from_tac(world):
    from server_stub import tokens
    c = registered(world, tuplesDays=30)
    e0 = epoch_of(world.now())
    log = contact_log(c, e0, 2)
    advance(world, 3 * 900)
    code = codes.new_code(world.store, world.now())
    assert world.http.post("/api/v6/report", json=report_body(code, log)).status_code == 200
    answer = c.status(world.now()).json()
    public = tokens.public_key_b64(world.store.declaration_key())
    claims = verify_rs256(answer["declarationToken"], public)
    assert claims["iss"] == "tac" and len(claims["jti"]) == 64
    assert str(claims["lastContactDateTimestamp"]) == answer["lastContactDate"]
    header = jwt_parts(answer["declarationToken"])[0]
    assert header["kid"] == tokens.DECLARATION_KID
    analytics = verify_rs256(answer["analyticsToken"],
                             tokens.public_key_b64(world.store.analytics_key()))
    assert analytics["iss"] == "robert-server" and analytics["exp"] > analytics["iat"]
    with pytest.raises(InvalidSignature):
        verify_rs256(answer["declarationToken"],
                     tokens.public_key_b64(world.store.analytics_key()))


def test_the_bundle_is_four_days_unless_the_extension_is_asked(world):
    """RegisterControllerImpl: epoch-bundle-duration-in-days 4, from the current epoch."""
    c = registered(world)
    now_epoch = epoch_of(world.now())
    assert max(c.tuples) == (now_epoch // 96 + 4) * 96 - 1
    advance(world, 2 * 86400)
    assert c.status(world.now()).status_code == 200             # each status: 4 days again
    assert max(c.tuples) == (epoch_of(world.now()) // 96 + 4) * 96 - 1
    long = registered(world, tuplesDays=14)
    assert max(long.tuples) == (epoch_of(world.now()) // 96 + 14) * 96 - 1


def test_status_body_of_an_unknown_epoch_day_is_430(world):
    c = registered(world)
    body = c.auth_body(PREFIX_STATUS, world.now())
    body["epochId"] = max(c.tuples) + 96 * 30
    assert world.http.post("/api/v6/status", json=body).status_code == 430


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


JWT_PARTS = st.one_of(st.text(max_size=60), st.binary(max_size=60).map(_b64url),
                      st.just(_b64url(b"[" * 3000)), st.just(_b64url(b'{"alg": "ES256"}')),
                      st.just(_b64url(b'{"jti": "x", "iat": 1e400}')))


@settings(max_examples=120, deadline=None)
@given(st.one_of(st.text(max_size=200),
                 st.lists(JWT_PARTS, min_size=3, max_size=3).map(".".join)))
def test_jwt_code_parsing_never_raises(tmp_path_factory, text):
    store = _fuzz_store(tmp_path_factory)
    assert codes.jwt_id(store, text, 3_990_000_000) is None


_STORES: dict = {}


def _fuzz_store(factory):
    from server_stub.store import Store
    if "s" not in _STORES:
        _STORES["s"] = Store(factory.mktemp("fuzz") / "s.db")
    return _STORES["s"]
