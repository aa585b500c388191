"""The repair (planner/optimize/repair.py): one MILP over the columns left to decide beside groups of accounts.

    python -m benchmarks.bench_repair [--accounts 1000] [--tiles 1,2,5,10] [--groups 0,2000,500]

bench_scale's world of N accounts (`optimizer_world` with its binding budgets) is optimized as `planner optimize`
does (`planner.optimize.run.optimize`), and the repair's inputs are kept as `split.solve` hands them over (the
accounts' plans under the price search's prices, the search's LP plan, the target of nine tenths of the gap under
L(prices)). The repair's sub-problem (the columns where the plans and the LP disagree, `blocks.fixing`) is then
solved again on its own, and tiled k times to stand for k x N accounts without building them: every account's
columns and own rows copied k times, every coupling row holding all the copies with its room (its limits less
the fixed columns' part) and the target multiplied by k. Each way of solving it (`--groups`: 0 is one MILP over
all of it, the repair before groups; G is groups of about G columns, `repair.GROUP_COLUMNS`) is run in this
process, one thread, one after the other: CPU and wall seconds, objective against the target, and the CPU per
account. A size whose accounts' plans prove the gap without a repair says so. No assertion on time
(docs/STYLE.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse

from planner.execute import Executor
from planner.optimize import repair, split
from planner.optimize.blocks import IntArray, fixing
from planner.optimize.highs import SOLVER_OPTIONS, Run, run_problem
from planner.optimize.matrix import Problem
from planner.optimize.progress import Clock


@dataclass(frozen=True)
class Handed:
    """The repair's sub-problem as `split.solve` handed it over: the columns left to decide, their accounts and
    LP values, the relative gap and the target."""

    rest: Problem
    account: IntArray
    relaxed: np.ndarray
    gap: float
    target: float


def handed_over(accounts: int) -> Handed | None:
    """Optimize the world of `accounts` accounts, keeping what the repair was given (None: no repair ran)."""
    from benchmarks.bench_optimize import optimizer_world, with_budgets
    from planner.compile.model import compile_rules
    from planner.optimize.options import build_options
    from planner.optimize.run import optimize
    from planner.rules.scenario import Resolved, ScenarioOptions

    rules = optimizer_world(accounts)
    rules = with_budgets(rules, build_options(rules, compile_rules(rules), decide_vividness=False))
    resolved = Resolved(f"bench-{accounts}", f"{accounts} accounts", "", rules,
                        ScenarioOptions(vividness="keep", time_limit=3000, gap=1e-3))
    kept: list[Handed] = []
    original = split.repair

    def keeping(problem: Problem, values: np.ndarray, relaxed: np.ndarray, *args: Any, **kwargs: Any) -> Run:
        gap, target, blocks = args[1], args[4], args[5]
        agree = (problem.integrality == 1) & (np.abs(relaxed - values) <= 1e-6)
        reduced = fixing(problem, agree, np.where(agree, np.round(values), 0.0))
        if reduced is not None:
            rest, free = reduced
            kept.append(Handed(rest, blocks.column[free], relaxed[free], gap, target))
        return original(problem, values, relaxed, *args, **kwargs)

    split.repair = keeping
    try:
        optimize(resolved)
    finally:
        split.repair = original
    return kept[0] if kept else None


def tiled(handed: Handed, copies: int) -> Handed:
    """`copies` copies of the sub-problem's accounts side by side, the coupling rows (rows of more than one
    account) holding all of them, with k times the room; the target k times too."""
    rest = handed.rest
    row_of = rest.row_of()
    matrix = sparse.csr_matrix((rest.value, (row_of, rest.index)), shape=(len(rest.row_lower), len(rest.cost)))
    big = np.iinfo(np.intp).max
    low, high = np.full(len(rest.row_lower), big), np.full(len(rest.row_lower), -big)
    np.minimum.at(low, row_of, handed.account[rest.index])
    np.maximum.at(high, row_of, handed.account[rest.index])
    coupling = low != high
    whole = sparse.vstack([sparse.block_diag([matrix[~coupling]] * copies),
                           sparse.hstack([matrix[coupling]] * copies)]).tocsr()
    problem = Problem(
        np.tile(rest.cost, copies), copies * rest.offset, rest.maximise, np.tile(rest.column_lower, copies),
        np.tile(rest.column_upper, copies),
        np.concatenate([np.tile(rest.row_lower[~coupling], copies), copies * rest.row_lower[coupling]]),
        np.concatenate([np.tile(rest.row_upper[~coupling], copies), copies * rest.row_upper[coupling]]),
        whole.indptr[:-1].astype(np.int32), whole.indices.astype(np.int32), whole.data,
        np.tile(rest.integrality, copies))
    step = int(handed.account.max()) + 1
    account = np.concatenate([handed.account + copy * step for copy in range(copies)]).astype(np.intp)
    return Handed(problem, account, np.tile(handed.relaxed, copies), handed.gap, copies * handed.target)


def solved(handed: Handed, group_columns: int) -> Run | None:
    """The sub-problem as one MILP (0) or in groups of about `group_columns` columns, as repair.py solves it."""
    if group_columns == 0:
        return run_problem(handed.rest, None, handed.gap, None, {**SOLVER_OPTIONS, "objective_target": handed.target})
    repair.GROUP_COLUMNS = group_columns
    return repair.in_groups(handed.rest, handed.account, handed.relaxed, handed.gap, handed.target, Clock(),
                            Executor())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_repair", description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1000, help="accounts of the world optimized")
    parser.add_argument("--tiles", default="1,2,5,10", help="copies of the repair's sub-problem (comma-separated)")
    parser.add_argument("--groups", default="0,2000,500",
                        help="0: one MILP; G: groups of about G columns (comma-separated)")
    args = parser.parse_args(argv)
    started = time.process_time()
    handed = handed_over(args.accounts)
    print(f"{args.accounts:,} accounts optimized in {time.process_time() - started:.1f} s of CPU", file=sys.stderr)
    if handed is None:
        print(f"{args.accounts:,} accounts: the accounts' plans proved the gap; no repair ran")
        return
    print("| accounts (tiles) | columns left | rows | way | CPU s | wall s | CPU ms / account | objective | target | "
          "reached | gap to the target's bound |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for copies in (int(value) for value in args.tiles.split(",")):
        problem = tiled(handed, copies)
        bound = problem.target / (1 - 0.9 * 2 * problem.gap) if problem.rest.maximise else float("nan")
        for group_columns in (int(value) for value in args.groups.split(",")):
            cpu, wall = time.process_time(), time.perf_counter()
            run = solved(problem, group_columns)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            way = "one MILP" if group_columns == 0 else f"groups of {group_columns:,}"
            accounts = copies * args.accounts
            objective = float("nan") if run is None else run.objective
            print(f"| {accounts:,} ({copies}) | {len(problem.rest.cost):,} | {len(problem.rest.row_lower):,} | {way} | "
                  f"{cpu:.1f} | {wall:.1f} | {1000 * cpu / accounts:.2f} | {objective:,.0f} | {problem.target:,.0f} | "
                  f"{'yes' if objective >= problem.target else 'no'} | {(bound - objective) / abs(objective):.3%} |",
                  flush=True)


if __name__ == "__main__":
    main()
