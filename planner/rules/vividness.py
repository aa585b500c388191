"""Vividness bought: at which accounts each shelf-share target, display and cooler of the rules is bought.

The rules offer vividness terms (`shelf_targets`, `displays`, `coolers`), each to the accounts in its scope. A
plan may buy an item at fewer of them: the optimizer decides it, and a plan file says it under `vividness:`

    plan:
      vividness:
        - {id: st-hyper-water, accounts: [walmart]}       # bought at walmart only
        - {id: disp-hyper-cny-gift-stack, accounts: []}   # not bought anywhere

An item the plan does not list is bought as the rules write it. `buy` turns a purchase into plain rules (each
listed item's scope narrowed to the accounts bought, or the item dropped), so the simulator, the checker and the
reports need nothing new: a plan's vividness is rules with narrower scopes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from planner.rules.schema import Cooler, Display, RuleSet, ShelfTarget
from planner.rules.schema.common import AccountScope

SECTIONS = ("shelf_targets", "displays", "coolers")
KINDS = {"shelf_targets": "shelf target", "displays": "display", "coolers": "cooler"}

Item = ShelfTarget | Display | Cooler
Bought = Mapping[str, Sequence[str]]
"""Item id -> the account ids it is bought at."""


def items(rules: RuleSet) -> dict[str, tuple[str, Item]]:
    """Item id -> (section, item), for every vividness item of the rules."""
    return {item.id: (section, item) for section in SECTIONS for item in rules.section(section)}


def buy(rules: RuleSet, bought: Bought) -> RuleSet:
    """The rules with each item of `bought` bought at exactly its accounts (which must be in its scope: `check_plan`
    says so otherwise); the other items as written."""
    if not bought:
        return rules
    changes = {}
    for section in SECTIONS:
        kept = []
        for item in rules.section(section):
            if item.id not in bought:
                kept.append(item)
            elif bought[item.id]:
                scope = AccountScope(account=tuple(bought[item.id]))
                kept.append(item.model_copy(update={"applies_to": scope}))
        changes[section] = tuple(kept)
    return rules.replace(**changes)
