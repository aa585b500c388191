"""Lagrangian decomposition of the budget-coupled promotion plan: price the total budget, plan each account alone.

The total annual budget is the only row that couples accounts. Give it a price lam >= 0 (profit per unit of
budget) and the plan splits into one subproblem per account, each solved on its own (and in parallel):

    maximise   sum_o (value_o - lam spend_o) x_o                 over the options o of account a
    s.t.       sum_{o in slot s} x_o <= 1                         every line-week slot s of a       (choice)
               sum_o spend_o x_o <= cap_a                         a's own budget, when it has one   (budgets)

Symbols: value_o is option o's change of gross profit and spend_o its change of budget spend (options.py, the
economics core); B is the room in the total budget (its max less the fixed spend in scope) and cap_a the room in
account a's own budget. Weak duality: for every lam >= 0 and any upper bound G_a(lam) of a's subproblem

    L(lam) = lam B + sum_a G_a(lam)  >=  the optimal profit.

Pricing. With choice rows alone a subproblem is solved by picking, per slot, the option with the largest
value - lam spend if positive. With the account's cap its LP relaxation is solved exactly by the greedy over each
slot's LP hull (Sinha and Zoltners, 1979). So each account has a *bid curve*: its hull increments in order of
profit per unit of spend (efficiency), cut where its cap is full; at price lam it takes every increment more
efficient than lam. The total spend falls in steps as lam rises, so the bisection on lam runs over the sorted
efficiencies and ends exactly at lam*, the least price at which the plan fits B: L(lam*) with the LP values is
the LP-relaxation optimum of the whole plan (`relaxation`), and lam* is the budget's dual, its marginal profit.

Plan. At lam* the LP plan is integral except for at most one increment per capped account and one at B. Only the
capped accounts need more: their subproblem is a multiple-choice knapsack, solved exactly (`exact=True`) by a
dynamic programme over the non-dominated (spend, value) pairs, pruned by LP bounds and by fixing the slots whose
LP bound rules out every other option; its optimum tightens that account's term of L. A knapsack whose frontier
outgrows `max_states` keeps the greedy plan and the LP term (`inexact` counts them). The plan is then brought
back within B by undoing the moves that lose least per unit of spend, and the room left is filled greedily by
profit per unit of spend. Reported: the feasible plan, its profit, the bound and the certified gap
(bound - profit) / |profit|.

Modelled: choice per line-week, per-account annual budgets (max) and one total annual budget (max).
Refused with the rule ids (`Unsupported`): rebates, calendar rules, floors, caps, budget minimums, quarterly
budgets and fund pools, locked events. Rebate tiers and calendar rules that only couple the weeks of one account
belong inside the subproblems (the DP or a small MILP per account) and keep the decomposition valid; quarterly
budgets and pools couple accounts and would each need a price of their own.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from planner.compile.index import FloatArray
from planner.compile.model import Compiled
from planner.execute import Executor
from planner.optimize.knapsack import MAX_STATES, IntArray, hull_increments, knapsack
from planner.optimize.options import Options
from planner.rules.schema import RuleSet


class Unsupported(ValueError):
    """The rule set holds rows the decomposition does not price yet; the message names them."""


@dataclass(frozen=True)
class OptionTable:
    """What the decomposition needs of the options: flat arrays, one entry per option."""

    account: IntArray
    """Account of each option."""
    slot: IntArray
    """Line-week slot of each option: at most one option per slot runs (the choice rows)."""
    value: FloatArray
    """Change of the objective (gross profit) when the option runs."""
    spend: FloatArray
    """Change of budget spend when the option runs (never negative)."""
    budget: float = np.inf
    """Room in the total budget: its max less the fixed spend in scope (inf: no total budget)."""
    account_budget: FloatArray | None = None
    """(accounts,) room in each account's own budget (inf where it has none); None: no account budgets."""
    base: float = 0.0
    """Objective of the no-promotion plan, added to every profit and bound reported."""

    def __post_init__(self) -> None:
        if (self.spend < 0).any():
            raise ValueError("an option lowers budget spend; the bid curves need spend >= 0")
        if self.budget < 0 or (self.account_budget is not None and (self.account_budget < 0).any()):
            raise ValueError("the fixed spend alone is over a budget: no plan is feasible")

    @property
    def accounts(self) -> int:
        return int(self.account.max(initial=-1)) + 1

    def caps(self) -> FloatArray:
        return np.full(self.accounts, np.inf) if self.account_budget is None else np.asarray(self.account_budget)


@dataclass(frozen=True)
class Decomposition:
    chosen: IntArray
    """Options in the plan, in increasing order."""
    profit: float
    """Objective of the plan (feasible: spend within every budget)."""
    bound: float
    """L(price) with the capped accounts' knapsack optima: no plan earns more."""
    relaxation: float
    """L(price) with LP subproblems: the LP-relaxation optimum of the whole plan (>= bound)."""
    gap: float
    """(bound - profit) / |profit|."""
    price: float
    """The budget's price lam*: marginal profit of one more unit of total budget."""
    spend: float
    """Budget spend of the plan beyond the fixed spend (<= the table's budget)."""
    capped: int
    """Accounts whose own budget binds at lam* (their subproblems are knapsacks)."""
    inexact: int
    """Capped accounts whose knapsack outgrew `max_states` (or was not solved): greedy plan, LP bound."""
    seconds: float


@dataclass(frozen=True)
class _Curves:
    """Bid curves: hull increments, each moving its slot from option `start` (-1: none) up to `option`. Each
    account's increments are contiguous, most efficient first."""

    account: IntArray
    slot: IntArray
    start: IntArray
    option: IntArray
    spend: FloatArray
    """Spend of the increment, times `share`."""
    value: FloatArray
    """Value of the increment, times `share`."""
    efficiency: FloatArray
    share: FloatArray
    """1, or the part of the increment that fits under the account's cap."""


def decompose(table: OptionTable, exact: bool = True, executor: Executor | None = None,
              max_states: int = MAX_STATES) -> Decomposition:
    """Price the total budget, solve every account's subproblem, and return the plan with its certified gap.

    `exact` solves the capped accounts' knapsacks (else they keep the greedy plan and the LP bound), each within
    `max_states`, on `executor` (default: one after the other, in this process; planner/execute/)."""
    started = time.perf_counter()
    caps = table.caps()
    curves = _curves_of(table.account, table.slot, table.value, table.spend, np.arange(len(table.value)), caps)
    price = _price(curves, table.budget)
    taken = curves.efficiency > price
    priced_gain = np.zeros(table.accounts)  # G_a(lam*), LP for now
    np.add.at(priced_gain, curves.account[taken], curves.value[taken] - price * curves.spend[taken])
    constant = table.base + price * (table.budget if np.isfinite(table.budget) else 0.0)
    relaxation = constant + float(priced_gain.sum())
    whole = taken & (curves.share >= 1.0)
    chosen = np.full(int(table.slot.max(initial=-1)) + 1, -1, dtype=np.intp)
    top = whole & ~np.isin(curves.option, curves.start[whole])  # the last step a slot takes whole
    chosen[curves.slot[top]] = curves.option[top]
    priced = dataclasses.replace(table, value=table.value - price * table.spend, budget=np.inf)
    own = _Plan(priced, chosen)  # each account's subproblem at lam*, greedy within its cap
    own.fill()
    capped = np.unique(curves.account[taken & (curves.share < 1.0)])
    inexact = len(capped)
    if exact and len(capped):
        for account, mine, best, picks in _knapsacks(priced, own.chosen, capped, caps, executor or Executor(),
                                                           max_states):
            if picks is not None:
                inexact -= 1
                own.chosen[priced.slot[mine]] = -1
                own.chosen[priced.slot[picks]] = picks
            priced_gain[account] = min(priced_gain[account], best)
    plan = _Plan(table, own.chosen)
    plan.trim()
    plan.fill()
    options = np.sort(plan.chosen[plan.chosen >= 0])
    profit = table.base + float(table.value[options].sum())
    bound = max(constant + float(priced_gain.sum()), profit)  # the max only absorbs rounding
    gap = (bound - profit) / abs(profit) if profit else (0.0 if bound <= profit else np.inf)
    return Decomposition(options, profit, bound, relaxation, gap, price, float(table.spend[options].sum()),
                         len(capped), inexact, time.perf_counter() - started)


def _curves_of(account: IntArray, slot: IntArray, value: FloatArray, spend: FloatArray, option: IntArray,
               caps: FloatArray) -> _Curves:
    """The bid curves of the accounts these options belong to: each slot's LP-hull increments, ordered by
    efficiency within the account and cut where the account's cap is full."""
    inc_slot, inc_start, inc_option, inc_step, inc_spend, inc_value, efficiency = \
        hull_increments(slot, value, spend, option)
    slot_account = np.zeros(int(slot.max(initial=-1)) + 1, dtype=np.intp)
    slot_account[slot] = account
    inc_account = slot_account[inc_slot]
    order = np.lexsort((inc_step, -efficiency, inc_account))
    inc_account, inc_slot, inc_start, inc_option = inc_account[order], inc_slot[order], inc_start[order], \
        inc_option[order]
    inc_spend, inc_value, efficiency = inc_spend[order], inc_value[order], efficiency[order]
    running = np.cumsum(inc_spend)
    first = np.searchsorted(inc_account, inc_account, side="left")
    before = running - inc_spend - (running[first] - inc_spend[first])
    room = caps[inc_account] - before
    share = np.where(inc_spend > 0, np.clip(room / np.where(inc_spend > 0, inc_spend, 1.0), 0.0, 1.0), 1.0)
    keep = share > 0
    return _Curves(inc_account[keep], inc_slot[keep], inc_start[keep], inc_option[keep], inc_spend[keep] * share[keep],
                   inc_value[keep] * share[keep], efficiency[keep], share[keep])


def _price(curves: _Curves, budget: float) -> float:
    """lam*: the least price at which the spend of every increment more efficient than it fits the budget.
    Bisection on lam over the sorted efficiencies (the only prices where the spend changes), so it is exact."""
    if curves.spend.sum() <= budget:
        return 0.0
    order = np.argsort(-curves.efficiency, kind="stable")
    efficiency = curves.efficiency[order]
    spent = np.cumsum(curves.spend[order])
    low, high = 0, len(spent) - 1  # the first increment that overflows lies in [low, high]
    while low < high:
        middle = (low + high) // 2
        if spent[middle] > budget:
            high = middle
        else:
            low = middle + 1
    return max(0.0, float(efficiency[low]))


@dataclass(frozen=True)
class _Knapsacks:
    """What every capped account's knapsack reads (planner.execute): sent once to each worker of a cluster."""

    priced: OptionTable
    chosen: IntArray
    caps: FloatArray
    by_account: IntArray
    """Options in account order; `edges[a]:edges[a + 1]` are account a's."""
    edges: IntArray
    max_states: int


def _knapsack_of(shared: _Knapsacks, account: int) -> tuple[IntArray, float, IntArray | None]:
    """One capped account's knapsack: its options, its optimum (or LP bound) and the options chosen (None: keep
    the greedy plan, which is the incumbent the DP has to beat)."""
    priced = shared.priced
    mine = shared.by_account[shared.edges[account]: shared.edges[account + 1]]
    held = np.unique(shared.chosen[priced.slot[mine]])
    incumbent = float(priced.value[held[held >= 0]].sum())
    best, picks = knapsack((priced.value[mine], priced.spend[mine], priced.slot[mine], mine,
                            float(shared.caps[account]), incumbent, shared.max_states))
    return mine, best, picks


def _knapsacks(priced: OptionTable, chosen: IntArray, accounts: IntArray, caps: FloatArray, executor: Executor,
               max_states: int) -> list[tuple[int, IntArray, float, IntArray | None]]:
    """Each capped account's knapsack on `executor`: (account, its options, optimum or upper bound, the options
    chosen or None to keep the greedy plan)."""
    by_account = np.argsort(priced.account, kind="stable")
    edges = np.searchsorted(priced.account[by_account], np.arange(priced.accounts + 1))
    shared = _Knapsacks(priced, chosen, caps, by_account, edges, max_states)
    results = executor.map(_knapsack_of, accounts.tolist(), shared)
    return [(int(a), mine, best, picks) for a, (mine, best, picks) in zip(accounts.tolist(), results)]


class _Plan:
    """An integer plan (the option of each slot, -1: none) with the spend it leaves room for, and the moves that
    repair it: one slot moved to another option or to no promotion."""

    def __init__(self, table: OptionTable, chosen: IntArray) -> None:
        self.table, self.chosen = table, chosen.copy()
        self.caps = table.caps()
        self.spent = np.zeros(table.accounts)
        running = self.chosen[self.chosen >= 0]
        np.add.at(self.spent, table.account[running], table.spend[running])
        self.room = table.budget - float(self.spent.sum())
        self.tolerance = 1e-9 * max(1.0, float(table.spend.max(initial=0.0)))

    def moves(self, options: IntArray) -> tuple[FloatArray, FloatArray]:
        """(gain, rise) of moving each option's slot to that option."""
        now = self.chosen[self.table.slot[options]]
        held = np.maximum(now, 0)
        gain = self.table.value[options] - np.where(now >= 0, self.table.value[held], 0.0)
        rise = self.table.spend[options] - np.where(now >= 0, self.table.spend[held], 0.0)
        return gain, rise

    def move(self, slot: int, account: int, option: int, rise: float) -> None:
        self.chosen[slot] = option
        self.spent[account] += rise
        self.room -= rise

    def fill(self) -> None:
        """Upgrade slots in order of extra profit per extra spend while the total and the account's own budget
        have room; repeated until nothing fits."""
        table, everything = self.table, np.arange(len(self.table.value))
        while True:
            gain, rise = self.moves(everything)
            account_room = self.caps[table.account] - self.spent[table.account]
            fits = (gain > 0) & (rise <= self.room + self.tolerance) & (rise <= account_room + self.tolerance)
            candidates = np.flatnonzero(fits)
            if not len(candidates):
                return
            ratio = np.where(rise[candidates] > 0, gain[candidates] / np.maximum(rise[candidates], 1e-300), np.inf)
            changed: set[int] = set()
            for o in candidates[np.argsort(-ratio, kind="stable")].tolist():
                s, a, r = int(table.slot[o]), int(table.account[o]), float(rise[o])
                if s not in changed and r <= min(self.room, self.caps[a] - self.spent[a]) + self.tolerance:
                    self.move(s, a, o, r)
                    changed.add(s)

    def trim(self) -> None:
        """While over the total budget, move slots down (to a cheaper option or to none), those that lose least
        per unit of spend freed first."""
        table = self.table
        while self.room < -self.tolerance:
            held_slots = np.flatnonzero(self.chosen >= 0)
            held = self.chosen[held_slots]
            cheaper = np.flatnonzero(self.chosen[table.slot] >= 0)
            gain, rise = self.moves(cheaper)
            down = rise < 0
            slots = np.concatenate([table.slot[cheaper[down]], held_slots])
            to = np.concatenate([cheaper[down], np.full(len(held), -1, dtype=np.intp)])
            loss = np.concatenate([-gain[down], table.value[held]])
            freed = np.concatenate([-rise[down], table.spend[held]])
            changed: set[int] = set()
            for k in np.argsort(loss / np.maximum(freed, 1e-300), kind="stable").tolist():
                s = int(slots[k])
                if self.room >= -self.tolerance:
                    return
                if s not in changed:
                    self.move(s, int(table.account[self.chosen[s]]), int(to[k]), -float(freed[k]))
                    changed.add(s)


def option_table(rules: RuleSet, compiled: Compiled, options: Options) -> OptionTable:
    """The planner's options as a table for `decompose`, with the budgets read as `constraints/budgets.py` reads
    them. Raises `Unsupported`, naming the rules, when the rule set holds rows the decomposition does not price."""
    index = compiled.index
    unsupported = [f"rebate {r.rebate.id}" for r in compiled.rebates]
    unsupported += [f"{kind} {item.id}" for kind in ("calendar_rules", "margin_floors", "price_floors",
                                                     "trade_spend_caps") for item in getattr(rules, kind)]
    unsupported += [f"locked event {e.id}" for e in rules.events if e.locked]
    unsupported += ["vividness investment decisions (value the options with decide_vividness=False)"] \
        if options.investments else []
    total, per_account = [], []
    for budget in rules.budgets:
        scope = budget.applies_to
        whole_year_max = budget.min is None and budget.period == "year"
        if whole_year_max and budget.per == "total" and not scope.specificity:
            total.append(budget)
        elif whole_year_max and budget.per == "account" and all(getattr(scope, k) is None for k in scope.PRODUCT_KEYS):
            per_account.append(budget)
        else:
            unsupported.append(f"budget {budget.id} ({budget.per}, {budget.period}"
                               f"{', min' if budget.min is not None else ''}{', scoped' if scope.specificity else ''})")
    if unsupported:
        raise Unsupported("the decomposition prices the total budget over choice and per-account budgets only; "
                          "not yet: " + ", ".join(unsupported))
    weeks = index.calendar.weeks
    line_account = np.array([account for account, _ in options.lines], dtype=np.intp)
    everything = np.ones(len(index.products), dtype=bool)
    spend = options.scoped("budget_spend", everything, np.ones(weeks, dtype=bool))
    fixed = options.base.budget_spend.sum(axis=(1, 2))
    caps = None
    if per_account:
        caps = np.full(len(index.accounts), np.inf)
        for budget in per_account:
            mask = index.account_mask(budget.applies_to)
            caps[mask] = np.minimum(caps[mask], float(budget.max) - fixed[mask])  # type: ignore[arg-type]
    room = min((float(b.max) for b in total), default=np.inf) - float(fixed.sum())  # type: ignore[arg-type]
    base = float(options.base.gross_profit.sum() + options.base.rebates.sum())
    return OptionTable(line_account[options.line], options.line * weeks + options.week,
                       options.value["gross_profit"], spend, room, caps, base)
