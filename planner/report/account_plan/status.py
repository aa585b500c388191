"""The annual plan document's status per scenario x account, kept in the plan store: draft -> discussed -> signed.

The signing flow of a key-account annual plan (主动提交合同草案 -> 讨论/确定合同内容 -> 签定合同): the document starts
as a draft, becomes `discussed` once the buyer has gone through it, and `signed` when the contract is signed. A
status moves one step forward at a time, or back to draft when the plan is reopened (a renegotiation, a revised
version); signing needs the approver role, the other steps the planner role. Every change is one row of
`account_plan_status` and one audit row (action `account_plan_status`) in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection, delete, select

from planner.store import audit, roles
from planner.store.errors import Refused
from planner.store.schema import account_plan_status, plan_account_results, plan_versions

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ACCOUNT_PLAN_STATUS = "account_plan_status"

STATUSES = ("draft", "discussed", "signed")
NEXT = {"draft": {"discussed"}, "discussed": {"signed", "draft"}, "signed": {"draft"}}
"""Allowed moves: one step forward, or back to draft (reopened)."""
ROLE = {"draft": "planner", "discussed": "planner", "signed": "approver"}


@dataclass(frozen=True)
class Status:
    """Where one account's annual plan stands."""

    account: str
    status: str
    version: int | None = None
    changed_by: str = ""
    changed_at: str = ""
    note: str = ""


def statuses(connection: Connection, scenario: str) -> dict[str, Status]:
    """account -> its status, for the accounts that have one (the others are drafts)."""
    rows = connection.execute(select(account_plan_status).where(account_plan_status.c.scenario == scenario))
    return {row.account: Status(row.account, row.status, row.version, row.changed_by, row.changed_at, row.note)
            for row in rows}


def _check_names(connection: Connection, scenario: str, account: str, version: int | None) -> None:
    """The account must be one of the scenario's submitted versions (when it has any), the version one of them."""
    from planner.rules.scenario import did_you_mean

    numbers = set(connection.scalars(select(plan_versions.c.number).where(plan_versions.c.scenario == scenario)))
    if version is not None and version not in numbers:
        raise Refused(f"{scenario} has no version {version} in the plan store"
                      + (f" (it has {', '.join(str(n) for n in sorted(numbers))})" if numbers else ""))
    known = set(connection.scalars(
        select(plan_account_results.c.account).join(plan_versions, plan_versions.c.id == plan_account_results.c.version_id)
        .where(plan_versions.c.scenario == scenario)))
    if known and account not in known:
        raise Refused(f"'{account}' is not an account of {scenario}'s plan versions{did_you_mean(account, sorted(known))}")


def set_status(connection: Connection, actor: str, scenario: str, account: str, status: str, *,
               version: int | None = None, note: str = "", key: Ed25519PrivateKey | None = None) -> Status:
    """Move one account's plan to `status` (inside a `Store.write()` transaction); refused when the move is not
    allowed, the actor lacks the role, or the scenario has plan versions and none holds the account (or the
    version named)."""
    if status not in STATUSES:
        raise Refused(f"'{status}' is not a status of an annual plan: use one of {', '.join(STATUSES)}")
    _check_names(connection, scenario, account, version)
    current = statuses(connection, scenario).get(account, Status(account, "draft"))
    if status not in NEXT[current.status]:
        allowed = " or ".join(sorted(NEXT[current.status]))
        raise Refused(f"{account}'s annual plan in {scenario} is {current.status}; it can move to {allowed}, not "
                      f"{status}")
    roles.require(connection, actor, ROLE[status], f"mark {account}'s annual plan {status}")
    changed = Status(account, status, version, actor, audit.utc_now(), note)
    connection.execute(delete(account_plan_status).where(account_plan_status.c.scenario == scenario,
                                                         account_plan_status.c.account == account))
    connection.execute(account_plan_status.insert().values(
        scenario=scenario, account=account, status=status, version=version, changed_by=actor,
        changed_at=changed.changed_at, note=note))
    audit.append(connection, actor, ACCOUNT_PLAN_STATUS,
                 {"account": account, "from": current.status, "to": status, "note": note},
                 scenario=scenario, version=version, key=key)
    return changed
