"""Rebate tiers, exact in the tier reached: which tier each account reaches in each period is decided by its
volume, through binaries.

For rebate r, account a and settlement period q, all linear in the columns y (options, their vividness variants
and packages: model.py):

    M = M0 + sum_c measure_c y_c     (cases, invoice revenue, or cases against LY_q (1 + growth threshold))
    price = R0 / V0                  (the period's no-promotion average invoice price; 1 for revenue bands)

The tier table is cut into bands s = [lo_s, hi_s) covering [0, inf) with rate r_s (0 below the first tier and
in gaps); only bands M can reach are modelled: with at most one option per line and week, and no more event
weeks per line and period than the `event_count` maxima allow (`slot_range`). Retroactive, in convex-hull form (one copy of M per band):

    sum_s z_s = 1,   lo_s z_s <= M_s <= hi_s z_s,   sum_s M_s = M,   rebate >= sum_s r_s x price x M_s

Incremental: with rates that never fall the payout is convex in M, so rebate >= payout(lo_s) + r_s price (M - lo_s)
for every reachable band (no binaries); otherwise units fill the bands in order through binaries w_s.
A cap adds a binary c: rebate >= payout - (P - cap) c and rebate >= cap c, so rebate = min(payout, cap), with
P = top rate x price x the largest reachable measure, an upper bound of the payout (the smallest big-M, for the
tightest relaxation); a cap the payout can never reach adds nothing.
The rebate only ever costs the bottler, so its lower bounds are tight at the optimum.

Approximation: the simulator pays volume and growth rebates on the period's actual revenue (rate x R), the
model on price x volume with the no-promotion average price: they differ by rate x volume x (change of average
price), the mix shift a plan causes — a few hundredths of a percent of profit on the demo (tested; the
tolerance is stated in docs/optimizer.md). Revenue-basis rebates are exact. The rows that must hold on the
simulator's numbers (margin floors, trade-spend caps) add the most that difference can be: with
D = R - price x V = sum_c (dR_c - price x dV_c) y_c (R0 = price x V0 cancels), the simulator's rebate is at most
the model's + e, where e >= 0 and e >= top rate x D (`Model.rebate_margins`; a cap only lowers both).
"""

from __future__ import annotations

import itertools

import numpy as np

from planner.compile.calendar import periods
from planner.compile.model import tier_bands
from planner.optimize.constraints._calendar import bound
from planner.optimize.constraints._scoped import ScopedSums
from planner.optimize.model import Expression, Model, RowLabel, Variable
from planner.rules.schema import EventCount


def bands(lower: np.ndarray, upper: np.ndarray, rates: np.ndarray) -> list[tuple[float, float, float]]:
    """The tier table as bands covering [0, inf): (low, high, rate), rate 0 below the first tier and in gaps."""
    out: list[tuple[float, float, float]] = []
    edge = 0.0
    for low, high, rate in zip(lower.tolist(), upper.tolist(), rates.tolist()):
        if low > edge:
            out.append((edge, low, 0.0))
        out.append((low, high, rate))
        edge = high
    if edge < np.inf:
        out.append((edge, np.inf, 0.0))
    return out


WeekLimits = dict[int, list[tuple[frozenset[int], int]]]
"""Option line number -> (0-based weeks of a period, most event weeks allowed in them), from `event_count` maxima."""


def week_limits(model: Model) -> WeekLimits:
    """The `event_count` maxima that count every mechanic, per line: no plan promotes a line in more weeks of a
    period than that. Their periods are the year and its quarters, so the sets of one line are laminar (any two
    are nested or disjoint), which is what makes `slot_range`'s greedy selection exact."""
    index = model.compiled.index
    limits: WeekLimits = {}
    for rule in model.rules.calendar_rules:
        if not isinstance(rule, EventCount) or rule.max is None or rule.mechanics is not None:
            continue
        for line in bound(model, rule):
            if line.number is not None:
                limits.setdefault(line.number, []).extend(
                    (frozenset(w - 1 for w in weeks), rule.max) for _, weeks in periods(rule, index))
    return limits


def _best_weeks(week_values: dict[int, float], limits: list[tuple[frozenset[int], int]]) -> float:
    """The largest sum of `week_values` over weeks that keep every limit: greedy by value is optimal because
    nested-or-disjoint cardinality limits form a (laminar) matroid."""
    used = [0] * len(limits)
    total = 0.0
    for week, value in sorted(week_values.items(), key=lambda item: -item[1]):
        if value <= 0:
            break
        hit = [k for k, (weeks, _) in enumerate(limits) if week in weeks]
        if all(used[k] < limits[k][1] for k in hit):
            for k in hit:
                used[k] += 1
            total += value
    return total


def slot_range(line: np.ndarray, week: np.ndarray, values: np.ndarray,
               limits: WeekLimits | None = None) -> tuple[float, float]:
    """The least and the most `values` can add up to when at most one option is chosen per line and week (the
    choice rows) and no line is promoted in more weeks of a period than its `event_count` maxima allow (`limits`):
    per line, the best weeks' largest positive (for the most) or most negative (for the least) option value.
    Summing over every option instead would let the model think all mechanics of every week run at once, making
    bands reachable that are not and the cap's big-M needlessly large."""
    least = most = 0.0
    for number in np.unique(line).tolist():
        mine = line == number
        ups: dict[int, float] = {}
        downs: dict[int, float] = {}
        for w, value in zip(week[mine].tolist(), values[mine].tolist()):
            ups[w] = max(ups.get(w, 0.0), value)
            downs[w] = max(downs.get(w, 0.0), -value)
        rules = (limits or {}).get(number, [])
        most += _best_weeks(ups, rules)
        least -= _best_weeks(downs, rules)
    return least, most


def add(model: Model) -> None:
    options, index = model.options, model.compiled.index
    limits = week_limits(model)
    weeks_total = index.calendar.weeks
    settled = []
    for item in model.compiled.rebates:
        for period in item.periods:
            start, stop = max(period.start, item.weeks.start), min(period.stop, item.weeks.stop)
            if stop > start:
                weeks = np.zeros(weeks_total, dtype=bool)
                weeks[start:stop] = True
                settled.append((item, period, weeks))
    scoped = ScopedSums(options, ((measure, item.products, weeks) for item, _, weeks in settled
                                  for measure in ("volume", "revenue")))
    for item, period, weeks in settled:
        lower, upper, rates = tier_bands(item.rebate)
        volume = scoped("volume", item.products, weeks)
        revenue = scoped("revenue", item.products, weeks)
        base_volume = scoped.base("volume", item.products, weeks)
        base_revenue = scoped.base("revenue", item.products, weeks)
        for position, a in enumerate(item.accounts.tolist()):
            mine = model.account_columns(a)
            mine = mine[(volume[mine] != 0) | (revenue[mine] != 0)]
            _one(model, item, a, position, period.start, mine, volume, revenue,
                 float(base_volume[a]), float(base_revenue[a]), lower, upper, rates, limits)


def _one(model: Model, item: object, a: int, position: int, period_start: int, mine: np.ndarray,
         volume: np.ndarray, revenue: np.ndarray, v0: float, r0: float, lower: np.ndarray, upper: np.ndarray,
         rates: np.ndarray, limits: WeekLimits) -> None:
    rebate = item.rebate  # type: ignore[attr-defined]
    account = model.compiled.index.accounts[a].id
    label = RowLabel("rebate", rebate.id, account, f"period starting week {period_start + 1}")
    options = model.options
    line, week = options.column_line[mine], options.column_week[mine]
    r_hi = r0 + slot_range(line, week, revenue[mine], limits)[1]
    if rebate.basis == "growth":
        last_year = float(item.last_year[position])  # type: ignore[attr-defined]
        if last_year <= 0:  # no last-year volume: no growth tier is reached (as economics.rebates.payout)
            return
        lower, upper = last_year * (1 + lower), last_year * (1 + upper)
    coefficients, base = (revenue, r0) if rebate.basis == "revenue" else (volume, v0)
    measure = model.linear(mine, coefficients[mine], base)
    least, most_added = slot_range(line, week, coefficients[mine], limits)
    measure_lo, measure_hi = base + least, base + most_added
    every = bands(lower, upper, rates)
    paid_at = np.concatenate([[0.0], np.cumsum([rate * (hi - lo) if hi < np.inf else 0.0 for lo, hi, rate in every])])
    reachable = [s for s, (lo, hi, _) in enumerate(every) if hi > measure_lo and lo <= measure_hi]
    segments = [every[s] for s in reachable]
    if r_hi <= 0 or (not any(rate for _, _, rate in segments) and not paid_at[reachable[0]]):
        return
    constant = 0.0
    price = r0 / v0 if v0 > 0 and rebate.basis != "revenue" else 1.0
    if rebate.method == "retroactive":
        payout_coefs, payout_vars = _retroactive(model, label, segments, measure, measure_hi, price)
    else:
        payout_coefs, payout_vars, constant = _incremental(model, label, segments, measure, measure_hi, price,
                                                           [float(paid_at[s]) for s in reachable])
    paid = model.new_var(0.0, None)
    payout = model.expression(payout_coefs, payout_vars, constant)
    most = float(rates.max(initial=0.0)) * price * max(measure_hi, 0.0) + constant  # no payout can exceed it
    if rebate.cap is not None and most > rebate.cap:
        capped = model.new_var(binary=True)
        model.row(label, paid - payout + model.expression([most - rebate.cap], [capped]), lower=0.0, hard=True)
        model.row(label, paid - model.expression([rebate.cap], [capped]), lower=0.0, hard=True)
    else:
        model.row(label, paid - payout, lower=0.0, hard=True)
    model.rebates.setdefault(a, []).append(paid)
    if rebate.basis != "revenue":
        top = max(rate for _, _, rate in segments)
        margin = model.new_var(0.0, None)
        drift = model.linear(mine, top * (revenue[mine] - price * volume[mine]))
        model.row(label, margin - drift, lower=0.0, hard=True)
        model.rebate_margins.setdefault(a, []).append(margin)


def _retroactive(model: Model, label: RowLabel, segments: list[tuple[float, float, float]],
                 measure: Expression, measure_hi: float, price: float) -> tuple[list[float], list[Variable]]:
    """The reachable bands as a disjunction in convex-hull form: the measure is split into one copy per band,
    live only in the band the measure lies in (z_s), and the rebate is sum_s rate_s x price x copy_s. The hull of
    this one-dimensional disjunction is the tightest linear relaxation there is. One band left: a fixed rate."""
    if len(segments) == 1:
        whole = model.new_var(0.0, None)
        model.row(label, whole - measure, 0.0, 0.0, hard=True)
        return [segments[0][2] * price], [whole]
    z = [model.new_var(binary=True) for _ in segments]
    model.row(label, model.expression([1.0] * len(z), z), 1.0, 1.0, hard=True)
    parts = []
    for (lo, hi, _), zs in zip(segments, z):
        part = model.new_var(0.0, None)
        model.row(label, part - model.expression([lo], [zs]), lower=0.0, hard=True)
        model.row(label, part - model.expression([min(hi, measure_hi + 1.0)], [zs]), upper=0.0, hard=True)
        parts.append(part)
    model.row(label, model.expression([1.0] * len(parts), parts) - measure, 0.0, 0.0, hard=True)
    return [rate * price for _, _, rate in segments], parts


def _incremental(model: Model, label: RowLabel, segments: list[tuple[float, float, float]],
                 measure: Expression, measure_hi: float, price: float,
                 paid_before: list[float]) -> tuple[list[float], list[Variable], float]:
    """Units in each reachable band; `paid_before[s]` is the payout at band s's lower edge. Rates that never fall
    make the payout convex in the measure: it is then the largest of one affine piece per band, no binaries.
    Otherwise bands fill in order through binaries. Returns (coefficients, variables, constant)."""
    rates = [rate for _, _, rate in segments]
    if all(b >= a for a, b in itertools.pairwise(rates)):
        paid = model.new_var(0.0, None)
        for (lo, _, rate), before in zip(segments, paid_before):
            # payout(M) >= payout(lo) + rate x (M - lo): the largest piece is the payout
            model.row(label, paid - measure * (rate * price), lower=(before - rate * lo) * price, hard=True)
        return [1.0], [paid], 0.0
    reached = [model.new_var(binary=True) for _ in segments]
    units = []
    coefs: list[float] = []
    variables: list[Variable] = []
    for s, (lo, hi, rate) in enumerate(segments):
        width = min(hi, measure_hi + 1.0) - lo
        u = model.new_var(0.0, max(width, 0.0))
        units.append(u)
        model.row(label, u - model.expression([width], [reached[s]]), upper=0.0, hard=True)
        if s + 1 < len(segments):
            model.row(label, u - model.expression([width], [reached[s + 1]]), lower=0.0, hard=True)
            model.row(label, model.expression([1.0, -1.0], [reached[s + 1], reached[s]]), upper=0.0, hard=True)
        if rate:
            coefs.append(rate * price)
            variables.append(u)
    first = segments[0][0]
    model.row(label, model.expression([1.0] * len(units), units) - measure, lower=-first, upper=-first, hard=True)
    return coefs, variables, paid_before[0] * price
