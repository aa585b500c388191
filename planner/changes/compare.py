"""Two versions' terms compared rule by rule and field by field, with the money effect on the accounts covered.

`compare(before, after, ...)` takes each version's rules as `planner.changes.terms.by_rule` gives them and returns
one `Change` per added or removed rule, per changed field (a tier's rate, a cap, a week list, a scope key) and per
rule whose accounts changed. Where a rule kind moves a line of the account's P&L (a rebate moves its rebates, a
discount its off-invoice discounts, a display its vividness cost ...), the change carries that line's change and
the gross profit's change on the accounts the rule covers, read from the two versions' per-account results. Those
results move with everything changed on the account at once: `Effect.shared_with` says how many other changed
rules touch the same accounts, so a reader knows when an effect is not this change's alone. Limits (budgets,
floors, caps, calendar rules) have no money effect of their own; the policy checks show what they hold.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from planner.changes.terms import KINDS, Rule
from planner.changes.wording import (
    accounts_text,
    field_text,
    in_order,
    step_text,
    tier_text,
    unit_of,
    value_text,
)

LINES: dict[str, tuple[str, tuple[str, ...]]] = {
    "rebates": ("rebates", ("rebates",)),
    "discounts": ("discounts", ("off_invoice", "fixed_discounts")),
    "price_bands": ("gross sales", ("gross_sales",)),
    "mechanics": ("promotion spend", ("promo_funding", "event_costs")),
    "events": ("promotion spend", ("promo_funding", "event_costs")),
    "shelf_targets": ("vividness cost", ("vividness",)),
    "displays": ("vividness cost", ("vividness",)),
    "coolers": ("vividness cost", ("vividness",)),
    "accounts": ("gross profit", ("gross_profit",)),
    "holidays": ("gross profit", ("gross_profit",)),
}
"""The P&L line each rule kind moves on the accounts it covers, and the per-account result keys that make it up."""

RuleView = Mapping[Rule, tuple[dict[str, Any], tuple[str, ...]]]
Kpis = Mapping[str, Mapping[str, float]]


@dataclass(frozen=True)
class Effect:
    """What the accounts a change covers show, between the two versions, on the line the rule kind moves."""

    line: str
    delta: float
    """Change of that line, summed over the accounts (positive: more of it)."""
    gross_profit: float
    """Change of the same accounts' gross profit."""
    accounts: tuple[str, ...]
    shared_with: int
    """Other changed rules that touch any of these accounts (their effects are in these numbers too)."""
    by_account: dict[str, float]
    """The line's change on each account."""


@dataclass(frozen=True)
class Change:
    """One term change: a rule added or removed, one of its fields changed, or the accounts it covers changed."""

    kind: str
    """The rule's section (rebates, discounts, calendar_rules ...)."""
    rule: str
    """The rule's id."""
    name: str
    action: str
    """added, removed, changed or coverage."""
    field: str
    """Dotted path inside the rule ('tiers.1.rate'); empty for a whole rule; 'accounts' for a coverage change."""
    before: Any
    after: Any
    unit: str
    accounts: tuple[str, ...]
    """Accounts the rule covers in either version."""
    text: str
    """The change in business words, without its money effect."""
    effect: Effect | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _leaves(before: Any, after: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any, Any]]:
    """Every differing leaf of two field values: mappings key by key, lists of mappings (tiers) item by item,
    anything else (numbers, texts, lists of weeks or ids) as a whole."""
    if isinstance(before, dict) and isinstance(after, dict):
        for key in in_order({**before, **after}):
            yield from _leaves(before.get(key), after.get(key), (*path, str(key)))
    elif (isinstance(before, list) and isinstance(after, list)
          and any(isinstance(item, dict) for item in [*before, *after])):
        for position in range(max(len(before), len(after))):
            yield from _leaves(before[position] if position < len(before) else None,
                               after[position] if position < len(after) else None, (*path, str(position)))
    elif before != after:
        yield path, before, after


def rule_text(kind: str, fields: Mapping[str, Any]) -> str:
    """A whole rule in a line: its scalar terms, its tiers, its weeks."""
    parts = []
    for key in in_order(fields):
        value = fields[key]
        if key in ("name", "applies_to"):
            continue
        if key == "tiers" and isinstance(value, list):
            parts.append("tiers " + "; ".join(tier_text(kind, tier, fields) for tier in value))
        elif not isinstance(value, dict) or key == "valid":
            parts.append(f"{field_text((key,))} {value_text(value, unit_of(kind, (key,), fields))}")
    return ", ".join(parts)


def _subject(kind: str, rule: str, name: str) -> str:
    return f"{KINDS.get(kind, kind)} {rule}" + (f" ({name})" if name and name != rule else "")


def _field_changes(kind: str, rule: str, name: str, old: dict[str, Any], new: dict[str, Any],
                   accounts: tuple[str, ...]) -> Iterator[Change]:
    subject = _subject(kind, rule, name)
    for path, before, after in _leaves(old, new, ()):
        fields = new if path[0] == "tiers" else old
        unit = unit_of(kind, path, fields)
        if path[0] == "tiers" and len(path) == 2:  # a whole tier added or removed
            tier = after if after is not None else before
            words = f"{field_text(path)} {'added' if after is not None else 'removed'}: {tier_text(kind, tier, fields)}"
        else:
            words = (f"{field_text(path)}: {value_text(before, unit)} -> {value_text(after, unit)}"
                     + step_text(before, after, unit))
        yield Change(kind, rule, name, "changed", ".".join(path), before, after, unit, accounts,
                     f"{subject}, {words}")


def _rule_changes(before: RuleView, after: RuleView, everyone: int) -> Iterator[Change]:
    order = {kind: position for position, kind in enumerate(KINDS)}
    for kind, rule in sorted(set(before) | set(after), key=lambda key: (order.get(key[0], len(order)), key[1])):
        old, new = before.get((kind, rule)), after.get((kind, rule))
        fields = (new or old or ({}, ()))[0]
        name = str(fields.get("name") or "")
        if old is None or new is None:
            accounts = (new or old or ({}, ()))[1]
            action = "added" if old is None else "removed"
            covered = accounts_text(accounts, everyone)
            yield Change(kind, rule, name, action, "", old and old[0], new and new[0], "rule", accounts,
                         f"{_subject(kind, rule, name)} {action} (covers {covered}): {rule_text(kind, fields)}")
            continue
        accounts = tuple(sorted(set(old[1]) | set(new[1])))
        yield from _field_changes(kind, rule, name, old[0], new[0], accounts)
        if old[1] != new[1]:
            yield Change(kind, rule, name, "coverage", "accounts", list(old[1]), list(new[1]), "accounts", accounts,
                         f"{_subject(kind, rule, name)} now covers {accounts_text(new[1], everyone)} "
                         f"(was {accounts_text(old[1], everyone)})")


def _effect(change: Change, rules_by_account: dict[str, set[Rule]], before: Kpis, after: Kpis) -> Effect | None:
    if change.kind not in LINES:
        return None
    covered = tuple(account for account in change.accounts if account in before and account in after)
    if not covered:
        return None
    line, keys = LINES[change.kind]
    by_account = {a: sum(float(after[a].get(key, 0.0)) - float(before[a].get(key, 0.0)) for key in keys)
                  for a in covered}
    profit = sum(float(after[a].get("gross_profit", 0.0)) - float(before[a].get("gross_profit", 0.0))
                 for a in covered)
    others = set().union(*(rules_by_account.get(account, set()) for account in covered)) - {(change.kind,
                                                                                              change.rule)}
    return Effect(line, sum(by_account.values()), profit, covered, len(others), by_account)


def compare(before: RuleView, after: RuleView, before_results: Kpis | None = None,
            after_results: Kpis | None = None) -> list[Change]:
    """Every term change from `before` to `after`, in reading order (rule kind, rule id, field); with both
    versions' per-account results, each change of a kind that moves money carries its `Effect`."""
    everyone = len({account for _, accounts in (*before.values(), *after.values()) for account in accounts})
    changes = list(_rule_changes(before, after, everyone))
    if before_results is None or after_results is None:
        return changes
    rules_by_account: dict[str, set[Rule]] = {}
    for change in changes:
        if change.kind in LINES:
            for account in change.accounts:
                rules_by_account.setdefault(account, set()).add((change.kind, change.rule))
    return [replace(change, effect=_effect(change, rules_by_account, before_results, after_results))
            for change in changes]


def effect_text(effect: Effect | None, currency: str = "") -> str:
    """'rebates +45,120 CNY, gross profit -45,120 on carrefour (with 1 other change there)'; empty without one."""
    if effect is None:
        return ""
    unit = f" {currency}" if currency else ""
    where = effect.accounts[0] if len(effect.accounts) == 1 else f"{len(effect.accounts)} accounts"
    text = f"{effect.line} {effect.delta:+,.0f}{unit}"
    if effect.line != "gross profit":
        text += f", gross profit {effect.gross_profit:+,.0f}{unit}"
    text += f" on {where}"
    if effect.shared_with:
        text += (f" (with {effect.shared_with} other changed rule{'s' if effect.shared_with > 1 else ''} "
                 f"there)")
    return text
