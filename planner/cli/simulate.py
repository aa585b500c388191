"""`planner simulate` and `planner compare`: evaluating scenarios (deterministic, or with Monte Carlo draws)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from planner.cli.cluster import cluster_options, executor_for
from planner.cli.common import (
    SET_HELP,
    CannotRun,
    allow_findings_option,
    check_out,
    check_readable,
    command_line,
    refuse_if_broken,
    simulate,
    text_style,
    write_or_fail,
)
from planner.prepare import Prepared, prepare, set_keys

if TYPE_CHECKING:
    from planner.report.files import Detail


@click.command("simulate")
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--draws", type=click.IntRange(min=0),
              help="Monte Carlo draws (0 = deterministic). Shorthand for options.draws.")
@click.option("--seed", type=click.IntRange(min=0), help="Random seed for the draws. Shorthand for options.seed.")
@click.option("--plan", "plan_file", type=click.Path(path_type=Path),
              help="Evaluate this plan file (e.g. from planner optimize) instead of the rules' events; it must keep "
                   "every locked event. Shorthand for options.plan.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help=SET_HELP)
@click.option("--out", type=click.Path(path_type=Path),
              help="Write totals, accounts, account_weeks, product_weeks (per SKU, with its order suggestion), "
                   "policy and uncertainty as CSV (names beside ids, units in the headers, money in cents) and "
                   "Parquet (if pyarrow is installed), overrides.txt and simulation.xlsx into this folder. A new "
                   "folder, or one holding only earlier results, which is replaced only once every file is "
                   "written.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Tables for people, or one JSON object for scripts.")
@allow_findings_option
@cluster_options
@click.pass_context
def simulate_command(ctx: click.Context, scenario: Path, draws: int | None, seed: int | None,
                     plan_file: Path | None, sets: tuple[str, ...], out: Path | None, fmt: str,
                     allow_findings: bool, workers: int | None, scheduler: str | None) -> None:
    """Simulate a scenario: volume, trade spend, margin and policy checks per account, P10/P50/P90 with draws.

    A scenario with error findings (as `planner validate` judges it) is refused: the findings on stderr, exit 1,
    nothing written; --allow-findings runs it anyway as a deliberate what-if.

    \b
    Examples:
      planner simulate scenarios/budget-cut-10.yaml --draws 500 --set budgets.bud-total-2027.max=4.2M
      planner simulate scenarios/base.yaml --set budgets.bud-total-2027.max=500k --allow-findings
      planner simulate scenarios/base.yaml --draws 2000 --workers 2
    """
    from planner.report.simulation import render_simulation

    check_readable([scenario])
    check_out(out)
    prepared = prepare(scenario, command_line(sets, draws, seed, plan_file))
    refuse_if_broken(ctx, [prepared], allow_findings)
    with executor_for(workers, scheduler) as executor:
        simulation = simulate(prepared, executor=executor)
    if out is not None:
        from planner.report.files import write_results

        folder, detail = out, _detail(prepared)
        write_or_fail(out, lambda: write_results(simulation, folder, detail))
    click.echo(render_simulation(simulation, fmt, **text_style()))


def _detail(prepared: Prepared) -> Detail:
    """Names and the per-SKU table of the plan a prepared scenario runs (its plan file's events, or its own)."""
    from planner.report.files import Detail

    rules = prepared.resolved.rules
    return Detail.of(rules, prepared.plan.events if prepared.plan else rules.events)


@click.command()
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--draws", type=click.IntRange(min=0), help="Monte Carlo draws for every scenario (default: none).")
@click.option("--seed", type=click.IntRange(min=0), help="Random seed for the draws.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help=SET_HELP + " Applies to every scenario.")
@click.option("--out", type=click.Path(path_type=Path),
              help="Write comparison.csv (each KPI per scenario, deltas against the first), comparison_accounts.csv "
                   "(each account's KPIs per scenario, names beside ids), their Parquet twins and comparison.xlsx "
                   "into this folder (a new folder, or one holding only an earlier comparison).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Tables for people, or one JSON object for scripts.")
@allow_findings_option
@click.pass_context
def compare(ctx: click.Context, scenarios: tuple[Path, ...], draws: int | None, seed: int | None,
            sets: tuple[str, ...], out: Path | None, fmt: str, allow_findings: bool) -> None:
    """Simulate scenarios side by side, with deltas against the first one (deterministic unless --draws).

    Refused (exit 1, the findings on stderr) when any scenario has error findings, unless --allow-findings.

    \b
    Examples:
      planner compare scenarios/base.yaml scenarios/budget-cut-10.yaml scenarios/summer-push.yaml
      planner compare scenarios/base.yaml scenarios/no-bogo-carrefour.yaml --out results/no-bogo
      planner compare scenarios/base.yaml scenarios/budget-cut-10.yaml --set budgets.bud-total-2027.max=500k \
        --allow-findings
    """
    from planner.report.simulation import render_comparison

    if len(scenarios) < 2:
        raise click.UsageError("compare needs at least two scenarios")
    check_readable(scenarios)
    if out is not None:
        from planner.folders import unsafe_target
        from planner.report.files import COMPARISON_FILES

        problem = unsafe_target(out, COMPARISON_FILES)
        if problem:
            raise CannotRun(problem)
    entries = command_line(sets, draws, seed, None)
    prepared = [prepare(scenario, entries) for scenario in scenarios]
    refuse_if_broken(ctx, prepared, allow_findings)
    deterministic = 0 if "options.draws" not in set_keys(entries) else None
    simulations = [simulate(run, deterministic) for run in prepared]
    if out is not None:
        from planner.report.files import Detail, write_comparison

        folder, detail = out, Detail.of(prepared[0].resolved.rules)
        write_or_fail(out, lambda: write_comparison(simulations, folder, detail), "the comparison")
    click.echo(render_comparison(simulations, fmt, **text_style()))


COMMANDS = (simulate_command, compare)
