"""History stream -> v6 report contacts: exact conversion, merging, and no crash on any bytes."""

import base64
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.errors import TokenError
from gateway.history import HistoryFormatError, count_hellos, to_report_contacts


def contact(ecc: int, ebid: bytes) -> bytes:
    return bytes([0x01, ecc]) + ebid


def hello_entry(t: int, t16: int, mac: bytes, rssi: int) -> bytes:
    return bytes([0x02]) + struct.pack(">IH", t, t16) + mac + struct.pack(">b", rssi)


E1 = bytes(range(8))
E2 = bytes(range(8, 16))


def test_one_contact_converts_field_by_field():
    stream = contact(0x21, E1) + hello_entry(3960000000, 0x1234, b"\xaa\xbb\xcc\xdd\xee", -60)
    [c] = to_report_contacts(stream)
    assert base64.b64decode(c["ebid"]) == E1
    assert base64.b64decode(c["ecc"]) == b"\x21"
    assert c["ids"] == [{"timeCollectedOnDevice": 3960000000, "timeFromHelloMessage": 0x1234,
                         "mac": base64.b64encode(b"\xaa\xbb\xcc\xdd\xee").decode(),
                         "rssiCalibrated": -60}]


def test_repeated_contact_is_merged_by_ebid_in_order():
    m = b"\x01" * 5
    stream = (contact(1, E1) + hello_entry(10, 10, m, -50) + contact(2, E2)
              + hello_entry(20, 20, m, -70) + contact(1, E1) + hello_entry(30, 30, m, -127))
    contacts = to_report_contacts(stream)
    assert [base64.b64decode(c["ebid"]) for c in contacts] == [E1, E2]
    assert [i["timeCollectedOnDevice"] for i in contacts[0]["ids"]] == [10, 30]
    assert contacts[0]["ids"][1]["rssiCalibrated"] == -127
    assert count_hellos(contacts) == 3


def test_contact_without_hellos_is_left_out_and_empty_stream_gives_nothing():
    assert to_report_contacts(contact(1, E1)) == []
    assert to_report_contacts(b"") == []


@pytest.mark.parametrize("stream, words", [
    (contact(1, E1)[:-1], "cut short"),
    (contact(1, E1) + hello_entry(1, 1, b"12345", -1)[:-2], "cut short"),
    (hello_entry(1, 1, b"12345", -1), "without a contact"),
    (b"\x07", "unknown entry tag 0x07"),
])
def test_malformed_stream_is_a_plain_token_error(stream, words):
    with pytest.raises(HistoryFormatError) as err:
        to_report_contacts(stream)
    assert words in err.value.message and "Nothing was sent or erased" in err.value.message
    assert isinstance(err.value, TokenError) and err.value.exit_code == 3


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_crash(data):
    try:
        contacts = to_report_contacts(data)
    except HistoryFormatError:
        return
    for c in contacts:
        assert len(base64.b64decode(c["ebid"])) == 8 and c["ids"]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([E1, E2]), st.integers(0, 2**32 - 1),
                          st.integers(0, 65535), st.binary(min_size=5, max_size=5),
                          st.integers(-128, 127)), max_size=20))
def test_well_formed_streams_keep_every_hello(rows):
    stream = b"".join(contact(0x21, e) + hello_entry(t, t16, m, r) for e, t, t16, m, r in rows)
    contacts = to_report_contacts(stream)
    assert count_hellos(contacts) == len(rows)
    assert len(contacts) == len({r[0] for r in rows})
