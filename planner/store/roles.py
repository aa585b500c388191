"""Who may do what: roles (planner, approver, admin) and the two-approver threshold.

Roles come from a roles file when one is in force — `--roles FILE`, else the environment variable PLANNER_ROLES,
else `.planner/roles.yaml` when it exists — and otherwise from the database, managed with `planner role`:

    # .planner/roles.yaml
    users:
      alice: [planner]
      bob: [approver]
      carol: [approver]
      dana: [admin]
    two_approvers_above: 3600000     # a plan whose budget_used is above this needs two approvers

Either way the database's `planner_roles` and `planner_settings` tables hold the roles in force, and every change
is an audit row: a roles file is synchronised into them at the start of each action (each grant, revoke and
setting change audited, with the file's sha256), and `planner role` writes them directly (admin only; while the
database has no admin yet, anyone may grant the first admin role).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Connection, delete, select

from planner.store import audit
from planner.store.errors import CannotOpen, Refused
from planner.store.hashing import file_sha256
from planner.store.schema import planner_roles, planner_settings

Role = Literal["planner", "approver", "admin"]
ROLES: tuple[str, ...] = ("planner", "approver", "admin")
ENV_ROLES = "PLANNER_ROLES"
DEFAULT_ROLES = Path(".planner") / "roles.yaml"
THRESHOLD = "two_approvers_above"
USER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$"


class RolesFile(BaseModel):
    """The roles file: users and their roles, and the budget above which two approvers are needed."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    users: dict[str, tuple[Role, ...]] = Field(default_factory=dict)
    two_approvers_above: float | None = Field(default=None, ge=0)


@dataclass(frozen=True)
class Access:
    """Where roles come from for this run: a roles file (`file`, `config`, `sha256`) or the database (all None)."""

    file: str | None = None
    config: RolesFile | None = None
    sha256: str | None = None

    @property
    def source(self) -> str:
        return f"the roles file {self.file}" if self.file else "the plan store (planner role grant)"


def load_access(roles: str | None = None) -> Access:
    """The roles file named by `roles`, PLANNER_ROLES, or `.planner/roles.yaml` if present; else database roles."""
    from planner.rules.source import load_yaml

    named = roles or os.environ.get(ENV_ROLES)
    path = Path(named) if named else DEFAULT_ROLES
    if not path.exists():
        if named:
            raise CannotOpen(f"roles file does not exist: {path}")
        return Access()
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
    bad = [user for user in config.users if not _valid_user(user)]
    if bad:
        raise CannotOpen(f"{path}: user names must be letters, digits, '_', '.', '@' or '-': {', '.join(bad)}")
    return Access(str(path), config, file_sha256(path))


def _valid_user(user: str) -> bool:
    return bool(re.fullmatch(USER_PATTERN, user)) and len(user) <= 80


def check_actor(actor: str | None) -> str:
    """The acting user from --as or PLANNER_USER, checked."""
    actor = (actor or os.environ.get("PLANNER_USER") or "").strip()
    if not actor:
        raise CannotOpen("who is acting? pass --as USER or set PLANNER_USER")
    if not _valid_user(actor):
        raise CannotOpen(f"user name {actor!r} is not valid: letters, digits, '_', '.', '@' or '-', up to 80")
    return actor


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


def sync(connection: Connection, access: Access, actor: str) -> None:
    """Bring the database's roles and settings in line with the roles file in force, auditing each change."""
    if access.config is None:
        return
    source = {"source": access.file, "sha256": access.sha256}
    now = held(connection)
    wanted: dict[str, set[str]] = {user: set(roles) for user, roles in access.config.users.items()}
    for user in sorted(set(now) | set(wanted)):
        for role in sorted(wanted.get(user, set()) - now.get(user, set())):
            _grant(connection, actor, user, role, source)
        for role in sorted(now.get(user, set()) - wanted.get(user, set())):
            _revoke(connection, actor, user, role, source)
    if settings(connection).get(THRESHOLD) != access.config.two_approvers_above:
        _set(connection, actor, THRESHOLD, access.config.two_approvers_above, source)


def require(connection: Connection, access: Access, actor: str, role: str, doing: str) -> None:
    roles = held(connection).get(actor, set())
    if role not in roles:
        has = ", ".join(sorted(roles)) or "no role"
        raise Refused(f"{actor} may not {doing}: that needs the {role} role, and {actor} has {has} "
                      f"(roles come from {access.source})")


def _grant(connection: Connection, actor: str, user: str, role: str, source: dict[str, Any]) -> None:
    connection.execute(planner_roles.insert().values(username=user, role=role, granted_by=actor,
                                                     granted_at=audit.utc_now()))
    audit.append(connection, actor, "role_grant", {"user": user, "role": role, **source})


def _revoke(connection: Connection, actor: str, user: str, role: str, source: dict[str, Any]) -> None:
    connection.execute(delete(planner_roles).where(planner_roles.c.username == user, planner_roles.c.role == role))
    audit.append(connection, actor, "role_revoke", {"user": user, "role": role, **source})


def _set(connection: Connection, actor: str, key: str, value: Any, source: dict[str, Any]) -> None:
    before = settings(connection).get(key)
    connection.execute(delete(planner_settings).where(planner_settings.c.key == key))
    connection.execute(planner_settings.insert().values(key=key, value=value))
    audit.append(connection, actor, "setting_change", {"key": key, "before": before, "value": value, **source})


def _manage(connection: Connection, access: Access, actor: str, doing: str) -> None:
    """Direct role management: only without a roles file, only by an admin (or anyone, to create the first admin)."""
    if access.file:
        raise Refused(f"roles come from {access.file}: edit that file (each change is audited at the next action)")
    if _admins(connection):
        require(connection, access, actor, "admin", doing)


def _admins(connection: Connection) -> list[str]:
    return sorted(user for user, roles in held(connection).items() if "admin" in roles)


def grant(connection: Connection, access: Access, actor: str, user: str, role: str) -> None:
    _manage(connection, access, actor, "grant roles")
    if not _admins(connection) and role != "admin":
        raise Refused("the plan store has no admin yet: grant the admin role first (planner role grant USER admin)")
    if not _valid_user(user):
        raise CannotOpen(f"user name {user!r} is not valid: letters, digits, '_', '.', '@' or '-', up to 80")
    if role in held(connection).get(user, set()):
        raise Refused(f"{user} already has the {role} role")
    _grant(connection, actor, user, role, {"source": "planner role grant"})


def revoke(connection: Connection, access: Access, actor: str, user: str, role: str) -> None:
    _manage(connection, access, actor, "revoke roles")
    if role not in held(connection).get(user, set()):
        raise Refused(f"{user} does not have the {role} role")
    _revoke(connection, actor, user, role, {"source": "planner role revoke"})


def set_threshold(connection: Connection, access: Access, actor: str, amount: float | None) -> None:
    _manage(connection, access, actor, "change the two-approver threshold")
    if not _admins(connection):
        raise Refused("the plan store has no admin yet: grant the admin role first (planner role grant USER admin)")
    _set(connection, actor, THRESHOLD, amount, {"source": "planner role threshold"})
