"""One account's annual plan document as plain data: every figure the document shows, in the order it shows them.

Sources: the rules (the account, its contract terms, vividness, budgets), the plan's events and their simulation
(planned volume, P&L by week), the per-SKU table of planner.frames (the rebates' planned basis), the per-account
summary of planner.account_plans (discounts and rebates in words, events with their themes, shelf, displays and
coolers), and, when given, the sales history (last year's business review). Wording is the template's; numbers
are here, unrounded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from planner.account_plans import account_plans
from planner.compile.index import PlanIndex
from planner.compile.model import tier_bands
from planner.economics.rebates import payout
from planner.frames import names, product_weeks
from planner.report.account_plan.status import Status
from planner.results import Simulation
from planner.rules.schema import Account, Calendar, Event, Rebate, RuleSet
from planner.rules.schema.common import EVERYWHERE


def _named(rules: RuleSet, section: str, key: str) -> tuple[str, str]:
    item = rules.ids(section).get(key)
    return names(getattr(item, "name", "") or "", key)


def last_year_review(history: pd.DataFrame | None, account: str, year: int, source: str) -> dict[str, Any] | None:
    """Last calendar year's sell-out of the account from the sales history: cases, shelf revenue, the share sold
    on promotion, growth on the year before, by quarter and by category. None without history rows for it."""
    if history is None:
        return None
    rows = history.loc[history["account"] == account]
    dates = pd.DatetimeIndex(rows["week"])
    last, before = rows.loc[dates.year == year], rows.loc[dates.year == year - 1]
    if last.empty:
        return None
    cases = float(last["cases"].sum())
    earlier = float(before["cases"].sum())
    quarters = last.groupby(pd.DatetimeIndex(last["week"]).quarter)["cases"].sum()
    categories = last.groupby("category")["cases"].sum().sort_values(ascending=False)
    weeks = pd.DatetimeIndex(last["week"])
    return {
        "file": source, "year": year, "cases": cases,
        "revenue": float((last["cases"] * last["price"]).sum()),
        "promoted_share": float(last.loc[last["promoted"], "cases"].sum() / cases) if cases else 0.0,
        "growth": cases / earlier - 1.0 if earlier else None, "before": year - 1,
        "first": f"{weeks.min():%Y-%m-%d}", "last": f"{weeks.max():%Y-%m-%d}",
        "quarters": [{"quarter": f"Q{q}", "cases": float(v), "share": float(v) / cases} for q, v in quarters.items()],
        "categories": [{"category": str(c), "cases": float(v), "share": float(v) / cases}
                       for c, v in categories.items()],
    }


def _market(rules: RuleSet, account: Account) -> dict[str, Any]:
    volumes = sorted((a.last_year_volume for a in rules.accounts), reverse=True)
    total = sum(volumes)
    return {
        "channel": _named(rules, "channels", account.channel), "tier": account.tier,
        "region": _named(rules, "regions", account.region), "partner_since": account.partner_since,
        "position": account.market_position,
        "territory_share": account.last_year_volume / total if total else 0.0,
        "rank": volumes.index(account.last_year_volume) + 1, "accounts": len(volumes),
        "shelf": [{"category": _named(rules, "categories", category), "share": share}
                  for category, share in account.shelf_share.items()],
    }


def _quarters(calendar: Calendar) -> list[range]:
    return [calendar.quarter_weeks(q) for q in range(1, len(calendar.quarters) + 1)]


def _targets(rules: RuleSet, account: Account, simulation: Simulation, summary: dict[str, Any],
             calendar: Calendar) -> dict[str, Any]:
    kpis = simulation.accounts[account.id]
    weekly = simulation.account_weeks[account.id]["volume"]
    target_volume = account.last_year_volume * (1 + account.growth_target) if account.growth_target is not None \
        else None
    return {
        "last_year": account.last_year_volume, "volume": kpis.volume, "target_volume": target_volume,
        "growth": simulation.growth.get(account.id), "target_growth": account.growth_target,
        "net_sales": kpis.net_sales, "gross_profit": kpis.gross_profit,
        "quarters": [{"quarter": f"Q{k}", "volume": float(sum(weekly[w - 1] for w in weeks))}
                     for k, weeks in enumerate(_quarters(calendar), start=1)],
        "shelf": [{**row, "category_name": _named(rules, "categories", row["category"])} for row in summary["shelf"]],
    }


def _rebate_tiers(rebate: Rebate, cells: pd.DataFrame, index: PlanIndex, account: Account,
                  calendar: Calendar) -> dict[str, Any]:
    """What each tier pays when reached in one settlement period (at the plan's average invoice price), and what
    the plan's own volume earns over the year."""
    products = {index.products[p].id for p in np.flatnonzero(index.product_mask(rebate.applies_to))}
    valid = index.week_range(rebate.valid)
    mine = cells.loc[cells["product"].isin(products)]
    by_week = mine.groupby("week")[["volume", "gross_sales", "off_invoice"]].sum()
    periods = _quarters(calendar) if rebate.period == "quarter" else [range(1, calendar.weeks + 1)]
    last_year = account.last_year_volume / len(periods)
    planned, volume_total, revenue_total = 0.0, 0.0, 0.0
    for weeks in periods:
        inside = [w for w in weeks if valid.start < w <= valid.stop and w in by_week.index]
        volume = float(by_week.loc[inside, "volume"].sum())
        revenue = float((by_week.loc[inside, "gross_sales"] - by_week.loc[inside, "off_invoice"]).sum())
        planned += float(payout(rebate, np.array([volume]), np.array([revenue]), np.array([last_year]))[0])
        volume_total, revenue_total = volume_total + volume, revenue_total + revenue
    price = revenue_total / volume_total if volume_total else 0.0
    lower, _, _ = tier_bands(rebate)
    pays = []
    for start in lower:
        volume = {"volume": start, "revenue": start / price if price else 0.0,
                  "growth": last_year * (1 + start)}[rebate.basis]
        pays.append(float(payout(rebate, np.array([volume]), np.array([volume * price]), np.array([last_year]))[0]))
    per_period = {"volume": volume_total, "revenue": revenue_total,
                  "growth": volume_total / account.last_year_volume - 1 if account.last_year_volume else 0.0}
    measure = per_period[rebate.basis] / (1 if rebate.basis == "growth" else len(periods))
    reached = [k for k, start in enumerate(lower) if measure >= start - 1e-9]
    return {"pays": pays, "planned": planned, "reached": reached[-1] if reached else None,
            "per": rebate.period}


def _activities(rules: RuleSet, rows: Sequence[dict[str, Any]], calendar: Calendar) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        first, last = min(row["weeks"]), max(row["weeks"])
        end = calendar.week_start(last) + dt.timedelta(days=6)
        out.append({**row, "group_name": _named(rules, "product_groups", row["product_group"]),
                    "mechanic_name": _named(rules, "mechanics", row["mechanic"]),
                    "dates": f"{calendar.week_start(first):%m-%d} – {end:%m-%d}"})
    return out


def _schedule(calendar: Calendar, activities: Sequence[dict[str, Any]], quarters: Sequence[dict[str, Any]]
              ) -> list[dict[str, Any]]:
    out = []
    for k, weeks in enumerate(_quarters(calendar), start=1):
        end = calendar.week_start(weeks[-1]) + dt.timedelta(days=6)
        out.append({"quarter": f"Q{k}", "from": f"{calendar.week_start(weeks[0]):%Y-%m-%d}", "to": f"{end:%Y-%m-%d}",
                    "meeting": f"{end + dt.timedelta(days=1):%Y-%m-%d}",
                    "activities": [a for a in activities if min(a["weeks"]) in weeks],
                    "volume": quarters[k - 1]["volume"]})
    return out


def _reserve(rules: RuleSet, index: PlanIndex, account: Account, simulation: Simulation) -> dict[str, Any]:
    """The account's own promotion ceiling minus what the plan spends; without one, the territory's headroom."""
    position = index.account_position[account.id]
    used = simulation.accounts[account.id].budget_used
    ceilings = [b.max for b in rules.budgets if b.per == "account" and b.period == "year" and b.max is not None
                and index.account_mask(b.applies_to)[position]]
    if ceilings:
        ceiling = min(ceilings)
        return {"kind": "account", "ceiling": ceiling, "used": used, "reserve": max(ceiling - used, 0.0),
                "share": max(ceiling - used, 0.0) / ceiling if ceiling else 0.0}
    totals = [b.max for b in rules.budgets if b.per == "total" and b.period == "year" and b.max is not None
              and b.applies_to == EVERYWHERE]
    headroom = max(min(totals) - simulation.totals.budget_used, 0.0) if totals else 0.0
    share = used / simulation.totals.budget_used if simulation.totals.budget_used else 0.0
    return {"kind": "total", "reserve": headroom, "mine": headroom * share, "used": used}


def account_documents(rules: RuleSet, events: Sequence[Event], simulation: Simulation, *, scenario: str,
                      accounts: Sequence[str], history: pd.DataFrame | None = None, history_file: str = "",
                      statuses: dict[str, Status] | None = None) -> list[dict[str, Any]]:
    """The document of each account in `accounts` (ids of the rules)."""
    calendar = rules.calendar
    if calendar is None:
        raise ValueError("the rules have no calendar: an annual plan needs the fiscal year")
    index = PlanIndex.of(rules)
    summaries = account_plans(rules, events, simulation)
    cells = product_weeks(rules, events)
    company = names(rules.company.name if rules.company else "", "")
    documents = []
    for account_id in accounts:
        account = rules.ids("accounts")[account_id]
        summary = summaries[account_id]
        targets = _targets(rules, account, simulation, summary, calendar)
        activities = _activities(rules, summary["events"], calendar)
        mine = cells.loc[cells["account"] == account_id]
        rebates = [{**row, **_rebate_tiers(rules.ids("rebates")[row["id"]], mine, index, account, calendar),
                    "basis": rules.ids("rebates")[row["id"]].basis} for row in summary["rebates"]]
        review = last_year_review(history, account_id, calendar.year - 1, history_file)
        for row in review["categories"] if review else []:
            row["category"] = _named(rules, "categories", row["category"])
        documents.append({
            "id": account_id, "name": names(account.name, account_id), "company": company,
            "year": calendar.year, "currency": simulation.currency, "scenario": scenario,
            "status": (statuses or {}).get(account_id),
            "review": review,
            "market": _market(rules, account), "targets": targets,
            "discounts": summary["discounts"], "rebates": rebates, "activities": activities,
            "shelf": targets["shelf"], "displays": summary["displays"], "coolers": summary["coolers"],
            "schedule": _schedule(calendar, activities, targets["quarters"]),
            "reserve": _reserve(rules, index, account, simulation),
        })
    return documents
