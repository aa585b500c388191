"""What the optimizer does per account at each size, counted, not only timed (issue 19: time per account flat).

    python -m benchmarks.bench_scale_work --accounts 1000,5000     # work per account, one process per size
    python -m benchmarks.bench_scale_work --array-passes           # numpy's time per element by array size

Each size is `bench_scale`'s serial optimizer run (its world, `--pricing search`, the same phases) in a fresh
interpreter, with the optimizer's own solves counted as they run: every account LP of the price search (its
simplex iterations), every account's MILP (its nodes and LP iterations, CPU of the whole process around it, so
HiGHS's own threads are in), every group of the repair (columns, CPU), every solve of the search's master (its
rows, CPU), and Python's cyclic garbage collections (how many full ones, their CPU; the world's building
included). A phase whose work per account grows with the accounts is an algorithmic term; one whose work per
account stays while its time per unit grows is memory. `--array-passes` times the passes over whole-model arrays
that the options, the build and the steps around the solves are made of (multiply-add, a gather by index, a
bincount) at the sizes of 200 to 50,000 accounts' columns (260 a account): their time per element against
the array's size shows the caches. No assertion on time (docs/STYLE.md); a shared 2-core machine's load moves
every time here, so compare sizes run in the same minutes.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def counted(accounts: int) -> dict[str, Any]:
    """`bench_scale.child` at `accounts` with the optimizer's solves and Python's collections counted."""
    from benchmarks.bench_scale import child
    from planner.optimize import highs, prices, repair, split
    from planner.optimize.bundle import Master

    work: dict[str, list[tuple[float, ...]]] = defaultdict(list)
    local = threading.local()
    run_of = highs.Run.of.__func__  # type: ignore[attr-defined]

    def of(cls: type[highs.Run], h: Any) -> highs.Run:
        info = h.getInfo()
        local.info = (info.mip_node_count, info.simplex_iteration_count)
        return run_of(cls, h)  # type: ignore[no-any-return]

    def timed(kind: str, solve: Any) -> Any:
        def task(shared: Any, position: int) -> Any:
            cpu = time.process_time()
            result = solve(shared, position)
            work[kind].append((time.process_time() - cpu, *getattr(local, "info", (0, 0)),
                               len(shared.parts[position].cost)))
            return result
        return task

    solve_hull, master_solve = prices._solve_hull, Master.solve
    master_rows = [0]

    def hull(part: Any, cost: Any, basis: Any, h: Any) -> Any:
        cpu = time.thread_time()
        result = solve_hull(part, cost, basis, h)
        work["account LP"].append((time.thread_time() - cpu, h.getInfo().simplex_iteration_count))
        return result

    def master(self: Master, centre: Any, box: Any) -> Any:
        cpu = time.thread_time()
        result = master_solve(self, centre, box)
        work["master"].append((time.thread_time() - cpu,))
        master_rows[0] = self.highs.getNumRow()
        return result

    highs.Run.of = classmethod(of)  # type: ignore[method-assign, assignment]
    split._solve_block = timed("account MILP", split._solve_block)
    repair._solve_group = timed("repair group", repair._solve_group)
    prices._solve_hull = hull  # type: ignore[assignment]
    Master.solve = master  # type: ignore[method-assign]
    collections = {"full": 0, "full CPU": 0.0, "CPU": 0.0}
    began = [0.0]

    def collected(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            began[0] = time.process_time()
            return
        spent = time.process_time() - began[0]
        collections["CPU"] += spent
        if info["generation"] == 2:
            collections["full"] += 1
            collections["full CPU"] += spent

    gc.callbacks.append(collected)
    row = child(accounts, 0, 2400.0, "search")
    gc.callbacks.remove(collected)
    return {**row, "work": {kind: np.array(rows).sum(axis=0).tolist() + [len(rows)] for kind, rows in work.items()},
            "collections": collections, "master rows": master_rows[0]}


def work_table(rows: list[dict[str, Any]]) -> str:
    header = ["accounts", "search iterations", "account LPs / account", "simplex iterations / LP", "CPU ms / LP",
              "MILPs / account", "nodes / MILP", "LP iterations / MILP", "CPU ms / MILP", "repair groups",
              "columns / group", "repair (phase) CPU ms / account", "master solves", "master rows at the end",
              "master CPU s", "master CPU ms / account", "full collections", "their CPU s",
              "optimize CPU ms / account", "method", "gap"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        a, w = row["accounts"], row["work"]
        lp = w.get("account LP", [0.0, 0.0, 0])
        milp = w.get("account MILP", [0.0, 0.0, 0.0, 0.0, 0])
        group = w.get("repair group", [0.0, 0.0, 0.0, 0.0, 0])
        master = w.get("master", [0.0, 0])
        found = [line for line in [row["prices line"]] if "iterations" in line]
        iterations = found[0].split(" iterations")[0].split()[-1] if found else "-"
        lines.append("| " + " | ".join([
            f"{a:,}", iterations, f"{lp[-1] / a:.1f}", f"{lp[1] / max(1, lp[-1]):.2f}",
            f"{lp[0] / max(1, lp[-1]) * 1e3:.2f}", f"{milp[-1] / a:.1f}", f"{milp[1] / max(1, milp[-1]):.2f}",
            f"{milp[2] / max(1, milp[-1]):.2f}", f"{milp[0] / max(1, milp[-1]) * 1e3:.2f}", f"{group[-1]:.0f}",
            f"{group[3] / max(1, group[-1]):,.0f}", f"{row['phases']['repair/whole']['cpu'] / a * 1e3:.2f}", f"{master[-1]:.0f}",
            f"{row['master rows']:,}", f"{master[0]:.2f}", f"{master[0] / a * 1e3:.3f}",
            f"{row['collections']['full']}", f"{row['collections']['full CPU']:.2f}",
            f"{row['optimize CPU'] / a * 1e3:.2f}", row["method"] or "-",
            f"{row['gap']:.3%}" if row["gap"] is not None else "-"]) + " |")
    return "\n".join(lines)


def array_passes(sizes: list[int]) -> str:
    """numpy's CPU nanoseconds per element of a multiply-add, a gather by random index and a bincount, by the
    number of elements (`sizes`, the columns of that many accounts at 260 a account)."""
    lines = [("| accounts' columns | elements | MB an array | multiply-add ns / element | gather ns / element "
              "| bincount ns / element |"), "|---|---|---|---|---|---|"]
    generator = np.random.default_rng(0)
    for accounts in sizes:
        n = 260 * accounts
        a, b, out = generator.random(n), generator.random(n), np.empty(n)
        index = generator.integers(0, n, n)
        repeats = max(3, 30_000_000 // n)
        figures = []
        for kernel in range(3):
            cpu = time.process_time()
            for _ in range(repeats):
                _pass(kernel, a, b, out, index)
            figures.append((time.process_time() - cpu) / repeats / n * 1e9)
        lines.append(f"| {accounts:,} | {n:,} | {n * 8 / 2**20:.1f} | " + " | ".join(f"{f:.2f}" for f in figures)
                     + " |")
    return "\n".join(lines)


def _pass(kernel: int, a: np.ndarray, b: np.ndarray, out: np.ndarray, index: np.ndarray) -> None:
    if kernel == 0:
        np.add(np.multiply(a, b, out=out), a, out=out)
    elif kernel == 1:
        a.take(index, out=out)
    else:
        np.bincount(index, weights=a, minlength=len(a))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_scale_work", description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", default="1000,5000", help="world sizes (comma-separated), one process each")
    parser.add_argument("--array-passes", action="store_true", help="only numpy's time per element by array size")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(counted(args.child)))
        return
    if args.array_passes:
        print(array_passes([200, 1_000, 2_000, 5_000, 10_000, 50_000]))
        return
    rows = []
    for size in (int(size) for size in args.accounts.split(",") if size):
        done = subprocess.run([sys.executable, "-m", "benchmarks.bench_scale_work", "--child", str(size)], cwd=ROOT,
                              capture_output=True, text=True, check=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"# row: {json.dumps(rows[-1])}", file=sys.stderr, flush=True)
    print(work_table(rows))


if __name__ == "__main__":
    main()
