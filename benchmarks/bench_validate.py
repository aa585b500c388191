"""How long `planner validate` takes on generated rule sets, phase by phase, against a bare YAML parse.

    python -m benchmarks.bench_validate [--sizes 1500,10000] [--shapes sparse,dense] [--repeat 3] [--seed 0]
                                        [--no-breakdown] [--profile]

For each shape and size a rule set is generated into a temporary folder, then timed. Two shapes:

* sparse: benchmarks.generate, rules spread over many accounts and products, consistent by construction (no
  finding);
* dense: benchmarks.synth_dense, the demo's rules/ cloned with new ids to the size, many rules on the same scopes
  (stacked clones break floors, shelf sums and tier orders, so there are findings to write).

Measured:

* CLI end to end: `planner validate DIR --format json` as a subprocess, interpreter start-up included (what CI pays),
  with its CPU time (user + system), its peak resident memory, and the size of its JSON output;
* in process, phase by phase: YAML parse (rule_files + load_documents), schema + merge (build_rule_set), checks
  (run_checks); the in-process total is their sum in the same run;
* reference, same run, same files: a bare `yaml.load(text, Loader=yaml.CSafeLoader)` of every file (PyYAML's C
  loader when available), no validation at all.

Every figure is the best of `--repeat` runs; a run slower than REPEAT_CUTOFF seconds is not repeated (one sample of
a run that slow says enough). The quality bar (docs/PRODUCT.md): validate 1,500 rules < 1 s, 10,000 rules < 5 s and
50,000 < 30 s, sparse or dense, judged on the CLI end-to-end time. For the largest size of each shape, every check is
also timed on its own with a fresh CheckContext (the context's cached arrays are built first and shown as their own
rows), so hotspots are visible.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
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
from benchmarks.synth_dense import write_dense_rule_set
from planner.check import SEMANTIC_CHECKS, run_checks
from planner.check.context import CheckContext
from planner.check.references import check_references
from planner.rules.load import build_rule_set, load_documents, rule_files
from planner.rules.schema import RuleSet

REPEAT_CUTOFF = 30.0
GOALS = ((1500, 1.0), (10000, 5.0), (50000, 30.0))  # (up to this many rules, seconds) from docs/PRODUCT.md
SHAPES = ("sparse", "dense")
CONTEXT_PARTS = ("index", "band_price", "discounts", "stack")


@dataclass
class Row:
    shape: str
    size: int
    rules: int
    files: int
    megabytes: float
    parse: float
    schema: float
    checks: float
    cli: float
    cli_cpu: float
    cli_megabytes: float
    json_bytes: int
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


@dataclass
class CliRun:
    cpu: float
    """CPU seconds (user + system) of the subprocess."""
    megabytes: float
    """Its peak resident memory."""
    json_bytes: int
    report: dict[str, Any]


GNU_TIME = Path("/usr/bin/time")


def run_cli(folder: Path) -> CliRun:
    """One `planner validate` subprocess, its resource usage and its JSON report.

    CPU comes from wait4. The peak memory does not: a child forked from this (by then large) process inherits the
    parent's resident size in its high-water mark, so it is taken from GNU time (a small process that forks the CLI)
    when /usr/bin/time exists, else from wait4 with that caveat."""
    timed = GNU_TIME.exists()
    command = [str(GNU_TIME), "-f", "maxrss_kb %M", *cli_command(folder)] if timed else cli_command(folder)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
        err.seek(0)
        errors = err.read().decode(errors="replace")
        if process.returncode not in (0, 1):
            raise RuntimeError(f"planner validate exited {process.returncode}: {errors[:500]}")
    peak = usage.ru_maxrss / 1024
    if timed:
        peak = next(int(line.split()[1]) / 1024 for line in reversed(errors.splitlines()) if line.startswith("maxrss_kb"))
    return CliRun(usage.ru_utime + usage.ru_stime, peak, len(text), json.loads(text))


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


UP_TO_STACK = """
import sys, time
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from planner.check.context import CheckContext
from planner.compile.discounts import stack_discounts
from planner.rules.load import build_rule_set, load_documents, rule_files
best = None
for _ in range(int(sys.argv[3])):
    start = time.process_time()
    files, _ = rule_files(Path(sys.argv[2]))
    documents, _ = load_documents(files)
    parsed = time.process_time()
    rules, _ = build_rule_set(documents)
    built = time.process_time()
    context = CheckContext(rules)
    band_price, table, weeks = context.band_price, context.discounts, context.index.calendar.weeks
    stacking = time.process_time()
    stack_discounts(band_price, table, weeks)
    run = (parsed - start, built - parsed, time.process_time() - stacking)
    best = run if best is None or sum(run) < sum(best) else best
print(*best)
"""


def up_to_stack(checkout: Path, folder: Path, repeat: int) -> tuple[float, float, float]:
    """CPU seconds (best of `repeat`, in a fresh process running `checkout`'s planner) of the YAML parse, the
    schema + merge and the discount stack alone: the phases that do not need the other checks' whole-grid arrays
    (about 1.6 GB at 50,000 sparse rules where the whole run peaks at 3.3 GB)."""
    out = subprocess.run([sys.executable, "-c", UP_TO_STACK, str(checkout), str(folder), str(max(1, repeat))],
                         cwd="/", capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1]), float(out[2])


def up_to_stack_table(rows: list[tuple[str, int, str, tuple[float, float, float]]]) -> str:
    lines = ["| shape | rules | code | parse CPU s | schema CPU s | stack CPU s | sum CPU s |",
             "|---|---:|---|---:|---:|---:|---:|"]
    for shape, size, code, (parse, schema, stack) in rows:
        lines.append(f"| {shape} | {size:,} | {code} | {parse:.2f} | {schema:.2f} | {stack:.2f} | "
                     f"{parse + schema + stack:.2f} |")
    return "\n".join(lines)


def write_shape(shape: str, folder: Path, size: int, seed: int) -> None:
    if shape == "dense":
        write_dense_rule_set(folder, size)
    else:
        write_rule_set(folder, size, seed=seed)


def measure(shape: str, size: int, folder: Path, repeat: int, seed: int) -> tuple[Row, RuleSet]:
    write_shape(shape, folder, size, seed)
    files, _ = rule_files(folder)
    megabytes = sum(p.stat().st_size for p in files) / 1e6
    runs = []
    for _ in range(max(1, repeat)):
        runs.append(in_process(folder))
        if sum(runs[-1][:3]) > REPEAT_CUTOFF:
            break
    parse, schema, checks, rules = min(runs, key=lambda r: sum(r[:3]))
    cli_runs: list[CliRun] = []
    cli, _ = best_of(repeat, lambda: cli_runs.append(run_cli(folder)))
    best_cpu = min(cli_runs, key=lambda run: run.cpu)
    bare, _ = best_of(repeat, lambda: bare_parse(files))
    summary = best_cpu.report.get("summary", {})
    row = Row(shape, size, rules.rule_count, len(files), megabytes, parse, schema, checks, cli, best_cpu.cpu,
              max(run.megabytes for run in cli_runs), best_cpu.json_bytes, bare, int(summary.get("errors", 0)),
              int(summary.get("warnings", 0)))
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


def _revision(root: Path | None = None) -> str:
    root = root or Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "planner"], cwd=root, capture_output=True, text=True,
                               check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown revision"
    return f"git {head}" + (" + uncommitted changes in planner/" if dirty else "")


def table(rows: list[Row]) -> str:
    header = ("| shape | size | rules | files | MB | parse s | schema s | checks s | total in-process s | CLI end-to-end s "
              "| CLI CPU s | CLI peak MB | findings (err/warn) | JSON bytes | bare parse s | rules/s | goal | met |")
    lines = [header, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|---|"]
    for r in rows:
        goal = f"< {r.goal:g} s" if r.goal else "-"
        met = ("yes" if r.cli < r.goal else f"no (CPU {r.cli_cpu:.2f} s)") if r.goal else "-"
        lines.append(f"| {r.shape} | {r.size:,} | {r.rules:,} | {r.files} | {r.megabytes:.2f} | {r.parse:.3f} "
                     f"| {r.schema:.3f} | {r.checks:.3f} | {r.total:.3f} | {r.cli:.3f} | {r.cli_cpu:.3f} "
                     f"| {r.cli_megabytes:,.0f} | {r.errors}/{r.warnings} | {r.json_bytes:,} | {r.bare:.3f} "
                     f"| {r.rules / r.total:,.0f} | {goal} | {met} |")
    return "\n".join(lines)


def breakdown_table(shape: str, size: int, parts: list[tuple[str, float, int]]) -> str:
    total = sum(seconds for _, seconds, _ in parts)
    title = (f"Per-check time at {size:,} {shape} rules (best of repeat; context.* rows are the shared arrays the checks "
             f"build once; total {total:.3f} s):")
    lines = [title, "", "| step | seconds | share | findings |", "|---|---:|---:|---:|"]
    for name, seconds, found in sorted(parts, key=lambda p: -p[1]):
        lines.append(f"| {name} | {seconds:.3f} | {seconds / total:.0%} | {found} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_validate", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1500,10000", help="comma-separated rule counts (default 1500,10000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is reported")
    parser.add_argument("--shapes", default="sparse,dense", help="comma-separated: sparse, dense (default both)")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (sparse)")
    parser.add_argument("--no-breakdown", action="store_true", help="skip the per-check tables")
    parser.add_argument("--profile", action="store_true", help="cProfile run_checks at the largest size")
    parser.add_argument("--up-to-stack", action="store_true",
                        help="only the CPU of the parse, the schema and the discount stack, in a fresh process each "
                             "(no CLI, no other check)")
    parser.add_argument("--against", type=Path, action="append", default=[], metavar="CHECKOUT",
                        help="with --up-to-stack: also time the planner of this checkout (e.g. a `git worktree add` "
                             "of an older commit) on the same files, alternating with this one")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    shapes = [s.strip() for s in args.shapes.split(",") if s.strip()]
    if unknown := [s for s in shapes if s not in SHAPES]:
        parser.error(f"unknown shape(s) {unknown}: use {', '.join(SHAPES)}")
    print(machine())
    print(f"command: python -m benchmarks.bench_validate --sizes {','.join(map(str, sizes))} --shapes "
          f"{','.join(shapes)} --repeat {args.repeat} --seed {args.seed}"
          f"{' --up-to-stack' if args.up_to_stack else ''}{''.join(f' --against {a}' for a in args.against)}; CLI timed as: "
          f"{' '.join(cli_command(Path('DIR')))}\n", flush=True)
    if args.up_to_stack:
        here = Path(__file__).resolve().parent.parent
        checkouts = [(f"this ({_revision()})", here)] + [(f"{path} ({_revision(path)})", path) for path in args.against]
        parts = []
        with tempfile.TemporaryDirectory(prefix="planner-bench-") as tmp:
            for shape in shapes:
                for size in sizes:
                    folder = Path(tmp) / f"{shape}-{size}"
                    write_shape(shape, folder, size, args.seed)
                    for name, checkout in checkouts:
                        parts.append((shape, size, name, up_to_stack(checkout, folder, args.repeat)))
                    print(f"measured {size:,} {shape} rules up to the stack", file=sys.stderr, flush=True)
        print(up_to_stack_table(parts))
        print(f"\nat the end: {load()}")
        return
    rows: list[Row] = []
    largest: dict[str, tuple[int, RuleSet]] = {}
    with tempfile.TemporaryDirectory(prefix="planner-bench-") as tmp:
        for shape in shapes:
            for size in sizes:
                row, rules = measure(shape, size, Path(tmp) / f"{shape}-{size}", args.repeat, args.seed)
                rows.append(row)
                print(f"measured {size:,} {shape} rules: CLI {row.cli:.2f} s ({row.cli_cpu:.2f} s CPU), in-process "
                      f"{row.total:.2f} s", file=sys.stderr, flush=True)
                if shape not in largest or size >= largest[shape][0]:
                    largest[shape] = (size, rules)
        print(table(rows), flush=True)
        for shape, (size, rules) in largest.items():
            if not args.no_breakdown:
                print()
                print(breakdown_table(shape, size, breakdown(rules, args.repeat)), flush=True)
            if args.profile:
                print()
                print(f"cProfile of run_checks at {size:,} {shape} rules (cumulative):")
                print(profile(rules))
    print(f"\nat the end: {load()}")


if __name__ == "__main__":
    main()
