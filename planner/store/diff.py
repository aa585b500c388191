"""What changed between two versions: accounts' totals, rule files, plan events, options and overrides.

The answer to finance's question "what changed since the last approved version": `between(old, new)` returns plain
data (JSON-ready); `planner plan diff` prints it. Money and volume changes are absolute deltas; ratios (margin,
trade spend %) are deltas in points of the ratio.
"""

from __future__ import annotations

from typing import Any

from planner.store.versions import APPROVED, Version

TOLERANCE = 1e-6
HEADLINE = ("volume", "gross_sales", "trade_spend", "net_sales", "gross_profit", "gross_margin", "trade_spend_pct",
            "promo_roi", "budget_used")


def baseline(versions: list[Version], target: Version) -> Version | None:
    """What `target` is compared with by default: the latest approved earlier version, else the one before it."""
    earlier = [v for v in versions if v.scenario == target.scenario and v.number < target.number]
    approved = [v for v in earlier if v.status == APPROVED]
    candidates = approved or earlier
    return candidates[-1] if candidates else None


def _changes(before: dict[str, Any], after: dict[str, Any], keys: tuple[str, ...] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in keys or tuple(sorted(set(before) | set(after))):
        old, new = before.get(key), after.get(key)
        if isinstance(old, (int, float)) and isinstance(new, (int, float)):
            if abs(new - old) > TOLERANCE * max(1.0, abs(old)):
                out[key] = {"before": old, "after": new, "delta": new - old}
        elif old != new:
            out[key] = {"before": old, "after": new}
    return out


def _events(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> dict[str, Any]:
    old = {event["id"]: event for event in before}
    new = {event["id"]: event for event in after}
    return {
        "added": [new[key] for key in sorted(set(new) - set(old))],
        "removed": [old[key] for key in sorted(set(old) - set(new))],
        "changed": [{"id": key, "fields": _changes(old[key], new[key])}
                    for key in sorted(set(old) & set(new)) if old[key] != new[key]],
    }


def _files(before: Version, after: Version) -> dict[str, Any]:
    old = {path: sha for path, (_, sha) in before.frozen.rule_files.items()}
    new = {path: sha for path, (_, sha) in after.frozen.rule_files.items()}
    return {
        "added": sorted(set(new) - set(old)),
        "removed": sorted(set(old) - set(new)),
        "changed": [{"path": path, "before": old[path], "after": new[path]}
                    for path in sorted(set(old) & set(new)) if old[path] != new[path]],
    }


def between(old: Version, new: Version) -> dict[str, Any]:
    """Every difference between two versions, as plain data."""
    accounts: list[dict[str, Any]] = []
    for account in sorted(set(old.accounts) | set(new.accounts)):
        if account not in old.accounts or account not in new.accounts:
            accounts.append({"id": account, "only_in": "to" if account in new.accounts else "from"})
            continue
        changes = _changes(old.accounts[account], new.accounts[account], HEADLINE)
        if changes:
            accounts.append({"id": account, "changes": changes})
    return {
        "from": _ref(old),
        "to": _ref(new),
        "totals": _changes(old.totals, new.totals, HEADLINE),
        "accounts": accounts,
        "rule_files": _files(old, new),
        "events": _events(old.frozen.events, new.frozen.events),
        "options": _changes(old.frozen.options, new.frozen.options),
        "overrides": {"added": [o for o in new.frozen.applied if o not in old.frozen.applied],
                      "removed": [o for o in old.frozen.applied if o not in new.frozen.applied]},
    }


def _ref(version: Version) -> dict[str, Any]:
    return {"scenario": version.scenario, "version": version.number, "status": version.status,
            "content_sha256": version.content_sha256}


def is_empty(difference: dict[str, Any]) -> bool:
    return not any([difference["totals"], difference["accounts"], difference["options"],
                    *difference["rule_files"].values(), *difference["events"].values(),
                    *difference["overrides"].values()])
