"""`planner calibrate RULES HISTORY`: fit the economics core's demand to a sales history, backtest it through the
simulator, and write the calibrated demand as rules."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click


@click.command(name="calibrate")
@click.argument("rules", metavar="RULES", type=click.Path(path_type=Path))
@click.argument("history", metavar="HISTORY", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--holdout", default=26, show_default=True, metavar="WEEKS",
              help="Weeks at the end of the history held out and forecast through the simulator (0: none).")
@click.option("--origins", default=1, show_default=True, metavar="N",
              help="Rolling-origin backtest: N holdout windows, each ending --holdout weeks before the next.")
@click.option("--columns", metavar="MAP.yaml", type=click.Path(dir_okay=False, path_type=Path),
              help="Column map naming your export's columns for the canonical ones (docs/history.md).")
@click.option("--out", metavar="DIR", type=click.Path(file_okay=False, path_type=Path),
              help="Write calibrated.yaml, backtest.json and worst_series.png here (a new folder, or one holding "
                   "only an earlier calibration's files; replaced only once every file is written).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def calibrate(ctx: click.Context, rules: Path, history: Path, holdout: int, origins: int, columns: Path | None,
              out: Path | None, output_format: str) -> None:
    """Fit the engine's own demand form (docs/economics.md) to HISTORY for the accounts and products of RULES:
    baselines, seasonality, elasticities, lifts per mechanic (scoped by account and product where the data
    supports it), post-promotion dip and cannibalization, with standard errors. The last --holdout weeks are
    forecast by the simulator from their actual prices and promotions and scored (WAPE, bias; promoted and other
    weeks; per category and account; against a naive 13-week mean).

    calibrated.yaml replaces the rules' seasonality, baselines and response sections; its header records the
    data's sha256, window and fit statistics. Exit 0 done, 1 problems in the rules or the history (located), 2
    cannot run.

    \b
    Example:
      planner calibrate rules/ history/demo-sales.csv --holdout 26 --out calibration
      planner calibrate rules/ history/demo-sales.csv --origins 3 --format json
    """
    from planner.calibrate.command import Request, run_calibrate

    command = "planner calibrate " + shlex.join(sys.argv[2:]) if len(sys.argv) > 1 else "planner calibrate"
    request = Request([rules], history, holdout, origins, columns, out, output_format, command)
    ctx.exit(run_calibrate(request, out=sys.stdout, err=sys.stderr))


COMMANDS = (calibrate,)
