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
- a version is verified before it is decided: its frozen content against its content hash, its rows against the
  audit trail, its frozen files against their sha256 (`planner.store.verify.check_versions`); one that fails is
  refused. Its files come from the store, so an approver needs no checkout of the rules repository.
- a user with a registered signing key signs the decision (`planner.store.keys`).

A decision is one transaction: lock the version row, check, insert the decision, move the status with the
optimistic revision counter, append the audit row. Of two concurrent decisions exactly one wins; the other waits
for the lock and is then refused with a conflict that names the winner.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from planner.store import audit, identity, keys, roles
from planner.store.database import Store
from planner.store.errors import Conflict, Refused
from planner.store.schema import plan_decisions
from planner.store.versions import APPROVED, REJECTED, SUBMITTED, Version, set_status, version_at

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

LONGEST_COMMENT = 2000


@dataclass(frozen=True)
class Outcome:
    version: Version
    decision: str
    approvals: int
    needed: int


def approve(store: Store, scenario: str, number: int, actor: str | None, comment: str = "",
            key: Ed25519PrivateKey | None = None) -> Outcome:
    """Approve a submitted version (after verifying it: content hash, audit rows, frozen files)."""
    return _decide(store, scenario, number, actor, "approve", comment, key)


def reject(store: Store, scenario: str, number: int, actor: str | None, comment: str,
           key: Ed25519PrivateKey | None = None) -> Outcome:
    if not comment.strip():
        raise Refused("a rejection needs a comment that tells the planner what to change (--comment TEXT)")
    return _decide(store, scenario, number, actor, "reject", comment, key)


def _decide(store: Store, scenario: str, number: int, typed: str | None, decision: str, comment: str,
            key: Ed25519PrivateKey | None) -> Outcome:
    from planner.store.verify import check_versions, refusal

    verb = "approve" if decision == "approve" else "reject"
    identity.check_text("the comment", comment, LONGEST_COMMENT)
    with store.write() as connection:
        actor = identity.acting(connection, typed)
        roles.first_use(connection, actor)
        roles.require(connection, actor, "approver", f"{verb} plans")
        signer = keys.signer(connection, actor, key)
        version = version_at(connection, scenario, number, lock=True)
        problems = check_versions(connection, [version])
        if problems:
            raise Refused(refusal(version.label, problems, f"refusing to {verb} it"))
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
            "budget_used": version.budget_used,
        }, scenario=scenario, version=number, key=signer)
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
