"""Hypothesis strategies, in one place: small generated worlds for the checker's properties, and YAML for the
loader's fuzz tests.

A *world* is a `RuleSet` built straight from the pydantic models: 1-3 accounts, 1-3 products and a calendar of a
few weeks, so a test can evaluate every account x product x week cell (or every promotion schedule) by brute
force. Every id a world's rules name exists (the semantic checks only run once references resolve), but scopes
and dates are drawn freely, so empty scopes, dates outside the year, stop rules, exclusive clashes and so on all
occur. Each top-level object gets a synthetic location whose `path` names it ("discounts.d3"), so a test can tell
which object a finding points at.
"""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from planner.rules.findings import Location
from planner.rules.schema import (
    CALENDAR_RULE_KINDS,
    SECTIONS,
    Account,
    Brand,
    Budget,
    Calendar,
    Category,
    Channel,
    Company,
    Discount,
    Event,
    Holiday,
    Mechanic,
    PriceBand,
    PriceFloor,
    Product,
    ProductGroup,
    Rebate,
    Region,
    RuleSet,
    ShelfTarget,
)
from planner.rules.schema.common import RuleModel

CHANNELS = ("hypermarket", "convenience", "supermarket")
REGIONS = ("east", "west")
CATEGORIES = ("sparkling", "water")
BRANDS = ("cola", "aqua", "fizz")
TIERS = ("A", "B", "C")
POSITIONS = ("leader", "challenger", "follower")
YEAR = 2027
START = dt.date(2027, 1, 4)
WORLD_FILE = "world.yaml"


def located(item: RuleModel, section: str, line: int) -> RuleModel:
    """Give a generated object a location whose path names it, as the loader would give a real one."""
    item.locate(Location(WORLD_FILE, line, 1, f"{section}.{getattr(item, 'id', section)}"))
    return item


def build_world(**sections: Any) -> RuleSet:
    """A RuleSet with the fixed reference data (channels, regions, brands, categories) and located objects."""
    line = 1
    out: dict[str, Any] = {}
    for name, items in sections.items():
        if name in ("company", "calendar"):
            out[name] = items
            continue
        placed = []
        for item in items:
            placed.append(located(item, name, line))
            line += 1
        out[name] = tuple(placed)
    return RuleSet(
        company=Company(name="Generated Bottler"),
        channels=tuple(Channel(id=c) for c in CHANNELS),
        regions=tuple(Region(id=r) for r in REGIONS),
        categories=tuple(Category(id=c) for c in CATEGORIES),
        brands=tuple(Brand(id=b) for b in BRANDS),
        files=(WORLD_FILE,),
        **out,
    )


# --------------------------------------------------------------------------------------------------- master data

@st.composite
def calendars(draw: st.DrawFn, min_weeks: int = 4, max_weeks: int = 12) -> Calendar:
    """A short fiscal year of four non-empty quarters."""
    weeks = draw(st.integers(min_weeks, max_weeks))
    cuts = sorted(draw(st.lists(st.integers(1, weeks - 1), min_size=3, max_size=3, unique=True)))
    edges = [0, *cuts, weeks]
    quarters = tuple(b - a for a, b in itertools.pairwise(edges))
    return Calendar(year=YEAR, start=START, weeks=weeks, quarters=quarters)


@st.composite
def accounts(draw: st.DrawFn, max_size: int = 3) -> tuple[Account, ...]:
    count = draw(st.integers(1, max_size))
    return tuple(
        Account.model_validate({
            "id": f"acc{i}",
            "channel": draw(st.sampled_from(CHANNELS)),
            "tier": draw(st.sampled_from(TIERS)),
            "region": draw(st.sampled_from(REGIONS)),
            "partner_since": draw(st.integers(2005, 2027)),
            "market_position": draw(st.sampled_from(POSITIONS)),
            "last_year_volume": draw(st.sampled_from((3000, 12000, 40000, 90000))),
            "pass_through": draw(st.integers(0, 10)) / 10,
            "retail_markup": draw(st.integers(0, 12)) * 5 / 100,
        })
        for i in range(count)
    )


@st.composite
def products(draw: st.DrawFn, max_size: int = 3) -> tuple[Product, ...]:
    count = draw(st.integers(1, max_size))
    out = []
    for i in range(count):
        list_price = draw(st.integers(10, 90))
        out.append(Product.model_validate({
            "id": f"sku{i}",
            "brand": draw(st.sampled_from(BRANDS)),
            "category": draw(st.sampled_from(CATEGORIES)),
            "list_price": list_price,
            "cogs": round(list_price * draw(st.integers(30, 105)) / 100, 2),
        }))
    return tuple(out)


# ------------------------------------------------------------------------------------------------ scopes, dates

def _pick(draw: st.DrawFn, values: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return tuple(draw(st.lists(st.sampled_from(tuple(values)), min_size=1, max_size=2, unique=True)))


@st.composite
def account_scopes(draw: st.DrawFn, account_ids: list[str]) -> dict[str, Any]:
    """An account scope as rule-file data: each key narrows it (often not at all)."""
    scope: dict[str, Any] = {}
    for key, values in (("account", account_ids), ("channel", CHANNELS), ("tier", TIERS), ("region", REGIONS)):
        if draw(st.integers(0, 9)) < 2:
            scope[key] = _pick(draw, values)
    return scope


@st.composite
def product_scopes(draw: st.DrawFn, product_ids: list[str]) -> dict[str, Any]:
    scope: dict[str, Any] = {}
    for key, values in (("product", product_ids), ("brand", BRANDS), ("category", CATEGORIES)):
        if draw(st.integers(0, 9)) < 2:
            scope[key] = _pick(draw, values)
    return scope


@st.composite
def scopes(draw: st.DrawFn, account_ids: list[str], product_ids: list[str]) -> dict[str, Any]:
    return {**draw(account_scopes(account_ids)), **draw(product_scopes(product_ids))}


@st.composite
def date_ranges(draw: st.DrawFn, weeks: int) -> dict[str, Any] | None:
    """None (always live) or a range of days around the year; either end may be open; may cover no week."""
    if draw(st.booleans()):
        return None
    first = draw(st.none() | st.integers(-16, 7 * weeks + 8))
    last = draw(st.none() | st.integers(first if first is not None else -16, 7 * weeks + 12))
    out: dict[str, Any] = {}
    if first is not None:
        out["from"] = START + dt.timedelta(days=first)
    if last is not None:
        out["to"] = START + dt.timedelta(days=last)
    return out


def _ids(items: tuple[Any, ...]) -> list[str]:
    return [item.id for item in items]


# ------------------------------------------------------------------------------------------------ pricing terms

@st.composite
def discounts(draw: st.DrawFn, account_ids: list[str], product_ids: list[str], weeks: int) -> tuple[Discount, ...]:
    count = draw(st.integers(0, 6))
    out = []
    for i in range(count):
        kind = draw(st.sampled_from(("percent", "percent", "per_case", "fixed")))
        amount: float = (draw(st.integers(0, 40)) / 100 if kind == "percent"
                         else draw(st.integers(0, 24)) / 2 if kind == "per_case" else draw(st.integers(0, 5000)))
        raw: dict[str, Any] = {
            "id": f"d{i}",
            "applies_to": draw(scopes(account_ids, product_ids)),
            kind: amount,
            "stacking": draw(st.sampled_from(("stack", "exclusive", "exclusive", "best_of"))),
            "priority": draw(st.sampled_from((10, 20, 30))),
            "stop": draw(st.integers(0, 3)) == 0,
        }
        group = draw(st.sampled_from((None, None, "g1", "g2")))
        if group:
            raw["group"] = group
        valid = draw(date_ranges(weeks))
        if valid is not None:
            raw["valid"] = valid
        out.append(Discount.model_validate(raw))
    return tuple(out)


@st.composite
def price_bands(draw: st.DrawFn, account_ids: list[str], product_ids: list[str]) -> tuple[PriceBand, ...]:
    """Price bands with distinct thresholds (the order may be shuffled: the highest reached band applies)."""
    count = draw(st.integers(0, 2))
    out = []
    for i in range(count):
        basis = draw(st.sampled_from(("last_year_volume", "partnership_years", "market_position")))
        raw: dict[str, Any] = {"id": f"band{i}", "applies_to": draw(scopes(account_ids, product_ids)), "basis": basis}
        adjustment = st.integers(-10, 5).map(lambda k: k / 100)
        if basis == "market_position":
            chosen = draw(st.lists(st.sampled_from(POSITIONS), min_size=1, max_size=3, unique=True))
            raw["positions"] = {position: draw(adjustment) for position in chosen}
        else:
            pool = (0, 5000, 20000, 50000) if basis == "last_year_volume" else (0, 3, 8, 15)
            starts = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
            raw["tiers"] = [{"from": start, "adjustment": draw(adjustment)} for start in starts]
        out.append(PriceBand.model_validate(raw))
    return tuple(out)


@st.composite
def rebate_tier_lists(draw: st.DrawFn) -> list[dict[str, Any]]:
    """1-4 tiers from a few thresholds, so equal, unsorted, overlapping and gapped tiers all occur. A `to` is
    always above its own `from` (a tier's range is never empty)."""
    count = draw(st.integers(1, 4))
    tiers = []
    for _ in range(count):
        start = draw(st.sampled_from((0, 10, 20, 30, 40)))
        tier: dict[str, Any] = {"from": start, "rate": draw(st.integers(0, 6)) / 200}
        if draw(st.integers(0, 3)) == 0:
            tier["to"] = start + draw(st.sampled_from((5, 10, 15, 25)))
        tiers.append(tier)
    return tiers


@st.composite
def rebates(draw: st.DrawFn, account_ids: list[str], product_ids: list[str], weeks: int,
            max_size: int = 3) -> tuple[Rebate, ...]:
    count = draw(st.integers(0, max_size))
    out = []
    for i in range(count):
        raw: dict[str, Any] = {
            "id": f"reb{i}",
            "applies_to": draw(scopes(account_ids, product_ids)),
            "period": draw(st.sampled_from(("quarter", "year"))),
            "basis": draw(st.sampled_from(("volume", "revenue", "growth"))),
            "method": draw(st.sampled_from(("retroactive", "incremental"))),
            "tiers": draw(rebate_tier_lists()),
        }
        valid = draw(date_ranges(weeks))
        if valid is not None:
            raw["valid"] = valid
        out.append(Rebate.model_validate(raw))
    return tuple(out)


@st.composite
def mechanics(draw: st.DrawFn, account_ids: list[str], product_ids: list[str], weeks: int,
              min_size: int = 0, max_size: int = 3) -> tuple[Mechanic, ...]:
    count = draw(st.integers(min_size, max_size))
    share = st.integers(0, 20).map(lambda k: k * 5 / 100)
    depth = st.integers(0, 19).map(lambda k: k * 5 / 100)  # a saving is below 100% (schema: Depth)
    out = []
    for i in range(count):
        kind = draw(st.sampled_from(("price_cut", "bogo", "multi_buy", "spend_save", "coupon", "feature", "display",
                                     "tasting")))
        raw: dict[str, Any] = {"id": f"mech{i}", "kind": kind, "funding": draw(share),
                               "applies_to": draw(scopes(account_ids, product_ids))}
        if kind in ("price_cut", "coupon") or (kind in ("feature", "display", "tasting") and draw(st.booleans())):
            raw["depth"] = draw(depth)
        if kind in ("coupon", "bogo", "multi_buy", "spend_save"):
            raw["redemption"] = draw(share)
        if kind == "multi_buy" or (kind == "bogo" and draw(st.booleans())):
            buy = draw(st.integers(2, 4))
            raw["buy"], raw["pay"] = buy, draw(st.integers(1, buy - 1))
        if kind == "spend_save":
            spend = draw(st.integers(20, 100))
            raw["spend"], raw["save"] = spend, draw(st.integers(0, spend - 1))
        raw["feature"] = draw(st.integers(0, 3)) == 0
        raw["display"] = draw(st.integers(0, 3)) == 0
        valid = draw(date_ranges(weeks))
        if valid is not None:
            raw["valid"] = valid
        out.append(Mechanic.model_validate(raw))
    return tuple(out)


@st.composite
def price_floors(draw: st.DrawFn, account_ids: list[str], product_ids: list[str]) -> tuple[PriceFloor, ...]:
    count = draw(st.integers(0, 2))
    return tuple(
        PriceFloor.model_validate({"id": f"floor{i}", "applies_to": draw(scopes(account_ids, product_ids)),
                                   "min_markup": draw(st.integers(-20, 50)) / 100})
        for i in range(count)
    )


@st.composite
def pricing_worlds(draw: st.DrawFn) -> RuleSet:
    """Accounts, products, price bands, discounts, rebates, mechanics and price floors over a short year."""
    calendar = draw(calendars())
    account_list, product_list = draw(accounts()), draw(products())
    a, p, w = _ids(account_list), _ids(product_list), calendar.weeks
    return build_world(
        calendar=calendar, accounts=account_list, products=product_list,
        price_bands=draw(price_bands(a, p)), discounts=draw(discounts(a, p, w)), rebates=draw(rebates(a, p, w)),
        mechanics=draw(mechanics(a, p, w)), price_floors=draw(price_floors(a, p)),
    )


@st.composite
def tier_worlds(draw: st.DrawFn) -> RuleSet:
    """One account and product; rebates and price bands whose tier lists are drawn freely (unsorted, equal
    thresholds, overlapping `to` ranges, falling rates)."""
    calendar = draw(calendars(max_weeks=6))
    account_list, product_list = draw(accounts(max_size=1)), draw(products(max_size=1))
    bands = []
    for i in range(draw(st.integers(0, 2))):
        starts = draw(st.lists(st.sampled_from((0, 3, 8, 15)), min_size=1, max_size=4))
        bands.append(PriceBand.model_validate({
            "id": f"band{i}", "basis": "partnership_years",
            "tiers": [{"from": s, "adjustment": draw(st.integers(-5, 5)) / 100} for s in starts]}))
    return build_world(
        calendar=calendar, accounts=account_list, products=product_list, price_bands=tuple(bands),
        rebates=draw(rebates(_ids(account_list), _ids(product_list), calendar.weeks, max_size=4)),
    )


# ---------------------------------------------------------------------------------------- vividness and budgets

@st.composite
def shelf_worlds(draw: st.DrawFn) -> RuleSet:
    account_list = draw(accounts())
    targets = tuple(
        ShelfTarget.model_validate({
            "id": f"shelf{i}", "applies_to": draw(account_scopes(_ids(account_list))),
            "category": draw(st.sampled_from(CATEGORIES)), "share": draw(st.integers(0, 20)) * 5 / 100})
        for i in range(draw(st.integers(0, 5)))
    )
    return build_world(calendar=draw(calendars(max_weeks=4)), accounts=account_list,
                       products=draw(products(max_size=1)), shelf_targets=targets)


@st.composite
def budget_product_scopes(draw: st.DrawFn, product_list: tuple[Product, ...]) -> dict[str, Any]:
    """No product key (all products), or one key naming one attribute of an existing product."""
    product = draw(st.sampled_from(product_list))
    key = draw(st.sampled_from((None, "product", "brand", "category")))
    if key is None:
        return {}
    return {key: (product.id if key == "product" else getattr(product, key),)}


@st.composite
def budget_worlds(draw: st.DrawFn) -> RuleSet:
    """Total budgets with a maximum, and per-account minimums scoped by accounts, a fund pool and a period."""
    account_list, product_list = draw(accounts()), draw(products())
    periods = st.sampled_from(("year", "year", "Q1", "Q2", "Q3", "Q4"))
    items = []
    for i in range(draw(st.integers(1, 2))):
        items.append(Budget.model_validate({
            "id": f"total{i}", "per": "total", "period": draw(periods),
            "applies_to": {**draw(account_scopes(_ids(account_list))), **draw(budget_product_scopes(product_list))},
            "max": draw(st.integers(0, 12)) * 10_000}))
    for i in range(draw(st.integers(0, 3))):
        items.append(Budget.model_validate({
            "id": f"minimum{i}", "per": "account", "period": draw(periods),
            "applies_to": {**draw(account_scopes(_ids(account_list))), **draw(budget_product_scopes(product_list))},
            "min": draw(st.integers(1, 8)) * 10_000}))
    order = draw(st.permutations(items))
    return build_world(calendar=draw(calendars(max_weeks=4)), accounts=account_list, products=product_list,
                       budgets=tuple(order))


# ---------------------------------------------------------------------------------------------------- calendar

@st.composite
def calendar_worlds(draw: st.DrawFn) -> RuleSet:
    """One product group, 1-2 mechanics, exactly one `event_count` rule with a minimum, and random blackouts,
    run limits, gaps and locked events. Small enough to enumerate every schedule of every line: with two
    mechanics at most 8 weeks (3^8 schedules), with one at most 10 (2^10)."""
    mechanic_count = draw(st.integers(1, 2))
    calendar = draw(calendars(max_weeks=8 if mechanic_count == 2 else 10))
    weeks = calendar.weeks
    account_list, product_list = draw(accounts(max_size=2)), draw(products(max_size=2))
    a, p = _ids(account_list), _ids(product_list)
    mechanic_list = draw(mechanics(a, p, weeks, min_size=mechanic_count, max_size=mechanic_count))
    m = _ids(mechanic_list)
    group = ProductGroup.model_validate({"id": "line", "products": draw(product_scopes(p))})

    def common() -> dict[str, Any]:
        raw: dict[str, Any] = {"applies_to": draw(account_scopes(a))}
        if draw(st.integers(0, 4)) == 0:
            raw["product_groups"] = ("line",)
        return raw

    week_lists = st.lists(st.integers(1, weeks), min_size=1, max_size=3, unique=True).map(sorted)
    count_rule: dict[str, Any] = {"id": "count", "kind": "event_count", **common(),
                                  "period": draw(st.sampled_from(("year", "quarter"))),
                                  "min": draw(st.integers(1, 4))}
    if draw(st.booleans()):
        count_rule["max"] = count_rule["min"] + draw(st.integers(0, 3))
    if draw(st.integers(0, 2)) == 0:
        count_rule["mechanics"] = _pick(draw, m)
    rules = [count_rule]
    for i in range(draw(st.integers(0, 2))):
        blackout: dict[str, Any] = {"id": f"blackout{i}", "kind": "blackout", **common(), "weeks": draw(week_lists)}
        if draw(st.integers(0, 2)) == 0:
            blackout["mechanics"] = _pick(draw, m)
        rules.append(blackout)
    for i in range(draw(st.integers(0, 2))):
        rules.append({"id": f"run{i}", "kind": "max_consecutive", **common(), "weeks": draw(st.integers(1, 3))})
    for i in range(draw(st.integers(0, 2))):
        rules.append({"id": f"gap{i}", "kind": "min_gap", **common(), "weeks": draw(st.integers(1, 3))})
    order = draw(st.permutations(rules))
    adapter = SECTIONS["calendar_rules"].adapter
    calendar_rules = tuple(adapter.validate_python(raw) for raw in order)

    events: list[Event] = []
    for account in a:
        locked = draw(st.dictionaries(st.integers(1, weeks), st.sampled_from(m), max_size=3))
        for week, mechanic in sorted(locked.items()):
            events.append(Event.model_validate({"id": f"ev{len(events)}", "account": account, "product_group": "line",
                                                "mechanic": mechanic, "weeks": [week], "locked": True}))
    return build_world(calendar=calendar, accounts=account_list, products=product_list, product_groups=(group,),
                       mechanics=mechanic_list, calendar_rules=calendar_rules, events=tuple(events))


@st.composite
def line_rule_worlds(draw: st.DrawFn) -> tuple[RuleSet, dict[tuple[str, str], dict[int, str]]]:
    """Every calendar rule kind over two product groups, with a random plan (line -> week -> mechanic)."""
    calendar = draw(calendars(max_weeks=12))
    weeks = calendar.weeks
    account_list, product_list = draw(accounts(max_size=2)), draw(products(max_size=3))
    a, p = _ids(account_list), _ids(product_list)
    mechanic_list = draw(mechanics(a, p, weeks, min_size=1, max_size=3))
    m = _ids(mechanic_list)
    groups = tuple(ProductGroup.model_validate({"id": g, "products": draw(product_scopes(p))}) for g in ("g1", "g2"))
    share = st.integers(0, 10).map(lambda k: k * 5 / 100)
    kinds = st.sampled_from(sorted(CALENDAR_RULE_KINDS.keys() - {"display_min_revenue"}))
    rules = []
    for i in range(draw(st.integers(1, 5))):
        kind = draw(kinds)
        raw: dict[str, Any] = {"id": f"rule{i}", "kind": kind, "applies_to": draw(account_scopes(a))}
        if draw(st.integers(0, 3)) == 0:
            raw["product_groups"] = _pick(draw, ["g1", "g2"])
        if kind == "event_count":
            raw["period"] = draw(st.sampled_from(("year", "quarter")))
            raw["min"] = draw(st.integers(0, 3))
            if draw(st.booleans()):
                raw["max"] = raw["min"] + draw(st.integers(0, 3))
            if draw(st.booleans()):
                raw["mechanics"] = _pick(draw, m)
        elif kind in ("max_consecutive", "min_gap"):
            raw["weeks"] = draw(st.integers(1, 3))
        elif kind == "deep_discount_window":
            raw.update(min_depth=draw(share), window_weeks=draw(st.integers(1, 5)), at_most=draw(st.integers(0, 2)))
        elif kind == "blackout":
            raw["weeks"] = draw(st.lists(st.integers(1, weeks), min_size=1, max_size=3, unique=True))
            if draw(st.booleans()):
                raw["mechanics"] = _pick(draw, m)
        elif kind == "forbidden_sequence":
            raw.update(first=_pick(draw, m), then=_pick(draw, m), within_weeks=draw(st.integers(1, 4)))
        elif kind == "feature_min_depth":
            raw["min_depth"] = draw(share)
        else:  # product_clash, paired_products
            raw["groups"] = tuple(draw(st.lists(st.sampled_from(("g1", "g2")), min_size=2, max_size=2, unique=True)))
        rules.append(SECTIONS["calendar_rules"].adapter.validate_python(raw))
    plan = {
        (account, group.id): draw(st.dictionaries(st.integers(1, weeks), st.sampled_from(m), max_size=weeks))
        for account in a for group in groups if draw(st.integers(0, 3)) > 0
    }
    world = build_world(calendar=calendar, accounts=account_list, products=product_list, product_groups=groups,
                        mechanics=mechanic_list, calendar_rules=tuple(rules))
    return world, plan


# ------------------------------------------------------------------------------------------------ loader fuzzing

YAML_ALPHABET = list("abcdefxyz_019 :-,.[]{}&*!|>'\"#%@`?~\t\n\\") + ["\u00e9", "\u4e2d", "\u00a0", "\ufeff"]
yaml_text = st.text(alphabet=st.sampled_from(YAML_ALPHABET), max_size=300)
"""Text built from YAML's punctuation: flow and block indicators, anchors, aliases, tags, quotes, tabs."""

INSERTS = ("\t", "&a ", "*a ", "&b ", "*b", "!!python/object:os.system ", "!custom ", "!!str ", "!!binary ",
           "<<: *a\n", "- ", ": ", "{", "}", "[", "]", "'", '"', "#", "---\n", "...\n", "%YAML 1.1\n", "? ",
           "99999999999999999999999999", ".nan", "-.inf", "2027-02-30", "\u0000", "\r\n", "\x85", "\ud7ff")


def fixture_sources(root: Path) -> list[tuple[str, str]]:
    """(name, text) of the real rule files the fuzzer mutates: the test fixtures and the demo rules."""
    paths = sorted(root.glob("tests/fixtures/**/*.yaml")) + sorted(root.glob("rules/**/*.yaml"))
    out = []
    for path in paths:
        try:
            out.append((str(path.relative_to(root)), path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError):
            continue
    return out


@st.composite
def mutated_yaml(draw: st.DrawFn, sources: list[tuple[str, str]]) -> tuple[str, bytes]:
    """A real rule file with 1-4 edits: lines deleted, duplicated or swapped, characters flipped, tabs, anchors,
    aliases and tags inserted, or the text truncated."""
    name, text = draw(st.sampled_from(sources))
    for _ in range(draw(st.integers(1, 4))):
        lines = text.split("\n")
        operation = draw(st.sampled_from(("delete", "duplicate", "swap", "flip", "insert", "truncate")))
        if operation == "delete" and len(lines) > 1:
            del lines[draw(st.integers(0, len(lines) - 1))]
            text = "\n".join(lines)
        elif operation == "duplicate":
            at = draw(st.integers(0, len(lines) - 1))
            lines.insert(at, lines[at])
            text = "\n".join(lines)
        elif operation == "swap" and len(lines) > 1:
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
        elif operation == "flip" and text:
            at = draw(st.integers(0, len(text) - 1))
            text = text[:at] + draw(st.sampled_from(YAML_ALPHABET)) + text[at + 1:]
        elif operation == "insert":
            at = draw(st.integers(0, len(text)))
            text = text[:at] + draw(st.sampled_from(INSERTS)) + text[at:]
        elif operation == "truncate":
            text = text[: draw(st.integers(0, len(text)))]
    return name, text.encode("utf-8", errors="surrogatepass")


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8), st.sampled_from(("3%", "-1.5%", "abc%", "2027-01-04", "A", "hypermarket", "year",
                                          "retroactive", "event_count", "stack", "best_of")),
    st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)),
)


def _field_names() -> list[str]:
    names = {"from", "kind"}
    for section in SECTIONS.values():
        model = getattr(section.adapter, "_type", None)
        for cls in ([model] if isinstance(model, type) else []) + list(CALENDAR_RULE_KINDS.values()):
            if hasattr(cls, "model_fields"):
                names.update(info.alias or n for n, info in cls.model_fields.items())
    return sorted(names)


FIELD_NAMES = _field_names()


@st.composite
def rule_documents(draw: st.DrawFn) -> dict[str, Any]:
    """Structured rule-file data: real section and field names with values of every shape and type."""
    values = st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.sampled_from(FIELD_NAMES), inner, max_size=2),
        max_leaves=3,
    )
    objects = st.dictionaries(st.sampled_from(FIELD_NAMES), values, max_size=5)
    sections = st.sampled_from(sorted(SECTIONS) + ["discount", "<<", "1"])
    return draw(st.dictionaries(sections, st.lists(objects, max_size=2) | objects | values, max_size=3))


# ------------------------------------------------------------------------------- cross-rule checks (issue 15)

@st.composite
def event_worlds(draw: st.DrawFn) -> RuleSet:
    """A line_rule_worlds world whose plan becomes events: each locked or planned, some with their own depth or
    funding, and some weeks claimed twice (a second event on the same line and week)."""
    world, plan = draw(line_rule_worlds())
    mechanic_ids = _ids(world.mechanics)
    share = st.integers(0, 9).map(lambda k: k * 10 / 100)
    events = []
    for (account, group), schedule in sorted(plan.items()):
        for week, mechanic in sorted(schedule.items()):
            for copy in range(1 + (draw(st.integers(0, 5)) == 0)):
                raw: dict[str, Any] = {"id": f"ev-{account}-{group}-{week}-{copy}", "account": account,
                                       "product_group": group, "weeks": [week], "locked": draw(st.booleans()),
                                       "mechanic": mechanic if copy == 0 else draw(st.sampled_from(mechanic_ids))}
                if draw(st.integers(0, 3)) == 0:
                    raw["depth"] = draw(share)
                if draw(st.integers(0, 5)) == 0:
                    raw["funding"] = draw(share)
                events.append(Event.model_validate(raw))
    sections = {name: world.section(name) for name in ("accounts", "products", "product_groups", "mechanics",
                                                         "calendar_rules")}
    return build_world(calendar=world.calendar, **sections, events=tuple(events))


@st.composite
def total_budget_worlds(draw: st.DrawFn) -> RuleSet:
    """Total budgets with a maximum per year or quarter on assorted scopes, and one or two total minimums."""
    account_list, product_list = draw(accounts()), draw(products())
    periods = st.sampled_from(("year", "Q1", "Q2", "Q3", "Q4"))
    items = []
    for i in range(draw(st.integers(0, 6))):
        period = draw(periods) if draw(st.integers(0, 2)) else f"Q{i % 4 + 1}"
        items.append(Budget.model_validate({
            "id": f"max{i}", "period": period, "max": draw(st.integers(0, 8)) * 10_000,
            "applies_to": {**draw(account_scopes(_ids(account_list))), **draw(budget_product_scopes(product_list))}}))
    for i in range(draw(st.integers(1, 2))):
        items.append(Budget.model_validate({
            "id": f"min{i}", "period": draw(st.sampled_from(("year", "year", "Q1", "Q3"))),
            "min": draw(st.integers(1, 20)) * 10_000,
            "applies_to": {**draw(account_scopes(_ids(account_list))), **draw(budget_product_scopes(product_list))}}))
    return build_world(calendar=draw(calendars(max_weeks=8)), accounts=account_list, products=product_list,
                       budgets=tuple(draw(st.permutations(items))))


@st.composite
def count_pair_worlds(draw: st.DrawFn) -> RuleSet:
    """Two to four `event_count` rules (minimums and maximums, per year or quarter, over some mechanics, groups and
    accounts) on two product groups."""
    calendar = draw(calendars(max_weeks=8))
    account_list, product_list = draw(accounts(max_size=2)), draw(products(max_size=2))
    a, p = _ids(account_list), _ids(product_list)
    mechanic_list = draw(mechanics(a, p, calendar.weeks, min_size=1, max_size=3))
    m = _ids(mechanic_list)
    groups = tuple(ProductGroup.model_validate({"id": g, "products": {}}) for g in ("g1", "g2"))
    rules = []
    for i in range(draw(st.integers(2, 4))):
        raw: dict[str, Any] = {"id": f"count{i}", "kind": "event_count", "applies_to": draw(account_scopes(a)),
                               "period": draw(st.sampled_from(("year", "quarter"))), "min": draw(st.integers(0, 4))}
        if draw(st.booleans()):
            raw["max"] = raw["min"] + draw(st.integers(0, 3)) if draw(st.booleans()) else draw(st.integers(0, 3))
            raw["min"] = min(raw["min"], raw["max"])
        if draw(st.integers(0, 2)) == 0:
            raw["mechanics"] = _pick(draw, m)
        if draw(st.integers(0, 3)) == 0:
            raw["product_groups"] = _pick(draw, ["g1", "g2"])
        rules.append(SECTIONS["calendar_rules"].adapter.validate_python(raw))
    return build_world(calendar=calendar, accounts=account_list, products=product_list, product_groups=groups,
                       mechanics=mechanic_list, calendar_rules=tuple(rules))


@st.composite
def holiday_worlds(draw: st.DrawFn) -> RuleSet:
    """Holidays with ids from a small pool (so some repeat) and assorted scopes, and product groups whose scopes
    may match no product."""
    base = draw(calendars(max_weeks=8))
    account_list, product_list = draw(accounts()), draw(products())
    a, p = _ids(account_list), _ids(product_list)
    holidays = tuple(Holiday.model_validate({
        "id": draw(st.sampled_from(("cny", "golden-week", "mid-autumn"))), "weeks": [draw(st.integers(1, base.weeks))],
        "uplift": 1.2, "applies_to": draw(scopes(a, p))}) for _ in range(draw(st.integers(0, 4))))
    for k, holiday in enumerate(holidays):
        located(holiday, "calendar.holidays", 100 + k)
    calendar = base.model_copy(update={"holidays": holidays})
    groups = tuple(ProductGroup.model_validate({"id": f"g{k}", "products": draw(product_scopes(p))})
                   for k in range(draw(st.integers(0, 3))))
    return build_world(calendar=calendar, accounts=account_list, products=product_list, product_groups=groups)
