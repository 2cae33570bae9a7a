"""`make demo`: one day in a small simulated town, told in plain words.

A ROBERT server stub on SQLite, three wearable tokens (Alice, Bob, Chloé) and
Dan's phone with the TousAntiCovid app share a virtual radio. The tokens are
provisioned at the station, live a scripted day in accelerated time, Alice
tests positive and reports at the pharmacy kiosk, and the next morning the
others check their status. `--kiosk` leaves the kiosk web page running.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hil_tests.kiosk import env, exe
from hil_tests.sim.cli import stop_on_signals
from hil_tests.sim.world import World, wall_ntp

OFFICE, BUS, HOME = (0.0, 0.0), (5000.0, 0.0), None
PEOPLE = {"Alice": "token", "Bob": "token", "Chloe": "token", "Dan": "phone"}
# (hour of the day, who, where, what we say)
DAY = [
    (8.5, "Alice", OFFICE, "Alice sits down at her desk in the open-space office."),
    (8.5, "Bob", (1.0, 0.0), "Bob sits at the next desk, one metre from Alice."),
    (8.5, "Chloe", (15.0, 0.0), "Chloé works at the far end of the same open space, 15 m away."),
    (12.0, "Alice", HOME, "Lunch: everyone leaves the office."),
    (12.0, "Bob", HOME, None),
    (12.0, "Chloe", HOME, None),
    (13.0, "Alice", OFFICE, "Back from lunch, the afternoon at the office."),
    (13.0, "Bob", (1.0, 0.0), None),
    (13.0, "Chloe", (15.0, 0.0), None),
    (17.0, "Alice", HOME, "Work is over."),
    (17.0, "Bob", HOME, None),
    (17.0, "Chloe", HOME, None),
    (17.5, "Alice", BUS, "Alice takes the bus home; Dan sits next to her with his phone."),
    (17.5, "Dan", (BUS[0] + 0.8, 0.0), None),
    (18.0, "Alice", HOME, "They get off the bus after 30 minutes."),
    (18.0, "Dan", HOME, None),
]
REPORT_HOUR = 19.0
STATUS_HOUR = 24 + 9.0


def near_alice(name: str, channel) -> str:
    """How long, and how close, `name` was to Alice in the script (the facts behind the verdict)."""
    where: dict[str, tuple[float, float] | None] = {}
    spans: dict[float, float] = {}
    times = sorted({h for h, *_ in DAY})
    for i, hour in enumerate(times):
        for h, who, pos, _ in DAY:
            if h == hour:
                where[who] = pos
        a, b = where.get("Alice"), where.get(name)
        if a is not None and b is not None and i + 1 < len(times):
            d = round(((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) ** 0.5, 1)
            spans[d] = spans.get(d, 0.0) + times[i + 1] - hour
    if not spans:
        return "was never near Alice"
    parts = [f"{h:g} h at {d:g} m (about {channel.mean_rssi(d):.0f} dBm)" for d, h in spans.items()]
    return "was near Alice: " + ", ".join(parts)


def say(text: str) -> None:
    print(text, flush=True)


def hhmm(world: World, day0: float) -> str:
    s = int(world.now - day0)
    return f"day {s // 86400 + 1} {s % 86400 // 3600:02d}:{s % 3600 // 60:02d}"


def run_day(world: World, day0: float) -> None:
    for hour, who, where, text in DAY:
        t = day0 + hour * 3600
        while world.now + 3600 <= t:  # progress every virtual hour
            world.run_for(3600)
            heard = {n: world.air.tokens[world.tokens[n].serial].heard for n in world.tokens}
            say(f"  {hhmm(world, day0)}  adverts heard so far: "
                + ", ".join(f"{n} {c}" for n, c in heard.items())
                + f", Dan's phone {len(world.phones['Dan'].heard_log)}")
        world.run_until(t)
        world.place(who, where)
        if text:
            say(f"{hhmm(world, day0)}  {text}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m hil_tests.sim.demo", description=__doc__.splitlines()[0])
    p.add_argument("--kiosk", action="store_true", help="leave the kiosk web page running")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--folder", help="keep the world's files here (default: a temp folder)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    wall = time.monotonic()
    folder = Path(args.folder) if args.folder else Path(tempfile.mkdtemp(prefix="robert-demo-"))
    now = wall_ntp()
    day0 = (int(now) // 86400 + 1) * 86400  # tomorrow 00:00 UTC
    start = day0 + 7 * 3600

    say("== ROBERT tokens: a day in a small town (simulated) ==")
    say("Starting the ROBERT server stub (SQLite) and the virtual radio...")
    world = World(folder, seed=args.seed, start_t=start).start()
    kiosk_proc = None
    try:
        say(f"  server at {world.server.url}; the radio is simulated: 1 m ~ -59 dBm, "
            "15 m ~ -85 dBm, 5% packet loss")
        for name, kind in PEOPLE.items():
            if kind == "token":
                world.add_token(name)
        say(f"{hhmm(world, day0)}  At the provisioning station: each token is registered with "
            "the server and loaded with its keys, clock and identifiers.")
        for name in world.tokens:
            world.provision(name)
            info = world.info(name)
            say(f"    {name}'s token {info['serial']}: ready, "
                f"{info['tuples']['remaining']} identifiers (15 min each) on board")
        world.add_phone("Dan")
        say("    Dan's phone: the TousAntiCovid app registered with the server.")
        run_day(world, day0)

        world.run_until(day0 + REPORT_HOUR * 3600)
        say(f"{hhmm(world, day0)}  Alice's test comes back positive. At the pharmacy kiosk, "
            "with her consent, her token's history goes to the server.")
        r = world.report("Alice")
        say(f"    report {'accepted' if r.delivered else 'NOT delivered'}: {r.contacts} contacts, "
            f"{r.hellos} HELLO messages since {r.window_from}; the token marked them as reported.")

        world.run_until(day0 + STATUS_HOUR * 3600)
        say(f"{hhmm(world, day0)}  The next morning the others check their status.")
        results = {}
        for name in ("Bob", "Chloe"):
            s = world.status(name)
            results[name] = s.risk_level
            say(f"    {name} at the kiosk: {s.token.headline} (token updated, "
                f"{s.tuples_written} fresh identifiers)")
        results["Dan"] = world.phone_status("Dan")
        say(f"    Dan's app: {'At risk' if results['Dan'] == 4 else 'Not at risk'}")

        say("")
        say("== Who is at risk, and why ==")
        for name, level in results.items():
            verdict = "AT RISK" if level == 4 else "not at risk"
            say(f"  {name:6s} {verdict:12s} - {near_alice(name, world.air.channel)}")
        say("  Alice  reported     - tested positive; her token's contacts were uploaded")
        say(f"(one virtual day and a half in {time.monotonic() - wall:.0f} s of wall time; "
            f"files in {folder})")

        if args.kiosk:
            ports = ",".join(t.pty for t in world.tokens.values())
            http_port = _free_port()
            with open(folder / "kiosk.log", "ab") as log:
                kiosk_proc = subprocess.Popen(
                    [*exe("robert-kiosk", "gateway.cli"), "serve", "--port", ports, "--server",
                     world.server.url, "--http-port", str(http_port),
                     "--queue", str(folder / "kiosk-page-queue")],
                    stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env())
            world.air.run_realtime(1.0)
            say("")
            say(f"The kiosk page is running at http://127.0.0.1:{http_port}/ "
                "(the tokens keep living in real time). Ctrl-C to stop.")
            stop_on_signals()
            while kiosk_proc.poll() is None:
                time.sleep(1)
            say(f"the kiosk page stopped: see {folder / 'kiosk.log'}")
        ok = results == {"Bob": 4, "Chloe": 0, "Dan": 4}
        return 0 if ok else 1
    except KeyboardInterrupt:
        return 0
    finally:
        if kiosk_proc is not None and kiosk_proc.poll() is None:
            kiosk_proc.terminate()
            kiosk_proc.wait(10)
        world.close()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
