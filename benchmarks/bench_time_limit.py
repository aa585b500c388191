"""Does `optimize(..., time_limit=T)` answer in time? Requested limit against wall and CPU time, per world.

    python -m benchmarks.bench_time_limit [--demo-limits 1,5,15] [--accounts 1000] [--world-limits 4,15]
                                          [--cli-limits 5]

Each run is a process of its own (a fresh interpreter, nothing cached), so its CPU time is its own:

- `demo`: `scenarios/base.yaml` as written (200 Monte Carlo draws for the plan's simulation), through
  `planner.optimize.run.optimize`;
- `N accounts`: the optimizer benchmark's world (benchmarks/bench_optimize.py `optimizer_world` with its
  binding per-account and total budgets, `with_budgets`; vividness kept as written, as there): N accounts x 52
  weeks x 5 mechanics, no events, so its own calendar is no promotions at all;
- `CLI demo`: the whole command `planner optimize scenarios/base.yaml --time-limit T --format json`, start of
  the interpreter to exit, as a user times it.

Printed as a table: the limit asked, status and how the plan was found, objective, bound and gap, the seconds of
`optimize` itself (what the limit bounds: from valuing the options to the re-check) and of the whole process,
and the process's CPU seconds (user + system, every thread). Numbers are indicative on a shared 2-core machine;
no assertion on time (docs/STYLE.md).
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def child(world: str, limit: float) -> dict[str, Any]:
    """One run in this process: the world's scenario, optimized with `limit`; the figures as a dict."""
    from planner.optimize.run import optimize
    from planner.rules.scenario import Resolved, ScenarioOptions, resolve

    if world == "demo":
        resolved = resolve(ROOT / "scenarios" / "base.yaml")
    else:
        from benchmarks.bench_optimize import optimizer_world, with_budgets
        from planner.compile.model import compile_rules
        from planner.optimize.options import build_options

        rules = optimizer_world(int(world))
        rules = with_budgets(rules, build_options(rules, compile_rules(rules), decide_vividness=False))
        resolved = Resolved(f"bench-{world}", f"{world} accounts", "", rules, ScenarioOptions(vividness="keep"))
    started, cpu = time.perf_counter(), time.process_time()
    result = optimize(resolved, limit, progress=lambda line: print(f"  {world} {limit:g} s: {line}", file=sys.stderr,
                                                                    flush=True))
    return {"status": result.status.value, "method": result.method, "objective": result.objective,
            "bound": result.bound, "gap": result.gap, "optimize s": time.perf_counter() - started,
            "optimize cpu s": time.process_time() - cpu, "stages": {k: round(v, 1) for k, v in result.seconds.items()}}


def measured(command: list[str]) -> tuple[str, float, float]:
    """Run `command`; its standard output, wall seconds and CPU seconds (user + system of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return done.stdout, wall, cpu


def run_world(world: str, limit: float) -> dict[str, Any]:
    stdout, wall, cpu = measured([sys.executable, "-m", "benchmarks.bench_time_limit", "--child", world, str(limit)])
    return {**json.loads(stdout.strip().splitlines()[-1]), "world": world, "limit": limit, "process s": wall,
            "process cpu s": cpu}


def run_cli(limit: float) -> dict[str, Any]:
    planner = str(Path(sys.executable).with_name("planner"))
    stdout, wall, cpu = measured([planner, "optimize", "scenarios/base.yaml", "--time-limit", str(limit),
                                  "--format", "json"])
    data = json.loads(stdout)
    return {"world": "CLI demo", "limit": limit, "status": data["status"], "method": data["method"],
            "objective": data["objective"], "bound": data["bound"], "gap": data["gap"],
            "optimize s": data["time"]["total"], "process s": wall, "process cpu s": cpu, "stages": data["time"]}


def table(rows: list[dict[str, Any]]) -> str:
    header = ["world", "limit s", "status", "method", "objective", "bound", "gap", "optimize s", "process wall s",
              "process CPU s", "stages s"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        gap = row["gap"]
        stages = ", ".join(f"{k} {v:.1f}" for k, v in row["stages"].items() if k != "total")
        lines.append("| " + " | ".join([
            row["world"] if not row["world"].isdigit() else f"{int(row['world']):,} accounts", f"{row['limit']:g}",
            row["status"], row["method"] or "-", _money(row["objective"]), _money(row["bound"]),
            f"{gap:.3%}" if gap is not None and math.isfinite(gap) else "unknown",
            f"{row['optimize s']:.1f}", f"{row['process s']:.1f}", f"{row['process cpu s']:.1f}", stages]) + " |")
    return "\n".join(lines)


def _money(value: float | None) -> str:
    return f"{value:,.0f}" if value is not None and math.isfinite(value) else "-"


def _limits(text: str) -> list[float]:
    return [float(item) for item in text.split(",") if item]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_time_limit", description=__doc__.split("\n\n")[0])
    parser.add_argument("--demo-limits", default="1,5,15", help="time limits for the demo (comma-separated)")
    parser.add_argument("--accounts", default="1000", help="sizes of the benchmark world (comma-separated)")
    parser.add_argument("--world-limits", default="4,15", help="time limits for each size")
    parser.add_argument("--cli-limits", default="5", help="time limits for the whole `planner optimize` command")
    parser.add_argument("--child", nargs=2, metavar=("WORLD", "LIMIT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], float(args.child[1]))))
        return
    rows = [run_cli(limit) for limit in _limits(args.cli_limits)]
    rows += [run_world("demo", limit) for limit in _limits(args.demo_limits)]
    rows += [run_world(size, limit) for size in args.accounts.split(",") if size for limit in _limits(args.world_limits)]
    print(table(rows))


if __name__ == "__main__":
    main()
