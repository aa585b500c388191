"""How a term change reads: field names as a planner says them, values in their unit, the step in points or money.

`unit_of` decides a value's unit from the rule kind, the field and, for tier thresholds, the rule's basis (a growth
rebate's tier starts at +25%, a volume rebate's at 50,000 cases, a revenue rebate's at 4,000,000).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

PERCENT = frozenset({
    "rate", "percent", "adjustment", "share", "min_gross_margin", "max_share", "min_markup", "depth", "funding",
    "redemption", "min_depth", "growth_target", "pass_through", "retail_markup"})
MONEY = frozenset({
    "cap", "per_case", "fixed", "fee_per_week", "cost_per_unit", "fixed_cost", "spend", "save", "min_revenue",
    "cost_per_point"})
CASES = frozenset({"last_year_volume", "cases_per_unit_week"})
WEEKS = frozenset({"weeks"})
THRESHOLD_UNITS = {"growth": "percent", "revenue": "money", "volume": "cases", "last_year_volume": "cases",
                   "partnership_years": "years"}
FIELD_NAMES = {
    "from": "threshold", "to": "upper end", "rate": "rate", "cap": "cap", "per_case": "amount per case",
    "percent": "percent off", "fixed": "lump sum", "valid": "valid", "applies_to": "applies to",
    "fee_per_week": "fee per week", "cost_per_unit": "cost per unit", "fixed_cost": "fixed cost per event week",
    "min_gross_margin": "minimum gross margin", "max_share": "maximum share of gross sales",
    "min_markup": "minimum markup over COGS", "growth_target": "growth target", "pass_through": "pass-through",
    "retail_markup": "retail markup", "last_year_volume": "last year's volume", "shelf_share": "shelf share",
    "product_group": "product group", "min_depth": "minimum depth", "window_weeks": "window (weeks)",
    "at_most": "at most", "within_weeks": "within (weeks)", "min_revenue": "minimum net sales", "area_m2": "area m2",
    "cost_per_point": "cost per share point", "cases_per_unit_week": "cases per cooler per week",
    "partner_since": "partner since", "market_position": "market position", "product_groups": "product groups",
    "min": "minimum", "max": "maximum",
}


ORDER = ("kind", "account", "product_group", "mechanic", "weeks", "percent", "per_case", "fixed", "period", "basis",
         "method", "tiers", "positions", "cap", "settlement", "per", "min", "max", "share", "depth", "valid",
         "stacking", "group", "priority", "stop")
"""The fields a rule is read by come first; the rest follow by name. A stored version's fields come back from
the database in another order (SQLite keeps canonical, sorted JSON), so the order is always set here."""


def in_order(fields: Mapping[str, Any]) -> list[str]:
    """A rule's field names in reading order."""
    return sorted(fields, key=lambda key: (ORDER.index(key) if key in ORDER else len(ORDER), key))


def unit_of(kind: str, path: Sequence[str], fields: Mapping[str, Any]) -> str:
    """percent, money, cases, years, weeks or text: how the value at `path` of a rule of `kind` is written."""
    leaf = path[-1] if path else ""
    if path and path[0] == "tiers" and leaf in ("from", "to"):
        return THRESHOLD_UNITS.get(str(fields.get("basis")), "number")
    if path and path[0] in ("positions", "shelf_share"):
        return "percent"
    if kind == "budgets" and leaf in ("min", "max"):
        return "money"
    if leaf in PERCENT:
        return "percent"
    if leaf in MONEY:
        return "money"
    if leaf in CASES:
        return "cases"
    if leaf in WEEKS:
        return "weeks"
    return "text"


def _amount(value: float) -> str:
    """Whole amounts without decimals (450,000), amounts with cents with them (1.20 per case)."""
    return f"{value:,.0f}" if abs(value - round(value)) < 0.005 else f"{value:,.2f}"


def _runs(weeks: Sequence[int]) -> str:
    ordered = sorted(set(weeks))
    parts, start = [], None
    for position, week in enumerate(ordered):
        start = week if start is None else start
        if position + 1 == len(ordered) or ordered[position + 1] != week + 1:
            parts.append(f"{start}-{week}" if week > start else f"{week}")
            start = None
    return "wk " + ", ".join(parts)


def value_text(value: Any, unit: str) -> str:
    """One value in its unit: 0.025 -> '2.5%', 450000 -> '450,000', [3, 4, 5] -> 'wk 3-5'."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        if unit == "percent":
            return f"{value:.1%}" if abs(value * 1000 - round(value * 1000)) < 1e-9 else f"{value:.2%}"
        if unit == "money" or unit == "cases":
            return _amount(value) + (" cases" if unit == "cases" else "")
        if unit == "years":
            return f"{value:g} years"
        return f"{value:g}"
    if isinstance(value, list) and unit == "weeks" and all(isinstance(week, int) for week in value):
        return _runs(value)
    if isinstance(value, list):
        return ", ".join(value_text(item, "text") for item in value) or "none"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{FIELD_NAMES.get(k, k)} {value_text(v, 'text')}" for k, v in value.items()) + "}"
    return str(value)


def step_text(before: Any, after: Any, unit: str) -> str:
    """The size of a numeric step: ' (+1.0 pt)', ' (+8,000)'; empty for anything else."""
    numbers = all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in (before, after))
    if not numbers or unit not in ("percent", "money", "cases"):
        return ""
    step = after - before
    return f" ({step * 100:+.1f} pt)" if unit == "percent" else f" ({'+' if step >= 0 else '-'}{_amount(abs(step))})"


def field_text(path: Sequence[str]) -> str:
    """('tiers', '1', 'rate') -> 'tier 2 rate'; ('applies_to', 'channel') -> 'applies to channel'."""
    words: list[str] = []
    for position, part in enumerate(path):
        if part.isdigit() and position > 0:
            words[-1] = f"{words[-1].rstrip('s')} {int(part) + 1}"
            continue
        dated = position > 0 and path[position - 1] == "valid"  # valid.from / valid.to are dates, not thresholds
        words.append(part if dated else FIELD_NAMES.get(part, part.replace("_", " ")))
    return " ".join(words)


def tier_text(kind: str, tier: Mapping[str, Any], fields: Mapping[str, Any]) -> str:
    """A tier as a sentence: 'from 25.0%: 2.0%' (a rebate) or 'from 100,000 cases: -1.0%' (a price band)."""
    unit = THRESHOLD_UNITS.get(str(fields.get("basis")), "number")
    sign = "+" if fields.get("basis") == "growth" else ""
    start = sign + value_text(tier.get("from"), unit)
    end = f" to {sign}{value_text(tier['to'], unit)}" if tier.get("to") is not None else ""
    if kind == "rebates":
        return f"from {start}{end}: {value_text(tier.get('rate'), 'percent')}"
    return f"from {start}{end}: {value_text(tier.get('adjustment'), 'percent')}"


def accounts_text(accounts: Sequence[str], everyone: int) -> str:
    """'carrefour', '3 accounts (a, b, c)' or 'all 14 accounts'."""
    if len(accounts) == 1:
        return accounts[0]
    if everyone and len(accounts) == everyone:
        return f"all {everyone} accounts"
    shown = ", ".join(accounts[:6]) + (", ..." if len(accounts) > 6 else "")
    return f"{len(accounts)} accounts ({shown})" if accounts else "no account"
