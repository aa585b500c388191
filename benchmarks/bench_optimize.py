"""Time the optimizer phase by phase over a size sweep: Pyomo build and solve, the same model handed to highspy
directly, and the Lagrangian decomposition (planner/optimize/decompose.py).

    python -m benchmarks.bench_optimize [--accounts 100,1000] [--mechanics 5] [--products 1] [--time-limit 120]
                                        [--gap 0.001] [--presolve on|off] [--no-variants] [--skip-pyomo-above N]
                                        [--highs NAME=VALUE ...]

Each size is the simulator benchmark's world (benchmarks/worlds.py) cut to the optimizer's benchmark model
(`optimizer_world`): N accounts x 52 weeks x M mechanics allowed everywhere, one SKU and so one line per account,
valued by the real economics core (`planner.optimize.options.build_options`), with per-account budgets by tier
and a total annual budget, both binding (`with_budgets`, from the spend of the unconstrained best plan). The
model is choice + budgets, the only families `planner.optimize.solve.build` adds for this world.

Printed: the main table (Pyomo vs direct highspy vs decomposition, each path's build, hand-over to HiGHS and solve
timed apart, the Pyomo/direct ratios, objectives and their agreement), then the
HiGHS variants (the other presolve setting for the MILP, simplex vs interior point for the LP relaxation) and the
decomposition's (greedy repair only; exact knapsacks for the capped accounts in 1 or 2 processes). Numbers are
indicative on a loaded 2-core machine; the table says what ran, so re-run it. No assertion on time: benchmarks
print, tests check (docs/STYLE.md "Benchmarks per phase").
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np

from benchmarks.worlds import synthetic_world
from planner.compile.model import Compiled, compile_rules
from planner.execute import connect
from planner.optimize import highs as optimize_highs
from planner.optimize import solve as optimize_solve
from planner.optimize.decompose import decompose, option_table
from planner.optimize.knapsack import MAX_STATES
from planner.optimize.options import Options, build_options
from planner.rules.schema import SECTIONS, RuleSet
from planner.rules.schema.common import EVERYWHERE

GOAL_ACCOUNTS, GOAL_SECONDS, GOAL_GAP, GOAL_RATIO = 1000, 60.0, 1e-3, 2.0


def optimizer_world(accounts: int, mechanics: int = 5, seed: int = 0, products: int = 1) -> RuleSet:
    """The simulator benchmark's world (benchmarks.worlds.synthetic_world: master data, demand, discounts, price
    bands, shelf targets, displays and coolers) cut to the benchmark's model: its first `mechanics` mechanics
    allowed at every account, and no rebate, calendar rule, floor, cap, event or budget (`with_budgets` adds the
    budgets). With one product every account has one line, so accounts x 52 weeks x `mechanics` options."""
    world = synthetic_world(accounts, products, 52, seed)
    if not 1 <= mechanics <= len(world.mechanics):
        raise ValueError(f"the world has {len(world.mechanics)} mechanics; asked for {mechanics}")
    everywhere = tuple(m.model_copy(update={"applies_to": EVERYWHERE}) for m in world.mechanics[:mechanics])
    return world.replace(mechanics=everywhere, rebates=(), calendar_rules=(), margin_floors=(), price_floors=(),
                         trade_spend_caps=(), events=(), budgets=())


def with_budgets(rules: RuleSet, options: Options, account_share: float = 0.8, total_share: float = 0.7) -> RuleSet:
    """Add budgets that both bind: per-account budgets by tier with room for `account_share` of the promotion
    spend of the tier's median account in the unconstrained best plan (each line-week's most profitable option),
    and a total annual budget with room for `total_share` of what those account budgets let the best plan spend;
    both on top of the fixed spend in scope (vividness fees). Budgets enter neither the compiled arrays nor the
    option values, so those stay valid."""
    profit, spend = options.value["gross_profit"], options.value["budget_spend"]
    slot = options.line * 53 + options.week
    order = np.lexsort((profit, slot))
    best = order[np.r_[slot[order][1:] != slot[order][:-1], True]]  # each slot's most profitable option
    best = best[profit[best] > 0]
    account_of = np.array([account for account, _ in options.lines], dtype=np.intp)[options.line]
    promotion = np.bincount(account_of[best], weights=spend[best], minlength=len(rules.accounts))
    fixed = options.base.budget_spend.sum(axis=(1, 2))
    tiers = np.array([a.tier for a in rules.accounts])
    budgets: list[dict[str, Any]] = []
    allowed = promotion.copy()
    for tier in "ABC":
        members = tiers == tier
        if members.any():
            room = account_share * float(np.median(promotion[members]))
            budgets.append({"id": f"bud-account-{tier.lower()}", "per": "account", "applies_to": {"tier": tier},
                            "max": round(float(fixed[members].max()) + room)})
            allowed[members] = np.minimum(promotion[members], room)
    budgets.append({"id": "bud-total", "max": round(float(fixed.sum()) + total_share * float(allowed.sum()))})
    return rules.replace(budgets=tuple(SECTIONS["budgets"].adapter.validate_python(b) for b in budgets))


@dataclass
class Matrices:
    """The MILP as highspy takes it: maximise cost x + offset, row_lower <= A x <= row_upper, x binary."""

    cost: np.ndarray
    offset: float
    row_lower: list[float] = field(default_factory=list)
    row_upper: list[float] = field(default_factory=list)
    starts: list[int] = field(default_factory=lambda: [0])
    columns: list[np.ndarray] = field(default_factory=list)
    values: list[np.ndarray] = field(default_factory=list)

    def row(self, columns: np.ndarray, values: np.ndarray, lower: float, upper: float) -> None:
        self.columns.append(columns.astype(np.int32))
        self.values.append(values.astype(float))
        self.starts.append(self.starts[-1] + len(columns))
        self.row_lower.append(lower)
        self.row_upper.append(upper)

    @property
    def rows(self) -> int:
        return len(self.row_lower)

    def highs(self, integer: bool = True, **settings: Any) -> highspy.Highs:
        h = optimize_highs.new_highs()
        for name, value in settings.items():
            h.setOptionValue(name, value)
        n = len(self.cost)
        index = np.concatenate(self.columns) if self.columns else np.zeros(0, np.int32)
        value = np.concatenate(self.values) if self.values else np.zeros(0)
        integrality = np.ones(n, np.int32) if integer else np.zeros(n, np.int32)
        h.passModel(n, self.rows, len(index), 2, -1, self.offset, self.cost, np.zeros(n), np.ones(n),
                    np.array(self.row_lower, float), np.array(self.row_upper, float),
                    np.array(self.starts[:-1], np.int32), index, value, integrality)
        return h


def direct_matrices(rules: RuleSet, compiled: Compiled, options: Options) -> Matrices:
    """The model `solve.build` makes for choice + budgets, row for row, straight from the option arrays."""
    index, weeks = compiled.index, compiled.index.calendar.weeks
    base = float(options.base.gross_profit.sum() + options.base.rebates.sum())
    matrices = Matrices(np.asarray(options.value["gross_profit"], float), base)
    slot = options.line * weeks + options.week
    order = np.argsort(slot, kind="stable")
    bounds = np.flatnonzero(np.r_[True, slot[order][1:] != slot[order][:-1], True])
    for start, stop in itertools.pairwise(bounds):
        if stop - start > 1:
            matrices.row(order[start:stop], np.ones(stop - start), -np.inf, 1.0)
    account_of = np.array([account for account, _ in options.lines], dtype=np.intp)[options.line]
    for budget in rules.budgets:
        accounts = index.account_mask(budget.applies_to)
        products = index.product_mask(budget.applies_to)
        live = np.zeros(weeks, dtype=bool)
        if budget.period == "year":
            live[:] = True
        else:
            span = index.calendar.quarter_weeks(int(budget.period[1]))
            live[span.start - 1: span.stop - 1] = True
        spend = options.scoped("budget_spend", products, live)
        fixed = options.base.budget_spend[:, products][:, :, live].sum(axis=(1, 2))
        groups = [np.arange(len(accounts)) == a for a in np.flatnonzero(accounts)] if budget.per == "account" \
            else [accounts]
        for members in groups:
            chosen = np.flatnonzero(members[account_of] & (spend != 0))
            constant = float(fixed[members].sum())
            matrices.row(chosen, spend[chosen], -np.inf if budget.min is None else budget.min - constant,
                         np.inf if budget.max is None else budget.max - constant)
    return matrices


@dataclass
class Run:
    seconds: float
    objective: float = math.nan
    bound: float = math.nan
    status: str = ""

    @property
    def gap(self) -> float:
        return abs(self.bound - self.objective) / max(1.0, abs(self.objective))


def run_highs(h: highspy.Highs, time_limit: float, gap: float, integer: bool = True) -> Run:
    """Run HiGHS; objective nan when it stopped without a feasible plan."""
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("mip_rel_gap", float(gap))
    started = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - started
    info = h.getInfo()
    status = h.modelStatusToString(h.getModelStatus())
    objective = info.objective_function_value if info.primal_solution_status == 2 else math.nan
    return Run(seconds, objective, info.mip_dual_bound if integer else objective, status)


def timed(work: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    out = work()
    return out, time.perf_counter() - started


def pyomo_run(rules: RuleSet, compiled: Compiled, options: Options, time_limit: float, gap: float,
              presolve: str) -> tuple[Run, float, float, Any]:
    """Build the readable Pyomo model with planner.optimize.solve.build(..., pyomo=True) (`planner optimize` builds
    the matrix only: benchmarks/bench_build.py) and solve the whole model with its solve(): (run, build seconds,
    hand-over seconds, the model). The hand-over (the model passed to HiGHS) is timed on its own by loading the persistent solver first;
    solve() then finds it loaded and only runs HiGHS and reads the plan back."""
    saved = dict(optimize_highs.SOLVER_OPTIONS)
    optimize_highs.SOLVER_OPTIONS.update({"presolve": presolve})
    try:
        model, build_seconds = timed(lambda: optimize_solve.build(rules, compiled, options, pyomo=True))
        solver = optimize_solve.highs()
        _, handover_seconds = timed(lambda: solver.load(model))
        solution = optimize_solve.solve(model, time_limit=time_limit, gap=gap, duals=False, whole=True, solver=solver)
    finally:
        optimize_highs.SOLVER_OPTIONS.clear()
        optimize_highs.SOLVER_OPTIONS.update(saved)
    return Run(solution.solve_seconds, solution.objective, solution.bound, solution.status.value), build_seconds, \
        handover_seconds, model


def measure(accounts: int, mechanics: int, products: int, time_limit: float, gap: float, presolve: str,
            variants: bool, pyomo: bool, seed: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One size: the main row (HiGHS with `presolve`) and, with `variants`, the other presolve setting, the LP
    relaxation by simplex and by interior point, and the decomposition's variants."""
    rules = optimizer_world(accounts, mechanics, seed, products)
    compiled = compile_rules(rules)
    options, options_seconds = timed(lambda: build_options(rules, compiled, decide_vividness=False))
    rules = with_budgets(rules, options)
    row: dict[str, Any] = {"accounts": accounts, "options": len(options), "options s": options_seconds}
    extra: list[dict[str, Any]] = []

    matrices, direct_build = timed(lambda: direct_matrices(rules, compiled, options))
    h, pass_seconds = timed(lambda: matrices.highs(**{**optimize_highs.SOLVER_OPTIONS, "presolve": presolve}))
    direct = run_highs(h, time_limit, gap)
    say(accounts, f"direct MILP, presolve {presolve}", direct)
    row.update({"rows": matrices.rows, "direct build s": direct_build, "direct hand-over s": pass_seconds,
                "direct solve s": direct.seconds,
                "direct objective": direct.objective, "direct gap": direct.gap, "direct status": direct.status})

    table = option_table(rules, compiled, options)
    split = decompose(table)
    say(accounts, "decomposition", Run(split.seconds, split.profit, split.bound))
    row.update({"decomposition s": split.seconds, "decomposition objective": split.profit,
                "decomposition gap": split.gap})

    if pyomo:
        run, build_seconds, handover_seconds, model = pyomo_run(rules, compiled, options, time_limit, gap, presolve)
        say(accounts, f"Pyomo MILP, presolve {presolve} (build {build_seconds:.2f} s, hand-over "
                      f"{handover_seconds:.2f} s)", run)
        row.update({"pyomo build s": build_seconds, "pyomo hand-over s": handover_seconds,
                    "pyomo solve s": run.seconds, "pyomo objective": run.objective,
                    "pyomo bound": run.bound, "pyomo gap": run.gap, "pyomo status": run.status,
                    "pyomo rows": len(model.labels)})
        planned = optimize_solve.solve(model, time_limit=time_limit, gap=gap, duals=False)
        say(accounts, f"planner's solve ({planned.method})",
            Run(planned.solve_seconds, planned.objective, planned.bound, planned.status.value))
        row.update({"planner solve s": planned.solve_seconds, "planner objective": planned.objective,
                    "planner gap": planned.gap, "planner method": planned.method})
    if not variants:
        return row, extra

    def variant(name: str, run: Run, build: float = math.nan) -> None:
        say(accounts, name, run)
        extra.append({"accounts": accounts, "variant": name, "build s": build, "solve s": run.seconds,
                      "objective": run.objective, "bound": run.bound, "status": run.status})

    other = "off" if presolve == "on" else "on"
    variant(f"direct MILP, presolve {presolve}", direct, direct_build + pass_seconds)
    if pyomo:
        variant(f"Pyomo MILP, presolve {presolve}",
                Run(row["pyomo solve s"], row["pyomo objective"], row["pyomo bound"], row["pyomo status"]),
                row["pyomo build s"] + row["pyomo hand-over s"])
    other_highs = matrices.highs(**{**optimize_highs.SOLVER_OPTIONS, "presolve": other})
    variant(f"direct MILP, presolve {other}", run_highs(other_highs, time_limit, gap), direct_build + pass_seconds)
    if pyomo:
        run, build_seconds, handover_seconds, _ = pyomo_run(rules, compiled, options, time_limit, gap, other)
        variant(f"Pyomo MILP, presolve {other}", run, build_seconds + handover_seconds)
    for solver in ("simplex", "ipm"):
        relaxed = run_highs(matrices.highs(integer=False, solver=solver), time_limit, gap, integer=False)
        variant(f"direct LP relaxation, {solver}", relaxed)
    states = f"{MAX_STATES // 1000}k states"
    with connect(workers=2) as cluster:
        on_two = (decompose(table, executor=cluster), decompose(table, executor=cluster, max_states=1_000_000))
    for name, result in (("decomposition, greedy repair only", decompose(table, exact=False)),
                         (f"decomposition, knapsacks <= {states}, 1 process", split),
                         (f"decomposition, knapsacks <= {states}, LocalCluster of 2", on_two[0]),
                         ("decomposition, knapsacks <= 1M states, LocalCluster of 2", on_two[1])):
        variant(name, Run(result.seconds, result.profit, result.bound,
                          f"gap {result.gap:.1e}; LP relaxation {result.relaxation:,.0f}; {result.capped} capped "
                          f"accounts, {result.capped - result.inexact} knapsacks solved"))
    return row, extra


def say(accounts: int, what: str, run: Run) -> None:
    """Progress on stderr, so a long run shows where it is (the tables come at the end on stdout)."""
    print(f"# {accounts} accounts, {what}: {run.seconds:.1f} s, objective {_money(run.objective)}, "
          f"{run.status}", file=sys.stderr, flush=True)


def agreement(row: dict[str, Any]) -> float:
    """Largest relative difference between the objectives that were computed (none with fewer than two)."""
    values = [row[k] for k in ("pyomo objective", "direct objective", "decomposition objective", "planner objective")
              if k in row
              and not math.isnan(row[k])]
    return (max(values) - min(values)) / max(1.0, abs(max(values))) if len(values) > 1 else math.nan


def main_table(rows: list[dict[str, Any]]) -> str:
    """Each path's phases: build (model from the option arrays), hand-over (the model passed to HiGHS, up to the
    moment HiGHS starts), solve (HiGHS and reading the plan back); the ratios set the Pyomo path against the
    direct highspy reference measured in the same run, for build + hand-over and for the whole solve."""
    header = ["accounts", "options (binaries)", "rows", "Pyomo build s", "Pyomo hand-over s", "Pyomo solve s",
              "direct build s", "direct hand-over s", "direct solve s", "Pyomo/direct build + hand-over",
              "Pyomo/direct total", "decomposition s", "Pyomo objective", "direct objective",
              "decomposition objective", "agreement", "gap Pyomo / direct / decomposition",
              "HiGHS status Pyomo / direct", "planner solve s (method)", "planner objective", "planner gap",
              "goal met"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        has_pyomo = "pyomo build s" in row
        pyomo_setup = row["pyomo build s"] + row["pyomo hand-over s"] if has_pyomo else math.nan
        pyomo_total = pyomo_setup + row["pyomo solve s"] if has_pyomo else math.nan
        direct_setup = row["direct build s"] + row["direct hand-over s"]
        direct_total = direct_setup + row["direct solve s"]
        goal = ""
        if row["accounts"] >= GOAL_ACCOUNTS:
            planner_total = row["pyomo build s"] + row["planner solve s"] if has_pyomo else math.nan
            met = [name for name, t, g in (("Pyomo", pyomo_total, row.get("pyomo gap", math.nan)),
                                           ("direct", direct_total, row["direct gap"]),
                                           ("decomposition", row["decomposition s"], row["decomposition gap"]),
                                           ("planner", planner_total, row.get("planner gap", math.nan)))
                   if g <= GOAL_GAP and t < GOAL_SECONDS]
            goal = f"yes ({', '.join(met)})" if met else "no"
        rows_note = f" (Pyomo {row['pyomo rows']:,})" if row.get("pyomo rows", row["rows"]) != row["rows"] else ""
        cells = [f"{row['accounts']:,}", f"{row['options']:,}", f"{row['rows']:,}{rows_note}",
                 _s(row.get("pyomo build s")), _s(row.get("pyomo hand-over s")), _s(row.get("pyomo solve s")),
                 _s(row["direct build s"]), _s(row["direct hand-over s"]), _s(row["direct solve s"]),
                 f"{pyomo_setup / direct_setup:.1f}x" if has_pyomo else "-",
                 f"{pyomo_total / direct_total:.2f}x" if has_pyomo else "-", _s(row["decomposition s"]),
                 _money(row.get("pyomo objective")), _money(row["direct objective"]),
                 _money(row["decomposition objective"]), _e(agreement(row)),
                 " / ".join(_e(row.get(k)) for k in ("pyomo gap", "direct gap", "decomposition gap")),
                 f"{row.get('pyomo status', '-')} / {row['direct status']}",
                 f"{_s(row.get('planner solve s'))} ({row.get('planner method', '-')})",
                 _money(row.get("planner objective")), _e(row.get("planner gap")), goal]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def variants_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| accounts | variant | build + hand-over s | solve s | total s | objective | bound | status |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        total = row["solve s"] + (0.0 if math.isnan(row["build s"]) else row["build s"])
        lines.append(f"| {row['accounts']:,} | {row['variant']} | {_s(row['build s'])} | {_s(row['solve s'])} | "
                     f"{_s(total)} | {_money(row['objective'])} | {_money(row['bound'])} | {row['status']} |")
    return "\n".join(lines)


def _e(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.1e}"


def _s(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.2f}"


def _money(value: float | None) -> str:
    if value is None:
        return "-"
    return "no plan" if math.isnan(value) else f"{value:,.0f}"


def highs_option(item: str) -> tuple[str, Any]:
    """NAME=VALUE as HiGHS takes it: true/false a bool, a number a float or int, anything else a string."""
    name, _, text = item.partition("=")
    value: Any = {"true": True, "false": False}.get(text.lower(), text)
    if isinstance(value, str):
        try:
            value = int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                pass
    return name, value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_optimize", description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", default="100,1000", help="comma-separated sizes (default 100,1000)")
    parser.add_argument("--mechanics", type=int, default=5, help="mechanics per line-week, 1-6 (default 5)")
    parser.add_argument("--products", type=int, default=1,
                        help="SKUs in the world (default 1: one line per account; more add product groups)")
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds per MILP/LP solve (default 120)")
    parser.add_argument("--gap", type=float, default=GOAL_GAP, help="relative MIP gap (default 0.001)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--presolve", choices=("on", "off"), default="on",
                        help="HiGHS presolve in the main table (the variants run the other setting)")
    parser.add_argument("--no-variants", action="store_true", help="skip the HiGHS option variants")
    parser.add_argument("--skip-pyomo-above", type=int, default=None,
                        help="do not build the Pyomo model above this many accounts")
    parser.add_argument("--highs", nargs="*", default=None, metavar="NAME=VALUE",
                        help="HiGHS options for both paths instead of the planner's SOLVER_OPTIONS "
                             "(no value: HiGHS's defaults), e.g. mip_heuristic_run_rins=false")
    args = parser.parse_args(argv)
    if args.highs is not None:
        optimize_highs.SOLVER_OPTIONS.clear()
        optimize_highs.SOLVER_OPTIONS.update(highs_option(item) for item in args.highs)
    rows, extras = [], []
    for accounts in (int(a) for a in args.accounts.split(",")):
        pyomo = args.skip_pyomo_above is None or accounts <= args.skip_pyomo_above
        row, extra = measure(accounts, args.mechanics, args.products, args.time_limit, args.gap, args.presolve,
                             not args.no_variants, pyomo, args.seed)
        rows.append(row)
        extras.extend(extra)
        print(f"# {accounts} accounts done: options from the economics core in {row['options s']:.1f} s", flush=True)
    print(f"\n## Optimizer: {args.mechanics} mechanics x 52 weeks, {args.products} product(s), "
          f"gap target {args.gap:g}, time limit {args.time_limit:g} s per solve, HiGHS presolve {args.presolve}, "
          f"HiGHS options {optimize_highs.SOLVER_OPTIONS}\n")
    print(main_table(rows))
    if extras:
        print("\n## HiGHS options and the decomposition's workers\n")
        print(variants_table(extras))


if __name__ == "__main__":
    main()
