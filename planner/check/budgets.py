"""Budgets: per-account minimums must fit inside every budget that contains them.

An account minimum (a budget with `per: account` and `min`) counts against a total budget with `max` when the
account is in the total's scope, the minimum's products lie inside the total's products, and the minimum's period
lies inside the total's period (a quarter inside the year, or the same quarter).

What an account must spend to meet its minimums: spend in one product x quarter counts towards every minimum whose
products and period contain it, so minimums that overlap can share spend (the largest one binds) while minimums
over disjoint fund pools or different quarters cannot (they add up). The check uses the largest sum of minimums
that are pairwise disjoint: a lower bound on the spend, so never a false alarm, and exact when minimums nest or
are disjoint (an overall minimum, minimums per fund pool, minimums per quarter).
"""

from __future__ import annotations

import numpy as np

from planner.check.context import CheckContext
from planner.compile.index import PlanIndex
from planner.rules.findings import BUDGET_MINIMUMS_EXCEED, Finding, finding
from planner.rules.schema import Budget


def _period_inside(inner: str, outer: str) -> bool:
    return outer == "year" or inner == outer


def _disjoint(first: Budget, second: Budget, index: PlanIndex) -> bool:
    """No product x quarter cell lies in both: different quarters, or fund pools with no product in common."""
    apart_in_time = "year" not in (first.period, second.period) and first.period != second.period
    return apart_in_time or not (index.product_mask(first.applies_to) & index.product_mask(second.applies_to)).any()


def _least_spend(minimums: list[Budget], index: PlanIndex) -> float:
    """The largest sum of pairwise-disjoint minimums (see the module docstring)."""
    if not minimums:
        return 0.0
    first, rest = minimums[0], minimums[1:]
    apart = [m for m in rest if _disjoint(first, m, index)]
    with_first = float(first.min or 0.0) + _least_spend(apart, index)
    if len(apart) == len(rest):  # disjoint from every other one: taking it is always best
        return with_first
    return max(with_first, _least_spend(rest, index))


def check_budget_minimums(context: CheckContext) -> list[Finding]:
    index, budgets = context.index, context.rules.budgets
    minimums = [b for b in budgets if b.per == "account" and b.min]
    findings = []
    for total in budgets:
        if total.per != "total" or total.max is None:
            continue
        total_accounts = index.account_mask(total.applies_to)
        total_products = index.product_mask(total.applies_to)
        owed = np.zeros(len(index.accounts))
        sources: list[Budget] = []
        for minimum in minimums:
            products = index.product_mask(minimum.applies_to)
            if not _period_inside(minimum.period, total.period) or (products & ~total_products).any():
                continue
            if (index.account_mask(minimum.applies_to) & total_accounts).any():
                sources.append(minimum)
        if sources:
            covered = np.array([index.account_mask(m.applies_to) for m in sources]) & total_accounts
            for a in np.flatnonzero(covered.any(axis=0)):
                owed[a] = _least_spend([sources[i] for i in np.flatnonzero(covered[:, a])], index)
        if owed.sum() > total.max + 1e-6:
            top = np.argsort(-owed)[:3]
            findings.append(finding(
                BUDGET_MINIMUMS_EXCEED,
                f"account minimums add up to {owed.sum():,.0f}, more than budget '{total.id}' allows "
                f"({total.max:,.0f}, {total.period})",
                total.location, related=[s.location for s in sources],
                example={"budget": total.id, "max": total.max, "sum_of_minimums": round(float(owed.sum()), 2),
                         "accounts": {index.accounts[a].id: float(owed[a]) for a in top if owed[a] > 0}},
                fix=f"raise '{total.id}' to at least {owed.sum():,.0f} or lower the account minimums"))
    maximums = [b for b in budgets if b.per == "account" and b.max is not None]
    if minimums and maximums:
        max_accounts = np.array([index.account_mask(b.applies_to) for b in maximums], dtype=bool)
        max_products = np.array([index.product_mask(b.applies_to) for b in maximums], dtype=bool)
        max_values = np.array([b.max for b in maximums])
        for minimum in minimums:
            accounts = index.account_mask(minimum.applies_to)
            candidates = np.flatnonzero(
                (max_values < minimum.min) & (max_accounts & accounts).any(axis=1)
                & (max_products >= index.product_mask(minimum.applies_to)).all(axis=1))
            for k in candidates:
                maximum = maximums[k]
                if maximum is minimum or not _period_inside(minimum.period, maximum.period):
                    continue
                account = index.accounts[int(np.flatnonzero(accounts & max_accounts[k])[0])].id
                findings.append(finding(
                    BUDGET_MINIMUMS_EXCEED,
                    f"{account}: minimum {minimum.min:,.0f} ('{minimum.id}') is above maximum {maximum.max:,.0f} "
                    f"('{maximum.id}')", minimum.location, related=[maximum.location],
                    example={"account": account, "min": minimum.min, "max": maximum.max},
                    fix="lower the minimum or raise the maximum"))
    return findings
