"""The account split (planner/optimize/split.py) against the whole model, on the demo's scenarios.

    python -m benchmarks.bench_split [SCENARIO ...] [--shares 1.0] [--time-limit 150] [--gap 0.001]
                                     [--vividness scenario|decide|keep] [--block-highs NAME=VALUE ...]

Each scenario's MILP is built once (`planner.optimize.solve.build`), then for each share of its total annual
budget's max (1.0: the scenario as written; 0.5: half of it, where the budget binds) solved twice, cold:

- whole: the whole model in one HiGHS with the planner's options (`solve(..., whole=True)`), the reference;
- split: what `planner optimize` runs (`solve`): the LP relaxation, each account's MILP under the LP's prices on
  the rows that couple accounts, and the whole model only if that does not prove the gap.

Printed as a table: seconds, objective, best bound and gap of each, how the split's plan was found, and the ratio
of the split's time to the whole model's. `--block-highs` overrides HiGHS options of the blocks' MILPs
(split.BLOCK_OPTIONS; `--block-highs` alone: the planner's whole-model options). No assertion on time
(docs/STYLE.md).
"""

from __future__ import annotations

import argparse
import time

from benchmarks.bench_highs_options import SCENARIOS, scenario_model
from benchmarks.bench_optimize import highs_option
from planner.optimize import split
from planner.optimize.frontier import budget_row
from planner.optimize.highs import SOLVER_OPTIONS
from planner.optimize.model import Model
from planner.optimize.solve import Solution, solve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_split", description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", default=[f"scenarios/{name}.yaml" for name in SCENARIOS])
    parser.add_argument("--shares", default="1.0", help="shares of the total budget's max, comma-separated")
    parser.add_argument("--time-limit", type=float, default=150.0)
    parser.add_argument("--gap", type=float, default=1e-3)
    parser.add_argument("--vividness", choices=("scenario", "decide", "keep"), default="scenario")
    parser.add_argument("--block-highs", nargs="*", type=highs_option, default=None, metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    if args.block_highs is not None:
        split.BLOCK_OPTIONS.clear()
        split.BLOCK_OPTIONS.update({**SOLVER_OPTIONS, **dict(args.block_highs)})
    print(f"whole model: HiGHS options {SOLVER_OPTIONS}; blocks: {split.BLOCK_OPTIONS}; time limit "
          f"{args.time_limit:g} s, gap target {args.gap:g}\n")
    print("| scenario | vividness | budget share | accounts | coupling rows | whole s | whole objective | whole gap | "
          "split s | split objective | split bound | split gap | split method | split / whole |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in args.scenarios:
        resolved, vividness, model = scenario_model(name, args.vividness)
        blocks = split.blocks(model.matrix.problem(), model.options.column_account)
        row = budget_row(model)
        written = model.matrix.row_upper[row] + model.matrix.row_constant[row] if row is not None else None
        for share in (float(s) for s in args.shares.split(",")):
            if row is not None and written is not None:
                model.set_bounds(row, None, share * written)
            whole, whole_seconds = timed_solve(model, args.time_limit, args.gap, whole=True)
            model.memo.clear()  # cold: no account solved before
            planned, split_seconds = timed_solve(model, args.time_limit, args.gap, whole=False)
            print(f"| {resolved.id} | {vividness} | {share:g} | {blocks.count} | {int(blocks.coupling.sum())} | "
                  f"{whole_seconds:.1f} | {money(whole)} | {whole.gap:.3%} | {split_seconds:.1f} | {money(planned)} | "
                  f"{planned.bound:,.0f} | {planned.gap:.4%} | {planned.method} | "
                  f"{split_seconds / whole_seconds:.2f}x |", flush=True)
        if row is not None and written is not None:
            model.set_bounds(row, None, written)


def timed_solve(model: Model, time_limit: float, gap: float, whole: bool) -> tuple[Solution, float]:
    started = time.perf_counter()
    solution = solve(model, time_limit, gap, duals=False, whole=whole)
    return solution, time.perf_counter() - started


def money(solution: Solution) -> str:
    return f"{solution.objective:,.0f}" if solution.has_plan else solution.status.value


if __name__ == "__main__":
    main()
