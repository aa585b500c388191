"""Sweeps: one scenario evaluated at every point of a grid of what-ifs, one row of KPIs per point.

    planner sweep scenarios/base.yaml --grid budgets.bud-total-2027.max=3M,4M,5M --grid options.objective=...

Each `--grid KEY=V1,V2,...` is a list of `--set KEY=V` entries: the same dotted paths, the same number forms
(4.5M, 450k, 450万, 12%) read by the same code (`planner.rules.scenario.parse_assignment`). The points are the
cartesian product of the grids, in the order they were given, the last one varying fastest. A point is a pure
function of (scenario files, command line, the point's entries): it is resolved, simulated (deterministically
unless the command line or a grid sets options.draws) and, with `optimize`, optimized and its plan simulated, as `planner simulate` and
`planner optimize` would with those `--set` entries. The points are independent tasks of an executor
(planner/execute/): the table is the same wherever they ran.

The table is tidy: one row per point, a column per grid key holding the value as read (4.5M is 4500000), then
the KPIs of `planner.results.Kpis`, the number of policy checks that fail, and with `optimize` the optimizer's
status, objective, bound, gap and method. A point the optimizer finds no plan for keeps its row, with the status
and empty KPIs.

Commas: `--grid k=4,500,000,5M` is two values, 4,500,000 and 5M: a comma followed by exactly three digits (no
space) continues a number written with thousands separators, as `--set` reads it. So `k=1,100` is one value,
1100; write `k=1, 100` (with a space) for two.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planner.execute import Executor
from planner.results import Kpis
from planner.rules.findings import Finding
from planner.rules.scenario import parse_assignment, resolve

_THOUSANDS = re.compile(r"^\d{3}(?:\.\d+)?(?:bn|[kKmMbB万亿%])?$")
_GROUPED = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})*$")
KPIS = tuple(field.name for field in dataclasses.fields(Kpis))
OPTIMIZER = ("status", "objective", "bound", "gap", "method")


class BadGrid(ValueError):
    """A `--grid` that cannot be read; the message names it and says how to write it."""


@dataclass(frozen=True)
class Axis:
    """One `--grid`: a dotted path and its values, each as the `--set` entry that sets it and as read."""

    key: str
    entries: tuple[str, ...]
    values: tuple[Any, ...]


def read_grid(text: str) -> Axis:
    """`KEY=V1,V2,...` as an axis of the sweep (see the module's note on commas)."""
    if "=" not in text:
        raise BadGrid(f"--grid {text!r}: expected KEY=V1,V2,..., e.g. budgets.bud-total-2027.max=3M,4M,5M")
    key, raw = (part.strip() for part in text.split("=", 1))
    if not key:
        raise BadGrid(f"--grid {text!r}: no key before '='; e.g. budgets.bud-total-2027.max=3M,4M,5M")
    values: list[str] = []
    for piece in raw.split(","):
        if values and _THOUSANDS.match(piece) and _GROUPED.match(values[-1]):
            values[-1] += "," + piece
        else:
            values.append(piece)
    values = [value.strip() for value in values]
    if not values or any(not value for value in values):
        raise BadGrid(f"--grid {text!r}: an empty value; write the values separated by commas, e.g. {key}=3M,4M")
    entries, read = [], []
    for value in values:
        override, problem = parse_assignment(f"{key}={value}", 0)
        if problem is not None or override is None:
            raise BadGrid(f"--grid {key}={value}: {problem.message if problem else 'cannot be read'}")
        entries.append(f"{key}={value}")
        read.append(override.value)
    return Axis(key, tuple(entries), tuple(read))


def points(axes: Sequence[Axis]) -> list[tuple[int, ...]]:
    """Every point of the grid, as the position of its value on each axis; the last axis varies fastest."""
    return list(itertools.product(*(range(len(axis.entries)) for axis in axes)))


def problems(scenario: Path, entries: Sequence[str], axes: Sequence[Axis]) -> list[tuple[str, Finding]]:
    """Each grid value resolved once on its own (with the command line's entries): the errors it gives (an
    unknown id or field, a number a field cannot take), with the `--grid` entry that causes them. A sweep
    checks these before any point runs, so a typo stops it at once rather than in every row."""
    found: list[tuple[str, Finding]] = []
    for axis in axes:
        for entry in axis.entries:
            resolved = resolve(scenario, [*entries, entry])
            found.extend((entry, item) for item in resolved.findings if item.severity.value == "error")
    return found


@dataclass(frozen=True)
class Sweep:
    """What every point reads: sent once to each worker of a cluster."""

    scenario: Path
    entries: tuple[str, ...]
    """The command line's own `--set` entries, under every point's."""
    axes: tuple[Axis, ...]
    optimize: bool
    time_limit: float | None
    """Seconds for each point's optimisation (None: the scenario's options.time_limit)."""
    draws: bool = False
    """Monte Carlo at each point: only when the command line or a grid sets options.draws (as `planner
    compare`); otherwise every point is deterministic, whatever the scenario's own draws."""


Row = dict[str, Any]


def evaluate(sweep: Sweep, point: tuple[int, ...]) -> Row:
    """One point: resolved with its entries, simulated (and optimized), as one row of the table."""
    from planner.simulate import simulate

    chosen = [axis.entries[position] for axis, position in zip(sweep.axes, point)]
    resolved = resolve(sweep.scenario, [*sweep.entries, *chosen])
    row: Row = {axis.key: axis.values[position] for axis, position in zip(sweep.axes, point)}
    errors = [item for item in resolved.findings if item.severity.value == "error"]
    if errors:  # checked before the sweep ran (`problems`); a combination of values can still clash
        return {**row, **dict.fromkeys(KPIS, math.nan), "policy_failures": -1,
                **({key: math.nan for key in OPTIMIZER} if sweep.optimize else {}),
                "error": f"{errors[0].code} {errors[0].message}"}
    if not sweep.draws:
        resolved = dataclasses.replace(resolved, options=resolved.options.model_copy(update={"draws": 0}))
    if sweep.optimize:
        from planner.optimize.run import optimize

        result = optimize(resolved, time_limit=sweep.time_limit, executor=Executor())
        simulation = result.simulation
        row.update({"status": result.status.value, "objective": result.objective, "bound": result.bound,
                    "gap": result.gap, "method": result.method})
        policy = len(result.violations)
    else:
        simulation = simulate(resolved.rules, resolved.options, scenario=resolved.id)
        policy = sum(not check.ok for check in simulation.policy)
    totals = simulation.totals.as_dict() if simulation is not None else dict.fromkeys(KPIS, math.nan)
    row.update(totals)
    row["policy_failures"] = policy if simulation is not None else -1
    if simulation is not None and simulation.uncertainty is not None:
        spread = simulation.uncertainty.totals["gross_profit"]
        row.update({"gross_profit_p10": spread.p10, "gross_profit_p50": spread.p50, "gross_profit_p90": spread.p90})
    row["error"] = ""
    return row


def run(sweep: Sweep, executor: Executor, progress: Callable[[int, int], None] | None = None) -> list[Row]:
    """Every point of the sweep, in grid order; `progress(done, total)` as points finish."""
    grid = points(sweep.axes)
    done = [0]

    def count(_position: int, _row: Row) -> None:
        done[0] += 1
        if progress is not None:
            progress(done[0], len(grid))

    return executor.map(evaluate, grid, sweep, on_result=count)


def write_table(rows: Sequence[Row], path: Path) -> None:
    """The rows as one table: Parquet for a .parquet path, CSV otherwise; written to a temporary file beside it
    and moved into place (its folder made if missing), so a failed write leaves nothing half-written."""
    import pandas as pd

    table = pd.DataFrame(list(rows))
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f".{path.name}.partial")
    try:
        if path.suffix == ".parquet":
            table.to_parquet(staged, index=False)
        else:
            table.to_csv(staged, index=False)
        staged.replace(path)
    finally:
        staged.unlink(missing_ok=True)
