"""The batch record: one line per token with its serial and what happened, never a key.

Written as CSV or JSON (by the file's extension) after every token, so a batch cut short
still leaves an accurate record of the tokens done so far.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class TokenRecord:
    port: str
    serial: str
    model: str
    result: str  # "provisioned", "refused" or "failed"
    message: str
    tuples_first_epoch: int | None = None
    tuples_last_epoch: int | None = None
    tuples_until: str = ""  # UTC ISO time the tuples run out
    clock_error_s: int | None = None  # token clock minus server clock at verification
    at: str = ""  # UTC ISO time of the result


COLUMNS = tuple(TokenRecord.__dataclass_fields__)


def write_record(path: Path, records: list[TokenRecord]) -> None:
    """Replace `path` with the records, atomically (a crash leaves the previous version)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        if path.suffix.lower() == ".json":
            json.dump([asdict(r) for r in records], f, indent=1)
            f.write("\n")
        else:
            writer = csv.DictWriter(f, fieldnames=COLUMNS)
            writer.writeheader()
            for r in records:
                writer.writerow({k: "" if v is None else v for k, v in asdict(r).items()})
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
