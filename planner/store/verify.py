"""`planner audit verify`: the chain is unbroken, signed where it must be, anchored, and the tables agree with it.

1. The chain: rows are numbered 1, 2, 3 ... without gaps; each row links to the previous row's hash; each row's
   hash is sha256(previous hash + canonical JSON of its content); the head names the last row. The first row that
   fails is reported: an edited row fails its own hash, a deleted row leaves a gap (or, at the end, a head that
   names a row that is gone).
2. Signatures: a row acted by a user whose key was registered at that point of the trail must carry their valid
   Ed25519 signature over its hash — a row appended or rewritten with a freshly computed hash in their name, by
   anyone without their private key, fails here.
3. The anchor (`expect`, from `planner audit head` recorded elsewhere): the row it names must still be there with
   the same hash, so a truncated chain, or one recomputed from an earlier point on, is told from an honest one.
4. The tables: replaying the trail gives every version's content hash and status, every decision (who, what,
   comment, when), the roles, the settings and the registered keys. A version whose frozen content no longer
   hashes to what its submit row recorded, a frozen file edited or missing, a decision comment edited in
   `plan_decisions`, a role granted by SQL — each is reported.

`check_versions` runs the same checks for the versions a command is about to show or decide, so `report`, `plan
show`, `plan diff`, `plan list` and `approve` never present a version that fails as if it were sound. Every check
reads in one snapshot (`Store.read()`: REPEATABLE READ, READ ONLY on PostgreSQL), so writers working meanwhile are
never mistaken for tampering.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, inspect, select

from planner.store import audit, files, identity, keys, roles
from planner.store.database import Store
from planner.store.hashing import GENESIS, chain_hash, content_hash
from planner.store.schema import metadata, plan_decisions, plan_versions
from planner.store.versions import SUPERSEDED, Version, numbers, scenarios, version_at

Anchor = tuple[int, str]


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

    def broken_at(self, seq: int, problem: str) -> None:
        self.broken_row = seq if self.broken_row is None else min(self.broken_row, seq)
        self.problems.append(problem)


def parse_anchor(text: str) -> Anchor:
    """`SEQ:HASH` as `planner audit head` prints it."""
    seq, _, digest = text.strip().partition(":")
    if not seq.isdigit() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest.lower()):
        raise ValueError(f"{text!r} is not SEQ:HASH (e.g. 12:3f9a...; 64 hex digits), as planner audit head prints")
    return int(seq), digest.lower()


def verify(store: Store, expect: Anchor | None = None) -> Verification:
    with store.read() as connection:
        missing = _missing_tables(connection)
        if missing:
            result = Verification(0, "")
            result.problems += [f"table {name} is missing from the store (dropped)" for name in missing]
            return result
        entries = audit.rows(connection)
        head = audit.head(connection)
        result = Verification(len(entries), head[1] if head else "")
        _chain(entries, head, result)
        _signatures(entries, result)
        if expect is not None:
            _anchor(entries, expect, result)
        _tables(connection, entries, result)
    return result


def check_versions(connection: Connection, versions: list[Version]) -> list[str]:
    """Why these versions cannot be shown or decided as sound (empty when they verify): the chain, the signatures,
    and each version's content, status, decisions and frozen files against its audit rows."""
    return [problem for found in failures(connection, versions).values() for problem in found]


def failures(connection: Connection, versions: list[Version]) -> dict[tuple[str, int], list[str]]:
    """(scenario, number) -> why it fails, for each of `versions` that fails. The chain is walked once; a broken
    chain or a forged row fails every version (nothing in the store can then be trusted)."""
    missing = _missing_tables(connection)
    if missing:
        shared = [f"table {name} is missing from the store (dropped)" for name in missing]
        return {(version.scenario, version.number): shared for version in versions}
    entries = audit.rows(connection)
    chain = Verification(len(entries), "")
    _chain(entries, audit.head(connection), chain)
    _signatures(entries, chain)
    replayed = _replay(entries)
    found = {}
    for version in versions:
        result = Verification(len(entries), "", problems=list(chain.problems))
        _version(connection, version, replayed, result)
        _version_decisions(version, replayed["decisions"], result)
        if result.problems:
            found[(version.scenario, version.number)] = result.problems
    return found


def refusal(label: str, problems: list[str], outcome: str) -> str:
    """What a command says about a version that failed verification, and what it does about it (`outcome`)."""
    listed = "\n".join(f"  {identity.printable(problem)}" for problem in problems[:10])
    more = f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else ""
    return (f"{label} failed verification; {outcome}:\n{listed}{more}\n"
            "run 'planner audit verify' for the whole store")


def _missing_tables(connection: Connection) -> list[str]:
    present = set(inspect(connection).get_table_names())
    return sorted(table.name for table in metadata.sorted_tables if table.name not in present)


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
            result.broken_at(row.seq, problem)
            return
        expected, previous = row.seq + 1, row.row_hash
    if head is None:
        result.broken_at(expected, "the audit head row is missing")
    elif head != (expected - 1, previous):
        result.broken_at(expected - 1 if head[0] < expected - 1 else expected,
                         f"the audit head names row {head[0]} but the chain ends at row {expected - 1}: "
                         "rows at the end were deleted (or the head was edited)")


def _signatures(entries: list[audit.AuditRow], result: Verification) -> None:
    """Each row by a user with a key registered at that point carries their valid signature over its hash."""
    registered: dict[str, str] = {}
    for row in entries:
        public = registered.get(row.actor)
        if public is not None and not identity.signed_by(public, row.row_hash, row.signature):
            what = "carries no signature" if not row.signature else "carries a signature that is not theirs"
            result.broken_at(row.seq, f"audit {row.label} {what}, but {row.actor} signs with key "
                             f"{public[:16]}...: the row was forged or altered")
        elif public is None and row.signature:
            result.broken_at(row.seq, f"audit {row.label} is signed, but {row.actor} had no registered key then")
        if row.action == "key_register":
            registered[str(row.payload.get("user"))] = str(row.payload.get("public_key"))
        elif row.action == "key_revoke":
            registered.pop(str(row.payload.get("user")), None)


def _anchor(entries: list[audit.AuditRow], expect: Anchor, result: Verification) -> None:
    seq, digest = expect
    found = next((row for row in entries if row.seq == seq), None)
    last = entries[-1].seq if entries else 0
    if found is None:
        result.broken_at(min(seq, last + 1), f"the anchored row {seq} is not in the audit trail (it ends at row "
                         f"{last}): the chain was truncated")
    elif found.row_hash != digest:
        result.broken_at(seq, f"audit row {seq} has hash {found.row_hash[:16]}..., not the anchored "
                         f"{digest[:16]}...: the chain was rewritten at or before row {seq}")


def _replay(entries: list[audit.AuditRow]) -> dict[str, Any]:
    versions: dict[tuple[str, int], dict[str, Any]] = {}
    decisions: dict[tuple[str, int, str], tuple[int, dict[str, str]]] = {}
    held: set[tuple[str, str]] = set()
    settings: dict[str, Any] = {}
    registered: dict[str, str] = {}
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
        elif row.action == "key_register":
            registered[payload["user"]] = payload["public_key"]
        elif row.action == "key_revoke":
            registered.pop(payload["user"], None)
    return {"versions": versions, "decisions": decisions, "roles": held, "settings": settings, "keys": registered}


def _version(connection: Connection, version: Version, replayed: dict[str, Any], result: Verification) -> None:
    """One version against the trail: submitted there, same content hash, same status, its frozen files intact."""
    trail = replayed["versions"].get((version.scenario, version.number))
    if trail is None or "sha" not in trail:
        result.problems.append(f"{version.label} has no submit row in the audit trail (inserted by hand)")
        return
    if content_hash(version.content()) != trail["sha"] or version.content_sha256 != trail["sha"]:
        result.problems.append(f"{version.label} no longer matches the content hash its submit row "
                               f"{trail['row']} recorded: its frozen content was edited")
    if version.status != trail["status"]:
        result.problems.append(f"{version.label} is '{version.status}' but the audit trail says "
                               f"'{trail['status']}'")
    if version.frozen.command_line is None:
        return  # stored before the store kept files: nothing to check
    by_sha = {sha: path for path, (_, sha) in version.frozen.rule_files.items()}
    _, problems = files.get(connection, sorted(by_sha))
    result.problems += [f"{version.label}: frozen file {by_sha[sha]} is {problem}" for sha, problem in problems.items()]


def _version_decisions(version: Version, decisions: dict[tuple[str, int, str], tuple[int, dict[str, str]]],
                       result: Verification) -> None:
    expected = {actor: entry for (scenario, number, actor), entry in decisions.items()
                if (scenario, number) == (version.scenario, version.number)}
    found = {d.actor: {"decision": d.decision, "comment": d.comment, "at": d.at} for d in version.decisions}
    _compare_decisions({(version.scenario, version.number, a): v for a, v in found.items()},
                       {(version.scenario, version.number, a): v for a, v in expected.items()}, result)


def _tables(connection: Connection, entries: list[audit.AuditRow], result: Verification) -> None:
    expected = _replay(entries)
    stored: set[tuple[str, int]] = set()
    for scenario in scenarios(connection):
        for number in numbers(connection, scenario):
            stored.add((scenario, number))
            _version(connection, version_at(connection, scenario, number), expected, result)
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
    registered = keys.registered(connection)
    for user in sorted(set(registered) | set(expected["keys"])):
        if registered.get(user) != expected["keys"].get(user):
            result.problems.append(f"the signing key of {user} in the store is not the one the audit trail "
                                   "registered: it was changed by SQL")


def _decisions(connection: Connection, expected: dict[tuple[str, int, str], tuple[int, dict[str, str]]],
               result: Verification) -> None:
    found = {(s, n, actor): {"decision": decision, "comment": comment, "at": at}
             for s, n, actor, decision, comment, at in connection.execute(
                 select(plan_versions.c.scenario, plan_versions.c.number, plan_decisions.c.actor,
                        plan_decisions.c.decision, plan_decisions.c.comment, plan_decisions.c.decided_at)
                 .join(plan_versions, plan_versions.c.id == plan_decisions.c.version_id))}
    _compare_decisions(found, expected, result)


def _compare_decisions(found: dict[tuple[str, int, str], dict[str, str]],
                       expected: dict[tuple[str, int, str], tuple[int, dict[str, str]]], result: Verification) -> None:
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
