"""One review: everything `planner review` reports, computed once from the plan, the actuals and the model."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from planner.actuals.model import Actuals
from planner.review.basis import Basis, build
from planner.review.forecast import LatestEstimate, Outlook, forecast
from planner.review.policy import PolicyHeadroom, policy_headroom
from planner.review.post_event import EventResult, LeagueRow, league_table, post_event
from planner.review.variance import Statement, statement
from planner.rules.schema import Event, RuleSet


@dataclass
class Review:
    scenario: str
    plan_label: str
    """Which plan: the scenario file simulated now, or SCENARIO@N from the plan store."""
    year: int
    currency: str
    through: int
    quarter: int
    """The quarter holding the week `through` (0 when through is 0)."""
    basis: Basis
    year_to_date: Statement
    quarter_to_date: Statement
    estimate: LatestEstimate
    outlook: list[Outlook]
    events: list[EventResult]
    league: list[LeagueRow]
    policy: list[PolicyHeadroom]
    missing_cells: int
    """Carried account x product x weeks to date without a sell-in row (counted as no sell-in)."""

    @property
    def accounts(self) -> list[str]:
        return [a.id for a in self.basis.compiled.index.accounts]

    def as_json(self) -> dict[str, Any]:
        estimate = self.estimate
        accounts = []
        for a, account in enumerate(self.accounts):
            entry: dict[str, Any] = {"id": account, **self.year_to_date.account(a),
                                     "quarter": self.quarter_to_date.account(a),
                                     "run_rate": float(self.basis.trend[a]),
                                     "latest_estimate": _account_estimate(estimate, a)}
            accounts.append(entry)
        document: dict[str, Any] = _clean({
            "scenario": self.scenario, "plan": self.plan_label, "year": self.year, "currency": self.currency,
            "through_week": self.through, "quarter": f"Q{self.quarter}" if self.quarter else None,
            "totals": self.year_to_date.totals(), "quarter_totals": self.quarter_to_date.totals(),
            "accounts": accounts,
            "events": [asdict(e) for e in self.events],
            "league_table": [asdict(row) for row in self.league],
            "latest_estimate": {"draws": estimate.draws, "volume": float(estimate.volume.sum()),
                                "gross_profit": float(estimate.gross_profit.sum()),
                                "plan_volume": float(estimate.plan_volume.sum()),
                                "plan_gross_profit": float(estimate.plan_gross_profit.sum()),
                                "spread": {k: asdict(v) for k, v in estimate.total_spread.items()}},
            "rebate_outlook": [asdict(o) for o in self.outlook],
            "policy": [asdict(p) for p in self.policy],
            "missing_cells": self.missing_cells,
        })
        return document


def _account_estimate(estimate: LatestEstimate, a: int) -> dict[str, Any]:
    out: dict[str, Any] = {"volume": float(estimate.volume[a]), "gross_profit": float(estimate.gross_profit[a]),
                           "plan_volume": float(estimate.plan_volume[a]),
                           "plan_gross_profit": float(estimate.plan_gross_profit[a]),
                           "actual_volume": float(estimate.actual_volume[a]),
                           "actual_gross_profit": float(estimate.actual_gross_profit[a])}
    if estimate.spread:
        out["spread"] = {k: asdict(v[a]) for k, v in estimate.spread.items()}
    return out


def _clean(value: Any) -> Any:
    """JSON has no infinity or NaN: such a figure (a ratio without a base) becomes null."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def review(rules: RuleSet, plan_events: list[Event], actuals: Actuals, through: int | None = None, *,
           scenario: str = "", plan_label: str = "", draws: int = 0, seed: int = 0) -> Review:
    """Plan vs actual through week `through` (default: the last week with actuals)."""
    calendar = rules.calendar
    if calendar is None:
        raise ValueError("the rules have no calendar")
    through = actuals.last_week if through is None else through
    basis = build(rules, plan_events, actuals, through)
    quarter = calendar.quarter_of(through) if through else 0
    start = calendar.quarter_weeks(quarter).start - 1 if quarter else 0
    estimate, outlook = forecast(basis, draws, seed)
    events = post_event(basis)
    carried = basis.compiled.demand.baseline > 0
    missing = int((carried[:, :, None] & ~basis.cells.observed)[:, :, :through].sum())
    return Review(scenario, plan_label, calendar.year, rules.company.currency if rules.company else "", through,
                  quarter, basis, statement(basis, slice(0, through)), statement(basis, slice(start, through)),
                  estimate, outlook, events, league_table(events), policy_headroom(basis), missing)
