"""Valuing the options and building the model, per back end: the matrix-only build `planner optimize` runs, the
readable Pyomo model beside it, and the same rows handed to highspy directly (bench_optimize's reference).

    python -m benchmarks.bench_build [--accounts 1000,2000] [--backends matrix,pyomo,direct]

Each (size, back end) is a process of its own (a fresh interpreter), on the optimizer benchmark's world
(benchmarks/bench_optimize.py `optimizer_world` with its binding budgets, `with_budgets`; N accounts x 52 weeks x
5 mechanics, vividness kept as written, as `bench_scale` runs it): the world and its budgets are made first (not
timed), then the options are valued (`build_options`) and the model built, each timed in wall and CPU seconds
of the process; then the matrix is handed over as arrays (`Matrix.problem`). Peak memory is the process's
(`ru_maxrss`), the world included. `matrix` and `pyomo` also check that their problem has the rows and columns
of the other runs (tests/test_optimize_matrix.py checks that the two back ends write the same matrix exactly).
No assertion on time (docs/STYLE.md); numbers are indicative on a shared 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from typing import Any

from benchmarks.bench_time_limit import measured

BACKENDS = ("matrix", "pyomo", "direct")


def child(accounts: int, backend: str) -> dict[str, Any]:
    """One size and back end in this process; its figures as a dict."""
    from benchmarks.bench_optimize import direct_matrices, optimizer_world, with_budgets
    from planner.compile.model import compile_rules
    from planner.optimize.options import build_options
    from planner.optimize.solve import build

    rules = optimizer_world(accounts)
    rules = with_budgets(rules, build_options(rules, compile_rules(rules), decide_vividness=False))
    compiled = compile_rules(rules)
    wall, cpu = time.perf_counter(), time.process_time()
    options = build_options(rules, compiled, decide_vividness=False)
    options_wall, options_cpu = time.perf_counter() - wall, time.process_time() - cpu
    wall, cpu = time.perf_counter(), time.process_time()
    if backend == "direct":
        matrices = direct_matrices(rules, compiled, options)
        rows, columns = matrices.rows, len(options)
    else:
        model = build(rules, compiled, options, pyomo=backend == "pyomo")
        problem = model.matrix.problem()
        rows, columns = len(problem.row_lower), len(problem.cost)
    build_wall, build_cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"accounts": accounts, "backend": backend, "rows": rows, "columns": columns,
            "options wall": options_wall, "options cpu": options_cpu, "build wall": build_wall, "build cpu": build_cpu,
            "peak GB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}


def table(rows: list[dict[str, Any]]) -> str:
    header = ("| accounts | back end | columns | rows | options wall s | options CPU s | build wall s | build CPU s "
              "| build CPU / matrix-only | peak GB |")
    lines = [header, "|" + "---|" * 10]
    reference = {row["accounts"]: row["build cpu"] for row in rows if row["backend"] == "matrix"}
    for row in rows:
        ratio = row["build cpu"] / reference[row["accounts"]] if row["accounts"] in reference else float("nan")
        lines.append(f"| {row['accounts']:,} | {row['backend']} | {row['columns']:,} | {row['rows']:,} | "
                     f"{row['options wall']:.2f} | {row['options cpu']:.2f} | {row['build wall']:.2f} | "
                     f"{row['build cpu']:.2f} | {ratio:.1f}x | {row['peak GB']:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_build", description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", default="1000,2000", help="world sizes (comma-separated)")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="matrix, pyomo and/or direct")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(int(args.child[0]), args.child[1])))
        return
    backends = [b for b in args.backends.split(",") if b]
    unknown = set(backends) - set(BACKENDS)
    if unknown:
        parser.error(f"unknown back end(s) {', '.join(sorted(unknown))}; choose from {', '.join(BACKENDS)}")
    rows = []
    for accounts in (int(size) for size in args.accounts.split(",")):
        for backend in backends:
            stdout, _, _ = measured([sys.executable, "-m", "benchmarks.bench_build", "--child", str(accounts),
                                     backend])
            rows.append(json.loads(stdout.strip().splitlines()[-1]))
            print(f"# row: {json.dumps(rows[-1])}", file=sys.stderr, flush=True)
    print(table(rows))


if __name__ == "__main__":
    main()
