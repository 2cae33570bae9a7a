"""A printed table: the one output format of every benchmark."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[object]] = field(default_factory=list)
    note: str = ""

    def render(self) -> str:
        cells = [[str(c) for c in self.columns]] + [[_fmt(v) for v in r] for r in self.rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(self.columns))]
        line = "+".join("-" * (w + 2) for w in widths)
        out = [f"## {self.title}", line]
        for n, r in enumerate(cells):
            out.append("|".join(f" {c.ljust(w)} " for c, w in zip(r, widths, strict=True)))
            if n == 0:
                out.append(line)
        out.append(line)
        if self.note:
            out.append(self.note)
        return "\n".join(out)


def _fmt(v: object) -> str:
    if isinstance(v, float):
        if v == 0 or 0.01 <= abs(v) < 1e6:
            return f"{v:,.2f}"
        return f"{v:.3g}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)
