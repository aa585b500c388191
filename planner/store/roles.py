"""Who may do what: roles (planner, approver, admin) and the two-approver threshold, kept in the store.

Roles live in the database (`planner_roles`, `planner_settings`) and change only by an administrator's action, each
change an audit row attributed to that administrator: `planner role grant|revoke|threshold`, or `planner role import
FILE`, which brings the store in line with a roles file (each grant, revoke and setting change audited, with the
file's sha256). A roles file is therefore an import an administrator runs, never a per-call option:

    # .planner/roles.yaml
    users:
      alice: [planner]
      bob: [approver]
      carol: [approver]
      dana: [admin]
    two_approvers_above: 3600000     # a plan whose budget_used is above this needs two approvers

User names are normalized (NFKC + casefold, `planner.store.identity`), so `Bob` and `bob` are one person. While the
store has no admin, anyone may make the first grant or import (set a shared store up before giving others access).
A new single-user (SQLite) store that has never had a role imports `.planner/roles.yaml` once, on its first action,
so the demo works from a fresh checkout; after that the file is only read by `planner role import`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Connection, delete, select

from planner.store import audit, identity
from planner.store.errors import CannotOpen, Refused
from planner.store.hashing import file_sha256
from planner.store.schema import audit_log, planner_roles, planner_settings

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

Role = Literal["planner", "approver", "admin"]
ROLES: tuple[str, ...] = ("planner", "approver", "admin")
DEFAULT_ROLES = Path(".planner") / "roles.yaml"
THRESHOLD = "two_approvers_above"


class RolesFile(BaseModel):
    """The roles file: users and their roles, and the budget above which two approvers are needed."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    users: dict[str, tuple[Role, ...]] = Field(default_factory=dict)
    two_approvers_above: float | None = Field(default=None, ge=0)


@dataclass(frozen=True)
class Imported:
    """A roles file read and checked: its path, sha256 and users (names normalized)."""

    file: str
    sha256: str
    users: dict[str, set[str]]
    two_approvers_above: float | None


def read_file(path: Path) -> Imported:
    """Read and check a roles file (located errors; names normalized, two spellings of one name refused)."""
    from planner.rules.source import load_yaml

    if not path.is_file():
        raise CannotOpen(f"roles file does not exist: {path}")
    document, problems = load_yaml(path, str(path))
    if document is None:
        raise CannotOpen("; ".join(f"{p.location}: {p.message}" for p in problems) or f"cannot read {path}")
    try:
        config = RolesFile.model_validate(document.data if document.data is not None else {})
    except ValidationError as error:
        lines = []
        for problem in error.errors(include_url=False):
            where = document.at(tuple(problem["loc"]))
            lines.append(f"{where}: {'.'.join(str(p) for p in problem['loc']) or 'file'}: {problem['msg']}")
        raise CannotOpen("the roles file is invalid:\n  " + "\n  ".join(lines)) from None
    users: dict[str, set[str]] = {}
    for name, held_roles in config.users.items():
        try:
            user = identity.normalize(name)
        except CannotOpen as error:
            raise CannotOpen(f"{document.at(('users', name), key=True)}: {error}") from None
        if user in users:
            raise CannotOpen(f"{document.at(('users', name), key=True)}: {name!r} is the same user as another "
                             f"entry ({user}): names are compared case- and Unicode-normalised")
        users[user] = set(held_roles)
    return Imported(str(path), file_sha256(path), users, config.two_approvers_above)


def held(connection: Connection) -> dict[str, set[str]]:
    """user -> roles held, from the database."""
    out: dict[str, set[str]] = {}
    for user, role in connection.execute(select(planner_roles.c.username, planner_roles.c.role)):
        out.setdefault(user, set()).add(role)
    return out


def settings(connection: Connection) -> dict[str, Any]:
    return {key: value for key, value in connection.execute(select(planner_settings.c.key, planner_settings.c.value))}


def two_approvers_above(connection: Connection) -> float | None:
    value = settings(connection).get(THRESHOLD)
    return float(value) if value is not None else None


def require(connection: Connection, actor: str, role: str, doing: str) -> None:
    roles = held(connection).get(actor, set())
    if role not in roles:
        has = ", ".join(sorted(roles)) or "no role"
        raise Refused(f"{actor} may not {doing}: that needs the {role} role, and {actor} has {has} "
                      "(an admin grants roles: planner role grant)")


def _grant(connection: Connection, actor: str, user: str, role: str, source: dict[str, Any],
           key: Ed25519PrivateKey | None) -> None:
    connection.execute(planner_roles.insert().values(username=user, role=role, granted_by=actor,
                                                     granted_at=audit.utc_now()))
    audit.append(connection, actor, "role_grant", {"user": user, "role": role, **source}, key=key)


def _revoke(connection: Connection, actor: str, user: str, role: str, source: dict[str, Any],
            key: Ed25519PrivateKey | None) -> None:
    connection.execute(delete(planner_roles).where(planner_roles.c.username == user, planner_roles.c.role == role))
    audit.append(connection, actor, "role_revoke", {"user": user, "role": role, **source}, key=key)


def _set(connection: Connection, actor: str, key_name: str, value: Any, source: dict[str, Any],
         key: Ed25519PrivateKey | None) -> None:
    before = settings(connection).get(key_name)
    connection.execute(delete(planner_settings).where(planner_settings.c.key == key_name))
    connection.execute(planner_settings.insert().values(key=key_name, value=value))
    audit.append(connection, actor, "setting_change", {"key": key_name, "before": before, "value": value, **source},
                 key=key)


def _admins(connection: Connection) -> list[str]:
    return sorted(user for user, roles in held(connection).items() if "admin" in roles)


def _manage(connection: Connection, actor: str, doing: str) -> None:
    """Role management is an admin's (or anyone's, while the store has no admin: the first grant)."""
    if _admins(connection):
        require(connection, actor, "admin", doing)


def grant(connection: Connection, actor: str, user: str, role: str, key: Ed25519PrivateKey | None = None) -> None:
    _manage(connection, actor, "grant roles")
    if not _admins(connection) and role != "admin":
        raise Refused("the plan store has no admin yet: grant the admin role first (planner role grant USER admin)")
    user = identity.normalize(user)
    if role in held(connection).get(user, set()):
        raise Refused(f"{user} already has the {role} role")
    _grant(connection, actor, user, role, {"source": "planner role grant"}, key)


def revoke(connection: Connection, actor: str, user: str, role: str, key: Ed25519PrivateKey | None = None) -> None:
    _manage(connection, actor, "revoke roles")
    user = identity.normalize(user)
    if role not in held(connection).get(user, set()):
        raise Refused(f"{user} does not have the {role} role")
    _revoke(connection, actor, user, role, {"source": "planner role revoke"}, key)


def set_threshold(connection: Connection, actor: str, amount: float | None,
                  key: Ed25519PrivateKey | None = None) -> None:
    _manage(connection, actor, "change the two-approver threshold")
    if not _admins(connection):
        raise Refused("the plan store has no admin yet: grant the admin role first (planner role grant USER admin)")
    _set(connection, actor, THRESHOLD, amount, {"source": "planner role threshold"}, key)


def import_file(connection: Connection, actor: str, roles: Imported, key: Ed25519PrivateKey | None = None,
                how: str = "planner role import") -> int:
    """Make the store's roles and threshold those of `roles` (admins only); each change audited, attributed to
    `actor`. Returns the number of changes."""
    _manage(connection, actor, "import roles")
    if not any("admin" in wanted for wanted in roles.users.values()):
        raise Refused(f"{roles.file} names no admin: the store would have nobody to manage its roles")
    source = {"source": f"{how} {roles.file}", "sha256": roles.sha256}
    now = held(connection)
    changes = 0
    for user in sorted(set(now) | set(roles.users)):
        for role in sorted(roles.users.get(user, set()) - now.get(user, set())):
            _grant(connection, actor, user, role, source, key)
            changes += 1
        for role in sorted(now.get(user, set()) - roles.users.get(user, set())):
            _revoke(connection, actor, user, role, source, key)
            changes += 1
    if settings(connection).get(THRESHOLD) != roles.two_approvers_above:
        _set(connection, actor, THRESHOLD, roles.two_approvers_above, source, key)
        changes += 1
    return changes


def first_use(connection: Connection, actor: str) -> None:
    """A single-user store that never had a role imports `.planner/roles.yaml` once (the demo's roles)."""
    if connection.dialect.name != "sqlite" or not DEFAULT_ROLES.is_file():
        return
    ever = connection.execute(select(audit_log.c.seq).where(audit_log.c.action.in_(("role_grant", "role_revoke")))
                              .limit(1)).first()
    if ever is None and not held(connection):
        import_file(connection, actor, read_file(DEFAULT_ROLES), how="first use of a single-user store: imported")
