"""`planner plan|audit|db|role`: the plan store's commands (versions, approvals, audit trail, roles).

SQLAlchemy and alembic are imported inside planner.store's database modules, which only these commands load.
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

AS_HELP = ("Who is acting (default: $PLANNER_USER). On a shared (PostgreSQL) store the acting user is the database "
           "login and --as may only name it; on a single-user (SQLite) store it is taken as typed.")
KEY_HELP = ("Your Ed25519 private key (PEM; default: $PLANNER_KEY), required once an admin registered your public key "
            "(planner key generate, planner key register).")
UNVERIFIED_HELP = ("Show a version that fails verification anyway, marked UNVERIFIED (a pack is stamped at the top "
                   "of its page and of every sheet); exit 1 is kept.")


def _acting(function: Callable[..., Any]) -> Callable[..., Any]:
    function = click.option("--key", "key_file", metavar="FILE", help=KEY_HELP)(function)
    return click.option("--as", "actor", metavar="USER", help=AS_HELP)(db_option(function))


def _who(actor: str | None, key_file: str | None) -> tuple[str | None, Any]:
    """The typed user name and the signing key, both checked before any work is done."""
    from planner.store.identity import load_key, typed_user

    with store_errors():
        return typed_user(actor), load_key(key_file)


def _mode_note(store: Any) -> None:
    """A single-user store says so on every acting command (stderr, so scripts reading stdout are unaffected)."""
    from planner.store.identity import SINGLE_USER

    if store.dialect == "sqlite":
        click.echo(f"note: {SINGLE_USER}", err=True)


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
@_acting
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

    user, key = _who(actor, key_file)
    with store_errors():
        title = check_title(label if label is not None else _plan_label(plan_file))
    frozen = simulate_and_freeze(ctx, scenario, command_line(sets, None, None, plan_file), allow_findings,
                                 before=lambda p: check_names(p.resolved.id, p.resolved.name, p.files))
    with plan_store(db) as store:
        version = submit(store, frozen, user, key, title)
        _mode_note(store)
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
    function = _acting(version_alias(function))
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

    scenario, version = _decided(ref, number)
    comment = _comment(comment)
    user, key = _who(actor, key_file)
    with plan_store(db) as store:
        outcome = approve(store, scenario, version, user, comment, key)
        _mode_note(store)
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

    scenario, version = _decided(ref, number)
    comment = _comment(comment)
    user, key = _who(actor, key_file)
    with plan_store(db) as store:
        outcome = reject(store, scenario, version, user, comment, key)
        _mode_note(store)
    click.echo(f"{outcome.version.label}: rejected (by {outcome.version.decisions[-1].actor})")


FORMAT_OPTION = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                             show_default=True, help="Text for people, or one JSON document for scripts.")


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
    from planner.store.roles import two_approvers_above
    from planner.store.versions import version_at
    from planner.store.views import show_text, version_json

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
    from planner.store.versions import list_in
    from planner.store.views import list_text

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
    from planner.store.diff import baseline, between, head_text
    from planner.store.versions import list_in, version_at
    from planner.store.views import diff_text

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


@click.group()
def audit() -> None:
    """The hash-chained audit trail of every submission, decision and role change.

    \b
    Example:
      planner audit verify
    """


@audit.command("verify")
@click.option("--expect", metavar="SEQ:HASH",
              help="A chain head recorded earlier (planner audit head): that row must still be there, unchanged.")
@db_option
@click.pass_context
def audit_verify(ctx: click.Context, expect: str | None, db: str | None) -> None:
    """Check the chain, the signatures and the tables against it, in one snapshot; exit 1 naming the first broken
    row. With --expect, also that the chain still holds a head recorded earlier (truncation, recomputed chain).

    \b
    Example:
      planner audit verify --expect 8:3f9a...  --db postgresql://bob@db.example.com/plans
    """
    from planner.store.verify import parse_anchor, verify
    from planner.store.views import verify_text

    try:
        anchor = parse_anchor(expect) if expect is not None else None
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--expect") from None
    with plan_store(db, read_only=True) as store:
        result = verify(store, anchor)
    click.echo(verify_text(result))
    ctx.exit(0 if result.ok else FINDINGS)


@audit.command("head")
@db_option
def audit_head(db: str | None) -> None:
    """Print the chain head as SEQ:HASH, to record outside the store (a git tag, a ticket, the approval e-mail);
    `planner audit verify --expect SEQ:HASH` later shows whether the chain still extends it.

    \b
    Example:
      planner audit head > approvals/2027-01-anchor.txt
    """
    from planner.store.audit import head

    with plan_store(db, read_only=True) as store, store.read() as connection:
        found = head(connection)
    if found is None:
        raise CannotRun("the audit trail's head row is missing: run planner audit verify")
    click.echo(f"{found[0]}:{found[1]}")


@audit.command("log")
@click.option("--scenario", help="Only the rows of this scenario.")
@click.option("--limit", type=click.IntRange(min=1), help="Only the last N rows.")
@db_option
@FORMAT_OPTION
def audit_log(scenario: str | None, limit: int | None, db: str | None, fmt: str) -> None:
    """Print the audit trail (control characters in comments and names shown escaped, never executed).

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
    """Roles kept in the plan store, changed only by an admin: grant, revoke, threshold, import, list.

    \b
    Example:
      planner role list
    """


def _change_roles(actor: str | None, key_file: str | None, db: str | None,
                  change: Callable[[Any, str, Any], str]) -> None:
    """One role change by the acting admin, signed when they have a key, in one transaction."""
    from planner.store import identity, keys, roles

    user, key = _who(actor, key_file)
    with plan_store(db) as store:
        with store.write() as connection:
            acting = identity.acting(connection, user)
            roles.first_use(connection, acting)
            message = change(connection, acting, keys.signer(connection, acting, key))
        _mode_note(store)
    click.echo(message)


ROLE_CHOICE = click.Choice(["planner", "approver", "admin"])


@role.command("grant")
@click.argument("user")
@click.argument("name", metavar="ROLE", type=ROLE_CHOICE)
@_acting
def role_grant(user: str, name: str, actor: str | None, key_file: str | None, db: str | None) -> None:
    """Give USER a role (admins only; while the store has no admin, anyone may grant the first admin role).

    \b
    Example:
      planner role grant bob approver --as carol
    """
    from planner.store.roles import grant

    def change(connection: Any, acting: str, key: Any) -> str:
        grant(connection, acting, user, name, key)
        return f"{user} now has the {name} role (granted by {acting})"

    _change_roles(actor, key_file, db, change)


@role.command("revoke")
@click.argument("user")
@click.argument("name", metavar="ROLE", type=ROLE_CHOICE)
@_acting
def role_revoke(user: str, name: str, actor: str | None, key_file: str | None, db: str | None) -> None:
    """Take a role from USER (admins only).

    \b
    Example:
      planner role revoke bob approver --as carol
    """
    from planner.store.roles import revoke

    def change(connection: Any, acting: str, key: Any) -> str:
        revoke(connection, acting, user, name, key)
        return f"{user} no longer has the {name} role (revoked by {acting})"

    _change_roles(actor, key_file, db, change)


@role.command("threshold")
@click.argument("amount", metavar="AMOUNT|none")
@_acting
def role_threshold(amount: str, actor: str | None, key_file: str | None, db: str | None) -> None:
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

    def change(connection: Any, acting: str, key: Any) -> str:
        set_threshold(connection, acting, value, key)
        return (f"two approvers needed above a budget used of {value:,.0f}" if value is not None
                else "one approver is enough for every plan")

    _change_roles(actor, key_file, db, change)


@role.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@_acting
def role_import(file: Path, actor: str | None, key_file: str | None, db: str | None) -> None:
    """Make the store's roles and threshold those of a roles file (admins only): each grant, revoke and setting
    change is an audit row attributed to you, with the file's sha256.

    \b
    Example:
      planner role import .planner/roles.yaml --as dana
    """
    from planner.store.roles import import_file, read_file

    with store_errors():
        roles_file = read_file(file)

    def change(connection: Any, acting: str, key: Any) -> str:
        changes = import_file(connection, acting, roles_file, key)
        return f"imported {file}: {changes} change(s), by {acting}"

    _change_roles(actor, key_file, db, change)


@role.command("list")
@db_option
def role_list(db: str | None) -> None:
    """Who holds which role in the plan store, their signing keys, and the two-approver threshold.

    \b
    Example:
      planner role list
    """
    from planner.store.keys import registered
    from planner.store.roles import held, two_approvers_above

    with plan_store(db, read_only=True) as store, store.read() as connection:
        holders, threshold, public = held(connection), two_approvers_above(connection), registered(connection)
        mode = "single-user store (names as typed)" if store.dialect == "sqlite" else \
            "shared store (the acting user is the database login)"
    for user in sorted(set(holders) | set(public)):
        signing = f" (signs with {public[user][:16]}...)" if user in public else ""
        click.echo(f"{user}: {', '.join(sorted(holders.get(user, set()))) or 'no role'}{signing}")
    click.echo(f"two approvers above a budget used of {threshold:,.0f}" if threshold is not None
               else "one approver is enough for every plan")
    click.echo(f"roles are kept in the plan store; {mode}")


@click.group()
def key() -> None:
    """Ed25519 signing keys: a user generates one, an admin registers its public half.

    \b
    Example:
      planner key generate --out ~/.planner/bob.key
    """


@key.command("generate")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="New file for the private key.")
def key_generate(out: Path) -> None:
    """Make a new Ed25519 key: the private key goes to --out (readable by you only), the public key is printed for
    an admin to register.

    \b
    Example:
      planner key generate --out ~/.planner/bob.key
    """
    import os

    from planner.store.identity import new_key

    if out.exists():
        raise CannotRun(f"{out} exists: a key is never overwritten; choose a new file")
    private, public = new_key()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(private)
    except OSError as error:
        raise CannotRun(f"cannot write the key to {out}: {error.strerror or error}") from None
    click.echo(f"private key written to {out} (keep it; pass it with --key or PLANNER_KEY)")
    click.echo(f"public key: {public}")


@key.command("register")
@click.argument("user")
@click.argument("public_key", metavar="PUBLIC_KEY")
@_acting
def key_register(user: str, public_key: str, actor: str | None, key_file: str | None, db: str | None) -> None:
    """Register USER's public key (admins only): from then on USER's actions must be signed with it.

    \b
    Example:
      planner key register bob 3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29 --as dana
    """
    from planner.store.keys import register

    def change(connection: Any, acting: str, signer: Any) -> str:
        register(connection, acting, signer, user, public_key)
        return f"registered a signing key for {user} (by {acting})"

    _change_roles(actor, key_file, db, change)


@key.command("revoke")
@click.argument("user")
@_acting
def key_revoke(user: str, actor: str | None, key_file: str | None, db: str | None) -> None:
    """Revoke USER's signing key (admins only).

    \b
    Example:
      planner key revoke bob --as dana
    """
    from planner.store.keys import revoke

    def change(connection: Any, acting: str, signer: Any) -> str:
        revoke(connection, acting, signer, user)
        return f"revoked the signing key of {user} (by {acting})"

    _change_roles(actor, key_file, db, change)


COMMANDS = (plan, audit, db, role, key)
