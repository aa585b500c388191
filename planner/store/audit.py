"""The audit trail: an append-only, hash-chained log of every action on the plan store.

Each row holds who did what, when, to which scenario version, and a payload with the hashes the action was based
on. Its `row_hash` is sha256(previous row's hash + canonical JSON of the row's content), the first row linking to
64 zeros; the `audit_head` row keeps the last number and hash. Editing any row changes its hash; deleting one breaks
the next row's link (or, for the last row, the head). `planner.store.verify` walks the chain.

Rows are only ever inserted, inside the action's own transaction, after `Store.write()` has locked the head: two
actions can never link to the same previous row. A row acted by a user with a registered key carries their Ed25519
signature over its `row_hash` (`planner.store.identity`); the signature is beside the hash, not inside it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select, update

from planner.store import identity
from planner.store.errors import CannotOpen, Conflict
from planner.store.hashing import chain_hash
from planner.store.schema import audit_head, audit_log

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ACTIONS = ("submit", "approve", "reject", "role_grant", "role_revoke", "setting_change", "key_register",
           "key_revoke", "actuals_import", "account_plan_status")
"""What a row may record: the store's own actions, the actuals imports (planner.actuals.store) and the annual plan
documents' status changes (planner.report.account_plan.status)."""


def utc_now() -> str:
    """Now, as the store writes times: ISO-8601 UTC with microseconds and a Z."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class AuditRow:
    seq: int
    at: str
    actor: str
    action: str
    scenario: str | None
    version: int | None
    payload: dict[str, Any]
    prev_hash: str
    row_hash: str
    signature: str | None = None

    def content(self) -> dict[str, Any]:
        """What the row's hash covers: everything but the two hashes."""
        return {"seq": self.seq, "at": self.at, "actor": self.actor, "action": self.action,
                "scenario": self.scenario, "version": self.version, "payload": self.payload}

    @property
    def label(self) -> str:
        target = f" {self.scenario} v{self.version}" if self.scenario is not None else ""
        return f"row {self.seq} ({self.action}{target} by {self.actor} at {self.at})"


def append(connection: Connection, actor: str, action: str, payload: dict[str, Any], *,
           scenario: str | None = None, version: int | None = None,
           key: Ed25519PrivateKey | None = None) -> AuditRow:
    """Add one row at the end of the chain (inside a `Store.write()` transaction, which holds the head's lock),
    signed with `key` when one is given."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    head = connection.execute(select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)).first()
    if head is None:
        raise CannotOpen("the audit trail's head row is missing: run 'planner audit verify'")
    seq, previous = head
    draft = AuditRow(seq + 1, utc_now(), actor, action, scenario, version, payload, previous, "")
    row_hash = chain_hash(previous, draft.content())
    signature = identity.sign(key, row_hash) if key is not None else None
    row = AuditRow(**{**draft.__dict__, "row_hash": row_hash, "signature": signature})
    connection.execute(audit_log.insert().values(**row.__dict__))
    moved = connection.execute(update(audit_head).where(audit_head.c.id == 1, audit_head.c.seq == seq)
                               .values(seq=row.seq, hash=row.row_hash))
    if moved.rowcount != 1:
        raise Conflict("another action wrote to the audit trail at the same time; try again")
    return row


def rows(connection: Connection, scenario: str | None = None, limit: int | None = None) -> list[AuditRow]:
    """Audit rows in order (all, or those of one scenario; the last `limit` ones when given)."""
    query = select(audit_log).order_by(audit_log.c.seq)
    if scenario is not None:
        query = query.where(audit_log.c.scenario == scenario)
    if limit is not None:
        query = query.order_by(None).order_by(audit_log.c.seq.desc()).limit(limit)
    found = [AuditRow(**row._mapping) for row in connection.execute(query)]
    return sorted(found, key=lambda row: row.seq)


def head(connection: Connection) -> tuple[int, str] | None:
    found = connection.execute(select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)).first()
    return (found[0], found[1]) if found else None
