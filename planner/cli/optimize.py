"""`planner optimize`: the promotion plan that earns the most within every rule, re-checked by the simulator."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from planner.cli.cluster import cluster_options, executor_for
from planner.cli.common import (
    INTERRUPTED,
    SET_HELP,
    allow_findings_option,
    check_out,
    check_readable,
    command_line,
    refuse_if_broken,
    text_style,
    write_or_fail,
)
from planner.cli.replan import from_actuals_options, replan_label, replanned
from planner.prepare import prepare


def optimize_command_line(sets: Sequence[str], time_limit: float | None, gap: float | None,
                          objective: str | None) -> list[str]:
    """--time-limit/--gap/--objective are shorthands for `--set options.X=...`, like simulate's."""
    shorthands = (("time_limit", time_limit), ("gap", gap), ("objective", objective))
    return command_line(sets) + [f"options.{key}={value}" for key, value in shorthands if value is not None]


@click.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True),
              help="Seconds for the whole command; on the limit (or Ctrl-C) the best plan found so far is returned "
                   "and written, with status time_limit and its gap. Shorthand for options.time_limit.")
@click.option("--gap", type=click.FloatRange(min=0, max=1),
              help="Relative gap at which a plan counts as optimal, e.g. 0.001. Shorthand for options.gap.")
@click.option("--objective", type=click.Choice(["profit", "volume", "revenue"]),
              help="What to maximise; volume and revenue keep gross profit at least the no-promotion plan's. "
                   "Shorthand for options.objective.")
@click.option("--frontier", "frontier_points", type=click.IntRange(min=0), default=0, show_default=True,
              help="Also trace the best profit at N sizes of the total budget, 50% to 150% of its max.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help=SET_HELP)
@click.option("--out", type=click.Path(path_type=Path),
              help="Write plan.yaml (for planner simulate --plan), optimization.json, frontier.csv (with "
                   "--frontier) and the plan's simulation files into this folder; a new folder, or one holding only "
                   "earlier results, replaced only once every file is written. Nothing is written without a plan.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Tables for people, or one JSON object for scripts.")
@from_actuals_options
@allow_findings_option
@cluster_options
@click.pass_context
def optimize(ctx: click.Context, scenario: Path, time_limit: float | None, gap: float | None, objective: str | None,
             frontier_points: int, sets: tuple[str, ...], out: Path | None, fmt: str, allow_findings: bool,
             workers: int | None, scheduler: str | None) -> None:
    """Find the promotion plan that earns the most within every rule; re-check it with the simulator.

    Exit 0 with a plan that keeps every rule (optimal, or the best found at the time limit); 1 when the rules
    admit no plan (the conflicting rules are named), the plan breaks a rule on re-check, or the scenario has
    errors; 2 when it cannot run, or no plan was found before the time limit; 130 on Ctrl-C, after the best plan
    found so far is printed (and written with --out). Progress, one line per stage, goes to stderr.

    The checks of `planner validate` run first, the calendar feasibility (PP420) among them: a scenario with
    error findings stops before the model is built (the findings on stderr, exit 1, nothing written), unless
    --allow-findings.

    With --from-actuals the weeks after --through are re-planned with the past fixed at the actuals in the
    plan store (planner actuals import; docs/review.md); plan.yaml carries the label "Qn revision" (the quarter of
    --through), which planner plan submit SCENARIO --plan DIR/plan.yaml gives the next version.

    \b
    Examples:
      planner optimize scenarios/budget-cut-10.yaml --time-limit 60 --out results/budget-cut-10
      planner optimize scenarios/base.yaml --set budgets.bud-total-2027.max=500k --allow-findings --time-limit 60
      planner optimize scenarios/base.yaml --from-actuals --through 13 --time-limit 120 --out results/q1
      planner optimize scenarios/base.yaml --workers 2 --time-limit 120
    """
    from planner.optimize.run import optimize as run_optimize
    from planner.report.optimization import render_optimization, write_optimization

    check_readable([scenario])
    check_out(out, optimization=True)
    prepared = prepare(scenario, optimize_command_line(sets, time_limit, gap, objective))
    refuse_if_broken(ctx, [prepared], allow_findings)
    prepared = replanned(ctx, prepared)
    with executor_for(workers, scheduler) as executor:
        result = run_optimize(prepared.resolved, frontier_points=frontier_points,
                              calendar=prepared.plan.events if prepared.plan else None, applied=prepared.applied,
                              progress=lambda line: click.echo(line, err=True), executor=executor)
    if out is not None and result.simulation is not None:
        from planner.report.files import Detail

        folder, names = out, Detail.of(prepared.resolved.rules)
        label = replan_label(ctx)
        write_or_fail(out, lambda: write_optimization(result, folder, names, label))
    elif out is not None:
        click.echo(f"nothing written to {out}: there is no plan ({result.status.value})", err=True)
    click.echo(render_optimization(result, fmt, **text_style()))
    if result.interrupted:
        click.echo("interrupted: " + ("the best plan found so far is above" if result.has_plan
                                      else "no plan was found before Ctrl-C"), err=True)
        ctx.exit(INTERRUPTED)
    ctx.exit(result.exit_code)


COMMANDS = (optimize,)
