"""`planner init DIR --from-history FILE`: a first rules repository estimated from a sales history."""

from __future__ import annotations

import sys
from pathlib import Path

import click


def _validate_staged(folder: Path) -> list[str]:
    """Errors `planner validate` finds in a staged repository (rules and scenarios); empty when it is valid."""
    from planner.validate import validate

    report = validate([folder / "rules", folder / "scenarios"])
    return [f"{f.location}: {f.code} {f.message}" for f in report.findings if f.severity.value == "error"]


@click.command(name="init")
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@click.option("--from-history", "history", required=True, metavar="FILE",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Sales history: CSV (.csv, .csv.gz), Parquet or Excel, one row per account x product x week "
                   "(docs/history.md).")
@click.option("--columns", metavar="MAP.yaml", type=click.Path(dir_okay=False, path_type=Path),
              help="Column map naming your export's columns for the canonical ones (docs/history.md).")
@click.option("--currency", default="CNY", show_default=True, help="ISO currency of the history's prices.")
@click.pass_context
def init(ctx: click.Context, directory: Path, history: Path, columns: Path | None, currency: str) -> None:
    """Bootstrap a rules repository in DIR from a sales history alone: accounts, products, categories, the
    calendar of the 52 weeks after the history, baselines, a first response profile and the mechanics the
    history ran, plus scenarios/base.yaml -- all valid under `planner validate`.

    Every estimate is a documented first guess (comments in the files, docs/history.md). DIR must be absent,
    empty, or hold an unedited earlier init; nothing is written unless everything is. Exit 0 written, 1 the
    history has problems (each with file, row and column), 2 cannot run (DIR holds other work, unreadable
    file).

    \b
    Example:
      planner init frat-demo --from-history frat.parquet --currency USD
      planner validate frat-demo/rules frat-demo/scenarios
    """
    from planner.history.command import run_init

    if columns is not None and not columns.is_file():
        click.echo(f"planner init: column map does not exist: {columns}", err=True)
        ctx.exit(2)
    ctx.exit(run_init(directory, history, columns, currency=currency, check=_validate_staged,
                      out=sys.stdout, err=sys.stderr))


COMMANDS = (init,)
