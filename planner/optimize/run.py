"""One optimisation, start to finish: value the options, build and solve the MILP, then check the plan honestly.

    compile -> options (economics core) -> build (constraint families) -> solve (HiGHS)
        infeasible:  diagnose (elastic model)            -> which rules conflict
        a plan:      simulate it with the simulator      -> predicted vs simulated profit, every rule re-checked,
                     simulate no promotions and the scenario's own calendar  -> what the plan is worth
                     optionally trace the budget frontier
        no plan in time (the time limit, Ctrl-C):  the scenario's own calendar, if it breaks no rule

One deadline bounds all of it (progress.py), and progress goes out by stage.

The re-check is the point of the second half. The model is built from the same economics core as the simulator,
but the simulator is the referee: the plan is evaluated by `planner.simulate.simulate` exactly as
`planner simulate --plan` would evaluate the written plan file, and every policy check it makes (budgets, margin
floors, trade spend caps, display revenue, and every calendar rule through `compile.calendar.violations` with
complete plans) plus the plan file's own check (references, locked events kept) must pass. A breach means a rule
the model does not yet express, or expresses wrongly; it is reported, never hidden.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from planner.check.plan import check_plan
from planner.compile.model import compile_rules
from planner.execute import Executor
from planner.optimize import split
from planner.optimize.diagnose import Conflict, diagnose
from planner.optimize.frontier import Frontier, trace
from planner.optimize.highs import Status
from planner.optimize.investments import Investment
from planner.optimize.model import RowLabel
from planner.optimize.options import build_options
from planner.optimize.progress import Clock, Progress, catch_interrupt, seconds
from planner.optimize.solve import Solution, build, solve
from planner.results import PolicyCheck, Simulation
from planner.rules.plan import Plan
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
SCENARIO_CALENDAR = "scenario_calendar"
"""`method` of a plan that is the scenario's own calendar: no MILP plan came before the time limit or Ctrl-C,
and the calendar breaks no rule."""
DRAW_SHARE = 1 / 7
"""What one Monte Carlo draw of the simulator costs, as a share of a deterministic simulation (vectorised over
draws; measured on the demo: 18 ms deterministic, 0.49 s with 200 draws). Sizes the time kept back for the
re-check, which cannot be cut."""


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
    """How the plan was found: by the account split, or by solving the whole model (split.Method), or
    'scenario_calendar': the scenario's own calendar, when no MILP plan came in time and it breaks no rule."""
    interrupted: bool = False
    """Ctrl-C (SIGINT) stopped the run: the plan is the best found until then (status time_limit)."""
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
             applied: Sequence[str] = (), progress: Progress | None = None,
             executor: Executor | None = None) -> OptimizeResult:
    """Optimize a resolved scenario (its options say objective, time limit and gap unless given here).

    `calendar` is the scenario's own plan to compare against (default: the rules' events); `applied` is the log
    of overrides, passed on to the simulation of the plan; `progress` receives one line per stage; `executor`
    runs the independent tasks (the accounts' MILPs, the plan's Monte Carlo draws; default: in process), with
    the same results wherever they run.

    The time limit bounds the whole call (progress.py): valuing the options and building the model cannot be
    cut, the LP relaxation gets at least `split.RELAXATION_SECONDS` and at least as long as the build took, the
    re-check by the simulator is kept time for, and every other stage gets what is left. When the limit or
    Ctrl-C comes before a MILP plan, the plan is the scenario's own calendar if it breaks no rule (method
    'scenario_calendar'), with its gap to the best bound known; otherwise there is no plan. Ctrl-C sets
    `interrupted`.
    """
    options = resolved.options
    time_limit = options.time_limit if time_limit is None else time_limit
    clock = Clock.start(time_limit, progress)
    with catch_interrupt(clock.stop), _long_lived():
        try:
            return _optimize(resolved, time_limit, clock, options.gap if gap is None else gap, frontier_points,
                             calendar, applied, executor)
        finally:
            clock.stop.pull()  # stop whatever still runs


def _optimize(resolved: Resolved, time_limit: float, clock: Clock, gap: float, frontier_points: int,
              calendar: Sequence[Event] | None, applied: Sequence[str], executor: Executor | None) -> OptimizeResult:
    started = time.perf_counter()
    rules, options = resolved.rules, resolved.options
    compiled = compile_rules(rules)
    values = build_options(rules, compiled, decide_vividness=options.vividness == "decide")
    valued = time.perf_counter()
    clock.say(f"options: {len(values):,} options valued ({seconds(valued - started)})")
    _keep_out_of_collections()
    model = build(rules, compiled, values, options.objective)
    built = time.perf_counter()
    clock.say(f"build: {values.columns:,} columns, {len(model.labels):,} rows ({seconds(built - valued)})")
    _keep_out_of_collections()
    # The scenario's own calendar, simulated first: the plan is compared with it, it is the plan of last resort,
    # and its time sizes what the re-check (which cannot be cut) is kept.
    own = simulate(rules, options.model_copy(update={"draws": 0}), scenario=resolved.id, events=calendar)
    simulated = time.perf_counter() - built
    solution = solve(model, None, gap, clock=clock.earlier(simulated * (2 + options.draws * DRAW_SHARE)),
                     relaxation_seconds=max(split.RELAXATION_SECONDS, built - valued), executor=executor)
    solved = time.perf_counter()
    result = OptimizeResult(
        resolved.id, resolved.name, rules.company.currency if rules.company else "", options.objective, time_limit,
        gap, solution.status, solution.objective, solution.bound, solution.gap, solution.method,
        seconds={"options": valued - started, "build": built - valued, "solve": solved - built},
        size={"options": len(values), "investments": len(values.investments), "columns": values.columns,
              "rows": len(model.labels)})
    if solution.status is Status.INFEASIBLE:
        diagnosis = diagnose(rules, compiled, values, options.objective, None, gap, clock)
        result.conflicts, result.diagnosis_status = diagnosis.conflicts, diagnosis.status
        result.seconds["diagnose"] = diagnosis.seconds
    elif result.has_plan:
        _check(result, solution, resolved, own, applied, values.investments, executor)
        clock.say(f"re-check: {len(result.violations)} rule(s) broken ({seconds(result.seconds['check'])})")
        if frontier_points:
            result.frontier = trace(model, rules, options, frontier_points, None, gap, solved=solution, clock=clock,
                                    executor=executor)
            result.seconds["frontier"] = result.frontier.seconds
    elif _calendar_plan(result, solution, resolved, own, calendar, applied):
        clock.say("no MILP plan in time: the scenario's own calendar is the plan, gap "
                  + (f"{result.gap:.3%}" if math.isfinite(result.gap) else "unknown (no bound)"))
    result.interrupted = clock.stop.interrupted
    result.seconds["total"] = time.perf_counter() - started
    return result


@contextmanager
def _long_lived() -> Iterator[None]:
    """While inside, the objects `_keep_out_of_collections` is called on are left out of Python's cyclic garbage
    collections; on leaving, they are collected as before. Not when the caller froze objects itself (gc.freeze):
    those stay as the caller left them."""
    owned = gc.get_freeze_count() == 0
    _FREEZING.append(owned)
    try:
        yield
    finally:
        _FREEZING.pop()
        if owned:
            gc.unfreeze()


_FREEZING: list[bool] = []


def _keep_out_of_collections() -> None:
    """The objects alive now (the options, the model: live to the end of the run) left out of Python's cyclic
    collections until `_long_lived` ends. Each full collection walks every object alive, and their number grows
    with the accounts, as does the number of full collections (each comes when the objects grew by a quarter):
    at 5,000 accounts 11 full collections took 1.7 s of CPU where 1,000 accounts' 4 took 0.24 s; leaving the
    valued options and the built model out, 1.05-1.17 s (benchmarks/README.md, "Scale")."""
    if _FREEZING and _FREEZING[-1]:
        gc.freeze()


def _check(result: OptimizeResult, solution: Solution, resolved: Resolved, own: Simulation,
           applied: Sequence[str], investments: Sequence[Investment], executor: Executor | None) -> None:
    """Evaluate the plan with the simulator, re-check every rule, and compare with the alternatives."""
    started = time.perf_counter()
    rules = resolved.rules
    result.events = list(solution.events)
    result.bought = solution.vividness
    result.vividness = [Purchase(i.item, i.kind, rules.accounts[i.account].id, i.fee,
                                 rules.accounts[i.account].id in (solution.vividness or {}).get(i.item, ()))
                        for i in investments]
    result.budget_dual = solution.budget_dual
    result.duals = [Dual(label, value, "max" if value > 0 else "min")
                    for label, value in sorted(solution.row_duals.items(), key=lambda item: -abs(item[1]))]
    result.predicted_profit = solution.predicted_profit
    result.predicted_rebates = solution.rebates
    simulation = _simulate_plan(result, resolved, applied, own, executor=executor)
    result.difference = _relative(solution.predicted_profit - simulation.totals.gross_profit,
                                  simulation.totals.gross_profit)
    result.seconds["check"] = time.perf_counter() - started


def _simulate_plan(result: OptimizeResult, resolved: Resolved, applied: Sequence[str], own: Simulation,
                   no_promotions: Simulation | None = None, executor: Executor | None = None) -> Simulation:
    """Simulate the plan (`result.events`, `result.bought`) as `planner simulate --plan` would, list every rule
    it breaks, and compare it with no promotions and with the scenario's own calendar (`own`)."""
    rules, options = resolved.rules, resolved.options
    simulation = simulate(buy(rules, result.bought or {}), options, scenario=resolved.id, name=resolved.name,
                          events=result.events, plan_source="optimizer", applied=applied, executor=executor)
    result.simulation = simulation
    result.simulated_profit = simulation.totals.gross_profit
    result.violations = [check for check in simulation.policy if not check.ok] + _plan_findings(result, rules)
    result.accounts = [AccountPlan(account, kpis.promo_funding + kpis.event_costs, kpis.promo_roi, kpis.gross_profit,
                                   kpis.budget_used) for account, kpis in simulation.accounts.items()]
    if no_promotions is None:
        no_promotions = simulate(rules, options.model_copy(update={"draws": 0}), scenario=resolved.id, events=[])
    for name, other in (("no_promotions", no_promotions), ("scenario_calendar", own)):
        gain = simulation.totals.gross_profit - other.totals.gross_profit
        result.versus.append(Versus(name, other.totals.gross_profit, other.totals.volume, other.totals.budget_used,
                                    sum(not check.ok for check in other.policy), gain,
                                    _relative(gain, other.totals.gross_profit)))
    return simulation


def _calendar_plan(result: OptimizeResult, solution: Solution, resolved: Resolved, own: Simulation,
                   calendar: Sequence[Event] | None, applied: Sequence[str]) -> bool:
    """No MILP plan came in time: take the scenario's own calendar (`own`, simulated deterministically) as the
    plan when it breaks no rule, vividness as the rules write it. Its objective is the simulator's; its gap is to
    the best bound the solve knows (the LP relaxation's, or L(prices) of the accounts), unknown without one. With
    a volume or revenue objective the calendar must also earn the no-promotion plan's gross profit (the model's
    profit floor). False, and the result left without a plan, when it breaks a rule."""
    started = time.perf_counter()
    rules, options = resolved.rules, resolved.options
    events = list(rules.events if calendar is None else calendar)
    no_promotions = simulate(rules, options.model_copy(update={"draws": 0}), scenario=resolved.id, events=[])
    findings = check_plan(Plan("optimizer", events, resolved.id, "optimizer"), rules)
    floor_ok = result.objective_kind == "profit" or \
        own.totals.gross_profit >= no_promotions.totals.gross_profit - 1e-6 * abs(no_promotions.totals.gross_profit)
    if any(not check.ok for check in own.policy) or findings or not floor_ok:
        return False
    objective = {"profit": own.totals.gross_profit, "volume": own.totals.volume,
                 "revenue": own.totals.net_sales}[result.objective_kind]
    result.status, result.method, result.objective = Status.TIME_LIMIT, SCENARIO_CALENDAR, objective
    result.bound = solution.bound
    result.gap = abs(solution.bound - objective) / max(1.0, abs(objective)) if math.isfinite(solution.bound) \
        else float("inf")
    result.events = events
    _simulate_plan(result, resolved, applied, own, no_promotions)
    result.seconds["check"] = time.perf_counter() - started
    return True


def _plan_findings(result: OptimizeResult, rules: RuleSet) -> list[PolicyCheck]:
    """What `planner simulate --plan` would refuse the written plan for (a dropped locked event, a reference)."""
    purchases = tuple(PlanPurchase(id=item, accounts=accounts) for item, accounts in (result.bought or {}).items())
    plan = Plan("optimizer", result.events, result.scenario, "optimizer", vividness=purchases)
    return [PolicyCheck(str(item.example.get("event", item.code)) if item.example else item.code, "plan_file", "plan",
                        0.0, 0.0, False, item.message)
            for item in check_plan(plan, rules)]


def _relative(change: float, reference: float) -> float | None:
    return change / abs(reference) if reference and math.isfinite(change) else None
