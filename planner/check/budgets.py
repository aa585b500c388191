"""Budgets: per-account minimums must fit inside every budget that contains them.

An account minimum (a budget with `per: account` and `min`) counts against a total budget with `max` when the
account is in the total's scope, the minimum's products lie inside the total's products, and the minimum's period
lies inside the total's period (a quarter inside the year, or the same quarter).
"""

from __future__ import annotations

import numpy as np

from planner.check.context import CheckContext
from planner.rules.findings import BUDGET_MINIMUMS_EXCEED, Finding, finding
from planner.rules.schema import Budget


def _period_inside(inner: str, outer: str) -> bool:
    return outer == "year" or inner == outer


def check_budget_minimums(context: CheckContext) -> list[Finding]:
    index, budgets = context.index, context.rules.budgets
    minimums = [b for b in budgets if b.per == "account" and b.min]
    findings = []
    for total in (b for b in budgets if b.per == "total" and b.max is not None):
        total_accounts = index.account_mask(total.applies_to)
        total_products = index.product_mask(total.applies_to)
        owed = np.zeros(len(index.accounts))
        sources: list[Budget] = []
        for minimum in minimums:
            products = index.product_mask(minimum.applies_to)
            if not _period_inside(minimum.period, total.period) or (products & ~total_products).any():
                continue
            accounts = index.account_mask(minimum.applies_to) & total_accounts
            if accounts.any():
                owed = np.maximum(owed, np.where(accounts, minimum.min, 0.0))
                sources.append(minimum)
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
    for minimum in minimums:
        for maximum in (b for b in budgets if b.per == "account" and b.max is not None and b is not minimum):
            both = index.account_mask(minimum.applies_to) & index.account_mask(maximum.applies_to)
            same_products = (index.product_mask(maximum.applies_to) >= index.product_mask(minimum.applies_to)).all()
            if both.any() and same_products and _period_inside(minimum.period, maximum.period) \
                    and minimum.min > maximum.max:
                account = index.accounts[int(np.flatnonzero(both)[0])].id
                findings.append(finding(
                    BUDGET_MINIMUMS_EXCEED,
                    f"{account}: minimum {minimum.min:,.0f} ('{minimum.id}') is above maximum {maximum.max:,.0f} "
                    f"('{maximum.id}')", minimum.location, related=[maximum.location],
                    example={"account": account, "min": minimum.min, "max": maximum.max},
                    fix="lower the minimum or raise the maximum"))
    return findings
