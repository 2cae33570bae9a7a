"""The stub's captcha service: what robert-server forwards to its captcha provider.

robert-server (`CaptchaControllerImpl`) passes `POST /captcha {type, locale}`
to the provider and answers its `{id}`; `GET /captcha/{id}/image` and
`/audio` fetch `{id}.png` / `{id}.wav` (404 when the provider has none);
`/register` checks `captchaId` + `captcha` with the provider's
`/captcha/{id}/checkAnswer` (`CaptchaServiceImpl.verifyCaptcha`) and answers
401 unless it says SUCCESS. The provider (Orange's) is not public, so this
module is the stub's own: a 6-character answer drawn from letters and digits
that do not look alike, a real PNG (pillow) and a real WAV (one tone pattern
per character), valid 10 minutes and single-use (checked once, right or
wrong). Answers are read case-insensitively.
"""

from __future__ import annotations

import hmac
import io
import math
import secrets
import struct
import wave

ALPHABET = "ABCDEFHJKLMNPRSTUVWXYZ2345678"  # no 0/O, 1/I, 9/G look-alikes
LENGTH = 6
TTL = 600
TYPES = ("IMAGE", "AUDIO")
SAMPLE_RATE = 8000


def new_answer() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def new_id() -> str:
    return secrets.token_hex(16)


def matches(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.upper().encode(), given.strip().upper().encode())


def png(answer: str) -> bytes:
    """The answer drawn large enough for a person, with a little noise, as PNG bytes."""
    from PIL import Image, ImageDraw, ImageFont

    rng = secrets.SystemRandom()
    image = Image.new("RGB", (240, 80), "white")
    draw = ImageDraw.Draw(image)
    try:
        font = ImageFont.load_default(size=40)
    except TypeError:  # an old pillow without sizes
        font = ImageFont.load_default()
    for _ in range(8):
        draw.line([(rng.randrange(240), rng.randrange(80)), (rng.randrange(240), rng.randrange(80))],
                  fill=(180, 180, 180), width=2)
    for i, char in enumerate(answer):
        draw.text((12 + 37 * i, 14 + rng.randrange(-6, 7)), char, fill=(20, 20, 90), font=font)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def wav(answer: str) -> bytes:
    """Mono 16-bit 8 kHz WAV: per character two tones (its row and column in ALPHABET)."""
    frames = bytearray()
    for char in answer:
        index = ALPHABET.index(char)
        low, high = 400 + 80 * (index // 6), 1200 + 120 * (index % 6)
        for n in range(int(0.35 * SAMPLE_RATE)):
            t = n / SAMPLE_RATE
            value = 0.4 * math.sin(2 * math.pi * low * t) + 0.4 * math.sin(2 * math.pi * high * t)
            frames += struct.pack("<h", int(value * 32767))
        frames += bytes(2 * int(0.15 * SAMPLE_RATE))  # silence between characters
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(bytes(frames))
    return out.getvalue()
