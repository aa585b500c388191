"""`planner audit|db|role|key`: the plan store's administration (audit trail, schema upgrade, roles, signing keys).

The plan versions and their approval are `planner plan` (planner/cli/plan.py). SQLAlchemy and alembic are imported
inside planner.store's database modules, which only the store's commands load.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from planner.cli.common import (
    FINDINGS,
    FORMAT_OPTION,
    CannotRun,
    acting_options,
    acting_user,
    db_option,
    plan_store,
    single_user_note,
    store_errors,
)


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
    from planner.report.plans import verify_text
    from planner.store.verify import parse_anchor, verify

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
    from planner.report.plans import log_text
    from planner.store.audit import rows

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

    user, key = acting_user(actor, key_file)
    with plan_store(db) as store:
        with store.write() as connection:
            acting = identity.acting(connection, user)
            roles.first_use(connection, acting)
            message = change(connection, acting, keys.signer(connection, acting, key))
        single_user_note(store)
    click.echo(message)


ROLE_CHOICE = click.Choice(["planner", "approver", "admin"])


@role.command("grant")
@click.argument("user")
@click.argument("name", metavar="ROLE", type=ROLE_CHOICE)
@acting_options
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
@acting_options
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
@acting_options
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
@acting_options
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
@acting_options
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
@acting_options
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


COMMANDS = (audit, db, role, key)
