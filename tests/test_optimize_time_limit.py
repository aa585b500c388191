"""An optimizer that answers in time (planner/optimize/progress.py, docs/optimizer.md "Time limit, Ctrl-C and
progress").

- the time limit bounds the whole call: every HiGHS run is given no more than what is left of one deadline set at
  the start (the LP relaxation at least `split.RELAXATION_SECONDS` and the build's time), never the whole limit
  again;
- when the limit comes before a MILP plan, the plan is the scenario's own calendar if it breaks no rule (status
  time_limit, method scenario_calendar, gap to the LP bound), re-checked and reproduced by the simulator; when
  the calendar breaks a rule there is no plan;
- progress arrives by stage, in order, from the calling thread;
- Ctrl-C (a KeyboardInterrupt from the progress callback, a SIGINT to the process, or to a subprocess running
  the demo) returns the best plan found so far, marked interrupted, and it can be written with --out.

No wall-clock time is asserted (docs/STYLE.md): the deadline logic is checked on what HiGHS was told.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import highspy
import pytest
from test_optimize_families import event, mechanic, world

from planner.optimize import split
from planner.optimize.frontier import Frontier, FrontierPoint, check
from planner.optimize.highs import Status, new_highs
from planner.optimize.progress import Clock, Stop
from planner.optimize.run import SCENARIO_CALENDAR, OptimizeResult, optimize
from planner.report.optimization import optimization_json, status_line
from planner.rules.scenario import Resolved, ScenarioOptions
from planner.rules.schema import Account, Baseline, Budget, Event, RuleSet
from planner.simulate import simulate

ROOT = Path(__file__).resolve().parents[1]
TINY = 1e-4
"""A time limit shorter than valuing the options: no MILP plan can come in time."""


def two_accounts(events: tuple[Event, ...] = (), **sections: Any) -> RuleSet:
    """The families' hypermarket world with a second, smaller account (two blocks for the account split) and a
    total budget (a frontier to trace)."""
    base = world(weeks=8, mechanics=(mechanic("tpr", depth=0.2, applies_to={"brand": ["cola", "aqua"]}),),
                 budgets=(Budget(id="total", max=60_000),), **sections)
    second = Account(id="acc1", channel="hypermarket", tier="B", region="east", partner_since=2019,
                     last_year_volume=20_000)
    baseline = Baseline(id="base1", account="acc1", seasonality="weeks",
                        cases_per_week={"cola-can": 400, "aqua-pet": 300, "fizz-can": 200})
    return base.replace(accounts=(*base.accounts, second), baselines=(*base.baselines, baseline), events=events)


CALENDAR = (Event.model_validate({"id": "own-1", "account": "acc1", "product_group": "cola", "mechanic": "tpr",
                                  "weeks": [2, 3]}), event("own-0", "tpr", [5]))
"""The scenario's own calendar: a price cut at each account, breaking no rule."""


def resolved(rules: RuleSet, **options: Any) -> Resolved:
    return Resolved("time-limit", "", "", rules, ScenarioOptions(**options))


def run(rules: RuleSet, time_limit: float | None = 30.0, frontier: int = 0,
        progress: Callable[[str], None] | None = None, **options: Any) -> OptimizeResult:
    return optimize(resolved(rules, **options), time_limit, 1e-6, frontier, progress=progress)


# ------------------------------------------------------------------------------------------------- the clock


def test_a_clock_gives_what_is_left_of_one_deadline() -> None:
    clock = Clock.start(10.0)
    assert clock.deadline is not None
    left = clock.left()
    assert left is not None and 9.0 < left <= 10.0
    assert clock.within(100.0).deadline == clock.deadline  # a later limit changes nothing
    sooner = clock.within(1.0)
    assert sooner.deadline is not None and sooner.deadline < clock.deadline and sooner.stop is clock.stop
    assert clock.earlier(4.0).deadline == clock.deadline - 4.0
    later = clock.at_least(100.0).deadline
    assert later is not None and later > clock.deadline
    assert Clock.start(None).left() is None and not Clock.start(None).over
    assert Clock.start(0.0).over
    sooner.stop.pull()
    assert clock.over and clock.left() == 0.0 and not clock.stop.interrupted  # the stop is shared


def test_a_keyboard_interrupt_from_the_progress_callback_pulls_the_stop() -> None:
    def progress(message: str) -> None:
        raise KeyboardInterrupt

    clock = Clock.start(None, progress)
    clock.say("build")
    assert clock.stop.pulled and clock.stop.interrupted and clock.over


def test_a_pulled_stop_interrupts_highs() -> None:
    """The callback on HiGHS's interrupt points stops a solve at once once the stop is pulled."""
    stop = Stop()
    stop.pull(interrupted=True)
    h = new_highs()
    _problem(two_accounts()).pass_to(h)
    h.setOptionValue("presolve", "off")  # else presolve alone solves this small model, before any interrupt point
    with Clock(None, stop).watching(h):
        h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kInterrupt


def _problem(rules: RuleSet) -> Any:
    from planner.compile.model import compile_rules
    from planner.optimize.options import build_options
    from planner.optimize.solve import build

    compiled = compile_rules(rules)
    return build(rules, compiled, build_options(rules, compiled)).matrix.problem()


# -------------------------------------------------------------------------------------- the whole call's limit


def test_every_highs_run_gets_no_more_than_what_is_left(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before, each solve got the whole limit again; now each gets what is left of one deadline (the LP
    relaxation at least RELAXATION_SECONDS, and at least as long as the build took)."""
    told: list[tuple[float, float, bool]] = []
    original = highspy.Highs.run

    def recording(self: highspy.Highs) -> Any:
        _, limit = self.getOptionValue("time_limit")
        relaxation = all(kind == highspy.HighsVarType.kContinuous for kind in self.getLp().integrality_)
        told.append((time.perf_counter(), float(limit), relaxation))
        return original(self)

    monkeypatch.setattr(highspy.Highs, "run", recording)
    limit = 20.0
    started = time.perf_counter()
    result = run(two_accounts(CALENDAR), time_limit=limit, frontier=3)
    deadline = started + limit
    assert result.has_plan and result.frontier is not None
    assert len(told) >= 4  # the LP, two accounts, the frontier's points
    floor = max(split.RELAXATION_SECONDS, result.seconds["build"])
    for at, seconds, relaxation in told:
        latest = max(deadline, at + floor) if relaxation else deadline
        assert at + seconds <= latest + 0.05  # the time between HiGHS being told and this record


def test_a_tiny_limit_gives_the_scenario_calendar_when_it_breaks_no_rule() -> None:
    rules = two_accounts(CALENDAR)
    result = run(rules, time_limit=TINY)
    assert result.status is Status.TIME_LIMIT and result.method == SCENARIO_CALENDAR and result.has_plan
    assert not result.interrupted and not result.violations and result.exit_code == 0
    assert [e.id for e in result.events] == [e.id for e in CALENDAR]
    referee = simulate(rules, ScenarioOptions(), events=CALENDAR)
    assert result.simulated_profit == pytest.approx(referee.totals.gross_profit, rel=1e-12)
    assert result.objective == pytest.approx(referee.totals.gross_profit, rel=1e-12)
    # the gap is to the LP relaxation's bound (solved in its minimum time), which no plan can beat
    optimal = run(rules)
    assert math.isfinite(result.bound) and result.bound >= optimal.objective * (1 - 1e-9)
    assert result.gap == pytest.approx((result.bound - result.objective) / abs(result.objective))
    assert "scenario's own calendar" in status_line(result)
    data = optimization_json(result)
    assert data["method"] == SCENARIO_CALENDAR and data["status"] == "time_limit" and data["interrupted"] is False


def test_no_plan_when_the_calendar_breaks_a_rule() -> None:
    """An unlocked event in a blackout week: the optimizer may drop it, the calendar as written may not run."""
    blackout = {"id": "no-week-5", "kind": "blackout", "weeks": [5]}
    from test_optimize_families import rule

    rules = two_accounts(tuple(e.model_copy(update={"locked": False}) for e in CALENDAR),
                         calendar_rules=(rule(**blackout),))
    assert run(rules).has_plan  # the MILP finds a plan given time
    result = run(rules, time_limit=TINY)
    assert result.status is Status.NO_SOLUTION and not result.has_plan and result.method != SCENARIO_CALENDAR
    assert result.simulation is None and result.exit_code == 2


def test_progress_arrives_by_stage_in_order() -> None:
    """options, build, LP relaxation, accounts solved k/N, (repair, whole model when the split did not prove
    the gap), re-check, then each frontier point's own stages ending in "frontier point i/N"."""
    messages: list[str] = []
    result = run(two_accounts(CALENDAR), frontier=3, progress=messages.append)
    assert result.status is Status.OPTIMAL
    stages = " ".join(message.split(":")[0].split(" ")[0] for message in messages)
    point = r"LP (accounts ){2}(split )?(repair )?(whole )?frontier"
    assert re.fullmatch(rf"options build LP (accounts ){{2}}(split )?(repair )?(whole )?re-check ({point} ?){{2}}",
                        stages), messages
    accounts = [message for message in messages if message.startswith("accounts solved")][:2]
    assert [message.split(":")[0] for message in accounts] == ["accounts solved 1/2", "accounts solved 2/2"]
    assert "best bound" in accounts[-1] and "gap" in accounts[-1]
    assert [m.split(":")[0] for m in messages if m.startswith("frontier")] == ["frontier point 1/2",
                                                                                "frontier point 2/2"]


def test_the_split_plans_line_is_the_results_objective_and_gap() -> None:
    """'accounts solved' gives L(prices), the accounts' objectives at the prices; when the split's plan is the
    answer, the line after it states that plan's own objective and gap, the ones the result reports."""
    messages: list[str] = []
    result = run(two_accounts(CALENDAR).replace(budgets=()), progress=messages.append)
    assert result.method == split.Method.SPLIT  # nothing binds across the accounts
    plans = [message for message in messages if message.startswith("split plan")]
    assert plans == [f"split plan: objective {result.objective:,.0f}, gap {result.gap:.3%}"], messages


# ------------------------------------------------------------------------------------------------------ Ctrl-C


def interrupt_at(stage: str) -> Callable[[str], None]:
    def progress(message: str) -> None:
        if message.startswith(stage):
            raise KeyboardInterrupt

    return progress


def test_an_interrupt_before_any_plan_returns_the_calendar() -> None:
    result = run(two_accounts(CALENDAR), progress=interrupt_at("LP relaxation"))
    assert result.interrupted and result.status is Status.TIME_LIMIT and result.method == SCENARIO_CALENDAR
    assert not result.violations and math.isfinite(result.gap)  # the LP had finished: its bound gives the gap
    assert optimization_json(result)["interrupted"] is True


def test_an_interrupt_after_the_plan_keeps_it_and_skips_the_rest() -> None:
    result = run(two_accounts(CALENDAR), frontier=3, progress=interrupt_at("re-check"))
    assert result.interrupted and result.status is Status.OPTIMAL and not result.violations
    assert result.frontier is not None and result.frontier.monotone
    assert all(point.status is Status.NO_SOLUTION for point in result.frontier.points if point.share != 1.0)
    assert any("not solved" in note for note in result.frontier.notes)


def test_a_sigint_to_the_process_stops_the_run_with_its_best_plan() -> None:
    def progress(message: str) -> None:
        if message.startswith("accounts solved 1/"):
            os.kill(os.getpid(), signal.SIGINT)  # handled by optimize: the stop is pulled, nothing raised

    before = signal.getsignal(signal.SIGINT)  # SIG_IGN when the suite runs as a background job of a plain shell
    result = run(two_accounts(CALENDAR), progress=progress)
    assert result.interrupted and result.has_plan and not result.violations
    assert result.status is Status.TIME_LIMIT or result.method == split.Method.SPLIT
    assert signal.getsignal(signal.SIGINT) is before  # put back as it was


def test_a_frontier_point_not_solved_in_time_is_noted_not_flagged() -> None:
    nan = float("nan")
    frontier = Frontier("budget", 100.0, points=[
        FrontierPoint(50.0, 0.5, Status.OPTIMAL, 10.0, 10.0, 0.0, 10.0, 10.0, 50.0, 1.0),
        FrontierPoint(100.0, 1.0, Status.NO_SOLUTION, nan, nan, nan, nan, nan, nan, 0.0)])
    check(frontier)
    assert frontier.monotone


SCRIPT = """
import json, sys
from pathlib import Path
from planner.optimize.run import optimize
from planner.report.optimization import write_optimization
from planner.rules.scenario import resolve

resolved = resolve(Path("scenarios/base.yaml"))
resolved.options = resolved.options.model_copy(update={"draws": 0})
result = optimize(resolved, 300, progress=lambda line: print(line, file=sys.stderr, flush=True))
written = write_optimization(result, Path(sys.argv[1])) if result.simulation is not None else []
print(json.dumps({"status": result.status.value, "method": result.method, "interrupted": result.interrupted,
                  "violations": len(result.violations), "written": written, "gap": result.gap}))
"""


def test_ctrl_c_on_the_demo_returns_a_plan_that_can_be_written(tmp_path: Path) -> None:
    """A real SIGINT to a process running the demo while its accounts are being solved: the process ends
    (promptly: HiGHS is interrupted in its threads) with the best plan, written as --out writes it."""
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-c", SCRIPT, str(out)], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    lines = []
    for line in process.stderr:
        lines.append(line)
        if line.startswith(("LP relaxation", "accounts solved")):
            process.send_signal(signal.SIGINT)
            break
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, "".join(lines) + stderr
    answer = json.loads(stdout.strip().splitlines()[-1])
    assert answer["interrupted"] is True and answer["status"] == "time_limit", answer
    assert answer["violations"] == 0 and "plan.yaml" in answer["written"]
    assert (out / "plan.yaml").exists() and json.loads((out / "optimization.json").read_text())["interrupted"]
