"""A progress bar for the operator's terminal (stderr); one plain line a stage when not a terminal."""

from __future__ import annotations

import sys
from typing import TextIO

WIDTH = 30


class ProgressBar:
    """Callable as a flow's `progress(stage, done, total)`."""

    def __init__(self, stream: TextIO | None = None, prefix: str = "") -> None:
        self.stream = stream or sys.stderr
        self.prefix = prefix
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last_stage: str | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self._tty:
            self.stream.write("\r\x1b[K" + self.line(stage, done, total))
        elif stage != self._last_stage:
            self.stream.write(self.line(stage, done, total) + "\n")
        self._last_stage = stage
        self.stream.flush()

    def line(self, stage: str, done: int, total: int) -> str:
        filled = min(WIDTH, WIDTH * done // total) if total > 0 else 0
        pct = 100 * done // total if total > 0 else 0
        return f"{self.prefix}[{'#' * filled}{'.' * (WIDTH - filled)}] {pct:3d}% {stage}"

    def end(self) -> None:
        """Leave the bar's line (on a terminal) before other output."""
        if self._tty and self._last_stage is not None:
            self.stream.write("\n")
            self.stream.flush()
        self._last_stage = None
