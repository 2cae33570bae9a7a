"""The batch manifest: which token is on which port, with what serial and settings.

CSV (a header row, then one token a row) or JSON (a list of objects, or {"tokens": [...]}).
Columns / keys: `port` (required), `serial`, `model`, `country`, `days` (optional; the
command line gives the defaults). Every problem is reported with its row and all rows are
checked before any token is touched.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

from provisioning.errors import EXIT_USAGE, ProvisionError
from provisioning.models import MODELS

FIELDS = ("port", "serial", "model", "country", "days")
SERIAL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
MAX_TOKENS = 10_000
MAX_DAYS = 60


@dataclass(frozen=True)
class Defaults:
    model: str = "nrf52840"
    country: int = 33
    days: int = 4  # the real server's horizon; more is the stub's tuplesDays extension


@dataclass(frozen=True)
class ManifestEntry:
    port: str
    serial: str | None
    model: str
    country: int
    days: int


def check_serial(serial: str) -> str:
    if not SERIAL_RE.match(serial):
        raise ValueError(
            f"serial {serial!r} is not valid: 1 to 32 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return serial


def check_country(country: int) -> int:
    if not 0 <= country <= 255:
        raise ValueError(f"country code {country} is out of range 0..255")
    return country


def check_days(days: int) -> int:
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days {days} is out of range 1..{MAX_DAYS}")
    return days


def entry_from_fields(fields: dict[str, object], defaults: Defaults) -> ManifestEntry:
    """One token from a row's fields; ValueError says what is wrong with it."""
    unknown = sorted(str(k) for k in fields if k not in FIELDS)
    if unknown:
        raise ValueError(f"unknown column(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}")
    port = _text(fields.get("port"))
    if not port:
        raise ValueError("port is missing")
    serial_text = _text(fields.get("serial"))
    model = _text(fields.get("model")) or defaults.model
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; known: {', '.join(sorted(MODELS))}")
    return ManifestEntry(
        port=port,
        serial=check_serial(serial_text) if serial_text else None,
        model=model,
        country=check_country(_integer(fields.get("country"), "country", defaults.country)),
        days=check_days(_integer(fields.get("days"), "days", defaults.days)),
    )


def parse_manifest(text: str, fmt: str, defaults: Defaults) -> list[ManifestEntry]:
    """All entries of a manifest given as text; `fmt` is "csv" or "json"."""
    rows = _json_rows(text) if fmt == "json" else _csv_rows(text)
    if not rows:
        raise ProvisionError("the manifest lists no token", EXIT_USAGE)
    if len(rows) > MAX_TOKENS:
        raise ProvisionError(f"the manifest lists {len(rows)} tokens; at most {MAX_TOKENS} a batch", EXIT_USAGE)
    entries, problems = [], []
    for where, fields in rows:
        try:
            entries.append(entry_from_fields(fields, defaults))
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
    problems += _duplicates(entries, "port") + _duplicates(entries, "serial")
    if problems:
        shown = problems[:10] + ([f"... and {len(problems) - 10} more"] if len(problems) > 10 else [])
        raise ProvisionError("the manifest has errors, no token was touched:\n  " + "\n  ".join(shown), EXIT_USAGE)
    return entries


def read_manifest(path: Path, defaults: Defaults) -> list[ManifestEntry]:
    """Entries of the manifest file; JSON if it ends in .json, else CSV."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ProvisionError(f"cannot read the manifest {path}: {exc.strerror}", EXIT_USAGE) from None
    except UnicodeDecodeError:
        raise ProvisionError(f"the manifest {path} is not UTF-8 text", EXIT_USAGE) from None
    return parse_manifest(text, "json" if path.suffix.lower() == ".json" else "csv", defaults)


def _csv_rows(text: str) -> list[tuple[str, dict[str, object]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        lines = [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise ProvisionError(f"the manifest is not valid CSV: {exc}", EXIT_USAGE) from None
    lines = [(n, row) for n, row in lines if any(cell.strip() for cell in row)]
    if not lines:
        return []
    header = [h.strip().lower() for h in lines[0][1]]
    if "port" not in header:
        raise ProvisionError(
            f"the manifest's first row must be a header naming the columns, with at least 'port' "
            f"(known: {', '.join(FIELDS)})",
            EXIT_USAGE,
        )
    rows = []
    for n, row in lines[1:]:
        if len(row) > len(header):
            rows.append((f"line {n}", {"(extra cells)": row[len(header):]}))
            continue
        rows.append((f"line {n}", {h: v for h, v in zip(header, row, strict=False) if h}))
    return rows


def _json_rows(text: str) -> list[tuple[str, dict[str, object]]]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ProvisionError(f"the manifest is not valid JSON: {exc}", EXIT_USAGE) from None
    if isinstance(data, dict) and set(data) == {"tokens"}:
        data = data["tokens"]
    if not isinstance(data, list):
        raise ProvisionError('a JSON manifest must be a list of tokens or {"tokens": [...]}', EXIT_USAGE)
    rows: list[tuple[str, dict[str, object]]] = []
    for i, item in enumerate(data):
        where = f"token #{i + 1}"
        if isinstance(item, dict):
            rows.append((where, item))
        else:
            rows.append((where, {"(not an object)": item}))
    return rows


def _text(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {json.dumps(value)[:40]}")
    return value.strip()


def _integer(value: object, name: str, default: int) -> int:
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*[0-9]{1,6}\s*", value):
        return int(value)
    raise ValueError(f"{name} must be a whole number, got {str(value)[:40]!r}")


def _duplicates(entries: list[ManifestEntry], attr: str) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, e in enumerate(entries):
        v = getattr(e, attr)
        if v is None:
            continue
        if v in seen:
            out.append(f"{attr} {v!r} appears twice (tokens #{seen[v] + 1} and #{i + 1})")
        else:
            seen[v] = i
    return out
