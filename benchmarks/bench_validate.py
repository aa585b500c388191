"""How long `planner validate` takes on generated rule sets, phase by phase, against a bare YAML parse.

    python -m benchmarks.bench_validate [--sizes 1500,10000] [--repeat 3] [--seed 0] [--no-breakdown] [--profile]

For each size a rule set is generated (benchmarks.generate) into a temporary folder, then timed:

* CLI end to end: `planner validate DIR --format json` as a subprocess, interpreter start-up included (what CI pays);
* in process, phase by phase: YAML parse (rule_files + load_documents), schema + merge (build_rule_set), checks
  (run_checks); the in-process total is their sum in the same run;
* reference, same run, same files: a bare `yaml.load(text, Loader=yaml.CSafeLoader)` of every file (PyYAML's C
  loader when available), no validation at all.

Every figure is the best of `--repeat` runs; a run slower than REPEAT_CUTOFF seconds is not repeated (one sample of
a run that slow says enough). The quality bar (docs/PRODUCT.md): validate 1,500 rules < 1 s and 10,000 rules < 10 s,
judged on the CLI end-to-end time. For the largest size, every check is also timed on its own with a fresh
CheckContext (the context's cached arrays are built first and shown as their own rows), so hotspots are visible.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from benchmarks.generate import write_rule_set
from planner.check import SEMANTIC_CHECKS, run_checks
from planner.check.context import CheckContext
from planner.check.references import check_references
from planner.rules.load import build_rule_set, load_documents, rule_files
from planner.rules.schema import RuleSet

REPEAT_CUTOFF = 30.0
GOALS = ((1500, 1.0), (10000, 10.0))  # (up to this many rules, seconds) from docs/PRODUCT.md
CONTEXT_PARTS = ("index", "band_price", "discounts", "stack")


@dataclass
class Row:
    size: int
    rules: int
    files: int
    megabytes: float
    parse: float
    schema: float
    checks: float
    cli: float
    cli_cpu: float
    bare: float
    errors: int
    warnings: int

    @property
    def total(self) -> float:
        return self.parse + self.schema + self.checks

    @property
    def goal(self) -> float | None:
        return next((seconds for limit, seconds in GOALS if self.size <= limit), None)


def best_of(repeat: int, run: Callable[[], Any]) -> tuple[float, Any]:
    """Best wall time of up to `repeat` runs, and the last run's result."""
    best, result = float("inf"), None
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        result = run()
        elapsed = time.perf_counter() - start
        best = min(best, elapsed)
        if elapsed > REPEAT_CUTOFF:
            break
    return best, result


def cli_command(folder: Path) -> list[str]:
    script = Path(sys.executable).parent / "planner"
    head = [str(script)] if script.exists() else [sys.executable, "-m", "planner"]
    return head + ["validate", str(folder), "--format", "json"]


def run_cli(folder: Path) -> tuple[float, dict[str, Any]]:
    """CPU seconds (user + system) the subprocess used, and its JSON report."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(cli_command(folder), capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"planner validate exited {done.returncode}: {done.stderr.strip()[:500]}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return cpu, json.loads(done.stdout)


def bare_parse(files: list[Path]) -> None:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for path in files:
        yaml.load(path.read_text(encoding="utf-8"), Loader=loader)


def in_process(folder: Path) -> tuple[float, float, float, RuleSet]:
    """(parse, schema, checks) seconds of one run, and the rule set."""
    start = time.perf_counter()
    files, _ = rule_files(folder)
    documents, _ = load_documents(files)
    parsed = time.perf_counter()
    rules, _ = build_rule_set(documents)
    built = time.perf_counter()
    run_checks(rules)
    return parsed - start, built - parsed, time.perf_counter() - built, rules


def measure(size: int, folder: Path, repeat: int, seed: int) -> tuple[Row, RuleSet]:
    write_rule_set(folder, size, seed=seed)
    files, _ = rule_files(folder)
    megabytes = sum(p.stat().st_size for p in files) / 1e6
    runs = []
    for _ in range(max(1, repeat)):
        runs.append(in_process(folder))
        if sum(runs[-1][:3]) > REPEAT_CUTOFF:
            break
    parse, schema, checks, rules = min(runs, key=lambda r: sum(r[:3]))
    cli_runs: list[tuple[float, dict[str, Any]]] = []
    cli, _ = best_of(repeat, lambda: cli_runs.append(run_cli(folder)))
    cli_cpu, report = min(cli_runs, key=lambda run: run[0])
    bare, _ = best_of(repeat, lambda: bare_parse(files))
    summary = report.get("summary", {})
    row = Row(size, rules.rule_count, len(files), megabytes, parse, schema, checks, cli, cli_cpu, bare,
              int(summary.get("errors", 0)), int(summary.get("warnings", 0)))
    return row, rules


def breakdown(rules: RuleSet, repeat: int) -> list[tuple[str, float, int]]:
    """(name, best seconds, findings) for the context's cached arrays and for every check on its own."""
    checks: list[tuple[str, Callable[[CheckContext], Any]]] = [("check_references", check_references)]
    checks += [(check.__name__, check) for check in SEMANTIC_CHECKS]
    best: dict[str, tuple[float, int]] = {}
    for _ in range(max(1, repeat)):
        context = CheckContext(rules)
        elapsed = 0.0
        for part in CONTEXT_PARTS:
            start = time.perf_counter()
            getattr(context, part)
            seconds = time.perf_counter() - start
            elapsed += seconds
            best[f"context.{part}"] = min(best.get(f"context.{part}", (seconds, 0)), (seconds, 0))
        for name, check in checks:
            start = time.perf_counter()
            found = len(check(context))
            seconds = time.perf_counter() - start
            elapsed += seconds
            best[name] = min(best.get(name, (seconds, found)), (seconds, found))
        if elapsed > REPEAT_CUTOFF:
            break
    return [(name, seconds, found) for name, (seconds, found) in best.items()]


def profile(rules: RuleSet, top: int = 30) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    run_checks(rules)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def machine() -> str:
    model = ""
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    libyaml = "with libyaml" if getattr(yaml, "__with_libyaml__", False) else "pure Python"
    return (f"machine: nproc {usable} (cpu_count {os.cpu_count()}){', ' + model if model else ''}; "
            f"{platform.system()} {platform.release()}\n"
            f"python {platform.python_version()} ({sys.executable}); PyYAML {yaml.__version__} {libyaml}; "
            f"code: {_revision()}; {load()}")


def load() -> str:
    """Other work on the machine inflates wall times: the load average is printed at the start and the end."""
    if not hasattr(os, "getloadavg"):
        return "load average unknown"
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def _revision() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "planner"], cwd=root, capture_output=True, text=True,
                               check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown revision"
    return f"git {head}" + (" + uncommitted changes in planner/" if dirty else "")


def table(rows: list[Row]) -> str:
    header = ("| size | rules | files | MB | parse s | schema s | checks s | total in-process s | CLI end-to-end s "
              "| CLI CPU s | bare parse s | ratio total/bare | rules/s | findings (err/warn) | goal | met |")
    lines = [header, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|"]
    for r in rows:
        goal = f"< {r.goal:g} s" if r.goal else "-"
        met = ("yes" if r.cli < r.goal else "no") if r.goal else "-"
        lines.append(f"| {r.size:,} | {r.rules:,} | {r.files} | {r.megabytes:.2f} | {r.parse:.3f} | {r.schema:.3f} "
                     f"| {r.checks:.3f} | {r.total:.3f} | {r.cli:.3f} | {r.cli_cpu:.3f} | {r.bare:.3f} | {r.total / r.bare:.1f}x "
                     f"| {r.rules / r.total:,.0f} | {r.errors}/{r.warnings} | {goal} | {met} |")
    return "\n".join(lines)


def breakdown_table(size: int, parts: list[tuple[str, float, int]]) -> str:
    total = sum(seconds for _, seconds, _ in parts)
    title = (f"Per-check time at {size:,} rules (best of repeat; context.* rows are the shared arrays the checks "
             f"build once; total {total:.3f} s):")
    lines = [title, "", "| step | seconds | share | findings |", "|---|---:|---:|---:|"]
    for name, seconds, found in sorted(parts, key=lambda p: -p[1]):
        lines.append(f"| {name} | {seconds:.3f} | {seconds / total:.0%} | {found} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_validate", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1500,10000", help="comma-separated rule counts (default 1500,10000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is reported")
    parser.add_argument("--seed", type=int, default=0, help="generator seed")
    parser.add_argument("--no-breakdown", action="store_true", help="skip the per-check table")
    parser.add_argument("--profile", action="store_true", help="cProfile run_checks at the largest size")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    print(machine())
    print(f"command: python -m benchmarks.bench_validate --sizes {','.join(map(str, sizes))} --repeat {args.repeat} "
          f"--seed {args.seed}; CLI timed as: {' '.join(cli_command(Path('DIR')))}\n", flush=True)
    rows, largest = [], None
    with tempfile.TemporaryDirectory(prefix="planner-bench-") as tmp:
        for size in sizes:
            row, rules = measure(size, Path(tmp) / f"rules-{size}", args.repeat, args.seed)
            rows.append(row)
            print(f"measured {size:,} rules: CLI {row.cli:.2f} s, in-process {row.total:.2f} s", file=sys.stderr,
                  flush=True)
            if largest is None or size >= largest[0]:
                largest = (size, rules)
        print(table(rows), flush=True)
        if largest and not args.no_breakdown:
            print()
            print(breakdown_table(largest[0], breakdown(largest[1], args.repeat)), flush=True)
        if largest and args.profile:
            print()
            print(f"cProfile of run_checks at {largest[0]:,} rules (cumulative):")
            print(profile(largest[1]))
    print(f"\nat the end: {load()}")


if __name__ == "__main__":
    main()
