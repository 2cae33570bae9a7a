"""Printable token labels: a QR code of the serial with the serial written under it.

The QR holds only the serial (what a kiosk or a helpdesk needs to name the token), never a
key or an identifier of the ROBERT registration.
"""

from __future__ import annotations

from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont

from provisioning.manifest import check_serial

LABEL_WIDTH = 400  # px; about 34 mm at 300 dpi
TEXT_SIZE = 36


def render_label(serial: str, caption: str = "ROBERT token") -> Image.Image:
    """The label image of one token."""
    check_serial(serial)
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=2)
    qr.add_data(serial)
    qr.make(fit=True)
    code = qr.make_image(fill_color="black", back_color="white").get_image().convert("L")
    code = code.resize((LABEL_WIDTH - 40, LABEL_WIDTH - 40), Image.Resampling.NEAREST)
    font = ImageFont.load_default(size=TEXT_SIZE)
    small = ImageFont.load_default(size=TEXT_SIZE * 2 // 3)
    label = Image.new("L", (LABEL_WIDTH, LABEL_WIDTH + TEXT_SIZE * 2 + 20), 255)
    label.paste(code, (20, 10))
    draw = ImageDraw.Draw(label)
    y = LABEL_WIDTH - 20
    draw.text((LABEL_WIDTH // 2, y), serial, fill=0, font=font, anchor="mt")
    draw.text((LABEL_WIDTH // 2, y + TEXT_SIZE + 8), caption, fill=0, font=small, anchor="mt")
    return label


def write_label(serial: str, out: Path, caption: str = "ROBERT token") -> Path:
    """Render and save the label as PNG; returns the path written."""
    out.parent.mkdir(parents=True, exist_ok=True)
    render_label(serial, caption).save(out, format="PNG")
    return out


def label_path(directory: Path, serial: str) -> Path:
    return directory / f"{check_serial(serial)}.png"
