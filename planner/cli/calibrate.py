"""`planner calibrate RULES HISTORY... [--actuals]`: fit the economics core's demand to a sales history, backtest it through the
simulator, and write the calibrated demand as rules."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from planner.cli.common import db_option

if TYPE_CHECKING:
    from planner.history import History
    from planner.rules.schema import RuleSet


@click.command(name="calibrate")
@click.argument("rules", metavar="RULES", type=click.Path(path_type=Path))
@click.argument("histories", metavar="HISTORY...", nargs=-1, required=True,
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("--holdout", default=26, show_default=True, metavar="WEEKS",
              help="Weeks at the end of the history held out and forecast through the simulator (0: none).")
@click.option("--origins", default=1, show_default=True, metavar="N",
              help="Rolling-origin backtest: N holdout windows, each ending --holdout weeks before the next.")
@click.option("--columns", metavar="MAP.yaml", type=click.Path(dir_okay=False, path_type=Path),
              help="Column map naming your export's columns for the canonical ones (docs/history.md).")
@click.option("--out", metavar="DIR", type=click.Path(file_okay=False, path_type=Path),
              help="Write calibrated.yaml, backtest.json and worst_series.png here (a new folder, or one holding "
                   "only an earlier calibration's files; replaced only once every file is written).")
@click.option("--actuals", "with_actuals", is_flag=True,
              help="Refit: add the plan store's actuals of the rules' plan year (planner actuals import) to the "
                   "history.")
@db_option
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def calibrate(ctx: click.Context, rules: Path, histories: tuple[Path, ...], holdout: int, origins: int,
              columns: Path | None, out: Path | None, with_actuals: bool, db: str | None, output_format: str) -> None:
    """Fit the engine's own demand form (docs/economics.md) to HISTORY for the accounts and products of RULES:
    baselines, seasonality, elasticities, lifts per mechanic (scoped by account and product where the data
    supports it), post-promotion dip and cannibalization, with standard errors. The last --holdout weeks are
    forecast by the simulator from their actual prices and promotions and scored (WAPE, bias; promoted and other
    weeks; per category and account; against a naive 13-week mean).

    calibrated.yaml replaces the rules' seasonality, baselines and response sections; its header records the
    data's sha256, window and fit statistics. Exit 0 done, 1 problems in the rules or the history (located), 2
    cannot run.

    A refit (docs/review.md): several HISTORY files (each week in one file only) and/or --actuals are read as
    one history. The first HISTORY alone is fitted too, over the same weeks, and the lifts, elasticities, dips and
    cannibalizations the added data moved are listed, before and after, with their 95 % intervals. Nothing
    is overwritten: --out writes a new calibrated.yaml, naming every part of the data; copy it over the rules'
    when you adopt it.

    \b
    Example:
      planner calibrate rules/ history/demo-sales.csv --holdout 26 --out calibration
      planner calibrate rules/ history/demo-sales.csv --origins 3 --format json
      planner calibrate rules/ history/demo-sales.csv --actuals --holdout 0 --out out/refit
    """
    from planner.calibrate.command import Request, run_calibrate

    if db is not None and not with_actuals:
        raise click.UsageError("--db names the plan store the actuals are read from: give --actuals too")
    command = "planner calibrate " + shlex.join(sys.argv[2:]) if len(sys.argv) > 1 else "planner calibrate"
    request = Request([rules], histories[0], holdout, origins, columns, out, output_format, command,
                      more_history=histories[1:], actuals=store_actuals(db) if with_actuals else None)
    ctx.exit(run_calibrate(request, out=sys.stdout, err=sys.stderr))


def store_actuals(db: str | None) -> Callable[[RuleSet], History]:
    """Reads the plan store's actuals of the rules' plan year as a history (planner.review.as_history)."""

    def read(rules: RuleSet) -> History:
        from planner.actuals.store import load_actuals
        from planner.cli.common import CannotRun, plan_store
        from planner.review.as_history import actuals_history

        if rules.calendar is None:
            raise CannotRun("--actuals: the rules have no calendar, so no plan year to read actuals of")
        year = rules.calendar.year
        with plan_store(db, read_only=True) as store:
            actuals = load_actuals(store, year)
        if not len(actuals.sales):
            raise CannotRun(f"--actuals: the plan store holds no sell-in for {year}; import it first "
                            "(planner actuals import FILE... --scenario SCENARIO)")
        return actuals_history(rules, actuals)

    return read


COMMANDS = (calibrate,)
