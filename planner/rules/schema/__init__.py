"""The rule language: every section a rule file may hold, and the merged rule set.

A rules folder holds many YAML files; each file is a mapping from section name to a list of objects (or, for
`company` and `calendar`, one object). Files are merged: lists are concatenated in file order, and the two single
sections must be defined exactly once across the folder.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter

from planner.rules.schema.common import AccountScope, DateRange, ProductScope, RefTo, RuleModel, Scope
from planner.rules.schema.master import (
    Account,
    Baseline,
    Brand,
    Calendar,
    Category,
    Channel,
    Company,
    Holiday,
    Product,
    ProductGroup,
    Region,
    Response,
    Seasonality,
)
from planner.rules.schema.policy import (
    CALENDAR_RULE_KINDS,
    Blackout,
    Budget,
    CalendarRule,
    DeepDiscountWindow,
    DisplayMinRevenue,
    EventCount,
    FeatureMinDepth,
    ForbiddenSequence,
    MarginFloor,
    MaxConsecutive,
    MinGap,
    PairedProducts,
    PriceFloor,
    ProductClash,
    TradeSpendCap,
)
from planner.rules.schema.promotions import Cooler, Display, Event, Mechanic, ShelfTarget
from planner.rules.schema.terms import Discount, PriceBand, Rebate


@dataclass(frozen=True)
class Section:
    """One top-level section of a rule file."""

    name: str
    adapter: TypeAdapter[Any]
    single: bool = False
    doc: str = ""


def _section(name: str, item: Any, doc: str, single: bool = False) -> Section:
    return Section(name, TypeAdapter(item), single, doc)


SECTIONS: dict[str, Section] = {
    s.name: s
    for s in (
        _section("company", Company, "The bottler (one per rule set).", single=True),
        _section("calendar", Calendar, "The fiscal year, quarters and holidays (one per rule set).", single=True),
        _section("channels", Channel, "Trade channels."),
        _section("regions", Region, "Sales regions."),
        _section("categories", Category, "Product categories."),
        _section("brands", Brand, "Brands."),
        _section("products", Product, "SKUs with list price and COGS per case."),
        _section("accounts", Account, "Key accounts."),
        _section("seasonality", Seasonality, "Seasonality profiles."),
        _section("baselines", Baseline, "Baseline cases per week by account and product."),
        _section("product_groups", ProductGroup, "Products promoted together."),
        _section("response", Response, "Demand response parameters."),
        _section("price_bands", PriceBand, "List-price adjustments by volume, partnership years, position."),
        _section("discounts", Discount, "Off-invoice discounts with stacking semantics."),
        _section("rebates", Rebate, "Quarterly and annual rebate tiers."),
        _section("mechanics", Mechanic, "Consumer promotion mechanics."),
        _section("events", Event, "Planned and locked promotion events."),
        _section("shelf_targets", ShelfTarget, "Shelf-share targets."),
        _section("displays", Display, "Secondary display space."),
        _section("coolers", Cooler, "Cold-drink equipment."),
        _section("margin_floors", MarginFloor, "Minimum gross margins."),
        _section("price_floors", PriceFloor, "Minimum dead-net price over COGS."),
        _section("trade_spend_caps", TradeSpendCap, "Maximum trade spend as a share of gross sales."),
        _section("budgets", Budget, "Promotion budgets: total, quarterly, pools, per account."),
        _section("calendar_rules", CalendarRule, "Calendar rules for promotion events."),
    )
}
ID_SECTIONS = tuple(name for name, s in SECTIONS.items() if not s.single)


@dataclass(frozen=True)
class RuleSet:
    """A merged, validated rule set. Lists keep file order."""

    company: Company | None = None
    calendar: Calendar | None = None
    channels: tuple[Channel, ...] = ()
    regions: tuple[Region, ...] = ()
    categories: tuple[Category, ...] = ()
    brands: tuple[Brand, ...] = ()
    products: tuple[Product, ...] = ()
    accounts: tuple[Account, ...] = ()
    seasonality: tuple[Seasonality, ...] = ()
    baselines: tuple[Baseline, ...] = ()
    product_groups: tuple[ProductGroup, ...] = ()
    response: tuple[Response, ...] = ()
    price_bands: tuple[PriceBand, ...] = ()
    discounts: tuple[Discount, ...] = ()
    rebates: tuple[Rebate, ...] = ()
    mechanics: tuple[Mechanic, ...] = ()
    events: tuple[Event, ...] = ()
    shelf_targets: tuple[ShelfTarget, ...] = ()
    displays: tuple[Display, ...] = ()
    coolers: tuple[Cooler, ...] = ()
    margin_floors: tuple[MarginFloor, ...] = ()
    price_floors: tuple[PriceFloor, ...] = ()
    trade_spend_caps: tuple[TradeSpendCap, ...] = ()
    budgets: tuple[Budget, ...] = ()
    calendar_rules: tuple[CalendarRule, ...] = ()
    files: tuple[str, ...] = ()
    _index: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False, compare=False)

    def section(self, name: str) -> tuple[Any, ...]:
        value = getattr(self, name)
        return (value,) if isinstance(value, RuleModel) else tuple(value or ())

    def ids(self, name: str) -> dict[str, Any]:
        """Objects of a section by id (the first one wins when an id is duplicated)."""
        if name not in self._index:
            table: dict[str, Any] = {}
            for item in self.section(name):
                table.setdefault(item.id, item)
            self._index[name] = table
        return self._index[name]

    def replace(self, **changes: Any) -> RuleSet:
        return dataclasses.replace(self, _index={}, **changes)

    @property
    def rule_count(self) -> int:
        return sum(len(self.section(name)) for name in ID_SECTIONS)


class RuleFile(BaseModel):
    """One rule file (the JSON Schema `planner schema` prints for yaml-language-server)."""

    model_config = ConfigDict(extra="forbid", title="Promo Planner rule file")
    company: Company | None = None
    calendar: Calendar | None = None
    channels: list[Channel] = []
    regions: list[Region] = []
    categories: list[Category] = []
    brands: list[Brand] = []
    products: list[Product] = []
    accounts: list[Account] = []
    seasonality: list[Seasonality] = []
    baselines: list[Baseline] = []
    product_groups: list[ProductGroup] = []
    response: list[Response] = []
    price_bands: list[PriceBand] = []
    discounts: list[Discount] = []
    rebates: list[Rebate] = []
    mechanics: list[Mechanic] = []
    events: list[Event] = []
    shelf_targets: list[ShelfTarget] = []
    displays: list[Display] = []
    coolers: list[Cooler] = []
    margin_floors: list[MarginFloor] = []
    price_floors: list[PriceFloor] = []
    trade_spend_caps: list[TradeSpendCap] = []
    budgets: list[Budget] = []
    calendar_rules: list[CalendarRule] = []


__all__ = [
    "CALENDAR_RULE_KINDS",
    "SECTIONS",
    "Account",
    "AccountScope",
    "Baseline",
    "Blackout",
    "Brand",
    "Budget",
    "Calendar",
    "CalendarRule",
    "Category",
    "Channel",
    "Company",
    "Cooler",
    "DateRange",
    "DeepDiscountWindow",
    "Discount",
    "Display",
    "DisplayMinRevenue",
    "Event",
    "EventCount",
    "FeatureMinDepth",
    "ForbiddenSequence",
    "Holiday",
    "MarginFloor",
    "MaxConsecutive",
    "Mechanic",
    "MinGap",
    "PairedProducts",
    "PriceBand",
    "PriceFloor",
    "Product",
    "ProductClash",
    "ProductGroup",
    "ProductScope",
    "Rebate",
    "RefTo",
    "Region",
    "Response",
    "RuleFile",
    "RuleSet",
    "Scope",
    "Seasonality",
    "ShelfTarget",
    "TradeSpendCap",
]
