"""`planner optimize ... --from-actuals --through WEEK`: the re-plan's options and the scenario transformation,
kept apart from optimize's own module (planner/review/replan.py says what the transformation does)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import click

from planner.cli.common import DB_HELP, CannotRun, plan_store
from planner.prepare import Prepared
from planner.rules.schema import Calendar

META = "planner.replan"
LABEL = "planner.replan.label"


def from_actuals_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """--from-actuals, --through and --db, taken off the command's arguments and kept in the context."""

    @functools.wraps(function)
    def wrapper(*args: Any, from_actuals: bool, through: int | None, db: str | None, **kwargs: Any) -> Any:
        click.get_current_context().meta[META] = (from_actuals, through, db)
        return function(*args, **kwargs)

    wrapper = click.option("--db", metavar="URL|FILE", help="With --from-actuals: " + DB_HELP)(wrapper)
    wrapper = click.option("--through", type=click.IntRange(min=0), metavar="WEEK",
                           help="With --from-actuals: the last week of actuals to fix (default: the last week "
                                "imported).")(wrapper)
    return click.option("--from-actuals", is_flag=True,
                        help="Re-plan the weeks after --through only: the past fixed at the imported actuals, "
                             "budget spent deducted, rebate tiers accrued on actual + planned volume, calendar "
                             "rules counting the events already run (docs/review.md).")(wrapper)


def replanned(ctx: click.Context, prepared: Prepared) -> Prepared:
    """The prepared scenario with its past fixed at the actuals, when --from-actuals asks for it."""
    from_actuals, through, db = ctx.meta.get(META, (False, None, None))
    if not from_actuals:
        if through is not None:
            raise click.UsageError("--through needs --from-actuals")
        return prepared
    from planner.actuals.store import load_actuals
    from planner.review.replan import replan_rules

    rules = prepared.resolved.rules
    if rules.calendar is None:
        raise CannotRun("the scenario's rules have no calendar")
    with plan_store(db, read_only=True) as store:
        actuals = load_actuals(store, rules.calendar.year)
    week = actuals.last_week if through is None else through
    if week > rules.calendar.weeks:
        raise click.BadParameter(f"week {week} is after the plan year's last week {rules.calendar.weeks}",
                                 param_hint="--through")
    if week > actuals.last_week:
        raise CannotRun(f"the plan store holds actuals of {rules.calendar.year} through week {actuals.last_week} "
                        f"only, not {week}: import them first (planner actuals import)")
    events = list(prepared.plan.events if prepared.plan else rules.events)
    result = replan_rules(rules, events, actuals, week)
    ctx.meta[LABEL] = revision_label(rules.calendar, week)
    for line in result.log:
        click.echo(f"re-plan: {line}", err=True)
    return replace(prepared, resolved=replace(prepared.resolved, rules=result.rules), plan=None)


def revision_label(calendar: Calendar, through: int) -> str:
    """The title a re-plan through `through` suggests for its version: "Q1 revision" for the quarter the week
    falls in ("" through week 0: nothing is fixed, it is a fresh plan)."""
    for quarter in range(1, len(calendar.quarters) + 1):
        if through in calendar.quarter_weeks(quarter):
            return f"Q{quarter} revision"
    return ""


def replan_label(ctx: click.Context) -> str:
    """The re-plan's suggested title, "" when the command did not re-plan."""
    return str(ctx.meta.get(LABEL, ""))
