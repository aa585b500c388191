"""Why no plan exists: relax every business rule elastically and name, in the user's terms, the rules that conflict.

The elastic model (`build(..., elastic=True)`, model.py) gives every labelled row that is not `hard` (business
rules, not definitions such as one-mechanic-per-week or the rebate tiers) a slack s >= 0 per bound, and minimises
the total slack, each scaled by the size of its row's bound so that a budget in millions and an event count of 2
weigh alike:

    V  =  minimise  sum_r s_r / max(1, |bound_r|)
          s.t.      lower_r <= row_r + s_r^lower - s_r^upper <= upper_r      for every business row r
                    every hard row as in the MILP

It is always feasible. Two answers come out of it:

- relaxed: the rows with s_r > 0 in its integer optimum, and by how much (in the row's units: money for budgets,
  event weeks for calendar rules): the least change of the rules, by that measure, that admits a plan;
- binding: what the relaxed rows are relaxed *against*. By LP duality the violation of the LP relaxation is

    V_LP  =  sum_r y_r (bound_r - fixed_r)  +  (terms of the bounds 0 <= x <= 1)

  where y_r is row r's dual and fixed_r the part of the row no decision moves (for a budget: vividness in its
  scope kept as the rules write it). The weight |y_r (bound_r - fixed_r)| is how much of the proof that no plan
  exists rests on row r's limit (for the LP relaxation: a Farkas certificate). A rule whose rows carry at least
  `MINOR_SHARE` of the total weight is reported as binding; rows whose limit is 0 (a blackout, a static
  exclusion) steer which plan is cheapest but carry no weight. An infeasibility that only integrality causes has
  a violation-free LP relaxation and reports relaxed rows only.

So the demo's budget freeze reads: bud-total-2027 relaxed, over its max by what the locked coolers (fixed: kept as
the rules write them) and the cheapest plan that keeps the other rules need; binding: the locked events,
cr-cola-pet-every-quarter, the tier-A cola-can minimum.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from planner.compile.model import Compiled
from planner.optimize.highs import Status
from planner.optimize.model import Model, RowLabel
from planner.optimize.options import Options
from planner.optimize.progress import Clock
from planner.optimize.solve import build, relaxation, solve
from planner.rules.schema import RuleSet

SLACK_TOLERANCE = 1e-6
"""Slack (relative to its row's scale) below which a row counts as met: solver feasibility noise."""
DUAL_TOLERANCE = 1e-9
MINOR_SHARE = 0.01
"""A rule not relaxed is reported as binding when its rows carry at least this share of the total weight."""


@dataclass(frozen=True)
class ConflictRow:
    """One row of a conflicting rule: which limit, how much the elastic plan breaks it, and its weight."""

    label: RowLabel
    limit: str
    """'min' or 'max'."""
    bound: float
    fixed: float
    """The part of the row no decision moves (a budget's fixed vividness spend in scope); 0 for most rules."""
    violated_by: float
    """In the row's own units (money, event weeks ...); 0 for a binding row."""
    weight: float
    """|dual x (bound - fixed)| in the elastic LP: its share of the proof of infeasibility."""


@dataclass
class Conflict:
    """One rule in the conflict, with its rows."""

    rule: str
    family: str
    rows: list[ConflictRow] = field(default_factory=list)
    share: float = 0.0
    """The rule's weight as a share of the total weight of all rows."""

    @property
    def relaxed(self) -> bool:
        """True when the elastic plan breaks the rule; False when it only binds against the relaxed ones."""
        return any(row.violated_by > 0 for row in self.rows)

    @property
    def violated_by(self) -> float:
        return sum((row.violated_by for row in self.rows), 0.0)

    @property
    def role(self) -> str:
        return "relaxed" if self.relaxed else "binding" if self.share >= MINOR_SHARE else "minor"


@dataclass
class Diagnosis:
    status: Status
    """Of the elastic solve: OPTIMAL (or proven so by the LP bound), or TIME_LIMIT: the least relaxation found
    in time, which may be more than needed."""
    conflicts: list[Conflict]
    seconds: float


def diagnose(rules: RuleSet, compiled: Compiled, options: Options, objective: str = "profit",
             time_limit: float | None = 60.0, gap: float = 1e-3, clock: Clock | None = None) -> Diagnosis:
    """The elastic model's least relaxation and the LP's proof; `time_limit` (and `clock`'s deadline) for both."""
    started = time.perf_counter()
    clock = (clock or Clock()).within(time_limit)
    model = build(rules, compiled, options, objective, elastic=True)
    proof = relaxation(model, None, clock)
    # The whole model, not the account split: priced at the LP's duals, a coupling row's slack costs nothing, so
    # the accounts' plans leave those rows broken and the split would only add its time to the whole model's.
    solution = solve(model, None, gap, duals=False, whole=True, clock=clock)
    if solution.status not in (Status.OPTIMAL, Status.TIME_LIMIT):
        return Diagnosis(solution.status, [], time.perf_counter() - started)
    status = solution.status
    if proof.objective >= solution.objective - gap * max(1.0, abs(solution.objective)):
        status = Status.OPTIMAL  # the LP bound proves the relaxation found is the least (within the gap)
    rows = _analyse(model, proof.duals, solution.values)
    return Diagnosis(status, group(rows), time.perf_counter() - started)


def _analyse(model: Model, duals: list[float], values: np.ndarray) -> list[ConflictRow]:
    """Every elastic row that is broken in the elastic optimum (column values `values`) or carries weight in the
    LP's proof, read from the model's matrix."""
    matrix = model.matrix
    slacks = {model.column(slack): (label, scale) for label, slack, scale in model.slacks}
    by_label: dict[RowLabel, list[int]] = {}
    for position, label in enumerate(model.labels):
        by_label.setdefault(label, []).append(position)
    candidates = {position for position, dual in enumerate(duals) if abs(dual) > DUAL_TOLERANCE}
    for column, (label, scale) in slacks.items():
        if float(values[column]) > SLACK_TOLERANCE * scale:
            candidates.update(by_label[label])
    out = []
    for position in sorted(candidates):
        mine = [(float(coefficient), column) for column, coefficient
                in zip(matrix.row_columns[position].tolist(), matrix.row_values[position].tolist()) if column in slacks]
        if not mine:
            continue  # a hard row: a definition, not a rule
        dual = duals[position] if position < len(duals) else 0.0
        broken = [(coefficient, float(values[column])) for coefficient, column in mine
                  if float(values[column]) > SLACK_TOLERANCE * slacks[column][1]]
        lower, upper = matrix.written[position]
        limit = ("min" if broken[0][0] > 0 else "max") if broken else _side(lower, upper, dual)
        bound = float(lower if limit == "min" else upper)  # type: ignore[arg-type]
        fixed = matrix.row_constant[position]
        out.append(ConflictRow(model.labels[position], limit, bound, fixed, sum((value for _, value in broken), 0.0),
                               abs(dual * (bound - fixed))))
    return out


def group(rows: list[ConflictRow]) -> list[Conflict]:
    """Rows by rule: relaxed rules first (largest violation relative to the bound first), then binding ones by
    weight, then minor ones. Rows without violation or weight are left out."""
    total = sum(row.weight for row in rows) or 1.0
    conflicts: dict[tuple[str, str], Conflict] = {}
    for row in rows:
        if row.violated_by <= 0 and row.weight <= DUAL_TOLERANCE * total:
            continue
        conflict = conflicts.setdefault((row.label.rule, row.label.family), Conflict(row.label.rule, row.label.family))
        conflict.rows.append(row)
        conflict.share += row.weight / total
    for conflict in conflicts.values():
        conflict.rows.sort(key=lambda row: (-row.violated_by, -row.weight, row.label.account, row.label.detail))

    def order(conflict: Conflict) -> tuple[int, float, str]:
        rank = {"relaxed": 0, "binding": 1, "minor": 2}[conflict.role]
        relative = sum(row.violated_by / max(1.0, abs(row.bound)) for row in conflict.rows)
        return (rank, -(relative if conflict.relaxed else conflict.share), conflict.rule)

    return sorted(conflicts.values(), key=order)


def _side(lower: float | None, upper: float | None, dual: float) -> str:
    """Which limit of a row binds: its only one, or for a range the one the dual's sign names (minimising the
    violation, raising a binding maximum lowers it: a negative dual)."""
    if upper is None:
        return "min"
    if lower is None:
        return "max"
    return "max" if dual < 0 else "min"
