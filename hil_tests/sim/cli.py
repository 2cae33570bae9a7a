"""`robert-bench`: simulated tokens to poke by hand, and scenario files to play.

    robert-bench sim --tokens 3 [--layout FILE] [--provision] [--speed X]
    robert-bench run SCENARIO.json [--seed N] [--start WHEN] [--keep DIR] [--inproc]
    robert-bench detection [--seeds N] [--out DIR] [--frontier]
    robert-bench town [--tokens N] [--phones N] [--days N] [--districts N]

Exit codes: 0 fine, 1 a scenario expectation failed, 2 bad usage or scenario
file, 3 the world could not start.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import tempfile
import time
from pathlib import Path

from hil_tests.sim import runner
from hil_tests.sim.scenario import ScenarioError, load, parse_start
from hil_tests.sim.world import World

EXIT_FAILED, EXIT_USAGE, EXIT_WORLD = 1, 2, 3


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="robert-bench",
                                description="The simulated ROBERT bench: server stub, virtual "
                                            "radio and host-port tokens.")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sim", help="start N simulated tokens and print their ports")
    s.add_argument("--tokens", type=int, default=2, metavar="N", help="how many tokens (1-20)")
    s.add_argument("--layout", metavar="FILE",
                   help="scenario file whose tokens, phones and moves place the world")
    s.add_argument("--provision", action="store_true", help="provision every token first")
    s.add_argument("--speed", type=float, default=1.0,
                   help="virtual seconds per wall second (default 1: real time)")
    s.add_argument("--folder", metavar="DIR", help="keep the world's files here (default: temp)")
    r = sub.add_parser("run", help="play a scenario file in accelerated time")
    r.add_argument("scenario", metavar="SCENARIO.json")
    r.add_argument("--seed", type=int, help="override the scenario's seed (without a 'start' in "
                   "the file, the start follows the seed)")
    r.add_argument("--start", metavar="WHEN", help="override the start: UTC ISO 8601 or NTP seconds")
    r.add_argument("--keep", metavar="DIR", help="keep the world's files (logs, db) here")
    r.add_argument("--inproc", action="store_true",
                   help="play it in the in-process world (the real token core, no process per "
                        "token, the server app in-process): fast and exactly reproducible")
    d = sub.add_parser("detection", help="the detection study: P(notified) by pair, distance and "
                                         "minutes; Markdown + PNG report")
    d.add_argument("--seeds", type=int, default=8, help="seeds (epoch phases) per cell (default 8)")
    d.add_argument("--out", default="build/detection", metavar="DIR",
                   help="report folder (default build/detection, not tracked)")
    d.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    d.add_argument("--frontier", action="store_true",
                   help="also study every candidate schedule (detection.SCHEDULES) for the "
                        "battery/detection frontier (slower)")
    t = sub.add_parser("town", help="a whole town in one process (the real token core, no process "
                                    "per token): true and false notifications against ground truth")
    t.add_argument("--tokens", type=int, default=300, help="tokens (default 300)")
    t.add_argument("--phones", type=int, default=700, help="Android phones (default 700)")
    t.add_argument("--days", type=int, default=14, help="simulated days (default 14)")
    t.add_argument("--positives", type=int, default=20, help="people who report on the last day")
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--districts", type=int, default=2,
                   help="independent districts, one world each (default 2)")
    t.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    return p


def cmd_town(args) -> int:
    from hil_tests.sim import population
    if not (0 <= args.tokens <= 100_000 and 0 <= args.phones <= 100_000 and 1 <= args.days <= 28
            and 1 <= args.districts <= 1000 and 1 <= args.workers <= 64
            and 0 <= args.positives <= args.tokens + args.phones):
        print("robert-bench: town needs 0..100000 tokens and phones, 1..28 days, 1..1000 districts, "
              "1..64 workers and no more positives than people", file=sys.stderr)
        return EXIT_USAGE
    r = population.run_town(args.tokens, args.phones, args.days, args.seed, args.positives,
                            args.districts, args.workers)
    print(f"{r.devices} devices, {r.days} days, {r.gatherings} gatherings, {r.token_wakeups} token "
          f"wake-ups in {r.wall_s:.0f} s")
    print("notified device  true+  false+  missed  true-")
    for kind, c in r.counts.items():
        print(f"{kind:<16} {c.tp:>5}  {c.fp:>6}  {c.fn:>6}  {c.tn:>5}")
    return 0


def cmd_detection(args) -> int:
    from hil_tests.sim import detection, detection_report
    if not 1 <= args.seeds <= 200 or not 1 <= args.workers <= 32:
        print("robert-bench: --seeds must be within 1..200 and --workers within 1..32",
              file=sys.stderr)
        return EXIT_USAGE
    names = list(detection.SCHEDULES) if args.frontier else ["default"]
    tried = []
    for name in names:
        sch = detection.SCHEDULES[name]
        print(f"studying schedule {name} ({args.seeds} seeds)...", flush=True)
        study = detection.run_study(args.seeds, sch, workers=args.workers)
        tried.append(detection_report.Tried(name, sch, study))
    path = detection_report.write(tried, Path(args.out))
    print(f"report: {path}")
    return 0


def _folder(path: str | None) -> Path:
    return Path(path) if path else Path(tempfile.mkdtemp(prefix="robert-bench-"))


def stop_on_signals() -> None:
    """Ctrl-C or SIGTERM ends a long-running world cleanly (even if started in the background)."""
    def stop(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)


def cmd_sim(args) -> int:
    if not 1 <= args.tokens <= 20:
        print("robert-bench: --tokens must be within 1..20", file=sys.stderr)
        return EXIT_USAGE
    if args.speed <= 0 or args.speed > 10_000:
        print("robert-bench: --speed must be within 0..10000", file=sys.stderr)
        return EXIT_USAGE
    sc = None
    if args.layout:
        try:
            sc = load(args.layout)
        except ScenarioError as exc:
            print(f"robert-bench: {args.layout}: {exc}", file=sys.stderr)
            return EXIT_USAGE
    folder = _folder(args.folder)
    try:
        world = World(folder, seed=sc.seed if sc else 0).start()
    except (RuntimeError, OSError) as exc:
        print(f"robert-bench: cannot start the world: {exc}", file=sys.stderr)
        return EXIT_WORLD
    try:
        if sc is not None:
            runner.populate(world, sc)
        for i in range(args.tokens - len(world.tokens)):
            name = f"T{i + 1}"
            world.add_token(name)
            world.place(name, (float(i), 0.0))
        for name, tok in world.tokens.items():
            if args.provision:
                world.provision(name)
            print(f"{name}  {tok.serial}  {tok.pty}", flush=True)
        print(f"server {world.server.url}  (files in {folder})", flush=True)
        print("Poke a token with e.g.: robert-kiosk info --port "
              f"{next(iter(world.tokens.values())).pty}. Ctrl-C stops.", flush=True)
        stop_on_signals()
        world.air.run_realtime(args.speed)
        while True:  # sped up, the server's clock is pulled along ten times a second
            time.sleep(1.0 if args.speed == 1.0 else 0.1)
            if args.speed != 1.0:
                world.sync_server_clock()
    except KeyboardInterrupt:
        return 0
    finally:
        world.close()


def cmd_run(args) -> int:
    try:
        sc = load(args.scenario)
    except ScenarioError as exc:
        print(f"robert-bench: {args.scenario}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.seed is not None:
        sc.seed = args.seed
    if args.start is not None:
        try:
            sc.start = parse_start(float(args.start) if args.start.replace(".", "").isdigit()
                                   else args.start, "--start")
        except ScenarioError as exc:
            print(f"robert-bench: {exc}", file=sys.stderr)
            return EXIT_USAGE
    folder = _folder(args.keep)
    try:
        if args.inproc:
            from hil_tests.sim.inproc import InprocWorld
            world = InprocWorld(folder, seed=sc.seed, start_t=sc.start_ntp())
        else:
            world = World(folder, seed=sc.seed, start_t=sc.start_ntp()).start()
    except (RuntimeError, OSError) as exc:
        print(f"robert-bench: cannot start the world: {exc}", file=sys.stderr)
        return EXIT_WORLD
    wall = time.monotonic()
    try:
        outcomes = runner.play(world, sc)
    except (RuntimeError, OSError, TimeoutError) as exc:
        print(f"robert-bench: the scenario stopped: {exc}", file=sys.stderr)
        return EXIT_WORLD
    finally:
        world.close()
    failed = [o for o in outcomes if not o.ok]
    print(f"{len(outcomes) - len(failed)}/{len(outcomes)} steps ok; {runner.clock(sc.end)} of "
          f"virtual time in {time.monotonic() - wall:.1f} s")
    return EXIT_FAILED if failed else 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return {"sim": cmd_sim, "run": cmd_run, "detection": cmd_detection, "town": cmd_town}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
