"""The optimizer and the sweep at scale, in process and on a LocalCluster, side by side in one run.

    python -m benchmarks.bench_scale [--accounts 1000,10000] [--modes serial,workers2] [--time-limit 900]
                                     [--pricing default|lp|search|lp,search]
    python -m benchmarks.bench_scale --prices-only 100,300,1000    # the prices alone, LP beside search
    python -m benchmarks.bench_scale --search-only 1000,5000 [--groups 10000,1000]   # the search alone
                                     [--sweep-points 1000] [--sweep-workers 2] [--project 1000000]

Each optimizer run is a process of its own (a fresh interpreter), on the optimizer benchmark's world
(benchmarks/bench_optimize.py `optimizer_world` with its binding per-account and total budgets, `with_budgets`;
N accounts x 52 weeks x 5 mechanics, vividness kept as written), through `planner.optimize.run.optimize` as
`planner optimize` runs it, with `--workers 2` as a LocalCluster of 2 worker processes started inside the run
(its start is outside `optimize`). Each phase ends at one of the optimizer's own progress lines (`MARKS`), and
has its wall and CPU seconds (CPU of the run's own process, all its threads: with workers, the accounts' LPs and
MILPs are the workers' CPU, in the run's total only) and the peak of the process's resident memory within it
(Linux's VmHWM, started afresh at each phase):

- options: valuing every option with the economics core; build: the model and its matrix;
- prices: the whole model's LP relaxation, whose duals price the rows that couple accounts, or (`--pricing
  search`, and by default from `split.PRICE_SEARCH_COLUMNS` columns) the price search over the accounts' own LPs
  (planner/optimize/prices.py); `--pricing lp,search` runs both side by side;
- accounts: every account's MILP under those prices;
- repair/whole: what ran after the accounts (only when their plans did not prove the gap);
- read-back + check: the plan read back from the model, simulated by the simulator and every rule re-checked.

Building the world (the rule set) is not the planner's work and comes before; its seconds and memory are in the
row (`world`). The sweep is `planner sweep scenarios/base.yaml` over a grid of `--sweep-points` points (the total
budget x the sparkling elasticity x the default elasticity), run once as a user runs it. The projection to
`--project` accounts takes each phase's CPU seconds and the peak memory per account at the largest size run
serially, linearly and by each phase's growth measured from the size below it: on paper, from the measured
per-account costs. No assertion on time (docs/STYLE.md); numbers are indicative on a shared 2-core machine.
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
PHASES = ("options", "build", "prices", "accounts", "repair/whole", "read-back + check")
MARKS = {"options": ("options:",), "build": ("build:",), "prices": ("LP relaxation",),
         "accounts": ("accounts solved",), "repair/whole": ("repair:", "whole model:"), "read-back + check": ()}
"""The progress line that ends each phase (read-back + check: the end of `optimize`). A phase whose line did not
come (no repair) is empty; 'accounts solved' ends the accounts only when every account is solved (k/k)."""


def _memory() -> tuple[float, float]:
    """This process's resident memory now and its peak since the last `_reset_peak`, in GB (Linux)."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return (int(fields["VmRSS"].split()[0]) / 2**20, int(fields["VmHWM"].split()[0]) / 2**20)


def _reset_peak() -> None:
    """Start this process's peak resident memory afresh from what it holds now (Linux's clear_refs 5)."""
    Path("/proc/self/clear_refs").write_text("5")


def child(accounts: int, workers: int, time_limit: float, pricing: str = "default") -> dict[str, Any]:
    """One optimizer run in this process; its figures as a dict. `pricing`: how the coupling rows are priced,
    "lp" (the whole model's LP relaxation, at any size), "search" (the price search, at any size) or "default"
    (as the planner chooses by size, `split.PRICE_SEARCH_COLUMNS`). Each phase's wall and CPU seconds (this
    process, all its threads), the peak of this process's resident memory within it, and what it holds after."""
    from benchmarks.bench_optimize import optimizer_world, with_budgets
    from planner.compile.model import compile_rules
    from planner.execute import connect
    from planner.optimize import split
    from planner.optimize.options import build_options
    from planner.optimize.run import optimize
    from planner.rules.scenario import Resolved, ScenarioOptions

    if pricing != "default":
        split.PRICE_SEARCH_COLUMNS = 0 if pricing == "search" else 2**62

    begun, begun_cpu = time.perf_counter(), time.process_time()
    rules = optimizer_world(accounts)
    rules = with_budgets(rules, build_options(rules, compile_rules(rules), decide_vividness=False))
    resolved = Resolved(f"bench-{accounts}", f"{accounts} accounts", "", rules,
                        ScenarioOptions(vividness="keep", time_limit=time_limit, gap=1e-3))
    world = {"wall": time.perf_counter() - begun, "cpu": time.process_time() - begun_cpu, "peak GB": _memory()[1],
             "held GB": _memory()[0]}
    marks: dict[str, dict[str, float]] = {}
    lines: list[str] = []

    def mark(phase: str) -> None:
        held, peak = _memory()
        marks[phase] = {"at": time.perf_counter(), "cpu at": time.process_time(), "peak GB": peak, "held GB": held}
        _reset_peak()

    def progress(line: str) -> None:
        lines.append(line)
        print(f"  {accounts} x{workers}: {line}", file=sys.stderr, flush=True)
        solved = re.match(r"accounts solved (\d+)/(\d+)", line)
        for phase, prefixes in MARKS.items():
            if any(line.startswith(prefix) for prefix in prefixes) and (solved is None or
                                                                         solved.group(1) == solved.group(2)):
                mark(phase)

    started = time.perf_counter()
    with connect(workers or None) as executor:
        connected = time.perf_counter()
        _reset_peak()
        mark("start")
        result = optimize(resolved, progress=progress, executor=executor)
        mark("read-back + check")
    ended = time.perf_counter()
    phases: dict[str, dict[str, float]] = {}
    previous = marks["start"]
    for phase in PHASES:
        if phase not in marks:
            phases[phase] = {"wall": 0.0, "cpu": 0.0, "peak GB": 0.0, "held GB": previous["held GB"]}
            continue
        now = marks[phase]
        phases[phase] = {"wall": now["at"] - previous["at"], "cpu": now["cpu at"] - previous["cpu at"],
                         "peak GB": now["peak GB"], "held GB": now["held GB"]}
        previous = now
    prices_line = next((line for line in lines if line.startswith("LP relaxation")), "")
    return {"accounts": accounts, "workers": workers, "world": world, "phases": phases,
            "pricing": "price search" if "price search" in prices_line else "full LP", "prices line": prices_line,
            "status": result.status.value, "method": result.method, "objective": result.objective,
            "bound": result.bound, "gap": result.gap, "cluster start": connected - started,
            "optimize": ended - connected, "optimize CPU": marks["read-back + check"]["cpu at"] - marks["start"]["cpu at"],
            "columns": result.size.get("columns", 0), "rows": result.size.get("rows", 0),
            "main peak GB": max(world["peak GB"], *(phase["peak GB"] for phase in phases.values())),
            "worker peak GB": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20 if workers else 0.0}


def _priced_model(accounts: int) -> tuple[Any, Any]:
    """bench_optimize's world of `accounts` accounts with binding budgets, built as `planner optimize` builds it:
    the HiGHS problem and its blocks by account (what both pricing ways take)."""
    from benchmarks.bench_optimize import optimizer_world, with_budgets
    from planner.compile.model import compile_rules
    from planner.optimize import split
    from planner.optimize.options import build_options
    from planner.optimize.solve import build

    rules = optimizer_world(accounts)
    rules = with_budgets(rules, build_options(rules, compile_rules(rules), decide_vividness=False))
    compiled = compile_rules(rules)
    model = build(rules, compiled, build_options(rules, compiled, decide_vividness=False), "profit")
    problem = model.matrix.problem()
    return problem, split.blocks(problem, model.options.column_account)


def prices_side_by_side(sizes: list[int]) -> str:
    """The coupling rows' prices both ways on the same model, in this process: the whole model's LP relaxation
    (`split.relaxation_options`: dual simplex, interior point with crossover from 500,000 columns) and the price
    search (prices.py, on one thread per CPU), wall and CPU seconds each, and the bound each certifies."""
    from planner.execute import Executor
    from planner.optimize import prices, split
    from planner.optimize.blocks import block_problems
    from planner.optimize.highs import run_problem

    header = ("| accounts | columns | LP wall s | LP CPU s | LP optimum | search wall s | search CPU s | iterations "
              "| search bound | dual gap | LP / search (wall) |")
    lines = [header, "|" + "---|" * 11]
    for accounts in sizes:
        problem, blocks = _priced_model(accounts)
        wall, cpu = time.perf_counter(), time.process_time()
        lp = run_problem(problem.relaxed(), None, None, options=split.relaxation_options(problem))
        lp_wall, lp_cpu = time.perf_counter() - wall, time.process_time() - cpu
        wall, cpu = time.perf_counter(), time.process_time()
        found = prices.search(problem, block_problems(problem, blocks, problem.cost), blocks.coupling,
                              executor=Executor(threads=split.cpus()))
        search_wall, search_cpu = time.perf_counter() - wall, time.process_time() - cpu
        lines.append(f"| {accounts:,} | {len(problem.cost):,} | {lp_wall:.2f} | {lp_cpu:.2f} | {lp.objective:,.0f} | "
                     f"{search_wall:.2f} | {search_cpu:.2f} | {found.iterations} | {found.bound:,.0f} | "
                     f"{found.gap:.5%} | {lp_wall / search_wall:.1f} |")
        print(lines[-1], file=sys.stderr, flush=True)
    return "\n".join(lines)


def search_alone(sizes: list[int], groups: list[int]) -> str:
    """The price search alone (prices.py, on one thread per CPU as `planner optimize` runs it) at each size, once
    per number of groups of the master's cuts (`prices.GROUPS`), on the same model in this process: iterations,
    the master's cut rows at the end, wall and CPU seconds (this process, all its threads), of them the master's
    solves (wall; one thread), CPU per account, the bound and the dual gap."""
    from planner.execute import Executor
    from planner.optimize import prices, split
    from planner.optimize.blocks import block_problems

    header = ("| accounts | groups | iterations | master cut rows | search wall s | search CPU s | master wall s "
              "| CPU ms / account | bound | dual gap |")
    lines = [header, "|" + "---|" * 10]
    for accounts in sizes:
        problem, blocks = _priced_model(accounts)
        parts = block_problems(problem, blocks, problem.cost)
        for count in groups:
            wall, cpu = time.perf_counter(), time.process_time()
            found = prices.search(problem, parts, blocks.coupling, executor=Executor(threads=split.cpus()),
                                  groups=count)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            lines.append(f"| {accounts:,} | {min(count, accounts):,} | {found.iterations} | {found.cuts:,} | "
                         f"{wall:.1f} | {cpu:.1f} | {found.master_seconds:.2f} | {cpu / accounts * 1000:.2f} | "
                         f"{found.bound:,.0f} | {found.gap:.5%} |")
            print(lines[-1], file=sys.stderr, flush=True)
    return "\n".join(lines)


def run_optimizer(accounts: int, workers: int, time_limit: float, pricing: str = "default") -> dict[str, Any]:
    stdout, wall, cpu = measured([sys.executable, "-m", "benchmarks.bench_scale", "--child", str(accounts),
                                  str(workers), str(time_limit), pricing])
    return {**json.loads(stdout.strip().splitlines()[-1]), "wall": wall, "cpu": cpu}


def optimizer_table(rows: list[dict[str, Any]]) -> str:
    """One line per run: each phase's wall / CPU seconds (this process; with workers the accounts' CPU is theirs,
    in the run's total only), the run's totals, and each phase's peak resident memory."""
    header = ["accounts", "mode", "prices", "iterations", "columns", *[f"{p} s (wall / CPU)" for p in PHASES],
              "optimize wall s", "optimize CPU s (this process)", "CPU ms / account", "cluster start s",
              "run CPU s (all processes)", "status", "method", "gap",
              "peak GB by phase: " + " / ".join(PHASES), "peak GB (main / worker)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        phases = row["phases"]
        lines.append("| " + " | ".join([
            f"{row['accounts']:,}", "serial" if not row["workers"] else f"--workers {row['workers']}",
            row["pricing"], _iterations(row["prices line"]), f"{row['columns']:,}",
            *[f"{phases[p]['wall']:.1f} / {phases[p]['cpu']:.1f}" for p in PHASES],
            f"{row['optimize']:.1f}", f"{row['optimize CPU']:.1f}",
            f"{row['optimize CPU'] / row['accounts'] * 1000:.1f}", f"{row['cluster start']:.1f}",
            f"{row['cpu']:.1f}", row["status"], row["method"] or "-", _percent(row["gap"]),
            " / ".join(f"{phases[p]['peak GB']:.2f}" for p in PHASES),
            f"{row['main peak GB']:.2f} / {row['worker peak GB']:.2f}"]) + " |")
    return "\n".join(lines)


def projection(rows: list[dict[str, Any]], target: int) -> str:
    """Each phase's CPU seconds and the peak memory per account at the largest size run serially, and the
    growth of each from the size below it (the exponent b of seconds ~ accounts^b), taken on to `target`
    accounts linearly and by the measured exponents: on paper, from measured per-account costs."""
    serial = sorted((r for r in rows if not r["workers"]), key=lambda r: r["accounts"])
    if not serial:
        return "(no serial run to project from)"
    big = serial[-1]
    small = next((r for r in reversed(serial) if r["accounts"] < big["accounts"]), None)

    def exponent(phase: str) -> float:
        if small is None or small["phases"][phase]["cpu"] <= 0 or big["phases"][phase]["cpu"] <= 0:
            return 1.0
        return math.log(big["phases"][phase]["cpu"] / small["phases"][phase]["cpu"]) / math.log(
            big["accounts"] / small["accounts"])

    growth = {phase: exponent(phase) for phase in PHASES}
    peak = max(big["phases"][p]["peak GB"] for p in PHASES)
    lines = [f"From {big['accounts']:,} accounts, serial" + (f"; growth measured from {small['accounts']:,}: " +
             ", ".join(f"{p} {growth[p]:.2f}" for p in PHASES) if small else "") + ".", "",
             "| accounts | " + " | ".join(f"{p} CPU s" for p in PHASES) + " | total CPU h (linear) | total CPU h "
             "(measured growth) | accounts + prices h on 100 worker threads | peak GB (linear) |",
             "|" + "---|" * (len(PHASES) + 5)]
    for size in sorted({big["accounts"], 10_000, 50_000, 100_000, target}):
        scale = size / big["accounts"]
        linear = {p: big["phases"][p]["cpu"] * scale for p in PHASES}
        grown = sum(big["phases"][p]["cpu"] * scale ** growth[p] for p in PHASES)
        lines.append(f"| {size:,} | " + " | ".join(f"{linear[p]:,.0f}" for p in PHASES)
                     + f" | {sum(linear.values()) / 3600:,.2f} | {grown / 3600:,.2f} | "
                     f"{(linear['accounts'] + linear['prices']) / 100 / 3600:,.3f} | {peak * scale:,.1f} |")
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


def _iterations(prices_line: str) -> str:
    """The price search's iterations from its progress line ('-': the whole model's LP relaxation)."""
    found = re.search(r"([\d,]+) iterations", prices_line)
    return found.group(1) if found else "-"


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
    parser.add_argument("--rows", type=Path, help="print the tables of the '# row:' lines of earlier runs' stderr "
                                                  "instead of running")
    parser.add_argument("--pricing", default="default",
                        help="how the coupling rows are priced: default (by size), lp, search, or lp,search (both, "
                             "side by side at every size and mode)")
    parser.add_argument("--prices-only", help="only the prices, LP beside search, at these sizes (comma-separated)")
    parser.add_argument("--search-only", help="only the price search, at these sizes (comma-separated)")
    parser.add_argument("--groups", default=str(10_000),
                        help="with --search-only: the master's groups of accounts, one search each (comma-separated)")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(int(args.child[0]), int(args.child[1]), float(args.child[2]), args.child[3])))
        return
    if args.prices_only:
        print(prices_side_by_side([int(size) for size in args.prices_only.split(",")]))
        return
    if args.search_only:
        print(search_alone([int(size) for size in args.search_only.split(",")],
                           [int(count) for count in args.groups.split(",")]))
        return
    if args.rows:
        rows = [json.loads(line.removeprefix("# row: ")) for line in args.rows.read_text().splitlines()
                if line.startswith("# row: ")]
        print(optimizer_table(rows) + "\n\n" + projection(rows, args.project))
        return
    modes = [0 if mode == "serial" else int(mode.removeprefix("workers")) for mode in args.modes.split(",") if mode]
    rows = []
    for size in (int(size) for size in args.accounts.split(",") if size):
        for workers, pricing in itertools.product(modes, args.pricing.split(",")):
            rows.append(run_optimizer(size, workers, args.time_limit, pricing))
            print(f"# row: {json.dumps(rows[-1])}", file=sys.stderr, flush=True)  # kept if a later size is stopped
    print("## The optimizer by phase\n\n" + optimizer_table(rows) + "\n\n## Projected\n\n"
          + projection(rows, args.project), flush=True)
    if args.sweep_points:
        print("\n## A sweep of the demo\n\n" + sweep(args.sweep_points, args.sweep_workers))


if __name__ == "__main__":
    main()
