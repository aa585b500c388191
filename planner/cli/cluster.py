"""`--workers N` and `--scheduler ADDRESS`: where a command's independent tasks run (planner/execute/).

Shared by the commands whose work splits into independent tasks (optimize, simulate, sweep). Neither option: in
this process. `--workers N`: a Dask LocalCluster of N worker processes on this machine, started for the command
and closed after it. `--scheduler ADDRESS`: a running cluster (`dask scheduler`, `dask worker ADDRESS`; see
docs/scale.md). The results are the same, byte for byte, wherever the tasks run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from planner.cli.common import CannotRun

if TYPE_CHECKING:
    from planner.execute import Executor

WORKERS_HELP = ("Run the independent tasks (accounts, draws, sweep points) on a Dask LocalCluster of N worker "
                "processes started for this command. Same results as without.")
SCHEDULER_HELP = ("Run the independent tasks on a running Dask cluster, e.g. tcp://10.0.0.5:8786 (start one with "
                  "`dask scheduler` and `dask worker ADDRESS`; docs/scale.md). Same results as without.")


def cluster_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """The --workers and --scheduler options."""
    function = click.option("--scheduler", metavar="ADDRESS", help=SCHEDULER_HELP)(function)
    return click.option("--workers", type=click.IntRange(min=1), metavar="N", help=WORKERS_HELP)(function)


@contextmanager
def executor_for(workers: int | None, scheduler: str | None) -> Iterator[Executor]:
    """The executor the options name; a cluster that cannot be started or reached is exit 2 (cannot run)."""
    from planner.execute import CannotConnect, connect

    if workers is not None and scheduler is not None:
        raise click.UsageError("--workers starts a cluster here and --scheduler uses a running one: give one of them")
    try:
        with connect(workers, scheduler) as executor:
            yield executor
    except CannotConnect as error:
        raise CannotRun(str(error)) from error
