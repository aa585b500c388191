"""The approval workflow: approve or reject a submitted version, under segregation of duties.

    (scenario on disk: the draft) --submit--> submitted --approve (1 or 2 approvers)--> approved
                                                  |--reject------------------------> rejected
                                                  '--a newer version is submitted--> superseded

Rules, each refusing with exit 1 and a message that says what to do:
- submitting needs the planner role; approving and rejecting need the approver role;
- nobody approves or rejects their own submission;
- a version whose budget_used is above the two-approver threshold needs two distinct approvers (neither the
  submitter); it stays `submitted` after the first approval;
- only a `submitted` version can be decided: approved, rejected and superseded versions are final;
- approval re-hashes the files the version was built from, in the working directory, and refuses when any changed,
  disappeared, or a new rule file appeared in the scenario's rules: the approver would approve terms that are
  no longer on disk.

A decision is one transaction: lock the version row, check, insert the decision, move the status with the
optimistic revision counter, append the audit row. Of two concurrent decisions exactly one wins; the other waits
for the lock and is then refused with a conflict that names the winner.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from planner.store import audit, roles
from planner.store.database import Store
from planner.store.errors import Conflict, Refused
from planner.store.hashing import file_sha256
from planner.store.schema import plan_decisions
from planner.store.versions import APPROVED, REJECTED, SUBMITTED, Version, load, set_status, version_at


@dataclass(frozen=True)
class FileChange:
    path: str
    change: str
    """changed, missing or added."""
    submitted: str | None
    now: str | None


@dataclass(frozen=True)
class Outcome:
    version: Version
    decision: str
    approvals: int
    needed: int


def file_changes(version: Version) -> list[FileChange]:
    """Files the version was built from that are no longer what was submitted (paths from the working directory)."""
    changes = []
    for path, (_kind, submitted) in sorted(version.frozen.rule_files.items()):
        target = Path(path)
        if not target.is_file():
            changes.append(FileChange(path, "missing", submitted, None))
            continue
        now = file_sha256(target)
        if now != submitted:
            changes.append(FileChange(path, "changed", submitted, now))
    changes.extend(FileChange(path, "added", None, file_sha256(Path(path))) for path in _new_files(version))
    return changes


def _new_files(version: Version) -> list[str]:
    """Rule files the scenario would read today but did not when it was submitted (a new file in rules/)."""
    from planner.rules.scenario import resolve

    scenario = Path(version.frozen.scenario_file)
    if not scenario.is_file():
        return []
    resolved = resolve(scenario)
    today = list(resolved.chain) + list(resolved.rules.files)
    return sorted(set(today) - set(version.frozen.rule_files))


def approve(store: Store, access: roles.Access, scenario: str, number: int, actor: str,
            comment: str = "") -> Outcome:
    """Approve a submitted version (after checking that its files on disk still hash to what was submitted)."""
    changes = file_changes(load(store, scenario, number))
    if changes:
        lines = [f"  {c.path}: {c.change}" + (f" (submitted {c.submitted[:12]}, now {c.now[:12]})"
                                             if c.change == "changed" and c.submitted and c.now else "")
                 for c in changes]
        raise Refused(f"refused: {len(changes)} file(s) changed since {scenario} version {number} was submitted "
                      f"(checked from {Path.cwd()}):\n" + "\n".join(lines)
                      + "\nrestore the submitted files, or submit a new version and approve that one")
    return _decide(store, access, scenario, number, actor, "approve", comment)


def reject(store: Store, access: roles.Access, scenario: str, number: int, actor: str, comment: str) -> Outcome:
    if not comment.strip():
        raise Refused("a rejection needs a comment that tells the planner what to change (--comment TEXT)")
    return _decide(store, access, scenario, number, actor, "reject", comment)


def _decide(store: Store, access: roles.Access, scenario: str, number: int, actor: str, decision: str,
            comment: str) -> Outcome:
    verb = "approve" if decision == "approve" else "reject"
    with store.write() as connection:
        roles.sync(connection, access, actor)
        roles.require(connection, access, actor, "approver", f"{verb} plans")
        version = version_at(connection, scenario, number, lock=True)
        if version.status != SUBMITTED:
            raise Conflict(_final(version))
        if actor == version.submitted_by:
            raise Refused(f"segregation of duties: {actor} submitted {version.label} and cannot {verb} it; "
                          "another approver must")
        earlier = [d for d in version.decisions if d.actor == actor]
        if earlier:
            raise Conflict(f"{actor} already {_past(earlier[0].decision)} {version.label} at {earlier[0].at}; "
                           "a second approval must come from another approver")
        threshold = roles.two_approvers_above(connection)
        needed = 2 if threshold is not None and version.budget_used > threshold else 1
        approvals = len(version.approvals()) + (decision == "approve")
        status = REJECTED if decision == "reject" else APPROVED if approvals >= needed else SUBMITTED
        at = audit.utc_now()
        connection.execute(plan_decisions.insert().values(version_id=version.id, actor=actor, decision=decision,
                                                          comment=comment, decided_at=at))
        set_status(connection, version, status)
        audit.append(connection, actor, decision, {
            "status": status, "comment": comment, "decided_at": at, "content_sha256": version.content_sha256,
            "rule_files": {path: sha for path, (_, sha) in sorted(version.frozen.rule_files.items())},
            "approvals": approvals, "approvals_needed": needed, "two_approvers_above": threshold,
            "budget_used": version.budget_used, "roles_sha256": access.sha256,
        }, scenario=scenario, version=number)
        return Outcome(version_at(connection, scenario, number), decision, approvals, needed)


def _past(decision: str) -> str:
    return "approved" if decision == "approve" else "rejected"


def _final(version: Version) -> str:
    decided = [d for d in version.decisions if (d.decision == "reject") == (version.status == REJECTED)]
    last = decided[-1] if decided else None
    by = f" by {', '.join(d.actor for d in decided)} (last at {last.at})" if last else ""
    if version.status == "superseded":
        return (f"{version.label} was superseded by a newer version of {version.scenario}: decide on that one "
                f"(planner plan list {version.scenario})")
    return f"{version.label} is already {version.status}{by}: a decision is final; nothing to do"
