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
from dataclasses import dataclass
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


# --- plan store: versions, approvals, audit trail ---------------------------------------------------------
# SQLAlchemy and alembic are imported inside planner.store's database modules, which only these commands load.

REFUSED = 1
DB_HELP = ("The plan store: a SQLite file, or a database URL such as postgresql://user:password@host/db. "
           "Default: $PLANNER_DB, else .planner/plans.db (created on first use).")
ROLES_HELP = ("Roles file (YAML). Default: $PLANNER_ROLES, else .planner/roles.yaml if it exists, else the roles "
              "kept in the plan store (planner role grant).")
AS_HELP = "Who is acting (default: $PLANNER_USER)."


class Refusal(click.ClickException):
    """The plan store judged and refused (a workflow rule, changed files, a concurrent decision): exit 1."""

    exit_code = REFUSED


def _db_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--db", metavar="URL|FILE", help=DB_HELP)(function)


def _acting(function: Callable[..., Any]) -> Callable[..., Any]:
    function = click.option("--roles", "roles_file", metavar="FILE", help=ROLES_HELP)(function)
    return click.option("--as", "actor", metavar="USER", help=AS_HELP)(_db_option(function))


@contextmanager
def _store_errors() -> Iterator[None]:
    """A plan-store error becomes one message and its exit code (1 refused or conflict, 2 cannot run)."""
    from planner.store.errors import StoreError

    try:
        yield
    except StoreError as error:
        if error.exit_code == REFUSED:
            raise Refusal(str(error)) from error
        raise CannotRun(str(error)) from error


@contextmanager
def _plan_store(db: str | None) -> Iterator[Any]:
    from planner.store.database import open_store

    with _store_errors():
        store = open_store(db)
        try:
            yield store
        finally:
            store.close()


def _access(roles_file: str | None, actor: str | None) -> tuple[Any, str]:
    from planner.store.roles import check_actor, load_access

    with _store_errors():
        return load_access(roles_file), check_actor(actor)


def _split_ref(ref: str) -> tuple[str, int | None]:
    """'base-2027@3' -> ('base-2027', 3); 'base-2027' -> ('base-2027', None): the latest version."""
    name, _, number = ref.partition("@")
    if number and not number.isdigit():
        raise click.BadParameter(f"{ref!r}: write SCENARIO or SCENARIO@VERSION, e.g. base-2027@2")
    return name, int(number) if number else None


@main.group()
def plan() -> None:
    """Frozen plan versions and their approval: submit, approve, reject, show, list, diff (docs/approval.md)."""


@plan.command("submit")
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--plan", "plan_file", type=click.Path(path_type=Path),
              help="Freeze this plan file (e.g. from planner optimize) instead of the scenario's own events.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help=SET_HELP)
@_acting
@click.pass_context
def plan_submit(ctx: click.Context, scenario: Path, plan_file: Path | None, sets: tuple[str, ...],
                actor: str | None, roles_file: str | None, db: str | None) -> None:
    """Simulate a scenario and freeze it as its next version, submitted for approval."""
    from planner.store.versions import freeze, submit

    access, user = _access(roles_file, actor)
    _check_readable([scenario])
    prepared = _prepare(scenario, _command_line(sets, None, None, plan_file))
    _refuse_if_broken(ctx, [prepared])
    simulation = _simulate(prepared)
    events = prepared.plan.events if prepared.plan else list(prepared.resolved.rules.events)
    with _plan_store(db) as store:
        frozen = freeze(prepared.resolved, simulation, prepared.files, events)
        version = submit(store, access, frozen, user)
    click.echo(f"submitted {version.label} by {user}: budget used {version.budget_used:,.0f} {frozen.currency}, "
               f"{len(frozen.rule_files)} files hashed, content sha256 {version.content_sha256}")


def _decision_options(function: Callable[..., Any]) -> Callable[..., Any]:
    function = _acting(function)
    function = click.option("--version", "number", type=click.IntRange(min=1), required=True,
                            help="The version number decided on (planner plan list).")(function)
    return click.argument("scenario")(function)


@plan.command("approve")
@_decision_options
@click.option("--comment", default="", help="Why (kept in the audit trail).")
def plan_approve(scenario: str, number: int, actor: str | None, roles_file: str | None, db: str | None,
                 comment: str) -> None:
    """Approve a submitted version (run from the folder it was submitted from: its files are re-hashed)."""
    from planner.store.workflow import approve

    access, user = _access(roles_file, actor)
    with _plan_store(db) as store:
        outcome = approve(store, access, scenario, number, user, comment)
    state = ("approved" if outcome.version.status == "approved"
             else f"approval {outcome.approvals} of {outcome.needed} recorded; still needs another approver")
    click.echo(f"{outcome.version.label}: {state} (by {user})")


@plan.command("reject")
@_decision_options
@click.option("--comment", required=True, help="What the planner must change (kept in the audit trail).")
def plan_reject(scenario: str, number: int, actor: str | None, roles_file: str | None, db: str | None,
                comment: str) -> None:
    """Reject a submitted version, with a comment."""
    from planner.store.workflow import reject

    access, user = _access(roles_file, actor)
    with _plan_store(db) as store:
        outcome = reject(store, access, scenario, number, user, comment)
    click.echo(f"{outcome.version.label}: rejected (by {user})")


FORMAT_OPTION = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                             show_default=True, help="Text for people, or one JSON document for scripts.")


@plan.command("show")
@click.argument("scenario")
@click.option("--version", "number", type=click.IntRange(min=1), help="Version number (default: the latest).")
@_db_option
@FORMAT_OPTION
def plan_show(scenario: str, number: int | None, db: str | None, fmt: str) -> None:
    """Show one version: status, decisions, frozen totals, accounts, policy checks and file hashes."""
    from planner.store.roles import two_approvers_above
    from planner.store.versions import version_at
    from planner.store.views import show_text, version_json

    with _plan_store(db) as store, store.read() as connection:
        version = version_at(connection, scenario, number)
        threshold = two_approvers_above(connection)
    click.echo(json.dumps(version_json(version), indent=2, ensure_ascii=False) if fmt == "json"
               else show_text(version, threshold))


@plan.command("list")
@click.argument("scenario", required=False)
@_db_option
@FORMAT_OPTION
def plan_list(scenario: str | None, db: str | None, fmt: str) -> None:
    """List the versions of every scenario (or of one) with status, submitter and approvers."""
    from planner.store.versions import list_versions
    from planner.store.views import list_text

    with _plan_store(db) as store:
        versions = list_versions(store, scenario)
    if fmt == "json":
        click.echo(json.dumps([{"scenario": v.scenario, "version": v.number, "status": v.status,
                                "submitted_by": v.submitted_by, "submitted_at": v.submitted_at,
                                "budget_used": v.budget_used, "approved_by": [d.actor for d in v.approvals()],
                                "content_sha256": v.content_sha256} for v in versions], indent=2))
    else:
        click.echo(list_text(versions))


@plan.command("diff")
@click.argument("refs", nargs=-1, required=True, metavar="SCENARIO[@VERSION] [SCENARIO[@VERSION]]")
@_db_option
@FORMAT_OPTION
def plan_diff(refs: tuple[str, ...], db: str | None, fmt: str) -> None:
    """What changed between two versions: account totals, rule files, plan events, options, overrides.

    With one version, it is compared with the latest approved version before it (else the one just before).
    """
    from planner.store.diff import baseline, between
    from planner.store.versions import list_versions, load
    from planner.store.views import diff_text

    if len(refs) > 2:
        raise click.UsageError("diff compares two versions: planner plan diff base-2027@1 base-2027@2")
    targets = [_split_ref(ref) for ref in refs]
    with _plan_store(db) as store:
        versions = [load(store, name, number) for name, number in targets]
        if len(versions) == 1:
            before = baseline(list_versions(store, versions[0].scenario), versions[0])
            if before is None:
                raise CannotRun(f"{versions[0].label} is the first version: name two versions to compare")
            versions.insert(0, before)
    difference = between(versions[0], versions[1])
    click.echo(json.dumps(difference, indent=2, ensure_ascii=False) if fmt == "json" else diff_text(difference))


@main.group()
def audit() -> None:
    """The hash-chained audit trail of every submission, decision and role change."""


@audit.command("verify")
@_db_option
@click.pass_context
def audit_verify(ctx: click.Context, db: str | None) -> None:
    """Check the chain and the tables against it; exit 1 naming the first broken row."""
    from planner.store.verify import verify
    from planner.store.views import verify_text

    with _plan_store(db) as store:
        result = verify(store)
    click.echo(verify_text(result))
    ctx.exit(0 if result.ok else REFUSED)


@audit.command("log")
@click.option("--scenario", help="Only the rows of this scenario.")
@click.option("--limit", type=click.IntRange(min=1), help="Only the last N rows.")
@_db_option
@FORMAT_OPTION
def audit_log(scenario: str | None, limit: int | None, db: str | None, fmt: str) -> None:
    """Print the audit trail."""
    from planner.store.audit import rows
    from planner.store.views import log_text

    with _plan_store(db) as store, store.read() as connection:
        entries = rows(connection, scenario, limit)
    click.echo(json.dumps([entry.__dict__ for entry in entries], indent=2, ensure_ascii=False) if fmt == "json"
               else log_text(entries))


@main.group()
def db() -> None:
    """The plan store's database."""


@db.command("upgrade")
@_db_option
def db_upgrade(db: str | None) -> None:
    """Create the plan store or apply its pending migrations (also done automatically on first use)."""
    from planner.store.database import open_store, revisions, upgrade

    with _store_errors():
        store = open_store(db, migrate=False)
        try:
            before, head = revisions(store)
            after = upgrade(store) if before != head else before
        finally:
            store.close()
    state = "already at" if before == head else f"migrated from {before or 'empty'} to"
    click.echo(f"plan store {store.label}: {state} revision {after} (newest)")


@main.group()
def role() -> None:
    """Roles kept in the plan store (when no roles file is in force): grant, revoke, list, threshold."""


@role.command("grant")
@click.argument("user")
@click.argument("name", metavar="ROLE", type=click.Choice(["planner", "approver", "admin"]))
@_acting
def role_grant(user: str, name: str, actor: str | None, roles_file: str | None, db: str | None) -> None:
    """Give USER a role (admins only; the first admin may be granted by anyone)."""
    from planner.store.roles import grant

    access, acting = _access(roles_file, actor)
    with _plan_store(db) as store, store.write() as connection:
        grant(connection, access, acting, user, name)
    click.echo(f"{user} now has the {name} role (granted by {acting})")


@role.command("revoke")
@click.argument("user")
@click.argument("name", metavar="ROLE", type=click.Choice(["planner", "approver", "admin"]))
@_acting
def role_revoke(user: str, name: str, actor: str | None, roles_file: str | None, db: str | None) -> None:
    """Take a role from USER (admins only)."""
    from planner.store.roles import revoke

    access, acting = _access(roles_file, actor)
    with _plan_store(db) as store, store.write() as connection:
        revoke(connection, access, acting, user, name)
    click.echo(f"{user} no longer has the {name} role (revoked by {acting})")


@role.command("threshold")
@click.argument("amount", metavar="AMOUNT|none")
@_acting
def role_threshold(amount: str, actor: str | None, roles_file: str | None, db: str | None) -> None:
    """Budget used above which a plan needs two approvers ('none': one approver always; admins only)."""
    from planner.store.roles import set_threshold

    try:
        value = None if amount.lower() == "none" else float(amount.replace("_", "").replace(",", ""))
    except ValueError:
        raise click.BadParameter(f"{amount!r} is not an amount (e.g. 3600000) or 'none'") from None
    if value is not None and not (value >= 0 and value != float("inf")):
        raise click.BadParameter("the threshold must be a finite amount of 0 or more")
    access, acting = _access(roles_file, actor)
    with _plan_store(db) as store, store.write() as connection:
        set_threshold(connection, access, acting, value)
    click.echo(f"two approvers needed above a budget used of {value:,.0f}" if value is not None
               else "one approver is enough for every plan")


@role.command("list")
@_db_option
@click.option("--roles", "roles_file", metavar="FILE", help=ROLES_HELP)
def role_list(db: str | None, roles_file: str | None) -> None:
    """Who holds which role in the plan store, and the two-approver threshold."""
    from planner.store.roles import held, two_approvers_above

    access, _ = _access(roles_file, "nobody")
    with _plan_store(db) as store, store.read() as connection:
        holders, threshold = held(connection), two_approvers_above(connection)
    for user in sorted(holders):
        click.echo(f"{user}: {', '.join(sorted(holders[user]))}")
    click.echo(f"two approvers above a budget used of {threshold:,.0f}" if threshold is not None
               else "one approver is enough for every plan")
    click.echo(f"roles come from {access.source}")


# --- optimize -----------------------------------------------------------------------------------------------


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


if __name__ == "__main__":
    main(prog_name="planner")
