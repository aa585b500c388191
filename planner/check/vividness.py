"""Shelf-share targets: for one account and category, the targets that apply must not add up to over 100%."""

from __future__ import annotations

import numpy as np

from planner.check.context import CheckContext, related
from planner.rules.findings import SHELF_OVER_100, Finding, finding
from planner.rules.schema import ShelfTarget


def check_shelf_share(context: CheckContext) -> list[Finding]:
    index, targets = context.index, context.rules.shelf_targets
    findings = []
    reported: set[tuple[str, ...]] = set()
    if not targets:
        return []
    covers = np.array([index.account_mask(t.applies_to) for t in targets], dtype=bool)  # targets x accounts, once
    for a, account in enumerate(index.accounts):
        by_category: dict[str, list[ShelfTarget]] = {}
        for k in np.flatnonzero(covers[:, a]):
            by_category.setdefault(targets[k].category, []).append(targets[k])
        for category, live in by_category.items():
            total = sum(t.share for t in live)
            key = tuple(sorted(t.id for t in live))
            if total <= 1.0 + 1e-9 or key in reported:
                continue
            reported.add(key)
            example = {"account": account.id, "category": category, "total_share": round(total, 4),
                       "targets": [t.id for t in live]}
            findings.append(finding(
                SHELF_OVER_100,
                f"shelf-share targets for {account.id} in '{category}' add up to {total:.0%}: "
                + " + ".join(f"{t.id} {t.share:.0%}" for t in live),
                live[-1].location, related=related([t.location for t in live[:-1]], example), example=example,
                fix="lower the targets, or narrow their scopes so one account and category sums to at most 100%"))
    return findings
