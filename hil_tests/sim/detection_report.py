"""The detection report: Markdown tables and matplotlib plots of a study, written to a folder.

`robert-bench detection` writes `report.md`, `probability-<mode>.png` (the
probability of a notification against minutes, one curve per distance, one
panel per device pair), `frontier.png` (battery months against detection for
the schedules tried) and `study.json` (every count) under `build/detection/`
by default, outside the repository's tracked files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from robert_token import power

from hil_tests.sim import detection as det

PHONE_OF = {"token<-token": "android<-android", "token<-android": "android<-android",
            "android<-token": "android<-android"}
CLOSE_M = 2.0  # the health definition's line: under 2 m ...
LONG_MIN = 15  # ... for 15 minutes or more
FAR_M = 5.0


@dataclass
class Tried:
    """One schedule of the frontier with its study."""

    name: str
    schedule: dict | None
    study: det.Study

    @property
    def months(self) -> float:
        return power.battery_months(schedule=self.schedule)


def close_long(study: det.Study, pair: str) -> float:
    """Mean probability of a notification over the cells within the health definition."""
    ps = [t.p for c, t in study.tallies.items()
          if c.pair == pair and c.distance_m <= CLOSE_M and c.minutes >= LONG_MIN]
    return sum(ps) / len(ps) if ps else math.nan


def far_rate(study: det.Study, pair: str) -> float:
    ps = [t.p for c, t in study.tallies.items() if c.pair == pair and c.distance_m >= FAR_M]
    return sum(ps) / len(ps) if ps else math.nan


def parity(study: det.Study) -> list[tuple[det.Cell, float, float, float]]:
    """Cells where a token pair is notified less often than the phone pair beyond the noise.

    (cell, token p, phone p, allowed gap): the gap allowed is the larger 95 %
    half-width of the two, so a miss is outside both seeds' noise.
    """
    out = []
    for c, t in study.tallies.items():
        ref = PHONE_OF.get(c.pair)
        if ref is None:
            continue
        r = study.tallies.get(det.Cell(ref, c.mode, c.distance_m, c.minutes))
        if r is None:
            continue
        allowed = max(t.ci95(), r.ci95())
        if t.p < r.p - allowed or (c.distance_m >= FAR_M and t.p > r.p + allowed):
            out.append((c, t.p, r.p, allowed))
    return out


def table(study: det.Study, mode: str) -> list[str]:
    """Markdown: per distance and minutes, each pair's probability (percent)."""
    pairs = sorted({c.pair for c in study.tallies}, key=det.PAIRS.index)
    minutes = sorted({c.minutes for c in study.tallies})
    lines = [f"| distance | pair | {' | '.join(f'{m} min' for m in minutes)} |",
             "|---|---|" + "---|" * len(minutes)]
    for d in sorted({c.distance_m for c in study.tallies}):
        for pair in pairs:
            row = []
            for m in minutes:
                t = study.tallies.get(det.Cell(pair, mode, d, m))
                row.append("-" if t is None else f"{100 * t.p:.0f}")
            lines.append(f"| {d:g} m | {pair} | {' | '.join(row)} |")
    return lines


def plot_probability(study: det.Study, mode: str, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = sorted({c.pair for c in study.tallies if c.mode == mode}, key=det.PAIRS.index)
    fig, axes = plt.subplots(1, len(pairs), figsize=(4.2 * len(pairs), 3.6), sharey=True,
                             squeeze=False)
    for ax, pair in zip(axes[0], pairs, strict=True):
        for d in sorted({c.distance_m for c in study.tallies}):
            cells = sorted((c.minutes, t) for c, t in study.tallies.items()
                           if c.pair == pair and c.mode == mode and c.distance_m == d)
            if not cells:
                continue
            xs = [m for m, _ in cells]
            ax.errorbar(xs, [t.p for _, t in cells], yerr=[t.ci95() for _, t in cells],
                        marker="o", ms=3, capsize=2, label=f"{d:g} m")
        ax.axvline(LONG_MIN, color="grey", lw=0.8, ls=":")
        ax.set_title(pair)
        ax.set_xscale("log")
        ax.set_xlabel("minutes of contact")
        ax.set_ylim(-0.05, 1.05)
    axes[0][0].set_ylabel("P(notified at the next status)")
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"{mode} contacts, {study.seeds} seeds (phases swept over the epoch)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_frontier(tried: list[Tried], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for t in tried:
        y = close_long(t.study, "token<-token")
        ax.scatter([t.months], [y])
        ax.annotate(t.name, (t.months, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    if tried:
        ref = close_long(tried[0].study, "android<-android")
        ax.axhline(ref, color="grey", ls="--", lw=0.8, label="Android-Android")
    ax.axvline(12, color="red", ls=":", lw=0.8, label="12 months")
    ax.set_xlabel(f"nRF52840 months on 1000 mAh ({power.BUSY_HOURS:g} h/day among people)")
    ax.set_ylabel(f"token<-token P(notified), <= {CLOSE_M:g} m, >= {LONG_MIN} min")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(tried: list[Tried], out: Path) -> Path:
    """Write the report of the settled schedule (`tried[0]`) and the frontier; returns report.md."""
    out.mkdir(parents=True, exist_ok=True)
    main = tried[0]
    study = main.study
    modes = sorted({c.mode for c in study.tallies}, key=det.MODES.index)
    for mode in modes:
        plot_probability(study, mode, out / f"probability-{mode}.png")
    plot_frontier(tried, out / "frontier.png")
    (out / "study.json").write_text(det.to_json(study))
    ua, parts = power.average_current_ua(schedule=main.schedule)
    lines = [
        "# Detection study", "",
        f"Schedule `{main.name}`: {main.schedule or power.DEFAULT_SCHEDULE}; "
        f"nRF52840 on 1000 mAh: **{main.months:.1f} months** ({ua:.1f} uA average over "
        f"{power.BUSY_HOURS:g} h among people, {24 - power.BUSY_HOURS:g} h alone; "
        + ", ".join(f"{k} {v:.1f}" for k, v in parts.items()) + ").", "",
        f"{study.seeds} seeds per cell (the contact's phase swept over the 15-minute epoch), "
        f"{study.wall_s:.0f} s of wall time. Pairs are `notified<-positive`. Percent of runs "
        "notified at the next status.", ""]
    for mode in modes:
        lines += [f"## {mode}", "", *table(study, mode), "", f"![{mode}](probability-{mode}.png)", ""]
    lines += ["## Parity", ""]
    misses = parity(study)
    if not misses:
        lines.append("Every token pair is notified at least as often as the phone pair in every "
                     f"cell, and no more often at {FAR_M:g} m or further (within the 95 % noise).")
    else:
        lines += ["| pair | mode | distance | minutes | token | phone | noise |", "|---|---|---|---|---|---|---|"]
        lines += [f"| {c.pair} | {c.mode} | {c.distance_m:g} m | {c.minutes} | {100 * a:.0f} | "
                  f"{100 * b:.0f} | {100 * n:.0f} |" for c, a, b, n in misses]
    lines += ["", "## Schedules tried", "",
              "| schedule | months | token<-token close&long | android<-android close&long | "
              "token<-token >= 5 m |", "|---|---|---|---|---|"]
    for t in tried:
        lines.append(f"| {t.name} | {t.months:.1f} | {100 * close_long(t.study, 'token<-token'):.0f} | "
                     f"{100 * close_long(t.study, 'android<-android'):.0f} | "
                     f"{100 * far_rate(t.study, 'token<-token'):.0f} |")
    lines += ["", "![frontier](frontier.png)", ""]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path
