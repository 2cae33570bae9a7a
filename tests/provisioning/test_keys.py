"""Station key agreement: the station's Z is the server's Z, keys are hidden and wiped."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioning.errors import EXIT_USAGE, ProvisionError
from provisioning.keys import StationKeyPair, TokenKeys, load_server_key, wipe
from provisioning.station import opens_bundle


def _spki(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def test_station_and_server_agree_on_z():
    server = ec.generate_private_key(ec.SECP256R1())
    station = StationKeyPair()
    z = station.shared_secret(load_server_key(base64.b64encode(_spki(server)).decode()))
    client_pub = serialization.load_der_public_key(base64.b64decode(station.public_b64))
    assert bytes(z) == server.exchange(ec.ECDH(), client_pub)
    with pytest.raises(RuntimeError):  # the private key is used once, then dropped
        station.shared_secret(server.public_key())


def test_server_key_as_pem_is_accepted():
    server = ec.generate_private_key(ec.SECP256R1())
    pem = server.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    assert load_server_key(pem).public_numbers() == server.public_key().public_numbers()


@pytest.mark.parametrize("text", [
    "not base64 !", base64.b64encode(b"\x30\x03\x02\x01\x00").decode(), "-----BEGIN PUBLIC KEY-----\nxx\n",
    base64.b64encode(_spki(ec.generate_private_key(ec.SECP384R1()))).decode(),
])
def test_bad_server_keys_are_refused_clearly(text):
    with pytest.raises(ProvisionError) as err:
        load_server_key(text)
    assert err.value.exit_code == EXIT_USAGE
    assert "key" in err.value.message


def test_token_keys_hide_and_wipe():
    k_mac, k_tuples = os.urandom(32), os.urandom(32)
    with TokenKeys(k_mac, k_tuples) as keys:
        assert bytes(keys.k_mac) == k_mac and not keys.wiped
        assert k_mac.hex() not in repr(keys) and "hidden" in repr(keys)
    assert keys.wiped and keys.k_mac == bytearray(32)
    buf = bytearray(b"secret")
    wipe(buf)
    assert buf == bytearray(6)


def test_bundle_check_tells_the_right_key_from_a_wrong_one():
    from robert.crypto import tuples_seal

    key = os.urandom(32)
    blob = tuples_seal(key, [(1234, os.urandom(8), 0x21)])
    assert opens_bundle(bytearray(key), blob)
    assert not opens_bundle(os.urandom(32), blob)
    assert not opens_bundle(key, blob[:20])
    assert not opens_bundle(key, blob[:-1] + bytes([blob[-1] ^ 1]))


def test_derive_uses_the_protocol_kdf_and_zeroes_z():
    import hashlib
    import hmac

    z = bytearray(os.urandom(32))
    z_copy = bytes(z)
    keys = TokenKeys.derive(z)
    assert bytes(keys.k_mac) == hmac.new(z_copy, b"mac", hashlib.sha256).digest()
    assert bytes(keys.k_tuples) == hmac.new(z_copy, b"tuples", hashlib.sha256).digest()
    assert z == bytearray(32)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=200), st.binary(max_size=120).map(lambda b: base64.b64encode(b).decode())))
def test_fuzz_server_key_text_is_a_key_or_a_clear_error(text):
    try:
        key = load_server_key(text)
    except ProvisionError as exc:
        assert exc.exit_code == EXIT_USAGE and "key" in exc.message
    else:
        assert isinstance(key, ec.EllipticCurvePublicKey)
