"""What changed between two versions: every term first, then totals, accounts, rule files, plan events, options
and overrides.

The answer to finance's question "what changed since the last approved version": `between(old, new)` returns plain
data (JSON-ready) whose first key, `what_changed`, is every term change in business words with its money effect
(`planner.changes`, from the terms each version froze with its account plans); `planner plan diff` prints it
first (`head_text`) and the approval pack opens with it. Money and volume changes are absolute deltas; ratios
(margin, trade spend %) are deltas in points of the ratio.
"""

from __future__ import annotations

from typing import Any

from planner.changes.compare import LINES, Change, compare, effect_text
from planner.changes.terms import by_rule
from planner.changes.wording import accounts_text, value_text
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


TERMS = {"shelf": "target", "displays": "display", "coolers": "cooler"}
"""Vividness terms in an account's plan summary, and the field that names each item."""


def _frozen_terms(version: Version) -> dict[str, Any] | None:
    """account -> the terms frozen with its plan, or None if any account's plan froze none (a version submitted
    before term snapshots were kept)."""
    out = {}
    for account in version.accounts:
        plan = (version.frozen.details.get(account) or {}).get("plan") or {}
        if "terms" not in plan:
            return None
        out[account] = plan["terms"]
    return out


def term_changes(old: Version, new: Version) -> tuple[list[Change] | None, str]:
    """Every term change from `old` to `new` with its money effect, or None and why it cannot be told."""
    before, after = _frozen_terms(old), _frozen_terms(new)
    if before is None or after is None:
        missing = " and ".join(v.label for v, terms in ((old, before), (new, after)) if terms is None)
        return None, (f"{missing} froze no term snapshot (submitted before they were kept): the term changes "
                      f"cannot be listed; see the rule files and overrides that changed")
    return compare(by_rule(before, old.frozen.events), by_rule(after, new.frozen.events),
                   old.accounts, new.accounts), ""


def what_changed(old: Version, new: Version) -> dict[str, Any]:
    """The head of a diff: every term change, each with its sentence and money effect in words."""
    changes, reason = term_changes(old, new)
    currency, everyone = new.frozen.currency, len(set(old.accounts) | set(new.accounts))
    return {"available": changes is not None, "reason": reason, "currency": currency,
            "changes": [{**change.as_dict(), "covers": accounts_text(change.accounts, everyone),
                         "before_text": _side(change.before, change.unit),
                         "after_text": _side(change.after, change.unit),
                         "effect_text": effect_text(change.effect, currency)}
                        for change in changes or []]}


def _side(value: Any, unit: str) -> str:
    """One side of a change in words; a whole rule added or removed is described by the change's sentence."""
    if unit == "rule":
        return "none" if value is None else "see the change"
    return value_text(value, unit)


def _account_terms(head: dict[str, Any]) -> list[dict[str, Any]]:
    """Per account: the changes of its own contract terms (the rule kinds that move its P&L), in words."""
    out: dict[str, list[str]] = {}
    for change in head["changes"]:
        if change["kind"] in LINES:
            for account in change["accounts"]:
                out.setdefault(account, []).append(change["text"])
    return [{"id": account, "changes": out[account]} for account in sorted(out)]


def _terms(old: Version, new: Version) -> list[dict[str, Any]]:
    """Per account in both versions: shelf, display and cooler terms and KPI targets added, removed or changed
    (only where both versions froze an annual plan summary; versions without term snapshots)."""
    out = []
    for account in sorted(set(old.accounts) & set(new.accounts)):
        before = (old.frozen.details.get(account) or {}).get("plan")
        after = (new.frozen.details.get(account) or {}).get("plan")
        if not before or not after:
            continue
        changes: dict[str, Any] = {}
        for section, key in TERMS.items():
            was = {item[key]: item for item in before.get(section, [])}
            now = {item[key]: item for item in after.get(section, [])}
            found = {"added": sorted(set(now) - set(was)), "removed": sorted(set(was) - set(now)),
                     "changed": [{key: name, "fields": _changes(was[name], now[name])}
                                 for name in sorted(set(was) & set(now)) if _changes(was[name], now[name])]}
            if any(found.values()):
                changes[section] = found
        targets = _changes(before.get("targets", {}), after.get("targets", {}), ("growth",))
        if targets:
            changes["targets"] = targets
        if changes:
            out.append({"id": account, **changes})
    return out


def _policy(old: Version, new: Version) -> list[dict[str, Any]]:
    """Policy checks whose limit changed, that started or stopped failing, or that exist in one version only."""
    def key(check: dict[str, Any]) -> tuple[str, str, str]:
        return check["rule"], check["kind"], str(check["scope"])

    was = {key(check): check for check in old.frozen.policy}
    now = {key(check): check for check in new.frozen.policy}
    out = []
    for rule, kind, scope in sorted(set(was) | set(now)):
        before, after = was.get((rule, kind, scope)), now.get((rule, kind, scope))
        if before and after and before["limit"] == after["limit"] and before["ok"] == after["ok"]:
            continue
        out.append({"rule": rule, "kind": kind, "scope": scope,
                    "limit": {"before": before and before["limit"], "after": after and after["limit"]},
                    "ok": {"before": before and before["ok"], "after": after and after["ok"]}})
    return out


def describe_policy(change: dict[str, Any]) -> str:
    """One changed policy check (an item of `between(...)["policy"]`) as a short sentence."""
    limit, ok = change["limit"], change["ok"]
    subject = f"{change['rule']} ({change['kind']}, {change['scope']})"
    if limit["before"] is None:
        return f"{subject} new" + ("" if ok["after"] else ", FAILS")
    if limit["after"] is None:
        return f"{subject} no longer checked"
    parts = [f"limit {_plain(limit['before'])} -> {_plain(limit['after'])}"] if limit["before"] != limit["after"] \
        else []
    if ok["before"] != ok["after"]:
        parts.append("now FAILS" if not ok["after"] else "now holds")
    return f"{subject}: " + ", ".join(parts)


def describe_terms(entry: dict[str, Any]) -> list[str]:
    """One account's term changes (an item of `between(...)["terms"]`) as short sentences."""
    if "changes" in entry:
        return list(entry["changes"])
    out = []
    for section, key in TERMS.items():
        found = entry.get(section)
        if not found:
            continue
        out += [f"{key} {name} added" for name in found["added"]]
        out += [f"{key} {name} removed" for name in found["removed"]]
        out += [f"{key} {change[key]}: " + ", ".join(f"{field} {_plain(c['before'])} -> {_plain(c['after'])}"
                                                      for field, c in change["fields"].items())
                for change in found["changed"]]
    if "targets" in entry:
        growth = entry["targets"]["growth"]
        out.append(f"growth target {_plain(growth['before'])} -> {_plain(growth['after'])}")
    return out


def _plain(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.1%}" if abs(value) <= 1 else f"{value:,.0f}"
    return "none" if value is None else str(value)


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
    head = what_changed(old, new)
    return {
        "what_changed": head,
        "from": _ref(old),
        "to": _ref(new),
        "totals": _changes(old.totals, new.totals, HEADLINE),
        "accounts": accounts,
        "rule_files": _files(old, new),
        "events": _events(old.frozen.events, new.frozen.events),
        "terms": _account_terms(head) if head["available"] else _terms(old, new),
        "policy": _policy(old, new),
        "options": _changes(old.frozen.options, new.frozen.options),
        "overrides": {"added": [o for o in new.frozen.applied if o not in old.frozen.applied],
                      "removed": [o for o in old.frozen.applied if o not in new.frozen.applied]},
    }


def _ref(version: Version) -> dict[str, Any]:
    return {"scenario": version.scenario, "version": version.number, "title": version.title,
            "status": version.status, "content_sha256": version.content_sha256}


def titled(ref: dict[str, Any]) -> str:
    """' "Q1 revision"' after a version number, when the version has a title."""
    return f' "{ref["title"]}"' if ref.get("title") else ""


def head_text(difference: dict[str, Any]) -> str:
    """`what_changed` for people: what `planner plan diff` prints first."""
    head, old, new = difference["what_changed"], difference["from"], difference["to"]
    title = (f"What you are approving: {new['scenario']} version {new['version']}{titled(new)} against version "
             f"{old['version']}{titled(old)} ({old['status']})")
    if not head["available"]:
        return f"{title}\n  {head['reason']}"
    changes = head["changes"]
    lines = [f"{title}: {len(changes)} term change{'' if len(changes) == 1 else 's'}"
             + ("" if changes else " (no rule, tier, rate, cap, scope or event differs)")]
    for change in changes:
        lines.append(f"  {change['text']}")
        if change["effect_text"]:
            lines.append(f"      {change['effect_text']}")
    return "\n".join(lines)


def is_empty(difference: dict[str, Any]) -> bool:
    return not any([difference["totals"], difference["what_changed"]["changes"], difference["accounts"], difference["options"], difference["terms"],
                    difference["policy"],
                    *difference["rule_files"].values(), *difference["events"].values(),
                    *difference["overrides"].values()])
