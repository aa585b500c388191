"""The approval pack's content: one plan version (stored or a draft), read the way finance reads it.

`build(version, baseline, ...)` turns a `planner.store.versions.Version` into plain sections (lists of dicts) and
its charts (PNG bytes); `planner.report.pack_html` and `planner.report.pack_workbook` only lay them out, so the
page and the workbook always show the same numbers. Everything comes from the version's frozen data: a stored
version's pack shows what was submitted, whatever the rule files say today.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from planner.report import charts
from planner.store import diff
from planner.store.versions import Version

POLICY_KINDS = {
    "budget_max": "budget used vs available",
    "budget_min": "budget minimum spend",
    "margin_floor": "gross margin vs floor",
    "trade_spend_cap": "trade spend % vs cap",
    "display_min_revenue": "display net sales vs minimum",
    "calendar": "calendar rule",
}
"""Policy check kinds as the pack names them, in the order it lists them."""
RATIO_KINDS = frozenset({"margin_floor", "trade_spend_cap"})
WATERFALL = (("Off-invoice discounts", "off_invoice"), ("Fixed-term discounts", "fixed_discounts"),
             ("Promotion funding", "promo_funding"), ("Event costs", "event_costs"),
             ("Vividness (shelf, displays, coolers)", "vividness"), ("Rebates", "rebates"))
"""The deductions from gross sales to dead-net sales, in waterfall order; together they are the trade spend."""
RISK_KPIS = ("gross_profit", "net_sales", "volume", "trade_spend", "budget_used", "gross_margin", "trade_spend_pct")


@dataclass(frozen=True)
class Tile:
    """One headline number at the top of the pack: a value, what it is held against, and whether it holds."""

    title: str
    value: float
    kind: str
    """money, percent, volume or count."""
    limit: float | None = None
    ok: bool | None = None
    note: str = ""


@dataclass
class Pack:
    version: Version
    baseline: Version | None
    difference: dict[str, Any] | None
    generated_at: str
    approvals_needed: int
    tiles: list[Tile]
    policy: list[dict[str, Any]]
    waterfall: list[dict[str, Any]]
    accounts: list[dict[str, Any]]
    risk: list[dict[str, Any]]
    plans: list[dict[str, Any]]
    charts: dict[str, bytes] = field(default_factory=dict)
    unverified: list[str] = field(default_factory=list)
    """Why the version failed verification (`planner report --allow-unverified`): stamped atop the page and every
    sheet. Empty for a version that verified, or a draft."""

    @property
    def currency(self) -> str:
        return self.version.frozen.currency

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [check for check in self.policy if not check["ok"]]

    @property
    def headline_checks(self) -> list[dict[str, Any]]:
        """What the first page lists: every failure and every plan-wide, channel or tier check."""
        return [check for check in self.policy if not check["ok"] or check["account"] is None]

    def account_checks(self, account: str) -> list[dict[str, Any]]:
        return [check for check in self.policy if check["account"] == account]


def _headroom(check: dict[str, Any]) -> float:
    """How far the plan is inside its limit (negative: how far outside), in the limit's unit."""
    if check["kind"] == "calendar":
        return math.nan
    inside = float(check["limit"]) - float(check["actual"])
    return -inside if check["kind"] in ("budget_min", "margin_floor", "display_min_revenue") else inside


def _account_of(scope: str, accounts: dict[str, Any]) -> str | None:
    """The account a check is about ('carrefour', 'carrefour year', 'carrefour week 39'), or None if plan-wide or
    about a channel or tier."""
    first = scope.split(" ")[0]
    return first if first in accounts else None


def policy_rows(version: Version) -> list[dict[str, Any]]:
    """Every policy check, failures first, then by kind; `account` says which account's it is, if any."""
    order = list(POLICY_KINDS)
    rows = [{**check, "what": POLICY_KINDS.get(check["kind"], check["kind"]), "scope": str(check["scope"]),
             "account": _account_of(str(check["scope"]), version.accounts), "headroom": _headroom(check),
             "ratio": check["kind"] in RATIO_KINDS}
            for check in version.frozen.policy]
    return sorted(rows, key=lambda row: (row["ok"], order.index(row["kind"]) if row["kind"] in order else 99))


def _total_check(policy: list[dict[str, Any]], kind: str) -> dict[str, Any] | None:
    """The plan-wide check of a kind (the total budget for the year: the largest total maximum)."""
    found = [check for check in policy if check["kind"] == kind and check["scope"].startswith("total")]
    if kind == "budget_max":
        found = [check for check in found if check["scope"].endswith("year")] or found
        return max(found, key=lambda check: check["limit"], default=None)
    return found[0] if found else None


def tiles(version: Version, policy: list[dict[str, Any]]) -> list[Tile]:
    totals = version.totals
    out = []
    budget = _total_check(policy, "budget_max")
    out.append(Tile("Promotion budget used", totals["budget_used"], "money",
                    budget["limit"] if budget else None, budget["ok"] if budget else None,
                    f"of {budget['rule']}" if budget else "no total budget in the rules"))
    cap = _total_check(policy, "trade_spend_cap")
    out.append(Tile("Trade spend % of gross sales", totals["trade_spend_pct"], "percent",
                    cap["limit"] if cap else None, cap["ok"] if cap else None,
                    f"cap {cap['rule']}" if cap else "no plan-wide cap in the rules"))
    floor = _total_check(policy, "margin_floor")
    out.append(Tile("Gross margin", totals["gross_margin"], "percent", floor["limit"] if floor else None,
                    floor["ok"] if floor else None,
                    f"floor {floor['rule']}" if floor else "no plan-wide floor in the rules"))
    failed = sum(not check["ok"] for check in policy)
    out.append(Tile("Policy checks failing", failed, "count", None, failed == 0,
                    f"{len(policy) - failed} of {len(policy)} hold"))
    out.append(Tile("Gross profit", totals["gross_profit"], "money", note=f"net sales {totals['net_sales']:,.0f}"))
    out.append(Tile("Promotion ROI", totals["promo_roi"], "percent",
                    note="incremental gross profit per unit of promotion spend"))
    return out


def waterfall_rows(version: Version) -> list[dict[str, Any]]:
    totals = version.totals
    volume = totals["volume"] or math.nan
    steps = [("Gross sales", "gross_sales", "total"), *((label, key, "deduction") for label, key in WATERFALL),
             ("Dead-net sales", "net_sales", "total"), ("Cost of goods", "cogs", "deduction"),
             ("Gross profit", "gross_profit", "total")]
    gross = totals["gross_sales"] or math.nan
    return [{"step": step, "amount": totals[key], "kind": kind, "per_case": totals[key] / volume,
             "share_of_gross": totals[key] / gross} for step, key, kind in steps]


def account_rows(version: Version) -> list[dict[str, Any]]:
    rows = []
    for account, kpis in version.accounts.items():
        details = version.frozen.details.get(account) or {}
        plan = details.get("plan") or {}
        targets = plan.get("targets", {})
        rows.append({"id": account, "name": plan.get("name", account), "channel": plan.get("channel", ""),
                     "tier": plan.get("tier", ""), **kpis,
                     "growth": details.get("growth"), "growth_target": targets.get("growth"),
                     "target_probability": details.get("target_probability")})
    return sorted(rows, key=lambda row: -row["gross_sales"])


def risk_rows(version: Version) -> list[dict[str, Any]]:
    spread = (version.frozen.uncertainty or {}).get("totals", {})
    return [{"kpi": key, **spread[key]} for key in RISK_KPIS if key in spread]


def plan_rows(version: Version) -> list[dict[str, Any]]:
    return [{"id": account, "plan": (version.frozen.details.get(account) or {}).get("plan")}
            for account in version.accounts]


def build(version: Version, baseline: Version | None, generated_at: str, threshold: float | None = None) -> Pack:
    """The pack of `version`, compared with `baseline` (the last approved version, or none)."""
    policy = policy_rows(version)
    needed = 2 if threshold is not None and version.budget_used > threshold else 1
    pack = Pack(version=version, baseline=baseline,
                difference=diff.between(baseline, version) if baseline is not None else None,
                generated_at=generated_at, approvals_needed=needed, tiles=tiles(version, policy), policy=policy,
                waterfall=waterfall_rows(version), accounts=account_rows(version), risk=risk_rows(version),
                plans=plan_rows(version))
    pack.charts = draw(pack)
    return pack


def draw(pack: Pack) -> dict[str, bytes]:
    currency = pack.currency
    to_dead_net = pack.waterfall[:len(WATERFALL) + 2]  # gross sales, the deductions, dead-net sales
    images = {"waterfall": charts.waterfall([(row["step"], row["amount"], row["kind"]) for row in to_dead_net],
                                            currency),
              "accounts": charts.spend_and_roi(pack.accounts, currency)}
    budgets = [check for check in pack.headline_checks if check["kind"] == "budget_max"]
    if budgets:
        images["budgets"] = charts.budgets(sorted(budgets, key=lambda c: -c["limit"]), currency)
    spreads = [(account, details["uncertainty"]["gross_profit"])
               for account, details in pack.version.frozen.details.items()
               if (details or {}).get("uncertainty", {}).get("gross_profit")]
    if spreads:
        images["risk"] = charts.risk([(account, s["p10"], s["p50"], s["p90"]) for account, s in spreads],
                                     "gross profit", currency)
    return images
