"""Scenario files: who is in the world, where they are when, and what happens at the kiosk.

A scenario is a JSON object (no YAML: one parser, exact errors)::

    {
      "seed": 7,
      "tokens": ["A", "B", {"name": "C", "drift_ppm": 200}],
      "phones": ["P", {"name": "Max", "os": "ios"}],
      "moves": [
        {"t": "0", "who": "A", "at": [0, 0]},
        {"t": "0", "who": "B", "at": [1, 0]},
        {"t": "30m", "who": "B", "at": null}
      ],
      "steps": [
        {"t": "0", "do": "provision", "who": ["A", "B"]},
        {"t": "2h", "do": "report", "who": "A"},
        {"t": "3h", "do": "status", "who": "B", "expect": "at_risk"}
      ],
      "end": "4h"
    }

Times are seconds after the start, as a number or a string of units
(`1d2h30m15s`). Phones register by themselves and may `status` or `report`
(as the app does); a phone is an Android unless given `"os": "ios"` (the two
apps' radio behaviours: hil_tests/sim/phone.py); tokens go to the station and the kiosk. `at` is a position in metres, or null for "out of range".
A move holds until the next move of the same name. `expect` is `at_risk` or
`not_at_risk`. A layout file (`robert-bench sim --layout`) is the same format;
only `tokens`, `phones` and `moves` are used.

`start` (optional) is the virtual instant of t = 0: an ISO 8601 UTC string
(`"2026-06-01T07:00:00Z"`) or NTP seconds. Without it the start is derived
from the seed (`default_start`): a fixed day plus a phase within the 15-minute
epoch, so the same file and seed give the same run whatever the wall clock
(each epoch is scored apart, so the phase of a contact against the epochs
decides borderline notifications).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ACTIONS = ("provision", "status", "report", "sync")
EXPECTS = ("at_risk", "not_at_risk")
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")
_DURATION_RE = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s?)?$")
MAX_TIME_S = 60 * 86400
NTP_UNIX_DELTA = 2208988800
DEFAULT_START_DAY = "2026-06-01T07:00:00Z"  # a Monday morning; far enough from the service start
EPOCH_S = 900
PHASE_STEP_S = 53  # seed n starts n * 53 s (mod 900) into an epoch: neighbouring seeds spread out


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message says where and why."""


@dataclass(frozen=True)
class Move:
    t: float
    who: str
    at: tuple[float, float] | None


@dataclass(frozen=True)
class Step:
    t: float
    do: str
    who: tuple[str, ...]
    expect: str | None = None


@dataclass
class Scenario:
    seed: int = 0
    tokens: dict[str, dict] = field(default_factory=dict)  # name -> options (drift_ppm)
    phones: list[str] = field(default_factory=list)
    phone_os: dict[str, str] = field(default_factory=dict)  # name -> "android" | "ios"
    moves: list[Move] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    end: float = 0.0
    start: float | None = None  # NTP seconds of t = 0; None: derived from the seed

    def start_ntp(self) -> float:
        """The virtual instant of t = 0 (the file's `start`, else `default_start(seed)`)."""
        return default_start(self.seed) if self.start is None else self.start

    def names(self) -> list[str]:
        return [*self.tokens, *self.phones]

    def position(self, who: str, t: float) -> tuple[float, float] | None:
        """Where `who` is at time t (None: out of range, also before its first move)."""
        where = None
        for m in self.moves:
            if m.who == who and m.t <= t:
                where = m.at
        return where

    def change_times(self) -> list[float]:
        return sorted({m.t for m in self.moves})


def default_start(seed: int) -> float:
    """NTP start of a run with this seed: DEFAULT_START_DAY + a seed-derived phase in the epoch."""
    return parse_start(DEFAULT_START_DAY, "start") + (seed * PHASE_STEP_S) % EPOCH_S


def parse_start(value: object, where: str = "start") -> float:
    """NTP seconds from an ISO 8601 UTC string or a number of NTP seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not 3_000_000_000 <= value <= 5_000_000_000:
            raise ScenarioError(f"{where}: NTP seconds must be within 3e9..5e9 (years 1995..2058)")
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            dt = None
        if dt is None or dt.utcoffset() is None:
            raise ScenarioError(f"{where}: cannot read {text[:40]!r}: use UTC ISO 8601, e.g. "
                                f"'{DEFAULT_START_DAY}', or NTP seconds")
        return parse_start(dt.astimezone(UTC).timestamp() + NTP_UNIX_DELTA, where)
    raise ScenarioError(f"{where}: use a UTC ISO 8601 string, e.g. '{DEFAULT_START_DAY}', or NTP seconds")


def parse_time(value: object, where: str) -> float:
    """Seconds from a number or a `1d2h30m15s` string."""
    if isinstance(value, bool):
        raise ScenarioError(f"{where}: a time is a number of seconds or a string like '2h30m'")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str) and value.strip():
        m = _DURATION_RE.match(value.strip())
        if not m:
            raise ScenarioError(f"{where}: cannot read the time {value[:40]!r} (use e.g. '1d2h30m15s')")
        d, h, mi, s = m.groups()
        seconds = int(d or 0) * 86400 + int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0)
    else:
        raise ScenarioError(f"{where}: a time is a number of seconds or a string like '2h30m'")
    if not 0 <= seconds <= MAX_TIME_S:
        raise ScenarioError(f"{where}: time {seconds:g} s is outside 0..{MAX_TIME_S} s (60 days)")
    return seconds


def _name(value: object, where: str) -> str:
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise ScenarioError(f"{where}: a name is a letter then up to 31 letters, digits, '-' or '_'")
    return value


def _position(value: object, where: str) -> tuple[float, float] | None:
    if value is None:
        return None
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            or not all(abs(v) <= 1e6 for v in value)):
        raise ScenarioError(f"{where}: 'at' is [x, y] in metres (|x|, |y| <= 1e6) or null")
    return float(value[0]), float(value[1])


def _list(obj: dict, key: str) -> list:
    value = obj.get(key, [])
    if not isinstance(value, list):
        raise ScenarioError(f"'{key}' must be a list")
    return value


def _step(i: int, raw: object, known: set[str]) -> Step:
    where = f"steps[{i}]"
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: a step is an object with t, do, who")
    do = raw.get("do")
    if do not in ACTIONS:
        raise ScenarioError(f"{where}: 'do' must be one of {', '.join(ACTIONS)}")
    who = raw.get("who")
    who_list = who if isinstance(who, list) else [who]
    names = tuple(_name(w, where) for w in who_list)
    for n in names:
        if n not in known:
            raise ScenarioError(f"{where}: unknown token or phone {n!r}")
    expect = raw.get("expect")
    if expect is not None and (expect not in EXPECTS or do != "status"):
        raise ScenarioError(f"{where}: 'expect' is {' or '.join(EXPECTS)}, on a status step")
    return Step(parse_time(raw.get("t", 0), where), do, names, expect)


def parse(text: str | bytes) -> Scenario:
    """Read a scenario; ScenarioError says what is wrong and where."""
    try:
        raw = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ScenarioError("a scenario is a JSON object")
    sc = Scenario()
    seed = raw.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ScenarioError("'seed' must be an integer")
    sc.seed = seed
    if raw.get("start") is not None:
        sc.start = parse_start(raw["start"])
    for i, t in enumerate(_list(raw, "tokens")):
        opts = t if isinstance(t, dict) else {"name": t}
        name = _name(opts.get("name"), f"tokens[{i}]")
        drift = opts.get("drift_ppm", 0)
        if isinstance(drift, bool) or not isinstance(drift, (int, float)) or not -1000 <= drift <= 1000:
            raise ScenarioError(f"tokens[{i}]: drift_ppm is a number within +-1000")
        sc.tokens[name] = {"drift_ppm": float(drift)}
    for i, p in enumerate(_list(raw, "phones")):
        opts = p if isinstance(p, dict) else {"name": p}
        name = _name(opts.get("name"), f"phones[{i}]")
        os_kind = opts.get("os", "android")
        if os_kind not in ("android", "ios"):
            raise ScenarioError(f"phones[{i}]: 'os' is \"android\" or \"ios\"")
        sc.phones.append(name)
        sc.phone_os[name] = os_kind
    names = sc.names()
    if len(set(names)) != len(names):
        raise ScenarioError("a name is used twice among tokens and phones")
    if len(names) > 200:
        raise ScenarioError("at most 200 tokens and phones")
    known = set(names)
    for i, m in enumerate(_list(raw, "moves")):
        where = f"moves[{i}]"
        if not isinstance(m, dict):
            raise ScenarioError(f"{where}: a move is an object with t, who, at")
        who = _name(m.get("who"), where)
        if who not in known:
            raise ScenarioError(f"{where}: unknown name {who!r}")
        sc.moves.append(Move(parse_time(m.get("t", 0), where), who, _position(m.get("at"), where)))
    sc.moves.sort(key=lambda m: m.t)
    sc.steps = sorted((_step(i, s, known) for i, s in enumerate(_list(raw, "steps"))),
                      key=lambda s: s.t)
    for i, s in enumerate(sc.steps):
        if s.do in ("provision", "sync") and any(w in sc.phones for w in s.who):
            raise ScenarioError(f"steps[{i}]: a phone can only 'status' or 'report'")
    last = max([0.0, *(m.t for m in sc.moves), *(s.t for s in sc.steps)])
    sc.end = parse_time(raw["end"], "end") if "end" in raw else last
    if sc.end < last:
        raise ScenarioError(f"'end' ({sc.end:g} s) is before the last move or step ({last:g} s)")
    return sc


def load(path: str | Path) -> Scenario:
    try:
        text = Path(path).read_bytes()
    except OSError as exc:
        raise ScenarioError(f"cannot read {path}: {exc.strerror}") from None
    return parse(text)
