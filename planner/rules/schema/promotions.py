"""Consumer mechanics, planned/locked events, and vividness terms (shelf share, displays, coolers)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from planner.rules.schema.common import (
    ALL_ACCOUNTS,
    ALL_PRODUCTS,
    EVERYWHERE,
    AccountRef,
    AccountScope,
    BrandRefs,
    Cases,
    CategoryRef,
    DateRange,
    Depth,
    Id,
    MechanicRef,
    Money,
    ProductGroupRef,
    ProductScope,
    RuleModel,
    Scope,
    Share,
    Weeks,
)
from planner.rules.schema.values import AS_WHOLE_NUMBER, Flag, Number, WholeNumber

MechanicKind = Literal["price_cut", "bogo", "multi_buy", "spend_save", "coupon", "feature", "display", "tasting"]
PRICE_KINDS = ("price_cut", "bogo", "multi_buy", "spend_save", "coupon")


class Mechanic(RuleModel):
    """A consumer promotion tactic, with its cost model and lift. Its effective depth is what the shopper saves."""

    section = "mechanics"
    id: Id
    name: str = ""
    kind: MechanicKind
    """price_cut, bogo (买一送一), multi_buy, spend_save (满减), coupon, feature, display or tasting."""
    depth: Depth | None = None
    """price_cut: shelf-price reduction; coupon: face value as a share of the shelf price (below 100%)."""
    buy: Annotated[int, Field(ge=2), AS_WHOLE_NUMBER] | None = None
    """bogo / multi_buy: units bought (bogo defaults to buy 2 pay 1)."""
    pay: Annotated[int, Field(ge=1), AS_WHOLE_NUMBER] | None = None
    """bogo / multi_buy: units paid."""
    spend: Money | None = None
    """spend_save: basket threshold (满减 'spend X')."""
    save: Money | None = None
    """spend_save: amount saved ('save Y')."""
    redemption: Share = 1.0
    """Share of promoted units that actually get the saving (coupons, multi-buys, baskets)."""
    feature: Flag = False
    """Supported by a feature ad (flyer, app banner)."""
    display: Flag = False
    """Supported by a secondary display."""
    lift: Number = Field(default=1.0, ge=1.0, le=10.0)
    """Volume multiplier on top of the price response (feature, display, tasting effects)."""
    funding: Share = 1.0
    """Share of the shopper's saving the bottler funds, per unit sold."""
    fixed_cost: Money = 0.0
    """Cost per event week (display fee, ad slot, tasting staff)."""
    applies_to: Scope = EVERYWHERE
    """Where the mechanic may run."""
    valid: DateRange | None = None
    """When the mechanic may run."""

    @model_validator(mode="after")
    def _fields_for_kind(self) -> Mechanic:
        need = {"price_cut": ("depth",), "coupon": ("depth",), "multi_buy": ("buy", "pay"), "spend_save": ("spend", "save")}
        missing = [name for name in need.get(self.kind, ()) if getattr(self, name) is None]
        if missing:
            raise ValueError(f"kind {self.kind} needs {', '.join(missing)}")
        if self.buy is not None and self.pay is not None and self.pay >= self.buy:
            raise ValueError(f"pay ({self.pay}) must be less than buy ({self.buy})")
        if self.spend is not None and self.save is not None and self.save >= self.spend:
            raise ValueError(f"save ({self.save}) must be less than spend ({self.spend})")
        return self

    @property
    def effective_depth(self) -> float:
        """The shopper's average saving as a share of the regular shelf price."""
        if self.kind in ("price_cut", "coupon"):
            return (self.depth or 0.0) * (self.redemption if self.kind == "coupon" else 1.0)
        if self.kind in ("bogo", "multi_buy"):
            buy, pay = self.buy or 2, self.pay or 1
            return (1 - pay / buy) * self.redemption
        if self.kind == "spend_save":
            return (self.save or 0.0) / (self.spend or 1.0) * self.redemption
        return self.depth or 0.0

    @property
    def is_featured_or_displayed(self) -> bool:
        return self.feature or self.display or self.kind in ("feature", "display")


class Event(RuleModel):
    """A promotion on the calendar: one mechanic for one account x product group over one or more weeks."""

    section = "events"
    id: Id
    account: AccountRef
    """Account id."""
    product_group: ProductGroupRef
    """Product group id."""
    mechanic: MechanicRef
    """Mechanic id."""
    weeks: Weeks = Field(min_length=1)
    """Fiscal weeks (1-based) the event runs, each once."""
    locked: Flag = False
    """Pinned: the optimizer must keep it (agreed with the account)."""
    depth: Depth | None = None
    """Effective depth for this event, replacing the mechanic's (e.g. a negotiated 25% instead of 20%)."""
    funding: Share | None = None
    """Funding share for this event, replacing the mechanic's."""


class ShelfTarget(RuleModel):
    """A shelf-share target (vividness): our share of the category shelf, bought with a yearly fee."""

    section = "shelf_targets"
    id: Id
    applies_to: AccountScope = ALL_ACCOUNTS
    category: CategoryRef
    """Category whose shelf is measured."""
    brand: BrandRefs | None = None
    """Brands the target counts (all of ours when absent)."""
    share: Share
    """Target share of the category shelf."""
    cost_per_point: Money = 0.0
    """Yearly fee per share point above the account's current shelf share."""
    locked: Flag = False
    """Agreed with the account: bought at every account in scope; the optimizer may not drop it."""


class Display(RuleModel):
    """Secondary display area bought from the account."""

    section = "displays"
    id: Id
    applies_to: AccountScope = ALL_ACCOUNTS
    products: ProductScope = ALL_PRODUCTS
    """Products on the display."""
    area_m2: Number = Field(gt=0, le=10_000)
    """Display area in square metres."""
    fee_per_week: Money
    """Fee paid to the account per display week."""
    weeks: Weeks = ()
    """Weeks the display stands (all weeks when empty)."""
    lift: Number = Field(default=1.05, ge=1.0, le=5.0)
    """Volume multiplier for the products on display."""
    locked: Flag = False
    """Agreed with the account: bought at every account in scope; the optimizer may not drop it."""


class Cooler(RuleModel):
    """Cold-drink equipment placed at the account."""

    section = "coolers"
    id: Id
    applies_to: AccountScope = ALL_ACCOUNTS
    products: ProductScope = ALL_PRODUCTS
    """Products sold from the coolers."""
    units: WholeNumber = Field(ge=1)
    """Coolers placed at each account in scope."""
    cost_per_unit: Money
    """Yearly cost per cooler (depreciation, power, service)."""
    cases_per_unit_week: Cases
    """Extra cases per cooler per week, spread over the products in scope by baseline."""
    locked: Flag = False
    """Agreed with the account: bought at every account in scope; the optimizer may not drop it."""


__all__ = ["PRICE_KINDS", "Cooler", "Display", "Event", "Mechanic", "ShelfTarget"]
