"""The optimizer and the sweep at scale, in process and on a LocalCluster, side by side in one run.

    python -m benchmarks.bench_scale [--accounts 1000,10000] [--modes serial,workers2] [--time-limit 900]
                                     [--pricing default|lp|search|lp,search]
    python -m benchmarks.bench_scale --prices-only 100,300,1000    # the prices alone, LP beside search
                                     [--sweep-points 1000] [--sweep-workers 2] [--project 1000000]

Each optimizer run is a process of its own (a fresh interpreter), on the optimizer benchmark's world
(benchmarks/bench_optimize.py `optimizer_world` with its binding per-account and total budgets, `with_budgets`;
N accounts x 52 weeks x 5 mechanics, vividness kept as written), through `planner.optimize.run.optimize` as
`planner optimize` runs it, with `--workers 2` as a LocalCluster of 2 worker processes started inside the run
(its start is in the total). Each phase is timed from the optimizer's own progress lines:

- world: building the rule set (not the planner's work; shown for scale);
- options: valuing every option with the economics core; build: the model (Pyomo, and its matrix);
- LP relaxation: the whole model's LP, whose duals price the rows that couple accounts, or (`--pricing search`,
  and by default from `split.PRICE_SEARCH_COLUMNS` columns) the price search over the accounts' own LPs
  (planner/optimize/prices.py); `--pricing lp,search` runs both side by side;
- accounts: every account's MILP under those prices (the part that runs on the cluster);
- repair / whole: what ran after the accounts (only when their plans did not prove the gap);
- check: the plan simulated by the simulator and every rule re-checked.

Peak memory is the run's own (`ru_maxrss`) and, with workers, the largest worker's; CPU is user + system of the
run and every process it started, and per phase the CPU of the run's own process (all its threads; with
workers, the accounts' CPU is theirs and only in the total). The sweep is `planner sweep scenarios/base.yaml` over a grid of
`--sweep-points` points (the total budget x the sparkling elasticity x the default elasticity), run once as a
user runs it. The projection to `--project` accounts scales each phase's measured seconds and memory per account
at the largest size run, and the LP relaxation by the exponent measured between the two largest sizes. No
assertion on time (docs/STYLE.md); numbers are indicative on a shared 2-core machine.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import re
import resource
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.bench_time_limit import measured

ROOT = Path(__file__).resolve().parents[1]
PHASES = ("world", "options", "build", "LP relaxation", "accounts", "repair/whole", "check")


def child(accounts: int, workers: int, time_limit: float, pricing: str = "default") -> dict[str, Any]:
    """One optimizer run in this process; its figures as a dict. `pricing`: how the coupling rows are priced,
    "lp" (the whole model's LP relaxation, at any size), "search" (the price search, at any size) or "default"
    (as the planner chooses by size, `split.PRICE_SEARCH_COLUMNS`)."""
    from benchmarks.bench_optimize import optimizer_world, with_budgets
    from planner.compile.model import compile_rules
    from planner.execute import connect
    from planner.optimize import split
    from planner.optimize.options import build_options
    from planner.optimize.run import optimize
    from planner.rules.scenario import Resolved, ScenarioOptions

    if pricing != "default":
        split.PRICE_SEARCH_COLUMNS = 0 if pricing == "search" else 2**62

    begun = time.perf_counter()
    rules = optimizer_world(accounts)
    rules = with_budgets(rules, build_options(rules, compile_rules(rules), decide_vividness=False))
    resolved = Resolved(f"bench-{accounts}", f"{accounts} accounts", "", rules,
                        ScenarioOptions(vividness="keep", time_limit=time_limit, gap=1e-3))
    world = time.perf_counter() - begun
    lines: list[tuple[float, str]] = []
    cpu_at: list[tuple[float, str]] = []

    def progress(line: str) -> None:
        lines.append((time.perf_counter(), line))
        cpu_at.append((time.process_time(), line))
        print(f"  {accounts} x{workers}: {line}", file=sys.stderr, flush=True)

    started = time.perf_counter()
    with connect(workers or None) as executor:
        connected, cpu_started = time.perf_counter(), time.process_time()
        result = optimize(resolved, progress=progress, executor=executor)
    ended, cpu_ended = time.perf_counter(), time.process_time()
    seconds = result.seconds
    lp_at = next((at for at, line in lines if line.startswith("LP relaxation")), None)
    accounts_at = next((at for at, line in reversed(lines) if re.match(r"accounts solved (\d+)/\1", line)), None)
    solve_start = connected + seconds["options"] + seconds["build"]
    solve_end = solve_start + seconds["solve"]
    phases = {"world": world, "options": seconds["options"], "build": seconds["build"],
              "LP relaxation": (lp_at - solve_start) if lp_at else seconds["solve"],
              "accounts": (accounts_at - lp_at) if lp_at and accounts_at else 0.0,
              "repair/whole": solve_end - (accounts_at or lp_at or solve_end),
              "check": seconds.get("check", 0.0)}
    marks = [cpu_started] + [next((at for at, line in cpu_at if line.startswith(prefix)), math.nan)
                             for prefix in ("options:", "build:", "LP relaxation")]
    marks.append(next((at for at, line in reversed(cpu_at) if re.match(r"accounts solved (\d+)/\1", line)),
                      math.nan))
    marks.append(cpu_ended)
    cpu_phases = dict(zip(("options", "build", "LP relaxation", "accounts", "rest (repair, read-back, check)"),
                          (later - earlier for earlier, later in itertools.pairwise(marks))))
    lp_line = next((line for _, line in lines if line.startswith("LP relaxation")), "")
    searched = "price search" in lp_line
    return {"cpu phases (this process)": cpu_phases, "accounts": accounts, "workers": workers,
            "pricing": "price search" if searched else "full LP", "prices line": lp_line,
            "status": result.status.value, "method": result.method,
            "objective": result.objective, "bound": result.bound, "gap": result.gap, "phases": phases,
            "cluster start": connected - started, "optimize": seconds["total"], "total": ended - begun,
            "columns": result.size.get("columns", 0), "rows": result.size.get("rows", 0),
            "main peak GB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
            "worker peak GB": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20 if workers else 0.0}


def prices_side_by_side(sizes: list[int]) -> str:
    """The coupling rows' prices both ways on the same model, in this process: the whole model's LP relaxation
    (`split.relaxation_options`: dual simplex, interior point with crossover from 500,000 columns) and the price
    search (prices.py, on one thread per CPU), wall and CPU seconds each, and the bound each certifies."""
    from benchmarks.bench_optimize import optimizer_world, with_budgets
    from planner.compile.model import compile_rules
    from planner.execute import Executor
    from planner.optimize import prices, split
    from planner.optimize.highs import run_problem
    from planner.optimize.options import build_options
    from planner.optimize.solve import build

    header = ("| accounts | columns | LP wall s | LP CPU s | LP optimum | search wall s | search CPU s | iterations "
              "| search bound | dual gap | LP / search (wall) |")
    lines = [header, "|" + "---|" * 11]
    for accounts in sizes:
        rules = optimizer_world(accounts)
        rules = with_budgets(rules, build_options(rules, compile_rules(rules), decide_vividness=False))
        compiled = compile_rules(rules)
        model = build(rules, compiled, build_options(rules, compiled, decide_vividness=False), "profit")
        problem = model.matrix.problem()
        blocks = split.blocks(problem, model.options.column_account)
        wall, cpu = time.perf_counter(), time.process_time()
        lp = run_problem(problem.relaxed(), None, None, options=split.relaxation_options(problem))
        lp_wall, lp_cpu = time.perf_counter() - wall, time.process_time() - cpu
        wall, cpu = time.perf_counter(), time.process_time()
        found = prices.search(problem, split._parts(problem, blocks, problem.cost), blocks.coupling,
                              executor=Executor(threads=split.cpus()))
        search_wall, search_cpu = time.perf_counter() - wall, time.process_time() - cpu
        lines.append(f"| {accounts:,} | {len(problem.cost):,} | {lp_wall:.2f} | {lp_cpu:.2f} | {lp.objective:,.0f} | "
                     f"{search_wall:.2f} | {search_cpu:.2f} | {found.iterations} | {found.bound:,.0f} | "
                     f"{found.gap:.5%} | {lp_wall / search_wall:.1f} |")
        print(lines[-1], file=sys.stderr, flush=True)
    return "\n".join(lines)


def run_optimizer(accounts: int, workers: int, time_limit: float, pricing: str = "default") -> dict[str, Any]:
    stdout, wall, cpu = measured([sys.executable, "-m", "benchmarks.bench_scale", "--child", str(accounts),
                                  str(workers), str(time_limit), pricing])
    return {**json.loads(stdout.strip().splitlines()[-1]), "wall": wall, "cpu": cpu}


def optimizer_table(rows: list[dict[str, Any]]) -> str:
    header = ["accounts", "mode", "prices", "columns", *[f"{p} s" for p in PHASES],
              "CPU s of this process: options / build / LP / accounts / rest", "cluster start s", "wall s", "CPU s",
              "CPU s / account", "status", "method", "gap", "peak GB (main / worker)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join([
            f"{row['accounts']:,}", "serial" if not row["workers"] else f"--workers {row['workers']}",
            row.get("pricing", "full LP"),
            f"{row['columns']:,}", *[f"{row['phases'][p]:.1f}" for p in PHASES],
            " / ".join(f"{value:.1f}" for value in row.get("cpu phases (this process)", {}).values()) or "-",
            f"{row['cluster start']:.1f}",
            f"{row['wall']:.1f}", f"{row['cpu']:.1f}", f"{row['cpu'] / row['accounts'] * 1000:.1f} ms",
            row["status"], row["method"] or "-", _percent(row["gap"]),
            f"{row['main peak GB']:.2f} / {row['worker peak GB']:.2f}"]) + " |")
    return "\n".join(lines)


def projection(rows: list[dict[str, Any]], target: int, lp_exponent: float) -> str:
    """Each phase's CPU seconds per account at the largest size measured serially (every thread of the one
    process), linear, but the LP relaxation, which grows by the exponent measured between the two largest
    sizes (`lp_exponent` when only one size was run)."""
    serial = sorted((r for r in rows if not r["workers"] and "cpu phases (this process)" in r),
                    key=lambda r: r["accounts"])
    if not serial:
        return "(no serial run to project from)"
    big = serial[-1]
    cpu = big["cpu phases (this process)"]
    exponent, said = lp_exponent, f"{lp_exponent:.2f} given"
    if len(serial) > 1 and serial[-2]["accounts"] < big["accounts"] and \
            serial[-2]["cpu phases (this process)"]["LP relaxation"] > 0:
        small = serial[-2]
        exponent = math.log(cpu["LP relaxation"] / small["cpu phases (this process)"]["LP relaxation"]) / math.log(
            big["accounts"] / small["accounts"])
        said = f"{exponent:.2f} measured from {small['accounts']:,}"
    names = list(cpu)
    lines = [f"CPU seconds from {big['accounts']:,} accounts, serial (LP relaxation exponent {said}):", "",
             "| accounts | " + " | ".join(f"{name} CPU s" for name in names) + " | total CPU h | "
             "accounts phase h on 100 worker threads | peak GB |",
             "|" + "---|" * (len(names) + 4)]
    for size in sorted({big["accounts"], 10_000, 50_000, 100_000, target}):
        scale = size / big["accounts"]
        phases = {name: cpu[name] * (scale ** exponent if name == "LP relaxation" else scale) for name in names}
        lines.append(f"| {size:,} | " + " | ".join(f"{phases[name]:,.0f}" for name in names)
                     + f" | {sum(phases.values()) / 3600:,.2f} | {phases['accounts'] / 100 / 3600:,.3f} | "
                     f"{big['main peak GB'] * scale:,.0f} |")
    return "\n".join(lines)


def sweep(points: int, workers: int) -> str:
    """`planner sweep` of the demo over a grid of about `points` points (three axes), once, as a user runs it."""
    side = max(1, round(points ** (1 / 3)))
    budgets = ",".join(f"{3 + 4 * k / max(1, side - 1):.2f}M" for k in range(side))
    sparkling = ",".join(f"{-1.5 - 2 * k / max(1, side - 1):.3f}" for k in range(side))
    default = ",".join(f"{-1.0 - 2 * k / max(1, side - 1):.3f}" for k in range(side))
    out = ROOT / ".bench-sweep.parquet"
    planner = str(Path(sys.executable).with_name("planner"))
    command = [planner, "sweep", "scenarios/base.yaml", "--grid", f"budgets.bud-total-2027.max={budgets}",
               "--grid", f"response.cal-sparkling.elasticity={sparkling}",
               "--grid", f"response.cal-all.elasticity={default}", "--out", str(out)]
    if workers:
        command += ["--workers", str(workers)]
    _, wall, cpu = measured(command)
    import pandas as pd

    table = pd.read_parquet(out)
    out.unlink()
    return (f"| points | mode | wall s | CPU s | ms per point (wall) | rows | gross profit range |\n|---|---|---|---|---|---|---|\n"
            f"| {len(table):,} | {'serial' if not workers else f'--workers {workers}'} | {wall:.1f} | {cpu:.1f} | "
            f"{wall / max(1, len(table)) * 1000:.0f} | {len(table):,} | {table['gross_profit'].min():,.0f} - "
            f"{table['gross_profit'].max():,.0f} |")


def _percent(value: float | None) -> str:
    return f"{value:.3%}" if value is not None and math.isfinite(value) else "unknown"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", default="1000,10000", help="world sizes (comma-separated)")
    parser.add_argument("--modes", default="serial,workers2", help="serial and/or workersN (comma-separated)")
    parser.add_argument("--time-limit", type=float, default=900.0, help="the optimizer's limit for each run")
    parser.add_argument("--sweep-points", type=int, default=1000, help="points of the demo sweep (0: none)")
    parser.add_argument("--sweep-workers", type=int, default=2, help="--workers of the sweep (0: in process)")
    parser.add_argument("--project", type=int, default=1_000_000, help="accounts to project the table to")
    parser.add_argument("--lp-exponent", type=float, default=2.0,
                        help="growth of the LP relaxation when one size is run (issue 19: about 2 with IPM)")
    parser.add_argument("--rows", type=Path, help="print the tables of the '# row:' lines of earlier runs' stderr "
                                                  "instead of running")
    parser.add_argument("--pricing", default="default",
                        help="how the coupling rows are priced: default (by size), lp, search, or lp,search (both, "
                             "side by side at every size and mode)")
    parser.add_argument("--prices-only", help="only the prices, LP beside search, at these sizes (comma-separated)")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(int(args.child[0]), int(args.child[1]), float(args.child[2]), args.child[3])))
        return
    if args.prices_only:
        print(prices_side_by_side([int(size) for size in args.prices_only.split(",")]))
        return
    if args.rows:
        rows = [json.loads(line.removeprefix("# row: ")) for line in args.rows.read_text().splitlines()
                if line.startswith("# row: ")]
        print(optimizer_table(rows) + "\n\n" + projection(rows, args.project, args.lp_exponent))
        return
    modes = [0 if mode == "serial" else int(mode.removeprefix("workers")) for mode in args.modes.split(",") if mode]
    rows = []
    for size in (int(size) for size in args.accounts.split(",") if size):
        for workers, pricing in itertools.product(modes, args.pricing.split(",")):
            rows.append(run_optimizer(size, workers, args.time_limit, pricing))
            print(f"# row: {json.dumps(rows[-1])}", file=sys.stderr, flush=True)  # kept if a later size is stopped
    print("## The optimizer by phase\n\n" + optimizer_table(rows) + "\n\n## Projected\n\n"
          + projection(rows, args.project, args.lp_exponent), flush=True)
    if args.sweep_points:
        print("\n## A sweep of the demo\n\n" + sweep(args.sweep_points, args.sweep_workers))


if __name__ == "__main__":
    main()
