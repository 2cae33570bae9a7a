"""Play a scenario in a world: schedule the moves, run to each step, do it, check it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gateway.errors import KioskError
from hil_tests.sim.scenario import Scenario, Step
from hil_tests.sim.world import World


@dataclass
class StepOutcome:
    step: Step
    who: str
    ok: bool
    text: str


def populate(world: World, sc: Scenario) -> None:
    """Start the scenario's tokens and phones and schedule every move."""
    for name, opts in sc.tokens.items():
        world.add_token(name, opts.get("drift_ppm", 0.0))
    for name in sc.phones:
        world.add_phone(name, sc.phone_os.get(name, "android"))
    for m in sc.moves:
        world.place(m.who, m.at, at=world.start_t + m.t)


def do_step(world: World, step: Step, who: str) -> StepOutcome:
    """One kiosk or station visit; a refusal is a failed step in the kiosk's plain words."""
    try:
        return _do_step(world, step, who)
    except KioskError as exc:
        return StepOutcome(step, who, False, f"{who}: {exc.message}")
    except RuntimeError as exc:  # the station's CLI failed: its own words
        return StepOutcome(step, who, False, f"{who}: {str(exc).splitlines()[0]}")


def _do_step(world: World, step: Step, who: str) -> StepOutcome:
    if who in world.phones:
        return _phone_step(world, step, who)
    if step.do == "provision":
        world.provision(who)
        return StepOutcome(step, who, True, f"{who} provisioned")
    if step.do == "report":
        r = world.report(who)
        ok = r.delivered and r.acknowledged
        return StepOutcome(step, who, ok, f"{who} reported positive: {r.contacts} contacts, "
                           f"{r.hellos} HELLOs sent ({r.message})")
    r = world.status(who)  # status and sync are the same kiosk visit
    text = f"{who}: {r.token.headline}"
    ok = True
    if step.expect is not None:
        ok = (r.risk_level == 4) == (step.expect == "at_risk")
        text += f" (expected {step.expect.replace('_', ' ')})"
    return StepOutcome(step, who, ok, text)


def _phone_step(world: World, step: Step, who: str) -> StepOutcome:
    """The app on a phone: report with a code, or ask its status."""
    if step.do == "report":
        answer = world.phone_report(who)
        ok = answer.get("success") is not False
        return StepOutcome(step, who, ok, f"{who}'s app reported positive "
                           f"({len(world.phones[who].contacts(0))} contacts)")
    level = world.phone_status(who)
    text = f"{who}'s app: {'At risk' if level == 4 else 'Not at risk'}"
    ok = step.expect is None or (level == 4) == (step.expect == "at_risk")
    if step.expect is not None:
        text += f" (expected {step.expect.replace('_', ' ')})"
    return StepOutcome(step, who, ok, text)


def play(world: World, sc: Scenario, say: Callable[[str], None] = print) -> list[StepOutcome]:
    """Run the whole scenario; every step's outcome is said and returned."""
    populate(world, sc)
    outcomes = []
    for step in sc.steps:
        world.run_until(world.start_t + step.t)
        for who in step.who:
            out = do_step(world, step, who)
            say(f"[{clock(world.now - world.start_t)}] {'ok ' if out.ok else 'FAIL'} {out.text}")
            outcomes.append(out)
    world.run_until(world.start_t + sc.end)
    return outcomes


def clock(seconds: float) -> str:
    """`d+hh:mm` of a virtual duration."""
    s = int(seconds)
    d, s = divmod(s, 86400)
    return f"{d}+{s // 3600:02d}:{s % 3600 // 60:02d}"
