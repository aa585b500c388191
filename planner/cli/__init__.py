"""The `planner` command line: a thin shell over functions that are all reachable from Python.

One module per command group (validate, simulate, optimize, store, report), each listing its commands in
`COMMANDS`; what they share lives in planner/cli/common.py, so no command module imports another. The group
below turns an unexpected exception into one line and exit 2, so CI logs never show a traceback.
"""

from __future__ import annotations

import os
from typing import Any

import click

from planner.cli import optimize, report, simulate, store, validate
from planner.cli.common import CannotRun


def _debugging() -> bool:
    return os.environ.get("PLANNER_DEBUG") == "1"


class PlannerGroup(click.Group):
    """Turns an unexpected exception into one readable line and exit 2, so CI logs never show a traceback.

    Set PLANNER_DEBUG=1 to get the traceback when reporting a bug.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as error:
            if _debugging():
                raise
            summary = " ".join(str(error).split()) or "no details"
            raise CannotRun(
                f"internal error: {type(error).__name__}: {summary} (set PLANNER_DEBUG=1 for the traceback)"
            ) from error


@click.group(cls=PlannerGroup, name="planner")
def main() -> None:
    """Promo Planner: check promotion rules, simulate scenarios and optimise annual plans."""


for _module in (validate, simulate, optimize, store, report):
    for _command in _module.COMMANDS:
        main.add_command(_command)
