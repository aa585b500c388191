"""Vividness investments as decisions: which shelf-share targets, displays and coolers to buy at which account.

An *investment* is one vividness item of the rules at one account in its scope that changes something there (its
fee, or demand through the shelf multiplier, the display lift or the cooler cases) and is not `locked` (a locked
item is agreed with the account: it stays as the rules write it, like any fixed term). A *package* is the set of
investments bought at one account; the optimizer picks exactly one package per account (constraints/vividness.py).

Why packages and not one binary per investment: an investment scales demand, so what a promotion earns depends
on it (a promotion on a shelf it has bought sells more), and two investments on the same cells multiply. Values
are therefore measured by the economics core per *configuration*: bit j of configuration c buys each account's
j-th investment (its `slot`). Accounts never reach each other's cells, so the 2^K configurations (K = the most
investments at one account) hold every package of every account at once, each measured exactly.

Limit: an account's first `MAX_SLOTS` investments are decisions; any further ones stay as the rules write them
(the configurations double with each slot).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from planner.compile.index import PlanIndex
from planner.compile.model import Compiled, compile_demand, compile_fees
from planner.rules.schema import RuleSet
from planner.rules.vividness import KINDS, Bought, buy, items

MAX_SLOTS = 4
"""Investments decided per account: 2^MAX_SLOTS configurations are valued at most."""


@dataclass(frozen=True)
class Investment:
    item: str
    """The shelf target, display or cooler id."""
    kind: str
    """'shelf target', 'display' or 'cooler'."""
    account: int
    """Account position."""
    slot: int
    """Its bit in a configuration (its position among the account's investments)."""
    touches: npt.NDArray[np.bool_]
    """(P, W) cells at the account whose demand it changes."""
    fee: float
    """What it costs at the account for the year."""


def without_vividness(rules: RuleSet) -> RuleSet:
    return rules.replace(shelf_targets=(), displays=(), coolers=())


def list_investments(rules: RuleSet, compiled: Compiled) -> list[Investment]:
    """Every investment the rules offer, in rule order, with what it touches and costs at each account (measured by
    compiling the rules with that one item: accounts never share cells, so each account's part is its own)."""
    index = compiled.index
    bare = compile_demand(without_vividness(rules), index)
    out: list[Investment] = []
    slots = np.zeros(len(index.accounts), dtype=int)
    for item_id, (section, item) in items(rules).items():
        if item.locked:  # agreed with the account: bought as written, nothing to decide
            continue
        alone = without_vividness(rules).replace(**{section: (item,)})
        demand = compile_demand(alone, index)
        fees = compile_fees(alone, index, demand).vividness.sum(axis=(1, 2))
        for a in np.flatnonzero(index.account_mask(item.applies_to)).tolist():
            touches = (demand.shelf[a] != bare.shelf[a])[:, None] | (demand.display[a] != bare.display[a]) \
                | (demand.cooler_cases[a] != bare.cooler_cases[a])[:, None]
            if slots[a] < MAX_SLOTS and (fees[a] or touches.any()):
                out.append(Investment(item_id, KINDS[section], a, int(slots[a]), touches, float(fees[a])))
                slots[a] += 1
    return out


def slot_count(investments: list[Investment]) -> int:
    return max((i.slot + 1 for i in investments), default=0)


def bought_in(investments: list[Investment], rules: RuleSet, packages: int | dict[int, int]) -> Bought:
    """Item id -> accounts, for every item with an investment: bought where the account's package (slot bits;
    one int: the same configuration at every account) has its bit set. Accounts of the item that are not
    decided (beyond MAX_SLOTS, or nothing to decide) keep it as written."""
    out: dict[str, list[str]] = {}
    accounts = rules.accounts
    for investment in investments:
        out.setdefault(investment.item, [])
        package = packages if isinstance(packages, int) else packages.get(investment.account, 0)
        if package >> investment.slot & 1:
            out[investment.item].append(accounts[investment.account].id)
    for item_id, names in _unlisted(investments, rules).items():
        out.setdefault(item_id, []).extend(names)
    return {item: tuple(names) for item, names in out.items()}


def _unlisted(investments: list[Investment], rules: RuleSet) -> dict[str, list[str]]:
    """Accounts in an item's scope that are not decided (beyond MAX_SLOTS, or nothing to decide): kept as written."""
    decided = {(i.item, i.account) for i in investments}
    index = PlanIndex.of(rules)
    out: dict[str, list[str]] = {}
    for item_id, (_, item) in items(rules).items():
        if any(i.item == item_id for i in investments):
            out[item_id] = [index.accounts[a].id for a in np.flatnonzero(index.account_mask(item.applies_to)).tolist()
                            if (item_id, a) not in decided]
    return out


def configured(rules: RuleSet, compiled: Compiled, investments: list[Investment], configuration: int) -> Compiled:
    """The compiled rules with the investments of `configuration` bought (demand and fees recompiled)."""
    narrowed = buy(rules, bought_in(investments, rules, configuration))
    demand = compile_demand(narrowed, compiled.index)
    return replace(compiled, demand=demand, fees=compile_fees(narrowed, compiled.index, demand))
