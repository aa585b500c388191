"""`planner plan|audit|db|role`: the plan store's commands (versions, approvals, audit trail, roles).

SQLAlchemy and alembic are imported inside planner.store's database modules, which only these commands load.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from planner.cli.common import (
    FINDINGS,
    SET_HELP,
    CannotRun,
    allow_findings_option,
    command_line,
    db_option,
    plan_store,
    simulate_and_freeze,
    split_ref,
    store_errors,
    version_alias,
)

ROLES_HELP = ("Roles file (YAML). Default: $PLANNER_ROLES, else .planner/roles.yaml if it exists, else the roles "
              "kept in the plan store (planner role grant).")
AS_HELP = "Who is acting (default: $PLANNER_USER)."


def _acting(function: Callable[..., Any]) -> Callable[..., Any]:
    function = click.option("--roles", "roles_file", metavar="FILE", help=ROLES_HELP)(function)
    return click.option("--as", "actor", metavar="USER", help=AS_HELP)(db_option(function))


def _access(roles_file: str | None, actor: str | None) -> tuple[Any, str]:
    from planner.store.roles import check_actor, load_access

    with store_errors():
        return load_access(roles_file), check_actor(actor)


@click.group()
def plan() -> None:
    """Frozen plan versions and their approval: submit, approve, reject, show, list, diff (docs/approval.md).

    \b
    Example:
      planner plan list base-2027
    """


@plan.command("submit")
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--plan", "plan_file", type=click.Path(path_type=Path),
              help="Freeze this plan file (e.g. from planner optimize) instead of the scenario's own events.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help=SET_HELP)
@allow_findings_option
@_acting
@click.pass_context
def plan_submit(ctx: click.Context, scenario: Path, plan_file: Path | None, sets: tuple[str, ...],
                allow_findings: bool, actor: str | None, roles_file: str | None, db: str | None) -> None:
    """Simulate a scenario and freeze it as its next version, submitted for approval.

    A scenario with error findings (as `planner validate` judges it) is refused: the findings on stderr, exit 1,
    nothing stored; --allow-findings submits it anyway.

    \b
    Examples:
      planner plan submit scenarios/base.yaml --as alice
      planner plan submit scenarios/base.yaml --set budgets.bud-total-2027.max=500k --allow-findings --as alice
    """
    from planner.store.versions import submit

    access, user = _access(roles_file, actor)
    frozen = simulate_and_freeze(ctx, scenario, command_line(sets, None, None, plan_file), allow_findings)
    with plan_store(db) as store:
        version = submit(store, access, frozen, user)
    click.echo(f"submitted {version.label} by {user}: budget used {version.budget_used:,.0f} {frozen.currency}, "
               f"{len(frozen.rule_files)} files hashed, content sha256 {version.content_sha256}")


def _decision_options(function: Callable[..., Any]) -> Callable[..., Any]:
    function = _acting(version_alias(function))
    return click.argument("ref", metavar="SCENARIO@N")(function)


def _decided(ref: str, number: int | None) -> tuple[str, int]:
    """A decision names its version (never 'the latest', which may change under the approver's feet)."""
    scenario, version = split_ref(ref, number)
    if version is None:
        raise click.UsageError(f"name the version you decide on: {scenario}@N, e.g. {scenario}@1 "
                               f"(planner plan list {scenario})")
    return scenario, version


@plan.command("approve")
@_decision_options
@click.option("--comment", default="", help="Why (kept in the audit trail).")
def plan_approve(ref: str, number: int | None, actor: str | None, roles_file: str | None, db: str | None,
                 comment: str) -> None:
    """Approve a submitted version (run from the folder it was submitted from: its files are re-hashed).

    \b
    Example:
      planner plan approve base-2027@2 --as bob --comment "fits the Q3 release"
    """
    from planner.store.workflow import approve

    scenario, version = _decided(ref, number)
    access, user = _access(roles_file, actor)
    with plan_store(db) as store:
        outcome = approve(store, access, scenario, version, user, comment)
    state = ("approved" if outcome.version.status == "approved"
             else f"approval {outcome.approvals} of {outcome.needed} recorded; still needs another approver")
    click.echo(f"{outcome.version.label}: {state} (by {user})")


@plan.command("reject")
@_decision_options
@click.option("--comment", required=True, help="What the planner must change (kept in the audit trail).")
def plan_reject(ref: str, number: int | None, actor: str | None, roles_file: str | None, db: str | None,
                comment: str) -> None:
    """Reject a submitted version, with a comment.

    \b
    Example:
      planner plan reject base-2027@2 --as bob --comment "Carrefour's margin floor fails in Q4"
    """
    from planner.store.workflow import reject

    scenario, version = _decided(ref, number)
    access, user = _access(roles_file, actor)
    with plan_store(db) as store:
        outcome = reject(store, access, scenario, version, user, comment)
    click.echo(f"{outcome.version.label}: rejected (by {user})")


FORMAT_OPTION = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                             show_default=True, help="Text for people, or one JSON document for scripts.")


@plan.command("show")
@click.argument("ref", metavar="SCENARIO[@N]")
@version_alias
@db_option
@FORMAT_OPTION
def plan_show(ref: str, number: int | None, db: str | None, fmt: str) -> None:
    """Show one version (default: the latest): status, decisions, frozen totals, accounts, policy checks, hashes.

    \b
    Example:
      planner plan show base-2027@2 --format json
    """
    from planner.store.roles import two_approvers_above
    from planner.store.versions import version_at
    from planner.store.views import show_text, version_json

    scenario, version_number = split_ref(ref, number)
    with plan_store(db, read_only=True) as store, store.read() as connection:
        version = version_at(connection, scenario, version_number)
        threshold = two_approvers_above(connection)
    click.echo(json.dumps(version_json(version), indent=2, ensure_ascii=False) if fmt == "json"
               else show_text(version, threshold))


@plan.command("list")
@click.argument("scenario", required=False)
@db_option
@FORMAT_OPTION
def plan_list(scenario: str | None, db: str | None, fmt: str) -> None:
    """List the versions of every scenario (or of one) with status, submitter and approvers.

    \b
    Example:
      planner plan list base-2027 --format json
    """
    from planner.store.versions import list_versions
    from planner.store.views import list_text

    with plan_store(db, read_only=True) as store:
        versions = list_versions(store, scenario)
    if fmt == "json":
        click.echo(json.dumps([{"scenario": v.scenario, "version": v.number, "status": v.status,
                                "submitted_by": v.submitted_by, "submitted_at": v.submitted_at,
                                "budget_used": v.budget_used, "approved_by": [d.actor for d in v.approvals()],
                                "content_sha256": v.content_sha256} for v in versions], indent=2))
    else:
        click.echo(list_text(versions))


@plan.command("diff")
@click.argument("refs", nargs=-1, required=True, metavar="SCENARIO[@N] [SCENARIO[@N]]")
@db_option
@FORMAT_OPTION
def plan_diff(refs: tuple[str, ...], db: str | None, fmt: str) -> None:
    """What changed between two versions: every term change first (rule, field, before -> after, money effect on
    the accounts covered), then account totals, rule files, plan events, options, overrides.

    With one version, it is compared with the latest approved version before it (else the one just before).

    \b
    Example:
      planner plan diff base-2027@1 base-2027@2
    """
    from planner.store.diff import baseline, between, head_text
    from planner.store.versions import list_versions, load
    from planner.store.views import diff_text

    if len(refs) > 2:
        raise click.UsageError("diff compares two versions: planner plan diff base-2027@1 base-2027@2")
    targets = [split_ref(ref) for ref in refs]
    with plan_store(db, read_only=True) as store:
        versions = [load(store, name, number) for name, number in targets]
        if len(versions) == 1:
            before = baseline(list_versions(store, versions[0].scenario), versions[0])
            if before is None:
                raise CannotRun(f"{versions[0].label} is the first version: name two versions to compare")
            versions.insert(0, before)
    difference = between(versions[0], versions[1])
    click.echo(json.dumps(difference, indent=2, ensure_ascii=False) if fmt == "json"
               else head_text(difference) + "\n\n" + diff_text(difference))


@click.group()
def audit() -> None:
    """The hash-chained audit trail of every submission, decision and role change.

    \b
    Example:
      planner audit verify
    """


@audit.command("verify")
@db_option
@click.pass_context
def audit_verify(ctx: click.Context, db: str | None) -> None:
    """Check the chain and the tables against it; exit 1 naming the first broken row.

    \b
    Example:
      planner audit verify --db postgresql://planner@db.example.com/plans
    """
    from planner.store.verify import verify
    from planner.store.views import verify_text

    with plan_store(db, read_only=True) as store:
        result = verify(store)
    click.echo(verify_text(result))
    ctx.exit(0 if result.ok else FINDINGS)


@audit.command("log")
@click.option("--scenario", help="Only the rows of this scenario.")
@click.option("--limit", type=click.IntRange(min=1), help="Only the last N rows.")
@db_option
@FORMAT_OPTION
def audit_log(scenario: str | None, limit: int | None, db: str | None, fmt: str) -> None:
    """Print the audit trail.

    \b
    Example:
      planner audit log --scenario base-2027 --limit 20
    """
    from planner.store.audit import rows
    from planner.store.views import log_text

    with plan_store(db, read_only=True) as store, store.read() as connection:
        entries = rows(connection, scenario, limit)
    click.echo(json.dumps([entry.__dict__ for entry in entries], indent=2, ensure_ascii=False) if fmt == "json"
               else log_text(entries))


@click.group()
def db() -> None:
    """The plan store's database.

    \b
    Example:
      planner db upgrade --db .planner/plans.db
    """


@db.command("upgrade")
@db_option
def db_upgrade(db: str | None) -> None:
    """Create the plan store or apply its pending migrations (also done automatically on first use).

    \b
    Example:
      planner db upgrade --db postgresql://planner@db.example.com/plans
    """
    from planner.store.database import open_store, revisions, upgrade

    with store_errors():
        store = open_store(db, migrate=False)
        try:
            before, head = revisions(store)
            after = upgrade(store) if before != head else before
        finally:
            store.close()
    state = "already at" if before == head else f"migrated from {before or 'empty'} to"
    click.echo(f"plan store {store.label}: {state} revision {after} (newest)")


@click.group()
def role() -> None:
    """Roles kept in the plan store (when no roles file is in force): grant, revoke, list, threshold.

    \b
    Example:
      planner role list
    """


@role.command("grant")
@click.argument("user")
@click.argument("name", metavar="ROLE", type=click.Choice(["planner", "approver", "admin"]))
@_acting
def role_grant(user: str, name: str, actor: str | None, roles_file: str | None, db: str | None) -> None:
    """Give USER a role (admins only; the first admin may be granted by anyone).

    \b
    Example:
      planner role grant bob approver --as carol
    """
    from planner.store.roles import grant

    access, acting = _access(roles_file, actor)
    with plan_store(db) as store, store.write() as connection:
        grant(connection, access, acting, user, name)
    click.echo(f"{user} now has the {name} role (granted by {acting})")


@role.command("revoke")
@click.argument("user")
@click.argument("name", metavar="ROLE", type=click.Choice(["planner", "approver", "admin"]))
@_acting
def role_revoke(user: str, name: str, actor: str | None, roles_file: str | None, db: str | None) -> None:
    """Take a role from USER (admins only).

    \b
    Example:
      planner role revoke bob approver --as carol
    """
    from planner.store.roles import revoke

    access, acting = _access(roles_file, actor)
    with plan_store(db) as store, store.write() as connection:
        revoke(connection, access, acting, user, name)
    click.echo(f"{user} no longer has the {name} role (revoked by {acting})")


@role.command("threshold")
@click.argument("amount", metavar="AMOUNT|none")
@_acting
def role_threshold(amount: str, actor: str | None, roles_file: str | None, db: str | None) -> None:
    """Budget used above which a plan needs two approvers ('none': one approver always; admins only).

    \b
    Example:
      planner role threshold 3.6M --as carol
    """
    from planner.rules.scenario import NUMBER_FORMS, read_number
    from planner.store.roles import set_threshold

    number = None if amount.lower() == "none" else read_number(amount)
    if amount.lower() != "none" and number is None:
        raise click.BadParameter(f"{amount!r} is not an amount or 'none': write it as {NUMBER_FORMS}")
    value = None if number is None else float(number)
    if value is not None and value < 0:
        raise click.BadParameter("the threshold must be an amount of 0 or more")
    access, acting = _access(roles_file, actor)
    with plan_store(db) as store, store.write() as connection:
        set_threshold(connection, access, acting, value)
    click.echo(f"two approvers needed above a budget used of {value:,.0f}" if value is not None
               else "one approver is enough for every plan")


@role.command("list")
@db_option
@click.option("--roles", "roles_file", metavar="FILE", help=ROLES_HELP)
def role_list(db: str | None, roles_file: str | None) -> None:
    """Who holds which role in the plan store, and the two-approver threshold.

    \b
    Example:
      planner role list --roles roles.yaml
    """
    from planner.store.roles import held, two_approvers_above

    access, _ = _access(roles_file, "nobody")
    with plan_store(db, read_only=True) as store, store.read() as connection:
        holders, threshold = held(connection), two_approvers_above(connection)
    for user in sorted(holders):
        click.echo(f"{user}: {', '.join(sorted(holders[user]))}")
    click.echo(f"two approvers above a budget used of {threshold:,.0f}" if threshold is not None
               else "one approver is enough for every plan")
    click.echo(f"roles come from {access.source}")


COMMANDS = (plan, audit, db, role)
