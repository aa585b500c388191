"""The `planner` command line: a thin shell over functions that are all reachable from Python.

Exit codes are a contract CI relies on: 0 clean, 1 findings at error level (or warnings with --fail-on-warn),
2 the command could not run (usage errors, missing or unreadable paths, or an unexpected exception). Heavy
libraries (pyomo, highspy, openpyxl) are imported only inside the commands that solve or write workbooks, so
`planner validate` stays fast enough for a pre-commit hook; every import here is therefore done lazily.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from planner.results import Simulation
    from planner.rules.findings import Finding
    from planner.rules.plan import Plan
    from planner.rules.scenario import Resolved

CANNOT_RUN = 2
SCHEMA_IDS = {
    "rules": ("urn:promo-planner:schema:rule-file", "Promo Planner rule file"),
    "scenario": ("urn:promo-planner:schema:scenario-file", "Promo Planner scenario file"),
}
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class CannotRun(click.ClickException):
    """A problem that stops the command before it can judge anything: exit 2, one line on stderr."""

    exit_code = CANNOT_RUN


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


def _check_readable(paths: Sequence[Path]) -> None:
    """Named paths must exist and be readable: a typo in CI must fail as 'cannot run', not as a finding."""
    for path in paths:
        if not path.exists():
            raise CannotRun(f"path does not exist: {path}")
        if not os.access(path, os.R_OK):
            raise CannotRun(f"path cannot be read: {path}")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github", "sarif", "junit"]),
              default="text", show_default=True, help="How to write the findings.")
@click.option("--fail-on-warn", is_flag=True, help="Exit 1 on warnings too, not only on errors.")
@click.pass_context
def validate(ctx: click.Context, paths: tuple[Path, ...], fmt: str, fail_on_warn: bool) -> None:
    """Check rule files, rules folders and scenario files; every problem with file:line:column and a fix."""
    from planner.report.findings import render
    from planner.validate import validate as run_validate

    _check_readable(paths)
    report = run_validate(list(paths))
    click.echo(render(report, fmt, fail_on_warn))
    ctx.exit(report.exit_code(fail_on_warn))


def json_schema(scenario: bool = False) -> dict[str, Any]:
    """The JSON Schema of a rule file (or of a scenario file), for yaml-language-server and CI linters."""
    if scenario:
        from pydantic import BaseModel, ConfigDict

        from planner.rules.scenario import ScenarioSpec

        class ScenarioFile(BaseModel):
            """One scenario file: a single `scenario:` mapping."""

            model_config = ConfigDict(extra="forbid")
            scenario: ScenarioSpec

        schema = ScenarioFile.model_json_schema(by_alias=True)
    else:
        from planner.rules.schema import RuleFile

        schema = RuleFile.model_json_schema(by_alias=True)
    schema_id, title = SCHEMA_IDS["scenario" if scenario else "rules"]
    return {"$schema": JSON_SCHEMA_DIALECT, "$id": schema_id, **schema, "title": title}


@main.command()
@click.option("--scenario", is_flag=True, help="Print the schema of scenario files instead of rule files.")
@click.option("--markdown", is_flag=True, help="Print the field-by-field reference that docs/rules.md embeds.")
def schema(scenario: bool, markdown: bool) -> None:
    """Print the JSON Schema of rule files (point yaml-language-server at it for completion and checks)."""
    if markdown:
        from planner.rules.reference import reference_markdown

        click.echo(reference_markdown())
        return
    click.echo(json.dumps(json_schema(scenario), indent=2, ensure_ascii=False))


# --- simulate and compare ---------------------------------------------------------------------------------

PROGRESS_MIN_DRAWS = 50
SHORTHANDS = ("draws", "seed", "plan")


@dataclass
class Prepared:
    """A scenario ready to simulate: resolved rules and options, the plan (if any), and what blocks it."""

    resolved: Resolved
    plan: Plan | None
    findings: list[Finding]
    files: list[str]
    applied: list[str]


def _command_line(sets: Sequence[str], draws: int | None, seed: int | None, plan: Path | None) -> list[str]:
    """--draws/--seed/--plan are shorthands for `--set options.X=...` (the command-line layer, highest precedence)."""
    entries = list(sets)
    if draws is not None:
        entries.append(f"options.draws={draws}")
    if seed is not None:
        entries.append(f"options.seed={seed}")
    if plan is not None:
        entries.append(f"options.plan={json.dumps(str(plan))}")  # a JSON string is YAML: '123' or 'yes' stay text
    return entries


def _set_keys(entries: Sequence[str]) -> set[str]:
    return {entry.split("=", 1)[0].strip() for entry in entries if "=" in entry}


def _prepare(scenario: Path, entries: list[str]) -> Prepared:
    """Resolve, check what a simulation needs, and load and check the plan file if one is named.

    Blocking: load, schema and override errors, unknown references and weeks outside the year (the simulation
    would be meaningless). Not blocking: consistency findings such as account minimums over a budget or a price
    floor a worst-case stack breaks; a what-if may be exactly that, and the policy checks show the consequences
    (`planner validate` reports them). A plan named on the command line is relative to the working directory; one
    named in the scenario is relative to the scenario file. Option overrides are not in resolve's log, so the
    command-line ones are logged here.
    """
    from planner.check.calendar import check_weeks
    from planner.check.context import CheckContext
    from planner.check.references import check_references
    from planner.rules.load import display_name
    from planner.rules.plan import check_plan, load_plan
    from planner.rules.scenario import resolve

    resolved = resolve(scenario, entries)
    findings = list(resolved.findings)
    if resolved.ok:
        context = CheckContext(resolved.rules)
        findings.extend(check_references(context) or check_weeks(context))
    files = list(resolved.chain) + list(resolved.rules.files)
    options = resolved.options
    applied = list(resolved.applied)
    keys = _set_keys(entries)
    plan = None
    if options.plan is not None and resolved.ok:
        base = Path.cwd() if "options.plan" in keys else scenario.parent
        plan = load_plan(base / options.plan)
        files.append(display_name(base / options.plan))
        findings.extend(plan.findings)
        if not plan.findings:
            findings.extend(check_plan(plan, resolved.rules))
            findings.extend(check_weeks(CheckContext(resolved.rules.replace(events=tuple(plan.events)))))
            if plan.vividness:  # the plan's vividness purchases are part of the scenario from here on
                resolved = replace(resolved, rules=plan.rules(resolved.rules))
    return Prepared(resolved, plan, findings, files, applied)


def _refuse_if_broken(ctx: click.Context, prepared: Sequence[Prepared]) -> None:
    """Error findings stop the run before anything is simulated or written: findings as text on stderr, exit 1
    (2 when a file could not be read), exactly as `planner validate` would judge them."""
    from planner.report.findings import render
    from planner.rules.findings import Severity, sort_findings
    from planner.validate import Report

    findings = [item for run in prepared for item in run.findings]
    if not any(item.severity is Severity.ERROR for item in findings):
        return
    files = list(dict.fromkeys(name for run in prepared for name in run.files))
    unique = list({(item.code, item.location, item.message): item for item in findings}.values())
    report = Report(sort_findings(unique), files,
                    max(run.resolved.rules.rule_count for run in prepared))
    click.echo(render(report, "text"), err=True)
    ctx.exit(report.exit_code())


@contextmanager
def _progress(draws: int, label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr for long Monte Carlo runs, only on a terminal (logs and pipes stay clean)."""
    if draws < PROGRESS_MIN_DRAWS or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=draws)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _simulate(run: Prepared, draws: int | None = None) -> Simulation:
    from planner.simulate import simulate as run_simulation

    resolved = run.resolved
    options = resolved.options if draws is None else resolved.options.model_copy(update={"draws": draws})
    with _progress(options.draws, f"{resolved.id}: Monte Carlo") as progress:
        return run_simulation(
            resolved.rules, options, scenario=resolved.id, name=resolved.name,
            events=run.plan.events if run.plan else None, plan_source=run.plan.file if run.plan else "rules",
            applied=run.applied, progress=progress)


def _text_style() -> dict[str, Any]:
    """Colour and the terminal's width on a terminal; plain, wide, stable text anywhere else."""
    if sys.stdout.isatty():
        return {"color": True, "width": shutil.get_terminal_size().columns}
    return {"color": False}


def _check_out(out: Path | None, optimization: bool = False) -> None:
    from planner.report.files import OPTIMIZATION_FILES, RESULT_FILES, unsafe_target

    problem = unsafe_target(out, OPTIMIZATION_FILES if optimization else RESULT_FILES) if out is not None else None
    if problem:
        raise CannotRun(problem)


SET_HELP = ("Override a value by dotted path, e.g. budgets.bud-total-2027.max=4500000 or options.draws=500 "
            "(repeatable; highest precedence).")


@main.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--draws", type=click.IntRange(min=0),
              help="Monte Carlo draws (0 = deterministic). Shorthand for options.draws.")
@click.option("--seed", type=click.IntRange(min=0), help="Random seed for the draws. Shorthand for options.seed.")
@click.option("--plan", "plan_file", type=click.Path(path_type=Path),
              help="Evaluate this plan file (e.g. from planner optimize) instead of the rules' events; it must keep "
                   "every locked event. Shorthand for options.plan.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help=SET_HELP)
@click.option("--out", type=click.Path(path_type=Path),
              help="Write totals, accounts, account_weeks, policy and uncertainty CSV files, overrides.txt and "
                   "simulation.xlsx into this folder, plus account_weeks.parquet if pyarrow is installed (skipped "
                   "silently otherwise). A new folder, or one holding only earlier results, which is replaced "
                   "only once every file is written.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Tables for people, or one JSON object for scripts.")
@click.pass_context
def simulate(ctx: click.Context, scenario: Path, draws: int | None, seed: int | None, plan_file: Path | None,
             sets: tuple[str, ...], out: Path | None, fmt: str) -> None:
    """Simulate a scenario: volume, trade spend, margin and policy checks per account, P10/P50/P90 with draws."""
    from planner.report.simulation import render_simulation

    _check_readable([scenario])
    _check_out(out)
    prepared = _prepare(scenario, _command_line(sets, draws, seed, plan_file))
    _refuse_if_broken(ctx, [prepared])
    simulation = _simulate(prepared)
    if out is not None:
        from planner.report.files import write_results

        try:
            written = write_results(simulation, out)
        except OSError as error:
            raise CannotRun(f"cannot write results to {out}: {error.strerror or error}") from error
        click.echo(f"wrote {len(written)} files to {out}: {', '.join(written)}", err=True)
    click.echo(render_simulation(simulation, fmt, **_text_style()))


@main.command()
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--draws", type=click.IntRange(min=0), help="Monte Carlo draws for every scenario (default: none).")
@click.option("--seed", type=click.IntRange(min=0), help="Random seed for the draws.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help=SET_HELP + " Applies to every scenario.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Tables for people, or one JSON object for scripts.")
@click.pass_context
def compare(ctx: click.Context, scenarios: tuple[Path, ...], draws: int | None, seed: int | None,
            sets: tuple[str, ...], fmt: str) -> None:
    """Simulate scenarios side by side, with deltas against the first one (deterministic unless --draws)."""
    from planner.report.simulation import render_comparison

    if len(scenarios) < 2:
        raise click.UsageError("compare needs at least two scenarios")
    _check_readable(scenarios)
    entries = _command_line(sets, draws, seed, None)
    prepared = [_prepare(scenario, entries) for scenario in scenarios]
    _refuse_if_broken(ctx, prepared)
    deterministic = 0 if "options.draws" not in _set_keys(entries) else None
    simulations = [_simulate(run, deterministic) for run in prepared]
    click.echo(render_comparison(simulations, fmt, **_text_style()))


def _optimize_command_line(sets: Sequence[str], time_limit: float | None, gap: float | None,
                           objective: str | None) -> list[str]:
    """--time-limit/--gap/--objective are shorthands for `--set options.X=...`, like simulate's."""
    shorthands = (("time_limit", time_limit), ("gap", gap), ("objective", objective))
    return _command_line(sets, None, None, None) + [f"options.{key}={value}" for key, value in shorthands
                                                     if value is not None]


@main.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True),
              help="Seconds for each solve (the plan, each frontier point, the diagnosis); the best plan found "
                   "is returned, marked as stopped at the time limit. Shorthand for options.time_limit.")
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
@click.pass_context
def optimize(ctx: click.Context, scenario: Path, time_limit: float | None, gap: float | None, objective: str | None,
             frontier_points: int, sets: tuple[str, ...], out: Path | None, fmt: str) -> None:
    """Find the promotion plan that earns the most within every rule; re-check it with the simulator.

    Exit 0 with a plan that keeps every rule (optimal, or the best found at the time limit); 1 when the rules
    admit no plan (the conflicting rules are named), the plan breaks a rule on re-check, or the scenario has
    errors; 2 when it cannot run, or no plan was found before the time limit.
    """
    from planner.optimize.run import optimize as run_optimize
    from planner.report.optimization import render_optimization, write_optimization

    _check_readable([scenario])
    _check_out(out, optimization=True)
    prepared = _prepare(scenario, _optimize_command_line(sets, time_limit, gap, objective))
    _refuse_if_broken(ctx, [prepared])
    if sys.stderr.isatty():
        click.echo(f"optimizing {prepared.resolved.id} (time limit {prepared.resolved.options.time_limit:g} s per "
                   "solve) ...", err=True)
    result = run_optimize(prepared.resolved, frontier_points=frontier_points,
                          calendar=prepared.plan.events if prepared.plan else None, applied=prepared.applied)
    if out is not None and result.simulation is not None:
        try:
            written = write_optimization(result, out)
        except OSError as error:
            raise CannotRun(f"cannot write results to {out}: {error.strerror or error}") from error
        click.echo(f"wrote {len(written)} files to {out}: {', '.join(written)}", err=True)
    elif out is not None:
        click.echo(f"nothing written to {out}: there is no plan ({result.status.value})", err=True)
    click.echo(render_optimization(result, fmt, **_text_style()))
    ctx.exit(result.exit_code)


from planner import cli_report, cli_store  # noqa: F401 - register the plan-store and report commands on `main`

if __name__ == "__main__":
    main(prog_name="planner")
