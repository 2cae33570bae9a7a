"""The operator solves the server's captcha, one token at a time (`--captcha ask`).

A real ROBERT server registers nobody without a solved captcha (robert-server
`RegisterControllerImpl`: 401 unless its captcha service says SUCCESS), and it
checks each captcha once. So for every token the station asks the server for an
image captcha, saves the PNG where the operator can open it (its path is
printed), shows it in the terminal too when stderr is one, and reads the
answer from stdin. An empty answer asks for another captcha.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import TextIO

from provisioning.errors import EXIT_FAILED, ProvisionError

MAX_NEW_CAPTCHAS = 5  # empty answers ("show me another") before giving up


class AskOperator:
    """`await solver(api)` -> (captchaId, answer), asking the person at the terminal."""

    def __init__(self, folder: Path | None = None, stdin: TextIO | None = None,
                 stderr: TextIO | None = None) -> None:
        self.folder = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="robert-captcha-"))
        self.stdin = stdin or sys.stdin
        self.stderr = stderr or sys.stderr

    async def __call__(self, api) -> tuple[str, str]:
        for _ in range(MAX_NEW_CAPTCHAS):
            captcha_id = await api.new_captcha("IMAGE")
            png = await api.captcha_image(captcha_id)
            self.folder.mkdir(parents=True, exist_ok=True)
            # The id comes from the server: only its safe characters go in a file name.
            safe = "".join(c for c in captcha_id if c.isascii() and (c.isalnum() or c in "-_"))
            path = self.folder / f"captcha-{safe[:64] or 'image'}.png"
            path.write_bytes(png)
            self._show(png)
            self.stderr.write(f"captcha image: {path}\n"
                              "Type the characters of the image (Enter alone: another one): ")
            self.stderr.flush()
            line = self.stdin.readline()
            if not line:
                raise ProvisionError("no captcha answer was typed (end of input); the token was "
                                     "not touched.", EXIT_FAILED)
            answer = line.strip()
            path.unlink(missing_ok=True)
            if answer:
                return captcha_id, answer
        raise ProvisionError(f"no captcha answered after {MAX_NEW_CAPTCHAS} images; the token "
                             "was not touched.", EXIT_FAILED)

    def _show(self, png: bytes) -> None:
        """A rough rendering in the terminal (dark pixels as blocks), when it is one."""
        if not (hasattr(self.stderr, "isatty") and self.stderr.isatty()):
            return
        import io

        from PIL import Image

        with Image.open(io.BytesIO(png)) as image:
            small = image.convert("L").resize((80, 16))
        rows = ["".join("#" if small.getpixel((x, y)) < 128 else " " for x in range(80))
                for y in range(16)]
        self.stderr.write("\n".join(rows) + "\n")
