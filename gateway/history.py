"""The token's history stream (docs/sync-protocol.md, HISTORY_READ) -> ROBERT v6 report contacts.

Pure functions: bytes in, JSON-ready list out. A contact may appear several
times in the stream (the token logs in batches); contacts are merged by EBID
and each contact's HELLOs are put in reception order (timeCollectedOnDevice,
stream order among equal times): robert-server's scoring
(`ScoringStrategyV2ServiceImpl`) starts its 1-minute bins at the first HELLO
in list order, so a later HELLO listed first would shift every bin.
RSSI is already calibrated by the token.
"""

from __future__ import annotations

import base64
import struct

from gateway.errors import TokenError

TAG_CONTACT = 0x01
TAG_HELLO = 0x02
CONTACT_SIZE = 10  # tag, ECC (1), EBID (8)
HELLO_SIZE = 13  # tag, timeCollectedOnDevice (4), Time16 (2), MAC (5), rssiCalibrated (1)
STATUS_BAD_PAYLOAD = 4


class HistoryFormatError(TokenError):
    """The history stream from the token does not parse: nothing is sent, nothing erased."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"The token sent history data the kiosk cannot read ({detail}). "
                         "Nothing was sent or erased; retry, and if it happens again "
                         "send the token for repair.", STATUS_BAD_PAYLOAD)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def parse_entries(stream: bytes):
    """Yield ("contact", ecc, ebid) and ("hello", time, time16, mac, rssi) tuples in stream order."""
    pos = 0
    have_contact = False
    while pos < len(stream):
        tag = stream[pos]
        if tag == TAG_CONTACT:
            if pos + CONTACT_SIZE > len(stream):
                raise HistoryFormatError(f"contact entry cut short at byte {pos}")
            have_contact = True
            yield ("contact", stream[pos + 1:pos + 2], stream[pos + 2:pos + 10])
            pos += CONTACT_SIZE
        elif tag == TAG_HELLO:
            if pos + HELLO_SIZE > len(stream):
                raise HistoryFormatError(f"HELLO entry cut short at byte {pos}")
            if not have_contact:
                raise HistoryFormatError(f"HELLO without a contact at byte {pos}")
            collected, time16 = struct.unpack_from(">IH", stream, pos + 1)
            mac = stream[pos + 7:pos + 12]
            rssi = struct.unpack_from(">b", stream, pos + 12)[0]
            yield ("hello", collected, time16, mac, rssi)
            pos += HELLO_SIZE
        else:
            raise HistoryFormatError(f"unknown entry tag 0x{tag:02x} at byte {pos}")


def to_report_contacts(stream: bytes) -> list[dict]:
    """Convert a history stream to the `contacts` list of POST /report (merged by EBID)."""
    by_ebid: dict[bytes, dict] = {}
    current: dict | None = None
    for entry in parse_entries(stream):
        if entry[0] == "contact":
            _, ecc, ebid = entry
            current = by_ebid.get(ebid)
            if current is None:
                current = {"ebid": _b64(ebid), "ecc": _b64(ecc), "ids": []}
                by_ebid[ebid] = current
        else:
            _, collected, time16, mac, rssi = entry
            current["ids"].append({
                "timeCollectedOnDevice": collected,
                "timeFromHelloMessage": time16,
                "mac": _b64(mac),
                "rssiCalibrated": rssi,
            })
    for contact in by_ebid.values():
        contact["ids"].sort(key=lambda hello: hello["timeCollectedOnDevice"])  # stable
    return [c for c in by_ebid.values() if c["ids"]]


def count_hellos(contacts: list[dict]) -> int:
    return sum(len(c["ids"]) for c in contacts)
