"""HiGHS options on the demo's models: candidate option sets, the planner's `SOLVER_OPTIONS` among them, against
HiGHS's own defaults.

    python -m benchmarks.bench_highs_options [SCENARIO ...] [--time-limit 150] [--gap 0.001]
                                             [--vividness scenario|decide|keep] [--candidates kept|all]

Each scenario's MILP is built once (`planner.optimize.solve.build`; vividness decided or kept as the scenario
says, or as `--vividness` forces) and solved once per candidate through the same Pyomo HiGHS interface.
Printed as a table: seconds, status, objective, bound, gap, and the ratio of the time to HiGHS's defaults'.
Default scenarios: every demo scenario that is feasible. No assertion on time (docs/STYLE.md).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from planner.compile.model import compile_rules
from planner.optimize.highs import SOLVER_OPTIONS
from planner.optimize.model import Model
from planner.optimize.options import build_options
from planner.optimize.solve import build, highs
from planner.rules.scenario import Resolved, resolve

SCENARIOS = ("base", "summer-push", "budget-cut-10", "no-bogo-carrefour", "carrefour-plus-1pt-rebate")
NO_SUB_MIPS = {"mip_heuristic_run_rins": False, "mip_heuristic_run_rens": False}
NO_RENS = {"mip_heuristic_run_rens": False}
CANDIDATES: dict[str, dict[str, Any]] = {"HiGHS defaults": {}, "no RENS": NO_RENS}
TRIED: dict[str, dict[str, Any]] = {"no RINS/RENS": NO_SUB_MIPS, "no RINS": {"mip_heuristic_run_rins": False},
                                    "no RINS/RENS, pool 100": {**NO_SUB_MIPS, "mip_pool_soft_limit": 100},
                                    "presolve off": {"presolve": "off"},
                                    "presolve off, no RINS/RENS": {"presolve": "off", **NO_SUB_MIPS}}
"""Tried and dropped (`--candidates all` runs them too; benchmarks/README.md, "HiGHS options on the demo's
models", says why each was dropped)."""


def run(model: Any, options: dict[str, Any], time_limit: float, gap: float) -> tuple[float, str, float, float]:
    """One cold solve (a new HiGHS each time: no plan carried over from the candidate before)."""
    solver = highs()
    solver.load(model)
    started = time.perf_counter()
    result = solver.run(time_limit, gap, options)
    return time.perf_counter() - started, result.status.value, result.objective, result.bound


def scenario_model(path: str, vividness: str) -> tuple[Resolved, str, Model]:
    """A demo scenario's MILP as `planner optimize` builds it; vividness as the scenario says (`scenario`) or
    forced (`decide`, `keep`)."""
    resolved = resolve(Path(path), [])
    compiled = compile_rules(resolved.rules)
    decided = resolved.options.vividness if vividness == "scenario" else vividness
    values = build_options(resolved.rules, compiled, decided == "decide")
    return resolved, decided, build(resolved.rules, compiled, values, resolved.options.objective)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_highs_options", description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", default=[f"scenarios/{name}.yaml" for name in SCENARIOS])
    parser.add_argument("--time-limit", type=float, default=150.0)
    parser.add_argument("--gap", type=float, default=1e-3)
    parser.add_argument("--vividness", choices=("scenario", "decide", "keep"), default="scenario")
    parser.add_argument("--candidates", choices=("kept", "all"), default="kept",
                        help="kept: HiGHS's defaults and the planner's; all: also the option sets tried and dropped")
    args = parser.parse_args(argv)
    print(f"planner SOLVER_OPTIONS: {SOLVER_OPTIONS}; time limit {args.time_limit:g} s, gap target {args.gap:g}\n")
    print("| scenario | vividness | options | seconds | status | objective | bound | gap | / HiGHS defaults |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.scenarios:
        resolved, vividness, model = scenario_model(name, args.vividness)
        reference = None
        for label, options in (CANDIDATES | TRIED if args.candidates == "all" else CANDIDATES).items():
            if options == SOLVER_OPTIONS:
                label += " (planner)"
            seconds, status, objective, bound = run(model, options, args.time_limit, args.gap)
            gap = abs(bound - objective) / max(1.0, abs(objective))
            ratio = "" if reference is None else f"{seconds / reference:.2f}x"
            reference = seconds if reference is None else reference
            print(f"| {resolved.id} | {vividness} | {label} | {seconds:.1f} | {status} | {objective:,.0f} | {bound:,.0f} | "
                  f"{gap:.3%} | {ratio} |", flush=True)


if __name__ == "__main__":
    main()
