"""What the command groups share: exit codes, the two exceptions, preparing and simulating a scenario, the
`--set` help, version references (`SCENARIO@N`) and the plan-store plumbing.

Exit codes are a contract CI relies on, the same in every command: 0 clean, 1 findings at error level or a refusal
(a workflow rule, changed files), 2 the command could not run (usage errors, missing or unreadable paths, a bad
`--set` value, an absent plan store, or an unexpected exception), 130 interrupted (Ctrl-C). Heavy libraries
(pyomo, highspy, openpyxl, SQLAlchemy) are imported only inside the commands that need them, so `planner validate`
stays fast enough for a pre-commit hook; every planner import here is therefore done lazily.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from planner.prepare import Prepared, prepare
from planner.prepare import simulate as simulate_prepared

if TYPE_CHECKING:
    from planner.execute import Executor
    from planner.results import Simulation
    from planner.store.database import Store
    from planner.store.versions import Frozen

CLEAN = 0
FINDINGS = 1
"""Findings at error level, or the plan store refused (a workflow rule, changed files, a concurrent decision)."""
CANNOT_RUN = 2
INTERRUPTED = 130
"""Ctrl-C, as shells report a process stopped by SIGINT (128 + 2)."""


class CannotRun(click.ClickException):
    """A problem that stops the command before it can judge anything: exit 2, one line on stderr."""

    exit_code = CANNOT_RUN


class Refusal(click.ClickException):
    """The plan store judged and refused (a workflow rule, changed files, a concurrent decision): exit 1."""

    exit_code = FINDINGS


def check_readable(paths: Sequence[Path]) -> None:
    """Named paths must exist and be readable: a typo in CI must fail as 'cannot run', not as a finding."""
    for path in paths:
        if not path.exists():
            raise CannotRun(f"path does not exist: {path}")
        if not os.access(path, os.R_OK):
            raise CannotRun(f"path cannot be read: {path}")


# --- scenarios: the command-line layer, preparing, refusing, simulating -------------------------------------

PROGRESS_MIN_DRAWS = 50
SET_HELP = ("Override a value by dotted path, e.g. budgets.bud-total-2027.max=4.5M or options.draws=500 "
            "(repeatable; highest precedence). Numbers may be written 4500000, 4,500,000, 4_500_000, 4.5M, "
            "450k, 1.2B, 450万, 1.2亿 or 12% (= 0.12); an unknown id or field is exit 2.")


def command_line(sets: Sequence[str], draws: int | None = None, seed: int | None = None,
                 plan: Path | None = None) -> list[str]:
    """--draws/--seed/--plan are shorthands for `--set options.X=...` (the command-line layer, highest precedence)."""
    entries = list(sets)
    if draws is not None:
        entries.append(f"options.draws={draws}")
    if seed is not None:
        entries.append(f"options.seed={seed}")
    if plan is not None:
        entries.append(f"options.plan={json.dumps(str(plan))}")  # a JSON string is YAML: '123' or 'yes' stay text
    return entries


def refuse_if_broken(ctx: click.Context, prepared: Sequence[Prepared], allow_findings: bool = False) -> None:
    """Error findings stop the run before anything is simulated, built or written: findings as text on stderr,
    exit 1 (2 when a file could not be read), exactly as `planner validate` would judge them. An error in a `--set`
    value (an unknown id or field, a number that cannot be read) means the command could not run: exit 2.

    With `allow_findings` (`--allow-findings`, a deliberate what-if) consistency errors do not stop the run: the
    findings are still printed on stderr, and the run goes on. Warnings never stop a run (they are printed only
    beside errors, as validate prints them)."""
    from planner.report.findings import render
    from planner.rules.findings import Severity, sort_findings
    from planner.rules.scenario import COMMAND_LINE
    from planner.validate import Report

    findings = [item for run in prepared for item in run.findings + run.consistency]
    errors = [item for item in findings if item.severity is Severity.ERROR]
    if not errors:
        return
    files = list(dict.fromkeys(name for run in prepared for name in run.files))
    unique = list({(item.code, item.location, item.message): item for item in findings}.values())
    report = Report(sort_findings(unique), files,
                    max(run.resolved.rules.rule_count for run in prepared))
    click.echo(render(report, "text"), err=True)
    blocking = [item for run in prepared for item in run.findings if item.severity is Severity.ERROR]
    if allow_findings and not blocking:
        click.echo(f"--allow-findings: running despite {report.errors} error finding(s) above", err=True)
        return
    if not blocking:
        click.echo("refused: the rules have error findings (above); fix them, or run a deliberate what-if with "
                   "--allow-findings", err=True)
    ctx.exit(CANNOT_RUN if any(item.location.file == COMMAND_LINE for item in errors) else report.exit_code())


ALLOW_FINDINGS_HELP = ("Run despite error findings of the rule checks (a price floor a stack breaks, minimums over a "
                       "budget, a calendar rule that cannot be met): a deliberate what-if. The findings are still "
                       "printed on stderr. Load, schema, override, reference, week and plan-file errors always "
                       "stop the run.")


def allow_findings_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """The --allow-findings flag of every command that runs a scenario."""
    return click.option("--allow-findings", is_flag=True, help=ALLOW_FINDINGS_HELP)(function)


@contextmanager
def _progress_bar(draws: int, label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr for long Monte Carlo runs, only on a terminal (logs and pipes stay clean)."""
    if draws < PROGRESS_MIN_DRAWS or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=draws)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def simulate(run: Prepared, draws: int | None = None, executor: Executor | None = None) -> Simulation:
    """`planner.prepare.simulate` with a progress bar on stderr for long Monte Carlo runs."""
    options = run.resolved.options
    with _progress_bar(options.draws if draws is None else draws, f"{run.resolved.id}: Monte Carlo") as progress:
        return simulate_prepared(run, draws, executor, progress)


def text_style() -> dict[str, Any]:
    """Colour and the terminal's width on a terminal; plain, wide, stable text anywhere else."""
    if sys.stdout.isatty():
        return {"color": True, "width": shutil.get_terminal_size().columns}
    return {"color": False}


def check_out(out: Path | None, optimization: bool = False) -> None:
    """An --out folder must be new or hold only earlier results: refuse before anything runs."""
    from planner.folders import unsafe_target
    from planner.report.files import OPTIMIZATION_FILES, RESULT_FILES

    problem = unsafe_target(out, OPTIMIZATION_FILES if optimization else RESULT_FILES) if out is not None else None
    if problem:
        raise CannotRun(problem)


def write_or_fail(out: Path, write: Callable[[], list[str]], what: str = "results") -> None:
    """Write an --out folder and say what was written on stderr; an OS error is 'cannot run' with the folder."""
    try:
        written = write()
    except OSError as error:
        raise CannotRun(f"cannot write {what} to {out}: {error.strerror or error}") from error
    click.echo(f"wrote {len(written)} files to {out}: {', '.join(written)}", err=True)


# --- versions: SCENARIO@N everywhere -------------------------------------------------------------------------

VERSION_HELP = "Alias of SCENARIO@N (kept for scripts written before @N); name the version once."


def version_alias(function: Callable[..., Any]) -> Callable[..., Any]:
    """`--version N`, the older spelling of `SCENARIO@N` on approve, reject and show."""
    return click.option("--version", "number", type=click.IntRange(min=1), metavar="N", help=VERSION_HELP)(function)


def split_ref(ref: str, number: int | None = None) -> tuple[str, int | None]:
    """'base-2027@3' -> ('base-2027', 3); 'base-2027' -> ('base-2027', None), the latest version.

    `number` is the `--version N` alias some commands keep; naming a version twice, differently, is a usage error.
    """
    name, at, written = ref.partition("@")
    if not name or (at and not (written.isdigit() and int(written) >= 1)):
        raise click.BadParameter(f"{ref!r}: write SCENARIO or SCENARIO@N with N a version number from 1, "
                                 "e.g. base-2027@2")
    parsed = int(written) if written else None
    if number is not None and parsed is not None and number != parsed:
        raise click.UsageError(f"{ref!r} names version {parsed} but --version says {number}: name it once, "
                               f"e.g. {name}@{parsed}")
    return name, parsed if parsed is not None else number


# --- the plan store ------------------------------------------------------------------------------------------

DB_HELP = ("The plan store: a SQLite file, or a database URL such as postgresql://user:password@host/db. "
           "Default: $PLANNER_DB, else .planner/plans.db (created by the first submission or `planner db "
           "upgrade`; commands that only read never create it).")


def db_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """The --db option of every plan-store command."""
    return click.option("--db", metavar="URL|FILE", help=DB_HELP)(function)


@contextmanager
def store_errors() -> Iterator[None]:
    """A plan-store error becomes one message and its exit code (1 refused or conflict, 2 cannot run)."""
    from planner.store.errors import StoreError

    try:
        yield
    except StoreError as error:
        if error.exit_code == FINDINGS:
            raise Refusal(str(error)) from error
        raise CannotRun(str(error)) from error


@contextmanager
def plan_store(db: str | None, *, read_only: bool = False) -> Iterator[Store]:
    """Open the plan store for one command. A command that only reads never creates it (no file, no folder, no
    tables): an absent store is exit 2, naming where it was looked for."""
    from planner.store.database import open_store

    with store_errors():
        store = open_store(db, create=not read_only)
        try:
            yield store
        finally:
            store.close()


@contextmanager
def plan_store_if_any(db: str | None) -> Iterator[Store | None]:
    """The plan store if there is one (None if not), never creating it: for a draft that may compare with it."""
    from planner.store.database import NoStore, open_store

    with store_errors():
        try:
            store = open_store(db, create=False)
        except NoStore:
            yield None
            return
        try:
            yield store
        finally:
            store.close()


def simulate_and_freeze(ctx: click.Context, scenario: Path, entries: list[str], allow_findings: bool = False,
                        before: Callable[[Prepared], None] | None = None) -> Frozen:
    """Resolve and simulate a scenario (refusing broken rules as `planner simulate` does, unless `allow_findings`)
    and freeze the result with the command line it was resolved with: what a submission stores and what a draft
    approval pack shows. `before` checks the prepared scenario before the simulation runs (a submission's names)."""
    from planner.store.versions import freeze

    check_readable([scenario])
    prepared = prepare(scenario, entries)
    refuse_if_broken(ctx, [prepared], allow_findings)
    if before is not None:
        with store_errors():
            before(prepared)
    simulation = simulate(prepared)
    events = prepared.plan.events if prepared.plan else list(prepared.resolved.rules.events)
    return freeze(prepared.resolved, simulation, prepared.files, events, command_line=entries)


AS_HELP = ("Who is acting (default: $PLANNER_USER). On a shared (PostgreSQL) store the acting user is the database "
           "login and --as may only name it; on a single-user (SQLite) store it is taken as typed.")
KEY_HELP = ("Your Ed25519 private key (PEM; default: $PLANNER_KEY), required once an admin registered your public key "
            "(planner key generate, planner key register).")


def acting_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """--as USER, --key FILE and --db: the options of every command that acts on the plan store."""
    function = click.option("--key", "key_file", metavar="FILE", help=KEY_HELP)(function)
    return click.option("--as", "actor", metavar="USER", help=AS_HELP)(db_option(function))


def acting_user(actor: str | None, key_file: str | None) -> tuple[str | None, Any]:
    """The typed user name and the signing key, both checked before any work is done."""
    from planner.store.identity import load_key, typed_user

    with store_errors():
        return typed_user(actor), load_key(key_file)


def single_user_note(store: Any) -> None:
    """A single-user store says so on every acting command (stderr, so scripts reading stdout are unaffected)."""
    from planner.store.identity import SINGLE_USER

    if store.dialect == "sqlite":
        click.echo(f"note: {SINGLE_USER}", err=True)


FORMAT_OPTION = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                             show_default=True, help="Text for people, or one JSON document for scripts.")
