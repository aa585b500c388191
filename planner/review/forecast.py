"""The latest estimate (actuals to date + the model's forecast of the remaining weeks) with its spread, and the
outlook of every rebate tier and growth target.

Spread: Monte Carlo over the forecast exactly as `planner simulate` draws a plan (simulate.demand_draw: log-normal
baseline noise with mean 1 per cell, elasticity normal around its value and capped at 0, and the lifts, dips and
cannibalization shares the rules give a spread), the actuals fixed.

Rebate outlook, per rebate, account in scope and settlement period, in the rebate's own measure (cases, invoice
revenue, or growth = cases / last year's cases of the period - 1, economics.rebates):

    so far      the measure of the weeks to date; for growth, against last year's period pro-rated by the plan's
                own weekly profile (the plan's cases to date / its cases in the period)
    expected    the measure of the latest estimate at the period's end, the tier it falls in, and the probability
                over the draws of ending in that tier or a higher one (1 or 0 without draws)
    next tier   the first tier above the expected one: the cases still needed beyond the latest estimate, and per
                remaining week of the period
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from planner.compile.index import FloatArray
from planner.compile.model import tier_bands
from planner.results import Spread
from planner.review.basis import Basis, latest_of_draw
from planner.review.ledger import Ledger
from planner.simulate import demand_draw, uncertain_plan


@dataclass(frozen=True)
class Outlook:
    """One rebate (or growth target) at one account for one settlement period."""

    rule: str
    kind: str
    """'rebate' or 'growth_target'."""
    account: str
    period: str
    """'year' or 'Q1'..'Q4'."""
    basis: str
    status: str
    """'closed' (the period has ended) or 'open'."""
    so_far: float
    tier_so_far: int
    """0 below the first tier, k for tier k (1-based)."""
    expected: float
    expected_tier: int
    probability: float
    """Of ending in the expected tier or higher."""
    next_probability: float | None
    """Of reaching the next tier (None when there is none)."""
    next_tier: int | None
    next_threshold: float | None
    cases_needed: float | None
    cases_needed_per_week: float | None
    thresholds: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class LatestEstimate:
    accounts: list[str]
    volume: FloatArray
    """(A,) latest estimate of the year's cases."""
    gross_profit: FloatArray
    plan_volume: FloatArray
    plan_gross_profit: FloatArray
    actual_volume: FloatArray
    """(A,) cases to date."""
    actual_gross_profit: FloatArray
    draws: int
    spread: dict[str, list[Spread]]
    """'volume', 'gross_profit' -> per account P10/P50/P90 (empty without draws)."""
    total_spread: dict[str, Spread]


def _tier(measure: FloatArray, lower: FloatArray) -> FloatArray:
    """0 below the first tier, k when the measure reached tier k's lower bound (tiers sorted)."""
    return np.asarray((measure[..., None] >= lower - 1e-12).sum(axis=-1), dtype=float)


def _draws(basis: Basis, draws: int, seed: int) -> list[Ledger]:
    if draws <= 0:
        return []
    rng = np.random.default_rng(seed)
    plan = uncertain_plan(basis.rules, basis.compiled, basis.forecast_events, basis.forecast_promotions)
    return [latest_of_draw(basis, demand_draw(plan, rng)) for _ in range(draws)]


def forecast(basis: Basis, draws: int = 0, seed: int = 0) -> tuple[LatestEstimate, list[Outlook]]:
    samples = _draws(basis, draws, seed)
    ids = [a.id for a in basis.compiled.index.accounts]

    def year(ledger: Ledger, line: str) -> FloatArray:
        total: FloatArray = ledger.line(line).sum(axis=1)
        return total

    spread: dict[str, list[Spread]] = {}
    totals: dict[str, Spread] = {}
    if samples:
        for line in ("volume", "gross_profit"):
            table = np.array([year(sample, line) for sample in samples])
            spread[line] = [Spread.of(table[:, a]) for a in range(len(ids))]
            totals[line] = Spread.of(table.sum(axis=1))
    estimate = LatestEstimate(ids, year(basis.latest, "volume"), year(basis.latest, "gross_profit"),
                              year(basis.plan, "volume"), year(basis.plan, "gross_profit"),
                              year(basis.actual, "volume"), year(basis.actual, "gross_profit"), draws, spread, totals)
    return estimate, rebate_outlook(basis, samples) + target_outlook(basis, samples)


def _period_name(kind: str, number: int) -> str:
    return "year" if kind == "year" else f"Q{number}"


def rebate_outlook(basis: Basis, samples: list[Ledger]) -> list[Outlook]:
    out: list[Outlook] = []
    index, through = basis.compiled.index, basis.through
    for r, item in enumerate(basis.compiled.rebates):
        lower, _upper, _rates = tier_bands(item.rebate)
        for number, period in enumerate(item.periods, start=1):
            start, stop = max(period.start, item.weeks.start), min(period.stop, item.weeks.stop)
            if stop <= start:
                continue
            to_date = slice(start, max(start, min(stop, through)))
            for k, a in enumerate(item.accounts.tolist()):
                kind, last_year, whole = item.rebate.basis, float(item.last_year[k]), slice(start, stop)
                plan_share = _share(basis.plan.rebate_volume[r][a], to_date, whole)
                so_far = _measure(kind, basis.actual, r, a, to_date, last_year * plan_share)
                expected = _measure(kind, basis.latest, r, a, whole, last_year)
                finals = np.array([_measure(kind, sample, r, a, whole, last_year) for sample in samples])
                cases_per_unit = _cases_per_unit(item.rebate.basis, basis.latest, r, a, whole, last_year)
                out.append(_outlook(item.rebate.id, "rebate", index.accounts[a].id,
                                    _period_name(item.rebate.period, number), item.rebate.basis,
                                    stop <= through, so_far, expected, finals, lower, cases_per_unit,
                                    max(0, stop - max(start, through))))
    return out


def target_outlook(basis: Basis, samples: list[Ledger]) -> list[Outlook]:
    """Each account's growth target (accounts.growth_target): cases of the year against last year's."""
    out = []
    weeks = slice(0, basis.weeks)
    to_date = slice(0, basis.through)
    for a, account in enumerate(basis.compiled.index.accounts):
        if account.growth_target is None or not account.last_year_volume:
            continue
        last_year = float(account.last_year_volume)
        share = _share(basis.plan.line("volume")[a], to_date, weeks)
        so_far = float(basis.actual.line("volume")[a, to_date].sum()) / (last_year * share) - 1.0 if share else -np.inf
        expected = float(basis.latest.line("volume")[a].sum()) / last_year - 1.0
        finals = np.array([float(sample.line("volume")[a].sum()) / last_year - 1.0 for sample in samples])
        out.append(_outlook(f"growth-target-{account.id}", "growth_target", account.id, "year", "growth",
                            basis.through >= basis.weeks, so_far, expected, finals,
                            np.array([float(account.growth_target)]), last_year, basis.weeks - basis.through))
    return out


def _measure(kind: str, ledger: Ledger, r: int, a: int, weeks: slice, last_year: float) -> float:
    """The rebate's measure over `weeks` (economics.rebates.payout's): cases, revenue, or growth."""
    volume = float(ledger.rebate_volume[r][a, weeks].sum())
    if kind == "volume":
        return volume
    if kind == "revenue":
        return float(ledger.rebate_revenue[r][a, weeks].sum())
    return volume / last_year - 1.0 if last_year > 0 else -np.inf


def _share(plan_weekly: FloatArray, to_date: slice, whole: slice) -> float:
    total = float(plan_weekly[whole].sum())
    return float(plan_weekly[to_date].sum()) / total if total > 0 else 0.0


def _cases_per_unit(kind: str, latest: Ledger, r: int, a: int, weeks: slice, last_year: float) -> float:
    """Cases that move the rebate's measure by one unit: 1 (volume), 1 / price per case (revenue), last year's
    cases (growth: one unit is +100 %)."""
    if kind == "volume":
        return 1.0
    if kind == "growth":
        return last_year
    volume, revenue = latest.rebate_volume[r][a, weeks].sum(), latest.rebate_revenue[r][a, weeks].sum()
    return float(volume / revenue) if revenue > 0 else 0.0


def _outlook(rule: str, kind: str, account: str, period: str, basis: str, closed: bool, so_far: float,
             expected: float, finals: FloatArray, lower: FloatArray, cases_per_unit: float,
             weeks_left: int) -> Outlook:
    tier_so_far = int(_tier(np.array([so_far]), lower)[0]) if np.isfinite(so_far) else 0
    expected_tier = int(_tier(np.array([expected]), lower)[0]) if np.isfinite(expected) else 0
    reached = _tier(finals, lower) if len(finals) else np.array([float(expected_tier)])
    probability = float((reached >= expected_tier).mean())
    above = [k for k in range(len(lower)) if k + 1 > expected_tier]
    next_tier = above[0] + 1 if above else None
    next_probability = float((reached >= next_tier).mean()) if next_tier is not None else None
    threshold = float(lower[above[0]]) if above else None
    needed = max(0.0, (threshold - expected) * cases_per_unit) if threshold is not None and np.isfinite(expected) \
        else None
    per_week = needed / weeks_left if needed is not None and weeks_left > 0 else None
    return Outlook(rule, kind, account, period, basis, "closed" if closed else "open", _finite(so_far), tier_so_far,
                   _finite(expected), expected_tier, probability, next_probability, next_tier, threshold,
                   None if closed else needed, None if closed else per_week, [float(x) for x in lower])


def _finite(value: float) -> float:
    return float(value) if np.isfinite(value) else 0.0
