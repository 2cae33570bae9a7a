"""From what the pharmacist typed (`--port`) to a link to one token.

`/dev/...` is a serial port (a real USB token or a host-port pty), `ble:ADDR`
a token over BLE, and `auto` scans the USB serial ports for known token
VID/PIDs and keeps the first one that answers INFO.
"""

from __future__ import annotations

import contextlib

from serial.tools import list_ports

from gateway.errors import KioskError, NoToken, UsageError
from gateway.link import Link
from gateway.transport.serial import SerialLink

# USB IDs of the boards tokens are built on (ESP32-S3/C3 native USB, common UART bridges, nRF52).
TOKEN_USB_IDS = {
    (0x303A, 0x1001),  # Espressif USB JTAG/serial (ESP32-S3, ESP32-C3)
    (0x303A, 0x4001),  # Espressif TinyUSB CDC
    (0x10C4, 0xEA60),  # Silicon Labs CP210x bridge
    (0x1A86, 0x7523),  # WCH CH340 bridge
    (0x1A86, 0x55D4),  # WCH CH9102 bridge
    (0x239A, None),  # Adafruit (nRF52840 CircuitPython boards), any product
    (0x1915, None),  # Nordic Semiconductor, any product
}
PROBE_TIMEOUT = 1.0


def is_token_usb_id(vid: int | None, pid: int | None) -> bool:
    return vid is not None and ((vid, pid) in TOKEN_USB_IDS or (vid, None) in TOKEN_USB_IDS)


def candidate_ports() -> list[str]:
    """Serial ports whose USB IDs are those of token boards, in a stable order."""
    return sorted(p.device for p in list_ports.comports() if is_token_usb_id(p.vid, p.pid))


async def probe(link: Link) -> dict | None:
    """Ask INFO; a ROBERT token answers with protocol 1."""
    from gateway.token_client import TokenClient

    try:
        info = await TokenClient(link, timeout=PROBE_TIMEOUT, retries=1).info()
    except KioskError:
        return None
    return info if info.get("proto") == 1 else None


async def open_link(spec: str) -> Link:
    """Open a link from a --port value: a device path, `ble:ADDRESS` or `auto`."""
    spec = (spec or "").strip()
    if not spec:
        raise UsageError("No token port given: use --port /dev/ttyACM0, --port ble:ADDRESS "
                         "or --port auto.")
    if spec.lower().startswith("ble:"):
        from gateway.transport.ble import open_ble

        return await open_ble(spec[4:])
    if spec == "auto":
        return await open_auto()
    return SerialLink.open(spec)


async def open_auto() -> Link:
    for path in candidate_ports():
        try:
            link = SerialLink.open(path)
        except KioskError:
            continue
        if await probe(link) is not None:
            return link
        with contextlib.suppress(Exception):
            await link.close()
    raise NoToken("No token found on USB. Plug the token in (wait for its light), "
                  "or give the port with --port.")
