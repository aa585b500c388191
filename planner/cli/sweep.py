"""`planner sweep`: one scenario at every point of a grid of what-ifs, one tidy table of KPIs (planner/sweep/)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from planner.cli.cluster import cluster_options, executor_for
from planner.cli.common import (
    SET_HELP,
    CannotRun,
    allow_findings_option,
    check_readable,
    command_line,
    refuse_if_broken,
)
from planner.prepare import prepare, set_keys

REPORT_EVERY = 2.0
"""Seconds between two progress lines on stderr (the first and the last point always report)."""


@click.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--grid", "grids", multiple=True, required=True, metavar="KEY=V1,V2,...",
              help="A what-if axis: the values of one dotted path, as --set writes them (3M,4M,5M; 10%,20%). "
                   "Repeatable: the sweep runs every combination, the last --grid varying fastest.")
@click.option("--optimize", "optimize_points", is_flag=True,
              help="Optimize each point (and simulate its plan) instead of simulating the scenario's calendar.")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True),
              help="With --optimize: seconds for each point's optimisation (default: the scenario's time_limit).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help=SET_HELP + " Applies to every point.")
@click.option("--out", type=click.Path(path_type=Path),
              help="Write the table here: Parquet for a .parquet name, CSV otherwise (default: CSV on stdout); "
                   "its folder is made if missing. Written whole or not at all.")
@allow_findings_option
@cluster_options
@click.pass_context
def sweep(ctx: click.Context, scenario: Path, grids: tuple[str, ...], optimize_points: bool, time_limit: float | None,
          sets: tuple[str, ...], out: Path | None, allow_findings: bool, workers: int | None,
          scheduler: str | None) -> None:
    """Evaluate a scenario at every combination of the grid's values: one row per point, its grid values and KPIs.

    Each point is the scenario with the point's values as --set entries, simulated (deterministically unless
    --set or --grid sets options.draws), or with --optimize optimized and its plan simulated. The scenario's error findings
    stop the sweep as they stop `planner simulate` (exit 1; --allow-findings runs it anyway); a grid value that
    cannot be read or names nothing is exit 2 before any point runs. Progress goes to stderr.

    \b
    Examples:
      planner sweep scenarios/base.yaml --grid budgets.bud-total-2027.max=3M,4M,5M --out sweep.parquet
      planner sweep scenarios/base.yaml --grid budgets.bud-total-2027.max=3M,4M --grid options.objective=profit,volume \\
        --optimize --time-limit 60 --workers 2 --out sweep.csv
    """
    from planner import sweep as sweeps

    check_readable([scenario])
    if out is not None and out.is_dir():
        raise CannotRun(f"--out {out}: is a folder; name a file, e.g. sweep.parquet")
    try:
        axes = [sweeps.read_grid(text) for text in grids]
    except sweeps.BadGrid as error:
        raise click.BadParameter(str(error), param_hint="--grid") from error
    keys = [axis.key for axis in axes]
    if len(set(keys)) < len(keys):
        raise click.BadParameter(f"a key is given twice: {', '.join(sorted({k for k in keys if keys.count(k) > 1}))}"
                                 "; put all its values in one --grid", param_hint="--grid")
    entries = command_line(sets)
    refuse_if_broken(ctx, [prepare(scenario, entries)], allow_findings)
    for entry, item in sweeps.problems(scenario, entries, axes):
        raise CannotRun(f"--grid value {entry}: {item.code} {item.message}" + (f" ({item.fix})" if item.fix else ""))
    draws = "options.draws" in set_keys(entries) or "options.draws" in keys
    plan = sweeps.Sweep(scenario, tuple(entries), tuple(axes), optimize_points, time_limit, draws)
    total = len(sweeps.points(axes))
    started, said = time.perf_counter(), [0.0]

    def progress(done: int, count: int) -> None:
        now = time.perf_counter()
        if done in (1, count) or now - said[0] >= REPORT_EVERY:
            click.echo(f"points {done:,}/{count:,} ({now - started:.1f} s)", err=True)
            said[0] = now

    with executor_for(workers, scheduler) as executor:
        click.echo(f"sweep: {total:,} points of {' x '.join(str(len(a.entries)) for a in axes)} "
                   f"({', '.join(keys)}), {executor.describe()}", err=True)
        rows = sweeps.run(plan, executor, progress)
    if out is None:
        import pandas as pd

        pd.DataFrame(rows).to_csv(sys.stdout, index=False)
        return
    try:
        sweeps.write_table(rows, out)
    except (OSError, ImportError) as error:
        raise CannotRun(f"cannot write the sweep to {out}: {error}") from error
    click.echo(f"wrote {len(rows):,} rows to {out}", err=True)


COMMANDS = (sweep,)
