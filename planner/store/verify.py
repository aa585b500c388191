"""`planner audit verify`: the chain is unbroken, and the tables say what the chain says.

1. The chain: rows are numbered 1, 2, 3 ... without gaps; each row links to the previous row's hash; each row's
   hash is sha256(previous hash + canonical JSON of its content); the head names the last row. The first row that
   fails is reported: an edited row fails its own hash, a deleted row leaves a gap (or, at the end, a head that
   names a row that is gone).
2. The tables: replaying the trail gives every version's content hash and status, every decision (who, what,
   comment, when), the roles and the settings. A version whose frozen content no longer hashes to what its submit
   row recorded, a decision comment edited in `plan_decisions`, a role granted by SQL — each is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from planner.store import audit, roles
from planner.store.database import Store
from planner.store.hashing import GENESIS, chain_hash, content_hash
from planner.store.schema import plan_decisions, plan_versions
from planner.store.versions import SUPERSEDED, numbers, scenarios, version_at


@dataclass
class Verification:
    rows: int
    head_hash: str
    broken_row: int | None = None
    """Number of the first audit row that fails (None when the chain holds)."""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(store: Store) -> Verification:
    with store.read() as connection:
        entries = audit.rows(connection)
        head = audit.head(connection)
        result = Verification(len(entries), head[1] if head else "")
        _chain(entries, head, result)
        _tables(connection, entries, result)
    return result


def _chain(entries: list[audit.AuditRow], head: tuple[int, str] | None, result: Verification) -> None:
    expected, previous = 1, GENESIS
    for row in entries:
        problem = None
        if row.seq != expected:
            missing = f"row {expected}" if row.seq == expected + 1 else f"rows {expected}-{row.seq - 1}"
            problem = f"audit {row.label} follows row {expected - 1}: {missing} deleted"
        elif row.prev_hash != previous:
            problem = f"audit {row.label} does not link to row {row.seq - 1}: that row was edited or replaced"
        elif chain_hash(row.prev_hash, row.content()) != row.row_hash:
            problem = f"audit {row.label} does not match its hash: the row was edited"
        if problem:
            result.broken_row = row.seq
            result.problems.append(problem)
            return
        expected, previous = row.seq + 1, row.row_hash
    if head is None:
        result.problems.append("the audit head row is missing")
        result.broken_row = expected
    elif head != (expected - 1, previous):
        result.broken_row = expected - 1 if head[0] < expected - 1 else expected
        result.problems.append(f"the audit head names row {head[0]} but the chain ends at row {expected - 1}: "
                               "rows at the end were deleted (or the head was edited)")


def _replay(entries: list[audit.AuditRow]) -> dict[str, Any]:
    versions: dict[tuple[str, int], dict[str, Any]] = {}
    decisions: dict[tuple[str, int, str], tuple[int, dict[str, str]]] = {}
    held: set[tuple[str, str]] = set()
    settings: dict[str, Any] = {}
    for row in entries:
        payload = row.payload
        if row.action == "submit" and row.scenario is not None and row.version is not None:
            versions[(row.scenario, row.version)] = {"sha": payload.get("content_sha256"), "status": "submitted",
                                                     "row": row.seq}
            for number in payload.get("supersedes", []):
                versions.setdefault((row.scenario, number), {})["status"] = SUPERSEDED
        elif row.action in ("approve", "reject") and row.scenario is not None and row.version is not None:
            versions.setdefault((row.scenario, row.version), {})["status"] = payload.get("status")
            decisions[(row.scenario, row.version, row.actor)] = (row.seq, {
                "decision": row.action, "comment": payload.get("comment", ""), "at": payload.get("decided_at", "")})
        elif row.action == "role_grant":
            held.add((payload["user"], payload["role"]))
        elif row.action == "role_revoke":
            held.discard((payload["user"], payload["role"]))
        elif row.action == "setting_change":
            settings[payload["key"]] = payload["value"]
    return {"versions": versions, "decisions": decisions, "roles": held, "settings": settings}


def _tables(connection: Connection, entries: list[audit.AuditRow], result: Verification) -> None:
    expected = _replay(entries)
    stored: set[tuple[str, int]] = set()
    for scenario in scenarios(connection):
        for number in numbers(connection, scenario):
            stored.add((scenario, number))
            version = version_at(connection, scenario, number)
            trail = expected["versions"].get((scenario, number))
            if trail is None or "sha" not in trail:
                result.problems.append(f"{version.label} has no submit row in the audit trail (inserted by hand)")
                continue
            if content_hash(version.content()) != trail["sha"] or version.content_sha256 != trail["sha"]:
                result.problems.append(f"{version.label} no longer matches the content hash its submit row "
                                       f"{trail['row']} recorded: its frozen content was edited")
            if version.status != trail["status"]:
                result.problems.append(f"{version.label} is '{version.status}' but the audit trail says "
                                       f"'{trail['status']}'")
    for scenario, number in sorted(set(expected["versions"]) - stored):
        result.problems.append(f"{scenario} version {number} is in the audit trail but not in the store (deleted)")
    _decisions(connection, expected["decisions"], result)
    held = {(user, role) for user, roles_of in roles.held(connection).items() for role in roles_of}
    for user, role in sorted(held ^ expected["roles"]):
        where = "held in the store" if (user, role) in held else "granted in the audit trail"
        result.problems.append(f"role {role} of {user} is {where} only")
    current = roles.settings(connection)
    for key in sorted(set(current) | set(expected["settings"])):
        if current.get(key) != expected["settings"].get(key):
            result.problems.append(f"setting {key} is {current.get(key)!r} in the store but "
                                   f"{expected['settings'].get(key)!r} in the audit trail")


def _decisions(connection: Connection, expected: dict[tuple[str, int, str], tuple[int, dict[str, str]]],
               result: Verification) -> None:
    found = {(s, n, actor): {"decision": decision, "comment": comment, "at": at}
             for s, n, actor, decision, comment, at in connection.execute(
                 select(plan_versions.c.scenario, plan_versions.c.number, plan_decisions.c.actor,
                        plan_decisions.c.decision, plan_decisions.c.comment, plan_decisions.c.decided_at)
                 .join(plan_versions, plan_versions.c.id == plan_decisions.c.version_id))}
    for key in sorted(set(found) | set(expected)):
        scenario, number, actor = key
        what = f"{actor}'s decision on {scenario} version {number}"
        if key not in expected:
            result.problems.append(f"{what} is in plan_decisions but in no audit row (inserted by hand)")
        elif key not in found:
            result.problems.append(f"{what} (audit row {expected[key][0]}) is missing from plan_decisions (deleted)")
        else:
            seq, recorded = expected[key]
            for field_name, value in recorded.items():
                if found[key][field_name] != value:
                    result.problems.append(f"{what}: plan_decisions says {field_name} {found[key][field_name]!r}, "
                                           f"audit row {seq} recorded {value!r}")
