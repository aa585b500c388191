"""`planner plan export` and `planner plan import`: the plan as an Excel workbook planners edit and bring back.

Attached to the `plan` group (planner/cli/plan.py) by planner/cli/__init__.py; the workbook itself is
planner/workbook/ (docs/workbook.md).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path

import click

from planner.cli.common import (
    FINDINGS,
    SET_HELP,
    CannotRun,
    allow_findings_option,
    check_readable,
    command_line,
    refuse_if_broken,
    simulate,
)
from planner.prepare import prepare


def write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """Let `write(staging_path)` fill a file beside `path`, then rename it into place: all or nothing."""
    staging = path.with_name(f".{path.name}.partial-{uuid.uuid4().hex[:8]}")
    try:
        write(staging)
        os.replace(staging, path)
    except OSError as error:
        staging.unlink(missing_ok=True)
        raise CannotRun(f"cannot write {path}: {error.strerror or error}") from error
    except BaseException:
        staging.unlink(missing_ok=True)
        raise


def _plan_document(path: Path) -> dict[str, object] | None:
    """The `plan:` mapping if `path` is a plan file, else None (a scenario)."""
    from planner.rules.source import load_yaml

    document, _ = load_yaml(path)
    if document is not None and isinstance(document.data, dict) and set(document.data) == {"plan"} \
            and isinstance(document.data["plan"], dict):
        return document.data["plan"]
    return None


def _scenario_named(scenario_id: str) -> Path:
    """The scenario file in ./scenarios whose id is `scenario_id` (a plan file names its scenario by id)."""
    from planner.rules.source import load_yaml

    for path in sorted(Path("scenarios").glob("*.y*ml")):
        document, _ = load_yaml(path)
        data = document.data if document is not None else None
        if isinstance(data, dict) and isinstance(data.get("scenario"), dict) and data["scenario"].get("id") == scenario_id:
            return path
    raise click.UsageError(f"the plan was made for scenario '{scenario_id}', which no file in ./scenarios holds: "
                           "name it with --scenario FILE")


@click.command("export")
@click.argument("source", metavar="SCENARIO|PLAN", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="The workbook to write (.xlsx).")
@click.option("--scenario", "scenario_file", type=click.Path(path_type=Path),
              help="With a PLAN file: the scenario it runs in (default: the file in ./scenarios with the plan's "
                   "scenario id).")
@click.option("--plan", "plan_file", type=click.Path(path_type=Path),
              help="With a SCENARIO: export this plan file instead of the rules' events (like simulate --plan).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help=SET_HELP)
@allow_findings_option
@click.pass_context
def export_command(ctx: click.Context, source: Path, out: Path, scenario_file: Path | None, plan_file: Path | None,
                   sets: tuple[str, ...], allow_findings: bool) -> None:
    """Write the plan as an Excel workbook: the promotion calendar to edit, and each event's cost, volume and ROI,
    budgets and policy headroom to read (docs/workbook.md).

    SCENARIO exports the scenario's own events (or its options.plan); PLAN exports a plan file such as
    planner optimize wrote. A scenario with error findings is refused, as simulate refuses it.

    \b
    Examples:
      planner plan export results/opt/plan.yaml --out plan.xlsx
      planner plan export scenarios/base.yaml --out base.xlsx
    """
    from planner.rules.vividness import Bought
    from planner.workbook.export import PlanSource, write_workbook

    check_readable([source])
    if out.suffix.lower() != ".xlsx":
        raise click.BadParameter(f"{out}: the workbook's name ends in .xlsx", param_hint="--out")
    plan = _plan_document(source)
    if plan is not None:
        if plan_file is not None:
            raise click.UsageError("name one plan: either PLAN or --plan")
        plan_file = source
        source = scenario_file or _scenario_named(str(plan.get("scenario", "")))
        check_readable([source])
    prepared = prepare(source, command_line(sets, draws=0, plan=plan_file))
    refuse_if_broken(ctx, [prepared], allow_findings)
    simulation = simulate(prepared)
    rules = prepared.resolved.rules
    vividness: Bought | None = None
    if prepared.plan is not None:
        events, made_by = prepared.plan.events, prepared.plan.source
        options_plan = prepared.resolved.options.plan
        named = plan_file or (source.parent / options_plan if options_plan is not None else None)
        listed = _plan_document(Path(named)) if named is not None else None
        if listed is not None and "vividness" in listed:
            vividness = prepared.plan.bought
    else:
        events, made_by = list(rules.events), "rules"
    origin = PlanSource(prepared.plan.scenario if prepared.plan else prepared.resolved.id, made_by, vividness)
    write_atomically(out, lambda staging: write_workbook(staging, rules, events, simulation, origin))
    click.echo(f"wrote {out}: {len(events)} events on the Calendar sheet", err=True)


@click.command("import")
@click.argument("workbook", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="The plan file to write (.yaml).")
@click.pass_context
def import_command(ctx: click.Context, workbook: Path, out: Path) -> None:
    """Read an edited plan workbook back as a plan file; then validate, simulate --plan or submit --plan it.

    Every problem is reported as Sheet!Cell, what is wrong and how to fix it; with any problem nothing is
    written and the exit code is 1. A workbook brought back unedited gives the identical plan file.

    \b
    Example:
      planner plan import plan.xlsx --out plan.yaml && planner simulate scenarios/base.yaml --plan plan.yaml
    """
    from planner.rules.plan import plan_yaml
    from planner.workbook.read import UnreadableWorkbook, read_workbook

    check_readable([workbook])
    try:
        imported, problems = read_workbook(workbook)
    except UnreadableWorkbook as error:
        raise CannotRun(str(error)) from error
    if imported is None:
        for problem in problems:
            click.echo(f"{workbook}: {problem}", err=True)
        click.echo(f"{len(problems)} problem(s); nothing written to {out}", err=True)
        ctx.exit(FINDINGS)
    text = plan_yaml(imported.events, imported.scenario, imported.source, imported.vividness)
    write_atomically(out, lambda staging: staging.write_text(text, encoding="utf-8"))
    click.echo(f"wrote {out}: {len(imported.events)} events"
               + ("" if imported.changed else " (no change to the exported plan)"), err=True)


PLAN_COMMANDS = (export_command, import_command)
"""Commands of the `plan` group that live here."""
