"""Review and re-plan at scale: 1,000 accounts x 100 products x 52 weeks with 13 weeks of actuals (issue 17).

    .venv/bin/python -m benchmarks.bench_review [--sizes 100x100,1000x100] [--through 13] [--draws 5]
                                                [--time-limit 300] [--no-optimize] [--no-review] [--no-fresh]
                                                [--seed 0]
    .venv/bin/python -m benchmarks.bench_review --sizes 10x100,20x100 --options-memory

The world is `benchmarks.worlds.synthetic_world`; its actuals are the plan's own simulation to week `--through`
(planner.review.synthetic.plan_as_actuals), every sell-in row then moved by up to +/-10 % and every other executed
promotion dropped, so that every variance line and component is at work. Each step runs twice: once timed for
wall and CPU time (`time.process_time`, all threads of this process) with nothing traced, once under tracemalloc
for its peak of traced memory (numpy's and Python's allocations, reset before the step; tracing slows Python-heavy
steps several times, which is why the timed run is a separate one). The optimizer steps run once, untraced; their
memory column is the peak resident set (getrusage) of a forked process that runs that optimize alone:

    actuals: read files      the actuals as CSV files in the history format, read and checked (read_actuals)
    actuals: import (SQLite) imported into a plan store in a temporary folder (import_actuals; the traced run
                             re-imports, which replaces)
    actuals: load            read back from the store (load_actuals)
    actuals        the actuals placed on the plan's grid (planner.actuals.model.on_grid)
    basis          plan, calendar as run, no-promotion counterfactual, actuals and latest estimate (3 evaluations)
    variance       plan vs actual for the year and quarter to date, with the split
    forecast       latest estimate and rebate / growth-target outlook with --draws Monte Carlo draws
    post-event     every executed promotion against the counterfactual, and the league table
    policy         budgets, margin floors and trade-spend caps with headroom
    json           Review.as_json() serialised
    replan rules   the scenario transformed for the re-plan (planner.review.replan.replan_rules)
    optimize       planner.optimize.run.optimize of the transformed rules (--time-limit), beside a fresh optimize
                   of the untransformed scenario in the same run (the reference; --no-fresh leaves it out)
    plan submit    the re-plan's result submitted as the scenario's next version into a SQLite plan store in a
                   temporary folder, in the re-plan's process after its optimize: what `planner plan submit
                   SCENARIO --plan DIR/plan.yaml` does once the files are read (the plan simulated, frozen with
                   the bytes of the rules, here the world written as one JSON file, and stored); the checker's
                   run on the rules (`refuse_if_broken`) and reading the files are not timed

`--options-memory` measures instead what the re-plan's options and model hold (tracemalloc, nothing else timed):
`build_options` kept and at its peak, what its parts hold (the reached cells, the no-promotion plan, the other
vividness configurations' plans where a version keeps them, the packages' cells, the values, the option numbers),
and the model `build` makes of them.

A reference measured in the same run: one deterministic `planner.simulate.simulate` of the plan. Sizes are
accounts x products; the calendar is 52 weeks. `--no-review` times only the re-plan (its transformation and the two
optimizes). Each step's row is printed as it
ends (stderr), so a run stopped part way still shows what it measured.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from benchmarks.worlds import synthetic_world
from planner.actuals.model import Actuals, on_grid
from planner.actuals.read import read_actuals
from planner.actuals.store import import_actuals, load_actuals
from planner.compile.index import PlanIndex
from planner.review.basis import build
from planner.review.forecast import forecast
from planner.review.policy import policy_headroom
from planner.review.post_event import league_table, post_event
from planner.review.replan import replan_rules
from planner.review.review import review
from planner.review.synthetic import plan_as_actuals
from planner.review.variance import statement
from planner.rules.scenario import Resolved, ScenarioOptions
from planner.rules.schema import RuleSet
from planner.simulate import simulate
from planner.store.database import open_store

T = TypeVar("T")


@dataclass(frozen=True)
class Step:
    name: str
    wall: float
    cpu: float
    peak_mb: float
    note: str = ""


def timed(name: str, run: Callable[[], T], note: Callable[[T], str] = lambda _: "", *,
          traced: bool = True) -> tuple[Step, T]:
    """Time `run` untraced; then, with `traced`, run it again under tracemalloc for its peak memory."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    value = run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if traced:
        del value
        gc.collect()
        tracemalloc.start()
        value = run()
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    return Step(name, wall, cpu, peak, note(value)), value


def actuals_of(world: Any, through: int, seed: int) -> Actuals:
    rng = np.random.default_rng(seed)
    exact = plan_as_actuals(world, list(world.events), through)
    sales = exact.sales.copy()
    sales["cases"] *= rng.uniform(0.9, 1.1, len(sales))
    sales["invoice_value"] *= rng.uniform(0.9, 1.1, len(sales))
    return Actuals(exact.year, sales, tuple(p for k, p in enumerate(exact.promotions) if k % 2 == 0))


class Steps(list[Step]):
    """The steps measured so far; each is printed to stderr as it is added."""

    def __init__(self, size: str) -> None:
        super().__init__()
        self.size = size

    def append(self, step: Step) -> None:
        super().append(step)
        print(f"{self.size} {step.name}: {step.wall:.2f} s wall, {step.cpu:.2f} s CPU, {step.peak_mb:,.0f} MB; "
              f"{step.note}", file=sys.stderr, flush=True)


def measure(accounts: int, products: int, through: int, draws: int, time_limit: float, optimize: bool,
            seed: int, review_steps: bool = True, fresh: bool = True) -> dict[str, Any]:
    world = synthetic_world(accounts, products, 52, seed)
    events = list(world.events)
    actuals = actuals_of(world, through, seed)
    steps = Steps(f"{accounts}x{products}")
    step, _ = timed("reference: simulate", lambda: simulate(world, ScenarioOptions()))
    steps.append(step)
    if review_steps:
        review_of(world, events, actuals, through, draws, seed, steps)
    step, replan = timed("replan rules", lambda: replan_rules(world, events, actuals, through),
                         lambda r: f"{len(r.locked):,} locked, {len(r.rules.calendar_rules):,} calendar rules")
    steps.append(step)
    if optimize:
        options = ScenarioOptions(time_limit=time_limit, gap=0.001)
        runs = (("optimize fresh (reference)", world),) if fresh else ()
        for name, rules in (*runs, ("optimize re-plan", replan.rules)):
            resolved = Resolved(id="bench", name="bench", file="bench.yaml", rules=rules, options=options)
            for step in optimized(name, resolved, submit=rules is replan.rules):
                steps.append(step)
    return {"accounts": accounts, "products": products, "through": through, "draws": draws, "steps": list(steps),
            "cells": accounts * products * 52}


def optimized(name: str, resolved: Resolved, submit: bool = False) -> list[Step]:
    """`planner.optimize.run.optimize` of `resolved` in a forked process of its own, so that the peak resident set
    reported is this optimize's alone (the parent's world at the fork included), not the largest of the run so far.
    The note gives the status, the gap, the method, the optimizer's own seconds per phase and its size. With
    `submit`, the plan found is then submitted in the same process (`submitted`; its peak is the process's)."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_optimize_child, args=(name, resolved, send, submit))
    child.start()
    send.close()
    steps: list[Step] = receive.recv()
    child.join()
    return steps


def submitted(resolved: Resolved, result: Any) -> Step:
    """The optimize's plan submitted as the scenario's next version into a SQLite plan store in a temporary folder
    (module docstring: what is and is not timed)."""
    from planner.rules.schema import SECTIONS
    from planner.rules.vividness import buy
    from planner.store.versions import freeze, submit

    rules = resolved.rules
    with tempfile.TemporaryDirectory() as folder:
        world_file = Path(folder, "world.json")
        world_file.write_text(json.dumps({name: [item.model_dump(mode="json") for item in rules.section(name)]
                                          for name in SECTIONS}))
        store = open_store(str(Path(folder, "plans.db")))
        try:
            def run() -> Any:
                simulation = simulate(buy(rules, result.bought or {}), resolved.options, scenario=resolved.id,
                                      name=resolved.name, events=result.events, plan_source="optimizer")
                frozen = freeze(resolved, simulation, [str(world_file)], result.events)
                return submit(store, frozen, "alice", title="Q1 revision")

            step, _ = timed("plan submit (SQLite)", run, lambda version: (
                f"{version.label}, {len(result.events):,} events, world file "
                f"{world_file.stat().st_size / 1e6:,.1f} MB"), traced=False)
        finally:
            store.close()
    return step


def _optimize_child(name: str, resolved: Resolved, send: Connection, submit: bool) -> None:
    from planner.optimize.run import optimize as run_optimize

    def note(result: Any) -> str:
        phases = ", ".join(f"{phase} {seconds:.1f}" for phase, seconds in result.seconds.items())
        return (f"{result.status.value}, gap {result.gap:.3%}, {result.method or '-'}; {result.size['columns']:,} "
                f"columns, {result.size['rows']:,} rows; seconds: {phases}")

    def progress(line: str) -> None:
        print(f"  {name}: {line}", file=sys.stderr, flush=True)

    step, result = timed(name, lambda: run_optimize(resolved, progress=progress), note, traced=False)
    print(f"{name}: {step.wall:.2f} s wall, {step.cpu:.2f} s CPU, {step.peak_mb:,.0f} MB; {step.note}",
          file=sys.stderr, flush=True)
    steps = [step]
    if submit and result.has_plan:
        steps.append(submitted(resolved, result))
    send.send(steps)
    send.close()


def imported(world: RuleSet, actuals: Actuals, steps: list[Step]) -> None:
    """The actuals written as files in the history format, then read and checked, imported into a SQLite plan
    store, and loaded back, each timed (what `planner actuals import` and the re-plan's --from-actuals do)."""
    calendar = world.calendar
    assert calendar is not None
    with tempfile.TemporaryDirectory() as folder:
        sales_file, promotions_file = Path(folder, "sales.csv"), Path(folder, "promotions.csv")
        sales = actuals.sales
        cases = sales["cases"].to_numpy(dtype=float)
        price = np.where(cases > 0, sales["invoice_value"].to_numpy(dtype=float) / np.maximum(cases, 1e-12), 0.0)

        def day(week: Any) -> Any:
            return pd.Timestamp(calendar.start) + pd.to_timedelta(7 * (np.asarray(week) - 1), unit="D")

        pd.DataFrame({"week": day(sales["week"]), "account": sales["account"], "product": sales["product"],
                      "cases": cases, "price": price, "invoice_price": price}).to_csv(
            sales_file, index=False, float_format="%.10g", date_format="%Y-%m-%d")
        pd.DataFrame([{"event": p.event, "account": p.account, "product_group": p.product_group,
                       "mechanic": p.mechanic, "first_week": day(p.first_week), "last_week": day(p.last_week),
                       "depth": p.depth, "funding": p.funding, "fixed_cost": p.fixed_cost}
                      for p in actuals.promotions]).to_csv(promotions_file, index=False, date_format="%Y-%m-%d")
        step, files = timed("actuals: read files", lambda: [read_actuals(sales_file, world),
                                                           read_actuals(promotions_file, world)],
                            lambda _: f"{sales_file.stat().st_size / 1e6:,.1f} MB of CSV")
        steps.append(step)
        store = open_store(str(Path(folder, "plans.db")))
        try:
            step, _ = timed("actuals: import (SQLite)", lambda: import_actuals(store, calendar.year, files, "alice"),
                            lambda done: f"{sum(d.rows for d in done):,} rows")
            steps.append(step)
            step, _ = timed("actuals: load", lambda: load_actuals(store, calendar.year),
                            lambda loaded: f"{len(loaded.sales):,} rows")
            steps.append(step)
        finally:
            store.close()


def review_of(world: Any, events: list[Any], actuals: Actuals, through: int, draws: int, seed: int,
              steps: list[Step]) -> None:
    """The review's steps, each timed, then the whole review with its JSON."""
    imported(world, actuals, steps)
    index = PlanIndex.of(world)
    step, _ = timed("actuals", lambda: on_grid(actuals, index, through), lambda c: f"{len(actuals.sales):,} rows")
    steps.append(step)
    step, basis = timed("basis", lambda: build(world, events, actuals, through))
    steps.append(step)
    step, _ = timed("variance", lambda: (statement(basis, slice(0, through)), statement(basis, slice(0, through))))
    steps.append(step)
    step, (_, _outlook) = timed("forecast", lambda: forecast(basis, draws, seed), lambda r: f"{len(r[1]):,} outlooks")
    steps.append(step)
    step, results = timed("post-event", lambda: (post_event(basis), None)[0], lambda r: f"{len(r):,} promotions")
    steps.append(step)
    league_table(results)
    step, _ = timed("policy", lambda: policy_headroom(basis), lambda r: f"{len(r):,} checks")
    steps.append(step)
    step, _document = timed("review + json (whole)", lambda: json.dumps(review(world, events, actuals, through,
                                                                              draws=draws, seed=seed).as_json()),
                           lambda text: f"{len(text) / 1e6:.1f} MB")
    steps.append(step)


def options_memory(accounts: int, products: int, through: int, seed: int) -> str:
    """What the re-plan's options and model hold at this size, in MB (tracemalloc: kept after, and peak during)."""
    from dataclasses import fields

    from planner.compile.model import compile_rules
    from planner.optimize.options import build_options
    from planner.optimize.solve import build as build_model

    world = synthetic_world(accounts, products, 52, seed)
    rules = replan_rules(world, list(world.events), actuals_of(world, through, seed), through).rules
    compiled = compile_rules(rules)
    gc.collect()
    tracemalloc.start()
    cpu = time.process_time()
    options = build_options(rules, compiled)
    cpu = time.process_time() - cpu
    kept, peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    model = build_model(rules, compiled, options, "profit")
    built, built_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    parts = {"reach": options.reach.nbytes(),
             "base": sum(getattr(options.base, f.name).nbytes for f in fields(options.base)),
             # the other configurations' no-promotion plans, kept until git cc39892 (Options.bases)
             "other configurations": sum(getattr(cells, f.name).nbytes for cells in getattr(options, "bases", [])[1:]
                                         for f in fields(cells)),
             "package cells": sum(a.nbytes for a in options.package_cells.values()),
             "values": sum(a.nbytes for a in options.value.values()),
             "option numbers": sum(a.nbytes for a in options.batch_options.values())}
    return (f"| {accounts:,} x {products} x 52 | {len(options):,} / {options.columns:,} | {cpu:.1f} | {kept / 1e6:,.1f} | "
            f"{peak / 1e6:,.1f} | " + " | ".join(f"{v / 1e6:,.1f}" for v in parts.values())
            + f" | {(built - kept) / 1e6:,.1f} / {(built_peak - kept) / 1e6:,.1f} | {len(model.labels):,} |")


def table(rows: list[dict[str, Any]]) -> str:
    lines = [("| size (accounts x products x weeks) | step | wall s | CPU s | CPU / wall | peak MB (traced; optimize: "
              "process RSS) | x simulate (CPU) | note |"), "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        reference = row["steps"][0].cpu or 1e-9
        for step in row["steps"]:
            lines.append(f"| {row['accounts']:,} x {row['products']} x 52 | {step.name} | {step.wall:.2f} | "
                         f"{step.cpu:.2f} | {step.cpu / step.wall if step.wall else 0:.0%} | {step.peak_mb:,.0f} | "
                         f"{step.cpu / reference:.1f} | {step.note} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_review", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100x100,1000x100")
    parser.add_argument("--through", type=int, default=13)
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--no-optimize", action="store_true")
    parser.add_argument("--no-review", action="store_true", help="only the re-plan: its rules and the optimizes")
    parser.add_argument("--no-fresh", action="store_true", help="no fresh optimize beside the re-plan's")
    parser.add_argument("--options-memory", action="store_true",
                        help="only what the re-plan's options and model hold (tracemalloc), per part")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.options_memory:
        print("| size | options / columns | options CPU s (traced) | options kept MB | options peak MB | reach | base | "
              "other configurations | package cells | values | option numbers | model kept / peak MB | rows |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for size in args.sizes.split(","):
            accounts, products = (int(x) for x in size.split("x"))
            print(options_memory(accounts, products, args.through, args.seed), flush=True)
        return
    rows = []
    for size in args.sizes.split(","):
        accounts, products = (int(x) for x in size.split("x"))
        rows.append(measure(accounts, products, args.through, args.draws, args.time_limit, not args.no_optimize,
                            args.seed, not args.no_review, not args.no_fresh))
        print(table(rows[-1:]), flush=True)
    print()
    print(table(rows))


if __name__ == "__main__":
    main()
