"""Budgets: per-account minimums must fit inside every budget that contains them.

An account minimum (a budget with `per: account` and `min`) counts against a total budget with `max` when the
account is in the total's scope, the minimum's products lie inside the total's products, and the minimum's period
lies inside the total's period (a quarter inside the year, or the same quarter).

What an account must spend to meet its minimums (symbols: cells c = product x quarter; minimum m over the cells
R_m of its products and period, amount b_m; spend x_c >= 0 per cell):

    least spend = min sum_c x_c   s.t.   sum_{c in R_m} x_c >= b_m   for every minimum m

Spend in one cell counts towards every minimum that contains it, so overlapping minimums share spend and disjoint
ones add up. This is the exact least committed spend, found in polynomial time: identical minimums are merged
(the largest binds), a minimum implied by a larger one inside it is dropped, minimums that share no cell with any
other add up, and what is left (overlaps that are neither nested nor disjoint) is solved as the linear programme
above. The work is done once per distinct set of minimums, however many accounts and totals share it.

A total budget's own minimum (`per: total` with `min`: spend at least this much over its scope and period) must fit
under the total maxima that contain it (scope: its accounts and products inside theirs): under every one whose
period contains its period, and, for a yearly minimum, under the sum over the quarters of the tightest quarterly
maximum of each quarter (when every quarter has one). That bound only uses maxima that contain the minimum, so it
is never a false alarm; maxima that cover only part of its scope are left to the optimizer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from planner.check.context import CheckContext, related
from planner.compile.index import PlanIndex
from planner.rules.findings import BUDGET_MINIMUMS_EXCEED, TOTAL_MINIMUM_ABOVE_MAXIMA, Finding, finding
from planner.rules.schema import Budget

QUARTERS = 4
BoolArray = npt.NDArray[np.bool_]


def _period_inside(inner: str, outer: str) -> bool:
    return outer == "year" or inner == outer


def _quarters(period: str) -> BoolArray:
    """The quarters a period covers (a quarter past the calendar's end is still its own, disjoint period)."""
    out = np.zeros(QUARTERS, dtype=bool)
    out[slice(None) if period == "year" else int(period[1]) - 1] = True
    return out


def least_spend(regions: list[BoolArray], amounts: list[float]) -> float:
    """min sum(x) s.t. sum(x over region_m) >= amount_m, x >= 0 (the module docstring), exactly."""
    merged: dict[bytes, tuple[BoolArray, float]] = {}
    for region, amount in zip(regions, amounts):
        key = region.tobytes()
        if amount > merged.get(key, (region, -1.0))[1]:
            merged[key] = (region, amount)
    kept: list[tuple[BoolArray, float]] = []
    for region, amount in sorted(merged.values(), key=lambda item: -item[1]):
        if not any((inner <= region).all() for inner, _ in kept):  # a larger minimum inside it already binds
            kept.append((region, amount))
    if not kept:
        return 0.0
    matrix = np.array([region for region, _ in kept], dtype=bool)
    overlaps = (matrix.astype(np.int64) @ matrix.T.astype(np.int64)) > 0
    alone = overlaps.sum(axis=1) == 1
    total = float(sum(amount for (_, amount), single in zip(kept, alone) if single))
    if alone.all():
        return total
    rest = matrix[~alone]
    used = rest.any(axis=0)
    return total + _linear_programme(rest[:, used], np.array([a for (_, a), s in zip(kept, alone) if not s]))


def _linear_programme(matrix: BoolArray, amounts: npt.NDArray[np.float64]) -> float:
    from scipy.optimize import linprog  # only overlapping minimums that neither nest nor stay apart need it

    result = linprog(np.ones(matrix.shape[1]), A_ub=-matrix.astype(float), b_ub=-amounts, bounds=(0, None),
                     method="highs")
    if result.status != 0:  # cannot happen (every minimum has a cell, and spend is unbounded above)
        return float(amounts.max())
    return round(float(result.fun), 6)


@dataclass
class Minimums:
    """The account minimums as arrays: accounts x, cells (products x quarters) x, amounts."""

    budgets: list[Budget]
    accounts: BoolArray
    products: BoolArray
    cells: BoolArray

    @classmethod
    def of(cls, budgets: list[Budget], index: PlanIndex) -> Minimums:
        accounts = np.array([index.account_mask(b.applies_to) for b in budgets], dtype=bool).reshape(
            len(budgets), len(index.accounts))
        products = np.array([index.product_mask(b.applies_to) for b in budgets], dtype=bool).reshape(
            len(budgets), len(index.products))
        quarters = np.array([_quarters(b.period) for b in budgets], dtype=bool).reshape(len(budgets), QUARTERS)
        cells = (products[:, :, None] & quarters[:, None, :]).reshape(len(budgets), len(index.products) * QUARTERS)
        return cls(budgets, accounts, products, cells)

    def owed(self, total: Budget, index: PlanIndex, cache: dict[bytes, float]) -> tuple[list[int], list[float]]:
        """Minimums counting against `total`, and per account the least spend they force."""
        total_accounts = index.account_mask(total.applies_to)
        total_products = index.product_mask(total.applies_to)
        inside = np.array([_period_inside(b.period, total.period) for b in self.budgets], dtype=bool)
        inside &= ~(self.products & ~total_products).any(axis=1) & (self.accounts & total_accounts).any(axis=1)
        sources = np.flatnonzero(inside)
        covered = self.accounts[sources] & total_accounts
        owed = np.zeros(len(index.accounts))
        if not sources.size:
            return [], owed.tolist()
        # accounts alike (the same minimums cover them) are solved once
        packed = np.ascontiguousarray(np.packbits(covered.T, axis=1))
        _, first, account_pattern = np.unique(packed.view(np.dtype((np.void, packed.shape[1]))).ravel(),
                                              return_index=True, return_inverse=True)
        for k, account in enumerate(first):
            pattern = covered[:, account]
            if not pattern.any():
                continue
            counting = sources[pattern]
            key = counting.tobytes()
            if key not in cache:
                cache[key] = least_spend([self.cells[m] for m in counting],
                                         [float(self.budgets[m].min or 0.0) for m in counting])
            owed[account_pattern.reshape(-1) == k] = cache[key]
        return sources.tolist(), owed.tolist()


def check_budget_minimums(context: CheckContext) -> list[Finding]:
    index, budgets = context.index, context.rules.budgets
    minimums = [b for b in budgets if b.per == "account" and b.min]
    table = Minimums.of(minimums, index)
    findings = []
    by_scope: dict[tuple[int, int, str], tuple[list[int], list[float]]] = {}
    cache: dict[bytes, float] = {}
    for total in budgets:
        if total.per != "total" or total.max is None:
            continue
        scope = (id(index.account_mask(total.applies_to)), id(index.product_mask(total.applies_to)), total.period)
        if scope not in by_scope:  # masks of equal scopes are one object: totals on one scope are solved once
            by_scope[scope] = table.owed(total, index, cache)
        sources, owed_list = by_scope[scope]
        owed = np.array(owed_list, dtype=float)
        if owed.sum() > total.max + 1e-6:
            top = np.argsort(-owed)[:3]
            example = {"budget": total.id, "max": total.max, "sum_of_minimums": round(float(owed.sum()), 2),
                       "accounts": {index.accounts[a].id: float(owed[a]) for a in top if owed[a] > 0}}
            findings.append(finding(
                BUDGET_MINIMUMS_EXCEED,
                f"account minimums add up to {owed.sum():,.0f}, more than budget '{total.id}' allows "
                f"({total.max:,.0f}, {total.period})",
                total.location, related=related([minimums[s].location for s in sources], example),
                example=example, fix=f"raise '{total.id}' to at least {owed.sum():,.0f} or lower the account minimums"))
    findings.extend(_minimum_above_maximum(context, minimums, table))
    return findings


def _minimum_above_maximum(context: CheckContext, minimums: list[Budget], table: Minimums) -> list[Finding]:
    index = context.index
    maximums = [b for b in context.rules.budgets if b.per == "account" and b.max is not None]
    if not minimums or not maximums:
        return []
    max_accounts = np.array([index.account_mask(b.applies_to) for b in maximums], dtype=bool)
    max_products = np.array([index.product_mask(b.applies_to) for b in maximums], dtype=bool)
    max_values = np.array([b.max for b in maximums])
    # minimums x maximums at once (counts of shared accounts, of the minimum's products outside the maximum): exact
    # in float32 up to 2**24 accounts or products
    shares_account = (table.accounts.astype(np.float32) @ max_accounts.T.astype(np.float32)) > 0
    products_inside = (table.products.astype(np.float32) @ (~max_products).T.astype(np.float32)) == 0
    findings = []
    for m, minimum in enumerate(minimums):
        accounts = table.accounts[m]
        candidates = np.flatnonzero((max_values < minimum.min) & shares_account[m] & products_inside[m])
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


def _contains(outer: Budget, inner: Budget, index: PlanIndex) -> bool:
    return not ((index.account_mask(inner.applies_to) & ~index.account_mask(outer.applies_to)).any()
                or (index.product_mask(inner.applies_to) & ~index.product_mask(outer.applies_to)).any())


def check_total_minimums(context: CheckContext) -> list[Finding]:
    """A total minimum above the tightest bound the total maxima containing it put on its spend (module docstring).
    Maxima are grouped by scope and period first, so clones of one budget cost one comparison."""
    index, budgets = context.index, context.rules.budgets
    quarters = [f"Q{q}" for q in range(1, len(index.calendar.quarters) + 1)]
    tightest: dict[tuple[int, int, str], Budget] = {}
    for budget in budgets:
        if budget.per == "total" and budget.max is not None:
            key = (id(index.account_mask(budget.applies_to)), id(index.product_mask(budget.applies_to)), budget.period)
            if key not in tightest or budget.max < (tightest[key].max or 0.0):
                tightest[key] = budget
    findings = []
    for minimum in budgets:
        if minimum.per != "total" or not minimum.min or not index.account_mask(minimum.applies_to).any() \
                or not index.product_mask(minimum.applies_to).any():
            continue
        containing = [b for b in tightest.values() if b is not minimum and _contains(b, minimum, index)]
        bounds: list[tuple[float, list[Budget]]] = [
            (float(b.max or 0.0), [b]) for b in containing if _period_inside(minimum.period, b.period)]
        if minimum.period == "year":
            per_quarter = [min((b for b in containing if b.period == q), key=lambda b: b.max or 0.0, default=None)
                           for q in quarters]
            if all(b is not None for b in per_quarter):
                chosen = [b for b in per_quarter if b is not None]
                bounds.append((sum(float(b.max or 0.0) for b in chosen), chosen))
        if not bounds:
            continue
        bound, maxima = min(bounds, key=lambda item: item[0])
        if minimum.min <= bound + 1e-6:
            continue
        names = " + ".join(f"'{b.id}' {b.max:,.0f} ({b.period})" for b in maxima)
        example = {"budget": minimum.id, "min": minimum.min, "period": minimum.period, "maxima": {
            b.id: {"period": b.period, "max": b.max} for b in maxima}, "most_spend_allowed": round(bound, 2)}
        findings.append(finding(
            TOTAL_MINIMUM_ABOVE_MAXIMA,
            f"budget '{minimum.id}' asks for at least {minimum.min:,.0f} ({minimum.period}), but the maxima that "
            f"contain it allow at most {bound:,.0f}: {names}",
            minimum.location, related=[b.location for b in maxima], example=example,
            fix=f"lower the minimum of '{minimum.id}' to at most {bound:,.0f}, or raise the maxima"))
    return findings
