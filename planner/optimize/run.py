"""One optimisation, start to finish: value the options, build and solve the MILP, then check the plan honestly.

    compile -> options (economics core) -> build (constraint families) -> solve (HiGHS)
        infeasible:  diagnose (elastic model)            -> which rules conflict
        a plan:      simulate it with the simulator      -> predicted vs simulated profit, every rule re-checked,
                     simulate no promotions and the scenario's own calendar  -> what the plan is worth
                     optionally trace the budget frontier

The re-check is the point of the second half. The model is built from the same economics core as the simulator,
but the simulator is the referee: the plan is evaluated by `planner.simulate.simulate` exactly as
`planner simulate --plan` would evaluate the written plan file, and every policy check it makes (budgets, margin
floors, trade spend caps, display revenue, and every calendar rule through `compile.calendar.violations` with
complete plans) plus the plan file's own check (references, locked events kept) must pass. A breach means a rule
the model does not yet express, or expresses wrongly; it is reported, never hidden.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from planner.compile.model import compile_rules
from planner.optimize.diagnose import Conflict, diagnose
from planner.optimize.frontier import Frontier, trace
from planner.optimize.highs import Status
from planner.optimize.investments import Investment
from planner.optimize.model import RowLabel
from planner.optimize.options import build_options
from planner.optimize.solve import Solution, build, solve
from planner.results import PolicyCheck, Simulation
from planner.rules.plan import Plan, check_plan
from planner.rules.plan import Purchase as PlanPurchase
from planner.rules.scenario import Resolved
from planner.rules.schema import Event, RuleSet
from planner.rules.vividness import Bought, buy
from planner.simulate import simulate

PREDICTION_TOLERANCE = 1e-3
"""Largest relative difference between the MILP's gross profit and the simulator's that passes unflagged. The
gap comes from the volume-rebate approximation (constraints/rebates.py); docs/optimizer.md gives its measured
size on the demo and the command that measures it."""
EXIT_OK, EXIT_FINDINGS, EXIT_NO_PLAN = 0, 1, 2


@dataclass(frozen=True)
class Dual:
    """The LP-relaxation dual of one binding business row, in the user's terms."""

    label: RowLabel
    value: float
    """Change of the objective per unit the row's limit is raised (negative for a binding minimum)."""
    limit: str
    """'max' or 'min': the side of the row that binds."""


@dataclass(frozen=True)
class AccountPlan:
    """One account under the optimized plan, as the simulator evaluates it."""

    id: str
    promo_spend: float
    """Promotion funding and event costs."""
    promo_roi: float
    """Incremental gross profit (vs no promotions) per unit of promotion spend."""
    gross_profit: float
    budget_used: float


@dataclass(frozen=True)
class Versus:
    """The optimized plan against another plan of the same scenario, both evaluated by the simulator."""

    name: str
    """'no_promotions' or 'scenario_calendar'."""
    gross_profit: float
    volume: float
    budget_used: float
    policy_failures: int
    gain: float
    """Gross profit of the optimized plan minus this plan's."""
    relative: float | None


@dataclass(frozen=True)
class Purchase:
    """One vividness investment the optimizer decided: an item at an account, bought or not."""

    item: str
    kind: str
    """'shelf target', 'display' or 'cooler'."""
    account: str
    fee: float
    """Its cost at the account for the year."""
    bought: bool


@dataclass
class OptimizeResult:
    scenario: str
    name: str
    currency: str
    objective_kind: str
    """profit, volume or revenue: what the MILP maximised (volume and revenue with a profit floor)."""
    time_limit: float
    gap_target: float
    status: Status
    objective: float
    bound: float
    gap: float
    method: str = ""
    """How the plan was found: by the account split, or by solving the whole model (split.Method)."""
    seconds: dict[str, float] = field(default_factory=dict)
    """options (valuing them with the economics core), build, solve, duals, check, frontier, diagnose, total."""
    size: dict[str, int] = field(default_factory=dict)
    """options (binary variables) and rows."""
    budget_dual: float | None = None
    duals: list[Dual] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    predicted_profit: float | None = None
    simulated_profit: float | None = None
    difference: float | None = None
    """(predicted - simulated) / |simulated|."""
    predicted_rebates: float | None = None
    """Rebates as the MILP computes them; the simulator's are in `simulation.totals.rebates`. Their difference
    is the rebate approximation (constraints/rebates.py)."""
    simulation: Simulation | None = None
    """The optimized plan, evaluated by the simulator (with the scenario's Monte Carlo draws)."""
    accounts: list[AccountPlan] = field(default_factory=list)
    versus: list[Versus] = field(default_factory=list)
    violations: list[PolicyCheck] = field(default_factory=list)
    """Every rule the plan breaks when re-checked; empty for a sound plan."""
    frontier: Frontier | None = None
    bought: Bought | None = None
    """Item id -> accounts bought at, for the vividness items the optimizer decided (None: kept as written)."""
    vividness: list[Purchase] = field(default_factory=list)
    """Every investment decided, bought or not."""
    conflicts: list[Conflict] = field(default_factory=list)
    """When infeasible: the rows the elastic model had to relax, and those binding against them, by rule."""
    diagnosis_status: Status | None = None

    @property
    def has_plan(self) -> bool:
        return self.status in (Status.OPTIMAL, Status.TIME_LIMIT)

    @property
    def prediction_ok(self) -> bool:
        return self.difference is None or abs(self.difference) <= PREDICTION_TOLERANCE

    @property
    def exit_code(self) -> int:
        """0 a sound plan (optimal, or the best found at the time limit); 1 infeasible, or a plan that breaks
        rules when re-checked; 2 no plan for any other reason (the time limit came before a first plan)."""
        if self.status is Status.INFEASIBLE:
            return EXIT_FINDINGS
        if not self.has_plan:
            return EXIT_NO_PLAN
        return EXIT_FINDINGS if self.violations else EXIT_OK


def optimize(resolved: Resolved, time_limit: float | None = None, gap: float | None = None,
             frontier_points: int = 0, *, calendar: Sequence[Event] | None = None,
             applied: Sequence[str] = ()) -> OptimizeResult:
    """Optimize a resolved scenario (its options say objective, time limit and gap unless given here).

    `calendar` is the scenario's own plan to compare against (default: the rules' events); `applied` is the log
    of overrides, passed on to the simulation of the plan. Every solve (the MILP, each frontier point, the
    diagnosis) gets the time limit on its own.
    """
    started = time.perf_counter()
    rules, options = resolved.rules, resolved.options
    time_limit = options.time_limit if time_limit is None else time_limit
    gap = options.gap if gap is None else gap
    compiled = compile_rules(rules)
    values = build_options(rules, compiled, decide_vividness=options.vividness == "decide")
    valued = time.perf_counter()
    model = build(rules, compiled, values, options.objective)
    built = time.perf_counter()
    solution = solve(model, time_limit, gap)
    solved = time.perf_counter()
    result = OptimizeResult(
        resolved.id, resolved.name, rules.company.currency if rules.company else "", options.objective, time_limit,
        gap, solution.status, solution.objective, solution.bound, solution.gap, solution.method,
        seconds={"options": valued - started, "build": built - valued, "solve": solved - built},
        size={"options": len(values), "investments": len(values.investments), "columns": values.columns,
              "rows": len(model.labels)})
    if solution.status is Status.INFEASIBLE:
        diagnosis = diagnose(rules, compiled, values, options.objective, time_limit, gap)
        result.conflicts, result.diagnosis_status = diagnosis.conflicts, diagnosis.status
        result.seconds["diagnose"] = diagnosis.seconds
    elif result.has_plan:
        _check(result, solution, resolved, calendar, applied, values.investments)
        if frontier_points:
            result.frontier = trace(model, rules, options, frontier_points, time_limit, gap, solved=solution)
            result.seconds["frontier"] = result.frontier.seconds
    result.seconds["total"] = time.perf_counter() - started
    return result


def _check(result: OptimizeResult, solution: Solution, resolved: Resolved, calendar: Sequence[Event] | None,
           applied: Sequence[str], investments: Sequence[Investment]) -> None:
    """Evaluate the plan with the simulator, re-check every rule, and compare with the alternatives."""
    started = time.perf_counter()
    rules, options = resolved.rules, resolved.options
    result.events = list(solution.events)
    result.bought = solution.vividness
    result.vividness = [Purchase(i.item, i.kind, rules.accounts[i.account].id, i.fee,
                                 rules.accounts[i.account].id in (solution.vividness or {}).get(i.item, ()))
                        for i in investments]
    planned = buy(rules, solution.vividness or {})
    result.budget_dual = solution.budget_dual
    result.duals = [Dual(label, value, "max" if value > 0 else "min")
                    for label, value in sorted(solution.row_duals.items(), key=lambda item: -abs(item[1]))]
    simulation = simulate(planned, options, scenario=resolved.id, name=resolved.name, events=result.events,
                          plan_source="optimizer", applied=applied)
    result.simulation = simulation
    result.predicted_profit = solution.predicted_profit
    result.predicted_rebates = solution.rebates
    result.simulated_profit = simulation.totals.gross_profit
    result.difference = _relative(solution.predicted_profit - simulation.totals.gross_profit,
                                  simulation.totals.gross_profit)
    result.violations = [check for check in simulation.policy if not check.ok] + _plan_findings(result, rules)
    result.accounts = [AccountPlan(account, kpis.promo_funding + kpis.event_costs, kpis.promo_roi, kpis.gross_profit,
                                   kpis.budget_used) for account, kpis in simulation.accounts.items()]
    deterministic = options.model_copy(update={"draws": 0})
    for name, events in (("no_promotions", []), ("scenario_calendar", calendar)):
        other = simulate(rules, deterministic, scenario=resolved.id, events=events)
        gain = simulation.totals.gross_profit - other.totals.gross_profit
        result.versus.append(Versus(name, other.totals.gross_profit, other.totals.volume, other.totals.budget_used,
                                    sum(not check.ok for check in other.policy), gain,
                                    _relative(gain, other.totals.gross_profit)))
    result.seconds["check"] = time.perf_counter() - started


def _plan_findings(result: OptimizeResult, rules: RuleSet) -> list[PolicyCheck]:
    """What `planner simulate --plan` would refuse the written plan for (a dropped locked event, a reference)."""
    purchases = tuple(PlanPurchase(id=item, accounts=accounts) for item, accounts in (result.bought or {}).items())
    plan = Plan("optimizer", result.events, result.scenario, "optimizer", vividness=purchases)
    return [PolicyCheck(str(item.example.get("event", item.code)) if item.example else item.code, "plan_file", "plan",
                        0.0, 0.0, False, item.message)
            for item in check_plan(plan, rules)]


def _relative(change: float, reference: float) -> float | None:
    return change / abs(reference) if reference and math.isfinite(change) else None
