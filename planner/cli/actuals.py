"""`planner actuals import|show`: the plan year's sell-in and executed promotions, kept in the plan store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from planner.cli.common import FINDINGS, CannotRun, check_readable, db_option, plan_store, store_errors
from planner.prepare import prepare

if TYPE_CHECKING:
    from planner.rules.schema import RuleSet



@click.group()
def actuals() -> None:
    """Actuals of the plan year: sell-in per account x product x week and the promotions that ran (docs/review.md).

    \b
    Example:
      planner actuals import history/actuals-2027-q1-*.csv --scenario scenarios/base.yaml --as alice
    """


def _rules_of(scenario: Path) -> RuleSet:
    """The checked rules of a scenario, for the ids and the calendar of the plan year."""
    check_readable([scenario])
    prepared = prepare(scenario, [])
    errors = [f for f in prepared.findings if f.severity.value == "error"]
    if errors or prepared.resolved.rules.calendar is None:
        raise CannotRun(f"{scenario}: the scenario has errors or no calendar; run planner validate {scenario}")
    return prepared.resolved.rules


@actuals.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--scenario", required=True, type=click.Path(path_type=Path),
              help="A scenario of the plan year: its rules check the ids and its calendar maps dates to weeks.")
@click.option("--as", "actor", metavar="USER",
              help="Who imports (default: $PLANNER_USER); a planner. On a shared (PostgreSQL) store the acting user "
                   "is the database login.")
@click.option("--key", "key_file", metavar="FILE",
              help="Your Ed25519 private key (default: $PLANNER_KEY), once an admin registered your public key.")
@db_option
@click.pass_context
def import_(ctx: click.Context, files: tuple[Path, ...], scenario: Path, actor: str | None, key_file: str | None,
            db: str | None) -> None:
    """Import actuals files (CSV, Parquet, Excel) into the plan store for the scenario's plan year.

    A sell-in file is a sales history (docs/history.md) with invoice_price on every row; a file with a
    product_group column is a list of executed promotions (docs/review.md). Every file is checked first: any
    problem (file, row, column, what, how to fix) and nothing is imported, exit 1. Re-importing a week replaces
    that week's sell-in, re-importing an event id replaces that promotion; each file is one audit row.

    \b
    Example:
      planner actuals import history/actuals-2027-q1-sales.csv history/actuals-2027-q1-promotions.csv \\
          --scenario scenarios/base.yaml --as alice
    """
    from planner.actuals.read import read_actuals
    from planner.actuals.store import import_actuals
    from planner.history import HistoryError, HistoryUnreadable
    from planner.store import identity

    with store_errors():
        user, key = identity.typed_user(actor), identity.load_key(key_file)
    check_readable(list(files))
    rules = _rules_of(scenario)
    checked, problems, unreadable = [], [], False
    for path in files:
        try:
            checked.append(read_actuals(path, rules))
        except HistoryError as error:
            problems.extend(error.problems)
            unreadable |= isinstance(error, HistoryUnreadable)
    if problems:
        for problem in problems:
            click.echo(str(problem), err=True)
        click.echo(f"nothing imported: {len(problems)} problem(s)", err=True)
        ctx.exit(2 if unreadable else FINDINGS)
    assert rules.calendar is not None
    with plan_store(db) as store:
        done = import_actuals(store, rules.calendar.year, checked, user, key)
    for item in done:
        weeks = f"weeks {item.weeks[0]}-{item.weeks[-1]}" if item.weeks else "no weeks"
        click.echo(f"{item.source}: {item.rows:,} {item.kind} row(s) for {rules.calendar.year}, {weeks}"
                   + (f", replacing {item.replaced:,}" if item.replaced else ""))


@actuals.command("show")
@click.option("--scenario", required=True, type=click.Path(path_type=Path), help="A scenario of the plan year.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@db_option
def show(scenario: Path, fmt: str, db: str | None) -> None:
    """What the plan store holds for the scenario's plan year: weeks, rows, cases, promotions.

    \b
    Example:
      planner actuals show --scenario scenarios/base.yaml --format json
    """
    from planner.actuals.store import load_actuals

    rules = _rules_of(scenario)
    assert rules.calendar is not None
    with plan_store(db, read_only=True) as store:
        loaded = load_actuals(store, rules.calendar.year)
    summary = {"year": loaded.year, "last_week": loaded.last_week, "rows": len(loaded.sales),
               "cases": float(loaded.sales["cases"].sum()), "invoice_value": float(loaded.sales["invoice_value"].sum()),
               "weeks": sorted(int(w) for w in loaded.sales["week"].unique()),
               "promotions": [p.event for p in loaded.promotions]}
    if fmt == "json":
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(f"actuals {loaded.year}: {summary['rows']:,} sell-in rows through week {loaded.last_week}, "
               f"{summary['cases']:,.0f} cases, {summary['invoice_value']:,.0f} invoiced; "
               f"{len(loaded.promotions)} executed promotion(s)")


COMMANDS = (actuals,)
