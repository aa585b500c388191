"""An account's discounts and rebates as its annual plan lists them (客户促销: 折扣与季度/年度回馈).

Read from the terms `planner.changes.terms` writes out, so the plan summary and the term diff say the same thing
about the same frozen fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from planner.changes.wording import tier_text, value_text

PERIODS = {"quarter": "each quarter", "year": "for the year"}
BASES = {"volume": "cases bought", "revenue": "invoice revenue", "growth": "volume growth vs last year"}
METHODS = {"retroactive": "retroactive: the tier reached pays its rate on every case",
           "incremental": "incremental: each rate pays only inside its band"}


def _validity(fields: Mapping[str, Any]) -> str:
    valid = fields.get("valid") or {}
    if not valid:
        return "all year"
    return " ".join(part for part in (f"from {valid['from']}" if valid.get("from") else "",
                                      f"to {valid['to']}" if valid.get("to") else "") if part)


def discount_row(rule: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """One discount: how much off, when, and how it stacks."""
    if fields.get("percent") is not None:
        amount = f"{value_text(fields['percent'], 'percent')} off invoice"
    elif fields.get("per_case") is not None:
        amount = f"{fields['per_case']:,.2f} per case off invoice"
    else:
        amount = f"lump sum {value_text(fields.get('fixed'), 'money')} (no effect on the price per case)"
    stacking = str(fields.get("stacking", "stack"))
    stacks = {"stack": "stacks with others", "exclusive": "applies alone",
              "best_of": f"best of group {fields.get('group') or rule}"}.get(stacking, stacking)
    if fields.get("stop"):
        stacks += ", discards later discounts"
    return {"id": rule, "name": fields.get("name") or rule, "amount": amount, "when": _validity(fields),
            "stacking": stacks, "priority": fields.get("priority", 100)}


def rebate_row(rule: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """One rebate: what it is paid on, how, and what each tier pays."""
    basis = str(fields.get("basis"))
    cap = fields.get("cap")
    return {"id": rule, "name": fields.get("name") or rule,
            "how": f"{PERIODS.get(str(fields.get('period')), fields.get('period'))} on {BASES.get(basis, basis)}, "
                   f"{METHODS.get(str(fields.get('method')), fields.get('method'))}; "
                   f"{fields.get('settlement', 'accrued')}"
                   + (f"; capped at {value_text(cap, 'money')}" if cap is not None else "; no cap"),
            "tiers": [tier_text("rebates", tier, fields) + " of invoice revenue" for tier in fields.get("tiers", [])],
            "when": _validity(fields)}


def contract_terms(terms: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The discounts and rebates among an account's terms, in words: discounts in the order they apply (priority,
    then id), rebates by id."""
    discounts = terms.get("discounts", {})
    rebates = terms.get("rebates", {})
    return {"discounts": [discount_row(rule, discounts[rule])
                          for rule in sorted(discounts, key=lambda rule: (discounts[rule].get("priority", 100), rule))],
            "rebates": [rebate_row(rule, rebates[rule]) for rule in sorted(rebates)]}
