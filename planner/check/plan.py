"""A plan file against the rules it is for: its references resolve, it keeps every locked event and locked vividness
item, and it buys vividness only where the rules offer it (docs/rules.md, "Plan files")."""

from __future__ import annotations

from planner.check.context import CheckContext
from planner.check.references import check_references
from planner.compile.index import PlanIndex
from planner.rules.findings import (
    LOCKED_EVENT_DROPPED,
    LOCKED_VIVIDNESS_DROPPED,
    SCHEMA_INVALID,
    UNKNOWN_REFERENCE,
    VIVIDNESS_OUT_OF_SCOPE,
    Finding,
    Location,
    finding,
)
from planner.rules.plan import Plan
from planner.rules.schema import RuleSet
from planner.rules.vividness import items


def check_plan(plan: Plan, rules: RuleSet) -> list[Finding]:
    """References resolve and every locked event of the rules is kept."""
    findings = check_references(CheckContext(rules.replace(events=tuple(plan.events))))
    kept = {(e.account, e.product_group, e.mechanic, tuple(sorted(e.weeks))) for e in plan.events}
    for event in rules.events:
        if event.locked and (event.account, event.product_group, event.mechanic, tuple(sorted(event.weeks))) not in kept:
            findings.append(finding(
                LOCKED_EVENT_DROPPED, f"the plan drops locked event '{event.id}' ({event.account}, "
                f"{event.product_group}, {event.mechanic}, weeks {list(event.weeks)})",
                Location(plan.file, 1, 1), related=[event.location], example={"event": event.id},
                fix="add the locked event to the plan unchanged, or unlock it in the rules"))
    return findings + _check_vividness(plan, rules)


def _check_vividness(plan: Plan, rules: RuleSet) -> list[Finding]:
    """Every purchase names a vividness item of the rules, once, and accounts in its scope."""
    offered = items(rules)
    index = PlanIndex.of(rules) if plan.vividness else None
    findings, seen = [], set()
    for purchase in plan.vividness:
        if purchase.id not in offered or purchase.id in seen:
            twice = purchase.id in seen
            findings.append(finding(
                SCHEMA_INVALID if twice else UNKNOWN_REFERENCE,
                f"vividness item '{purchase.id}' is listed twice" if twice else
                f"'{purchase.id}' is not a shelf target, display or cooler of the rules",
                purchase.field_location("id"),
                fix="list each item once" if twice else "use the id of a shelf_targets, displays or coolers entry"))
            seen.add(purchase.id)
            continue
        seen.add(purchase.id)
        assert index is not None
        scope = index.account_mask(offered[purchase.id][1].applies_to)
        allowed = {account.id for account, inside in zip(index.accounts, scope.tolist()) if inside}
        outside = [account for account in purchase.accounts if account not in allowed]
        dropped = sorted(allowed - set(purchase.accounts)) if offered[purchase.id][1].locked else []
        if dropped:
            findings.append(finding(
                LOCKED_VIVIDNESS_DROPPED, f"the plan drops locked '{purchase.id}' at {', '.join(dropped)}",
                purchase.field_location("accounts"), related=[offered[purchase.id][1].location],
                example={"item": purchase.id},
                fix="buy it at every account in its scope, or unlock it in the rules"))
        if outside:
            findings.append(finding(
                VIVIDNESS_OUT_OF_SCOPE,
                f"'{purchase.id}' is bought at {', '.join(outside)}, outside the accounts the rules offer it to",
                purchase.field_location("accounts"), example={"item": purchase.id},
                fix=f"buy it only at accounts in its scope: {', '.join(sorted(allowed)) or '(none)'}"))
    return findings
