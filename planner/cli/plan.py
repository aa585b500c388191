"""`planner plan`: frozen plan versions and their approval (submit, approve, reject, show, list, diff, checkout).

The store's administration (audit trail, schema upgrade, roles, signing keys) is planner/cli/store.py; the Excel
round trip (plan export / plan import) joins this group from planner/cli/workbook.py. SQLAlchemy and alembic are
imported inside planner.store's database modules, which only the store's commands load.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from planner.cli.common import (
    FINDINGS,
    FORMAT_OPTION,
    SET_HELP,
    CannotRun,
    acting_options,
    acting_user,
    allow_findings_option,
    command_line,
    db_option,
    plan_store,
    simulate_and_freeze,
    single_user_note,
    split_ref,
    store_errors,
    version_alias,
)

UNVERIFIED_HELP = ("Show a version that fails verification anyway, marked UNVERIFIED (a pack is stamped at the top "
                   "of its page and of every sheet); exit 1 is kept.")


allow_unverified_option = click.option("--allow-unverified", is_flag=True, help=UNVERIFIED_HELP)


def _verified(ctx: click.Context, connection: Any, versions: list[Any], doing: str, allow: bool) -> set[Any]:
    """Verify `versions` before they are shown. One that fails: exit 1 naming what failed, or with `allow` it is
    shown marked UNVERIFIED (exit 1 all the same). Returns the (scenario, number) of the versions that failed."""
    from planner.store.verify import failures, refusal

    failing = failures(connection, versions)
    for version in versions:
        problems = failing.get((version.scenario, version.number))
        if problems:
            click.echo(("UNVERIFIED: " if allow else "Error: ") + refusal(
                version.label, problems, "shown marked UNVERIFIED" if allow else f"refusing to {doing} it"), err=True)
    if failing and not allow:
        ctx.exit(FINDINGS)
    return set(failing)


@click.group()
def plan() -> None:
    """Frozen plan versions and their approval: submit, approve, reject, show, list, diff, checkout (docs/approval.md).

    \b
    Example:
      planner plan list base-2027
    """


@plan.command("submit")
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--plan", "plan_file", type=click.Path(path_type=Path),
              help="Freeze this plan file (e.g. from planner optimize) instead of the scenario's own events.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help=SET_HELP)
@click.option("--label", metavar="TEXT",
              help='A title for the version, e.g. "Q1 revision" (default: the --plan file\'s label, which a re-plan '
                   "writes); shown by plan list/show/diff, the approval pack and the audit trail.")
@allow_findings_option
@acting_options
@click.pass_context
def plan_submit(ctx: click.Context, scenario: Path, plan_file: Path | None, sets: tuple[str, ...], label: str | None,
                allow_findings: bool, actor: str | None, key_file: str | None, db: str | None) -> None:
    """Simulate a scenario and freeze it, with the exact bytes of its files, as its next version, submitted for
    approval.

    A scenario with error findings (as `planner validate` judges it) is refused: the findings on stderr, exit 1,
    nothing stored; --allow-findings submits it anyway. Names the store could not keep are refused before the
    simulation runs.

    \b
    Examples:
      planner plan submit scenarios/base.yaml --as alice
      planner plan submit scenarios/base.yaml --set budgets.bud-total-2027.max=500k --allow-findings --as alice
      planner plan submit scenarios/base.yaml --plan results/q1/plan.yaml --label "Q1 revision" --as alice
    """
    from planner.store.versions import check_names, check_title, submit

    user, key = acting_user(actor, key_file)
    with store_errors():
        title = check_title(label if label is not None else _plan_label(plan_file))
    frozen = simulate_and_freeze(ctx, scenario, command_line(sets, None, None, plan_file), allow_findings,
                                 before=lambda p: check_names(p.resolved.id, p.resolved.name, p.files))
    with plan_store(db) as store:
        version = submit(store, frozen, user, key, title)
        single_user_note(store)
    click.echo(f"submitted {version.label} by {version.submitted_by}: budget used {version.budget_used:,.0f} "
               f"{frozen.currency}, {len(frozen.rule_files)} files kept in the store, content sha256 "
               f"{version.content_sha256}")


def _plan_label(plan_file: Path | None) -> str | None:
    """The label a plan file carries (a re-plan writes "Q1 revision"); None without one or when the file does not
    read (the submission reports that itself)."""
    if plan_file is None or not plan_file.is_file():
        return None
    from planner.rules.plan import load_plan

    return load_plan(plan_file).label or None


def _decision_options(function: Callable[..., Any]) -> Callable[..., Any]:
    function = acting_options(version_alias(function))
    return click.argument("ref", metavar="SCENARIO@N")(function)


def _decided(ref: str, number: int | None) -> tuple[str, int]:
    """A decision names its version (never 'the latest', which may change under the approver's feet)."""
    scenario, version = split_ref(ref, number)
    if version is None:
        raise click.UsageError(f"name the version you decide on: {scenario}@N, e.g. {scenario}@1 "
                               f"(planner plan list {scenario})")
    return scenario, version


def _comment(comment: str) -> str:
    from planner.store.identity import check_text
    from planner.store.workflow import LONGEST_COMMENT

    with store_errors():
        return check_text("the comment", comment, LONGEST_COMMENT)


def _decide(decision: Callable[..., Any], ref: str, number: int | None, actor: str | None, key_file: str | None,
            db: str | None, comment: str) -> Any:
    """Record an approval or a rejection of SCENARIO@N by the acting user; returns the workflow's outcome."""
    scenario, version = _decided(ref, number)
    comment = _comment(comment)
    user, key = acting_user(actor, key_file)
    with plan_store(db) as store:
        outcome = decision(store, scenario, version, user, comment, key)
        single_user_note(store)
    return outcome


@plan.command("approve")
@_decision_options
@click.option("--comment", default="", help="Why (kept in the audit trail; one line of plain text).")
def plan_approve(ref: str, number: int | None, actor: str | None, key_file: str | None, db: str | None,
                 comment: str) -> None:
    """Approve a submitted version, from any folder: it is verified (content hash, audit rows, the files kept in
    the store) and refused if it fails.

    \b
    Example:
      planner plan approve base-2027@2 --as bob --comment "fits the Q3 release"
    """
    from planner.store.workflow import approve

    outcome = _decide(approve, ref, number, actor, key_file, db, comment)
    state = ("approved" if outcome.version.status == "approved"
             else f"approval {outcome.approvals} of {outcome.needed} recorded; still needs another approver")
    click.echo(f"{outcome.version.label}: {state} (by {outcome.version.decisions[-1].actor})")


@plan.command("reject")
@_decision_options
@click.option("--comment", required=True, help="What the planner must change (kept in the audit trail; one line).")
def plan_reject(ref: str, number: int | None, actor: str | None, key_file: str | None, db: str | None,
                comment: str) -> None:
    """Reject a submitted version, with a comment.

    \b
    Example:
      planner plan reject base-2027@2 --as bob --comment "Carrefour's margin floor fails in Q4"
    """
    from planner.store.workflow import reject

    outcome = _decide(reject, ref, number, actor, key_file, db, comment)
    click.echo(f"{outcome.version.label}: rejected (by {outcome.version.decisions[-1].actor})")


@plan.command("show")
@click.argument("ref", metavar="SCENARIO[@N]")
@version_alias
@db_option
@FORMAT_OPTION
@allow_unverified_option
@click.pass_context
def plan_show(ctx: click.Context, ref: str, number: int | None, db: str | None, fmt: str,
              allow_unverified: bool) -> None:
    """Show one version (default: the latest), after verifying it: status, decisions, frozen totals, accounts,
    policy checks, hashes.

    \b
    Example:
      planner plan show base-2027@2 --format json
    """
    from planner.report.plans import show_text, version_json
    from planner.store.roles import two_approvers_above
    from planner.store.versions import version_at

    scenario, version_number = split_ref(ref, number)
    with plan_store(db, read_only=True) as store, store.read() as connection:
        version = version_at(connection, scenario, version_number)
        threshold = two_approvers_above(connection)
        failing = _verified(ctx, connection, [version], "show", allow_unverified)
    if fmt == "json":
        click.echo(json.dumps({**version_json(version), "verified": not failing}, indent=2, ensure_ascii=False))
    else:
        click.echo(("UNVERIFIED: this version failed verification (see above)\n" if failing else "")
                   + show_text(version, threshold))
    ctx.exit(FINDINGS if failing else 0)


@plan.command("list")
@click.argument("scenario", required=False)
@db_option
@FORMAT_OPTION
@allow_unverified_option
@click.pass_context
def plan_list(ctx: click.Context, scenario: str | None, db: str | None, fmt: str, allow_unverified: bool) -> None:
    """List the versions of every scenario (or of one) with status, submitter and approvers, each verified.

    \b
    Example:
      planner plan list base-2027 --format json
    """
    from planner.report.plans import list_text
    from planner.store.versions import list_in

    with plan_store(db, read_only=True) as store, store.read() as connection:
        versions = list_in(connection, scenario)
        failing = _verified(ctx, connection, versions, "list", allow_unverified)
    if fmt == "json":
        click.echo(json.dumps([{"scenario": v.scenario, "version": v.number, "status": v.status,
                                "title": v.title, "verified": (v.scenario, v.number) not in failing,
                                "submitted_by": v.submitted_by, "submitted_at": v.submitted_at,
                                "budget_used": v.budget_used, "approved_by": [d.actor for d in v.approvals()],
                                "content_sha256": v.content_sha256} for v in versions], indent=2))
    else:
        click.echo(list_text(versions, failing))
    ctx.exit(FINDINGS if failing else 0)


@plan.command("diff")
@click.argument("refs", nargs=-1, required=True, metavar="SCENARIO[@N] [SCENARIO[@N]]")
@db_option
@FORMAT_OPTION
@allow_unverified_option
@click.pass_context
def plan_diff(ctx: click.Context, refs: tuple[str, ...], db: str | None, fmt: str, allow_unverified: bool) -> None:
    """What changed between two versions (both verified first): every term change first (rule, field, before ->
    after, money effect on the accounts covered), then account totals, rule files, plan events, options, overrides.

    With one version, it is compared with the latest approved version before it (else the one just before).

    \b
    Example:
      planner plan diff base-2027@1 base-2027@2
    """
    from planner.report.plans import diff_text
    from planner.store.diff import baseline, between, head_text
    from planner.store.versions import list_in, version_at

    if len(refs) > 2:
        raise click.UsageError("diff compares two versions: planner plan diff base-2027@1 base-2027@2")
    targets = [split_ref(ref) for ref in refs]
    with plan_store(db, read_only=True) as store, store.read() as connection:
        versions = [version_at(connection, name, number) for name, number in targets]
        if len(versions) == 1:
            before = baseline(list_in(connection, versions[0].scenario), versions[0])
            if before is None:
                raise CannotRun(f"{versions[0].label} is the first version: name two versions to compare")
            versions.insert(0, before)
        failing = _verified(ctx, connection, versions, "compare", allow_unverified)
    difference = between(versions[0], versions[1])
    if failing:
        click.echo("UNVERIFIED: " + ", ".join(f"{s} version {n}" for s, n in sorted(failing))
                   + " failed verification (see above)")
    click.echo(json.dumps(difference, indent=2, ensure_ascii=False) if fmt == "json"
               else head_text(difference) + "\n\n" + diff_text(difference))
    ctx.exit(FINDINGS if failing else 0)


@plan.command("checkout")
@click.argument("ref", metavar="SCENARIO[@N]")
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="A new folder for the version's files, in their folder layout.")
@db_option
@allow_unverified_option
@click.pass_context
def plan_checkout(ctx: click.Context, ref: str, out: Path, db: str | None, allow_unverified: bool) -> None:
    """Write the exact files a version was built from, kept in the store, back to a folder: from there `planner
    simulate` (with the version's command line) reproduces its frozen totals.

    \b
    Example:
      planner plan checkout base-2027@1 --out /tmp/base-2027-v1
    """
    from planner.store.checkout import checkout
    from planner.store.versions import version_at

    scenario, number = split_ref(ref)
    with plan_store(db, read_only=True) as store, store.read() as connection:
        version = version_at(connection, scenario, number)
        failing = _verified(ctx, connection, [version], "check out", allow_unverified)
        with store_errors():
            run_from, written = checkout(connection, version, out)
    sets = " ".join(f"--set {shlex.quote(entry)}" for entry in version.frozen.command_line or [])
    click.echo(f"wrote {written} file(s) of {version.label} to {out}")
    click.echo(f"re-simulate: cd {shlex.quote(str(out / run_from))} && planner simulate "
               f"{shlex.quote(version.frozen.scenario_file)}{' ' + sets if sets else ''}")
    ctx.exit(FINDINGS if failing else 0)


COMMANDS = (plan,)
