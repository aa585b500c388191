"""The `planner` command line: a thin shell over functions that are all reachable from Python.

One module per command group (validate, simulate, optimize, plan, store, report, history, calibrate, ...), each listing its
commands in `COMMANDS`; what they share lives in planner/cli/common.py, so no command module imports another.
The group below holds the conventions every command keeps: exit 0 / 1 (findings or refused) / 2 (cannot run)
/ 130 (Ctrl-C, one line), an unexpected exception as one line and exit 2 (CI logs never show a traceback),
`-h`, and `planner --version`.
"""

from __future__ import annotations

import os
from importlib import metadata
from typing import Any

import click

from planner.cli import (
    account_plan,
    actuals,
    calibrate,
    history,
    optimize,
    plan,
    report,
    review,
    simulate,
    store,
    sweep,
    validate,
    workbook,
)
from planner.cli.common import INTERRUPTED, CannotRun

DISTRIBUTION = "promo-planner"


def _debugging() -> bool:
    return os.environ.get("PLANNER_DEBUG") == "1"


class PlannerGroup(click.Group):
    """Turns an unexpected exception into one readable line and exit 2, so CI logs never show a traceback.

    Set PLANNER_DEBUG=1 to get the traceback when reporting a bug.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:  # click's own handling would print "Aborted!" and exit 1, like a finding
            click.echo("interrupted", err=True)
            raise click.exceptions.Exit(INTERRUPTED) from None
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as error:
            if _debugging():
                raise
            summary = " ".join(str(error).split()) or "no details"
            raise CannotRun(
                f"internal error: {type(error).__name__}: {summary} (set PLANNER_DEBUG=1 for the traceback)"
            ) from error


def _print_version(ctx: click.Context, _parameter: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    try:
        version = metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        version = "unknown (not installed: pip install -e .)"
    click.echo(f"planner (Promo Planner) {version}")
    ctx.exit(0)


@click.group(cls=PlannerGroup, name="planner", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Print the planner's version and exit.")
def main() -> None:
    """Promo Planner: check promotion rules, simulate scenarios and optimise annual plans.

    Every command exits 0 when all is well, 1 on findings or a refusal, 2 when it cannot run (a usage error, an
    unreadable file, a bad --set value, an absent plan store) and 130 on Ctrl-C. `planner COMMAND -h` shows
    each command's options and an example.

    \b
    Example:
      planner validate rules/ scenarios/ && planner simulate scenarios/base.yaml --draws 0
    """


for _module in (validate, simulate, optimize, sweep, plan, store, report, history, calibrate, actuals, review,
                account_plan):
    for _command in _module.COMMANDS:
        main.add_command(_command)
for _command in workbook.PLAN_COMMANDS:  # plan export / plan import join the plan group of plan.py
    plan.plan.add_command(_command)
