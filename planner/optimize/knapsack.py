"""Multiple-choice knapsacks, the subproblem of one account in the budget decomposition (decompose.py).

    maximise  sum_o value_o x_o   s.t.  at most one option per slot (line-week),  sum_o spend_o x_o <= cap

`hull_increments` gives each slot's LP hull (the options an LP would ever pick, as increments of falling value per
unit of spend; Sinha and Zoltners, 1979), `lp_bound` the LP optimum of some slots as a concave function of the
room, and `knapsack` the exact optimum by a dynamic programme over non-dominated (spend, value) pairs, pruned by
those LP bounds.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from planner.compile.index import FloatArray

IntArray = npt.NDArray[np.intp]
Increments = tuple[IntArray, IntArray, IntArray, IntArray, FloatArray, FloatArray, FloatArray]
"""Per hull increment: slot, option it starts from (-1: none), option it reaches, step, spend, value, efficiency."""
MAX_STATES = 200_000
"""Default cap on a knapsack's frontier: an account whose frontier grows past it keeps its greedy plan and its LP
bound (counted in `Decomposition.inexact`). More states close more of the gap and take longer."""


Knapsack = tuple[FloatArray, FloatArray, IntArray, IntArray, float, float, int]
"""One capped account's subproblem: priced values, spends, slots and option numbers, cap, incumbent value, and
the most states its frontier may hold."""


def hull_increments(slot: IntArray, value: FloatArray, spend: FloatArray, option: IntArray) -> Increments:
    """Per slot, the upper hull of its options in (spend, value) from 'no promotion' (0, 0): the options an LP
    would ever pick, as increments of falling efficiency (value per unit of spend). A free option (spend 0,
    value > 0) is a first increment of infinite efficiency. Vectorised over slots, one hull step per pass.
    Returns per increment: slot, option it starts from (-1: none), option it reaches, step number, spend, value,
    efficiency."""
    if not len(slot):
        none, nothing = np.zeros(0, dtype=np.intp), np.zeros(0)
        return none, none, none, none, nothing, nothing, nothing
    order = np.lexsort((spend, slot))
    slots, first, counts = np.unique(slot[order], return_index=True, return_counts=True)
    width = int(counts.max())
    row = np.repeat(np.arange(len(slots)), counts)
    column = np.arange(len(order)) - np.repeat(first, counts)
    at_spend = np.full((len(slots), width), np.nan)
    at_value = np.full((len(slots), width), np.nan)
    at_option = np.full((len(slots), width), -1, dtype=np.intp)
    at_spend[row, column], at_value[row, column], at_option[row, column] = spend[order], value[order], option[order]
    free = np.where((at_spend == 0) & (at_value > 0), at_value, -np.inf)
    live = np.isfinite(free.max(axis=1))
    now_spend = np.zeros(len(slots))
    now_value = np.where(live, free.max(axis=1), 0.0)
    now_option = np.where(live, at_option[np.arange(len(slots)), free.argmax(axis=1)], -1)
    now_efficiency = np.full(len(slots), np.inf)
    rows = np.flatnonzero(live)
    steps = [(rows, np.full(len(rows), -1, dtype=np.intp), now_option[rows], np.zeros(len(rows)), now_value[rows],
              now_efficiency[rows])]
    for _ in range(width):
        rise = at_spend - now_spend[:, None]
        gain = at_value - now_value[:, None]
        usable = (rise > 0) & (gain > 0)  # nan (no option) compares False
        efficiency = np.where(usable, gain / np.where(usable, rise, 1.0), -np.inf)
        best = efficiency.max(axis=1)
        rows = np.flatnonzero(np.isfinite(best))
        if not len(rows):
            break
        step = np.where(efficiency[rows] == best[rows, None], at_spend[rows], -np.inf).argmax(axis=1)  # farthest
        # never more efficient than the step before (guards rounding), so a slot's increments stay in order
        kept = np.minimum(best[rows], now_efficiency[rows])
        steps.append((rows, now_option[rows], at_option[rows, step], rise[rows, step], gain[rows, step], kept))
        now_spend[rows], now_value[rows] = at_spend[rows, step], at_value[rows, step]
        now_option[rows], now_efficiency[rows] = at_option[rows, step], kept
    number = np.concatenate([np.full(len(part[0]), n, dtype=np.intp) for n, part in enumerate(steps)])
    rows, starts, reached, rises, gains, efficiencies = (np.concatenate(column) for column in zip(*steps))
    return slots[rows], starts, reached, number, rises, gains, efficiencies


def knapsack(job: Knapsack) -> tuple[float, IntArray | None]:
    """max sum value x  s.t. one option per slot, sum spend x <= cap: exact, by a dynamic programme over the
    non-dominated (spend, value) pairs of the slots so far. A pair is dropped when its value plus the LP bound of
    the slots left cannot reach the incumbent, which rises as pairs are completed with the whole LP increments
    that fit; before that, an option is dropped when forcing it alone rules that out, and a slot left with one
    choice is fixed. Returns (optimum, options), or (LP bound, None) when the frontier grows past `max_states`."""
    value, spend, slot, option, cap, incumbent, max_states = job
    keep = (value > 0) & (spend <= cap)  # an option worth nothing priced never beats no promotion
    value, spend, slot, option = value[keep], spend[keep], slot[keep], option[keep]
    tolerance = 1e-9 * max(1.0, abs(incumbent))
    increments = hull_increments(slot, value, spend, option)
    everything = lp_bound(increments, np.ones(len(increments[0]), dtype=bool))
    lp = float(np.interp(cap, *everything))
    fixed_value, fixed_spend, fixed, core = 0.0, 0.0, [], []
    for s in np.unique(slot).tolist():
        others = lp_bound(increments, increments[0] != s)
        mine = np.flatnonzero(slot == s)
        alive = mine[value[mine] + np.interp(cap - spend[mine], *others) >= incumbent - tolerance]
        none_alive = float(np.interp(cap, *others)) >= incumbent - tolerance
        if len(alive) == 1 and not none_alive:
            fixed_value, fixed_spend = fixed_value + value[alive[0]], fixed_spend + spend[alive[0]]
            fixed.append(alive[0])
        elif len(alive):
            core.append((s, alive, none_alive))
    core.sort(key=lambda c: float(spend[c[1]].max()))  # dearest option last: 2-3x fewer states than week order
    room, target = cap - fixed_spend, incumbent - fixed_value - tolerance
    position = np.full(int(slot.max(initial=-1)) + 1, -1, dtype=np.intp)
    position[np.array([c[0] for c in core], dtype=np.intp)] = np.arange(len(core))
    rank = position[increments[0]]
    in_core = rank >= 0
    states_spend, states_value = np.zeros(1), np.zeros(1)
    back: list[tuple[IntArray, IntArray]] = []
    for n, (s, alive, none_alive) in enumerate(core):
        add_spend = np.r_[0.0, spend[alive]] if none_alive else spend[alive]
        add_value = np.r_[0.0, value[alive]] if none_alive else value[alive]
        add_pick = np.r_[-1, alive] if none_alive else alive
        new_spend = (states_spend[:, None] + add_spend[None, :]).ravel()
        new_value = (states_value[:, None] + add_value[None, :]).ravel()
        parent = np.repeat(np.arange(len(states_spend)), len(add_spend))
        pick = np.tile(add_pick, len(states_spend))
        left, gained = lp_bound(increments, in_core & (rank > n))
        live = (new_spend <= room) & (new_value + np.interp(room - new_spend, left, gained) >= target)
        order = np.lexsort((-new_value[live], new_spend[live]))
        new_spend, new_value = new_spend[live][order], new_value[live][order]
        parent, pick = parent[live][order], pick[live][order]
        front = new_value > np.maximum.accumulate(np.r_[-np.inf, new_value[:-1]])  # strictly better for more
        states_spend, states_value = new_spend[front], new_value[front]
        # a feasible completion of every state: the whole LP increments of the slots left that fit, in order
        whole = gained[np.searchsorted(left, room - states_spend, side="right") - 1]
        target = max(target, float((states_value + whole).max(initial=-np.inf)) - tolerance)
        back.append((parent[front], pick[front]))
        if len(states_spend) > max_states or not len(states_spend):
            return lp, None
    state = int(np.argmax(states_value))
    best = float(states_value[state]) + fixed_value
    picks = list(fixed)
    for parent, pick in reversed(back):
        if pick[state] >= 0:
            picks.append(int(pick[state]))
        state = int(parent[state])
    return best, option[np.array(picks, dtype=np.intp)]


def lp_bound(increments: Increments, which: npt.NDArray[np.bool_]) -> tuple[FloatArray, FloatArray]:
    """The LP optimum of some slots as a concave function of the room: (room, value) breakpoints for np.interp,
    flat past the last one."""
    rise, gain, efficiency = increments[4][which], increments[5][which], increments[6][which]
    order = np.argsort(-efficiency, kind="stable")
    return np.r_[0.0, np.cumsum(rise[order])], np.r_[0.0, np.cumsum(gain[order])]
