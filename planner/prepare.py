"""A scenario prepared to run: resolved, every check `planner validate` runs, and its plan file loaded and checked.

The command line and `planner.api` both start here; what refuses a run (exit codes, the printed findings) stays in
the command-line layer. Heavy modules are imported inside the functions, as in the command-line layer, so importing
this one costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from planner.execute import Executor
    from planner.results import Simulation
    from planner.rules.findings import Finding
    from planner.rules.plan import Plan
    from planner.rules.scenario import Resolved


@dataclass
class Prepared:
    """A scenario ready to simulate: resolved rules and options, the plan (if any), and what blocks it.

    `findings` always block at error level (load, schema, overrides, references, weeks, the plan file);
    `consistency` holds the checker's other findings, whose errors block unless `--allow-findings`."""

    resolved: Resolved
    plan: Plan | None
    findings: list[Finding]
    files: list[str]
    applied: list[str]
    consistency: list[Finding] = field(default_factory=list)


def set_keys(entries: Sequence[str]) -> set[str]:
    """The dotted paths a command line overrides."""
    return {entry.split("=", 1)[0].strip() for entry in entries if "=" in entry}


def prepare(scenario: Path, entries: list[str]) -> Prepared:
    """Resolve, run every check `planner validate` runs on the scenario, and load and check the plan file if one
    is named.

    Every error-level finding blocks the run (warnings never do), as `planner validate` would judge the scenario:
    load, schema and override errors, unknown references, weeks outside the year, and the consistency findings
    (a price floor a worst-case stack breaks, account minimums over a budget, an `event_count` minimum the calendar
    cannot hold, ...). `--allow-findings` lets a deliberate what-if run despite the consistency findings only
    (`Prepared.consistency`); the others make the run meaningless and always block. The checks run once, here:
    the full checker includes the calendar feasibility check (PP420), so `planner optimize` stops before building.
    A plan named on the command line is relative to the working directory; one named in the scenario is relative
    to the scenario file. A `--set` value that cannot be read (a number written in a way no planner means, an
    unknown key) stops the command as 'cannot run', exit 2.
    """
    from planner.check import run_checks
    from planner.check.calendar import check_weeks
    from planner.check.context import CheckContext
    from planner.check.plan import check_plan
    from planner.rules.findings import DUPLICATE_ID, UNKNOWN_REFERENCE, WEEK_OUT_OF_YEAR
    from planner.rules.load import display_name
    from planner.rules.plan import load_plan
    from planner.rules.scenario import resolve

    resolved = resolve(scenario, entries)
    checked = run_checks(resolved.rules) if resolved.ok else []
    where = display_name(scenario)
    findings = [under_scenario(item, where, resolved.id) for item in resolved.findings]
    consistency: list[Finding] = []
    always = {DUPLICATE_ID.code, UNKNOWN_REFERENCE.code, WEEK_OUT_OF_YEAR.code}
    for item in checked:
        (findings if item.code in always else consistency).append(under_scenario(item, where, resolved.id))
    files = list(resolved.chain) + list(resolved.rules.files)
    options = resolved.options
    applied = list(resolved.applied)
    keys = set_keys(entries)
    plan = None
    if options.plan is not None and resolved.ok:
        base = Path.cwd() if "options.plan" in keys else scenario.parent
        plan = load_plan(base / options.plan)
        files.append(display_name(base / options.plan))
        findings.extend(plan.findings)
        if not plan.findings:
            findings.extend(check_plan(plan, resolved.rules))
            findings.extend(check_weeks(CheckContext(resolved.rules.replace(events=tuple(plan.events)))))
            if plan.vividness:  # the plan's vividness purchases are part of the scenario from here on
                resolved = replace(resolved, rules=plan.rules(resolved.rules))
    return Prepared(resolved, plan, findings, files, applied, consistency)


def under_scenario(item: Finding, scenario_file: str, scenario_id: str) -> Finding:
    """A finding as `planner validate SCENARIO` words it: one located outside the scenario file says which scenario
    it appears under, and names the scenario file among its related locations."""
    from planner.rules.findings import Finding, Location
    from planner.rules.scenario import COMMAND_LINE

    if item.location.file in (scenario_file, COMMAND_LINE):
        return item
    return Finding(item.code, item.severity, f"{item.message} (under scenario {scenario_id})", item.location,
                   item.related + (Location(scenario_file, 1, 1),), item.example, item.fix)


def simulate(run: Prepared, draws: int | None = None, executor: Executor | None = None,
             progress: Callable[[int, int], None] | None = None) -> Simulation:
    """Simulate a prepared scenario (with its plan's events if it has one), optionally with another draw count,
    its draws on `executor` (default: in process)."""
    from planner.simulate import simulate as run_simulation

    resolved = run.resolved
    options = resolved.options if draws is None else resolved.options.model_copy(update={"draws": draws})
    return run_simulation(
        resolved.rules, options, scenario=resolved.id, name=resolved.name,
        events=run.plan.events if run.plan else None, plan_source=run.plan.file if run.plan else "rules",
        applied=run.applied, progress=progress, executor=executor)
