"""Pricing terms and rebates: price bands, off-invoice discounts with stacking semantics, rebate tiers.

Discount stacking, applied per account x product x week (docs/rules.md, "Stacking"):

1. live discounts (scope and dates match) are ordered by `priority` (lower first), then by file order;
2. stop-after: the first live discount with `stop: true` discards every later one (Magento's
   "discard subsequent rules");
3. exclusive: if an `exclusive` discount is still live, the first one is the only discount applied
   (two live exclusives are a checker error);
4. best_of: among live `best_of` discounts of one `group`, only the one worth most per case at list price stays;
5. the rest apply in order: percentages on the running price, per-case amounts subtracted, never below zero;
   `fixed` amounts are lump sums per account and never change the price per case.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from planner.rules.schema.common import (
    EVERYWHERE,
    DateRange,
    Fraction,
    Id,
    Money,
    RuleModel,
    Scope,
    Share,
)
from planner.rules.schema.values import Flag, WholeNumber, number_text, refuse


def _threshold(value: Any) -> Any:
    """A tier threshold is cases or money (a number) or, for growth, a percentage: a quoted number is neither."""
    if isinstance(value, bool):
        raise refuse("threshold_expected", "expected a number, or a percentage like 25% for a growth tier, "
                     "not a boolean", "write cases or money as a number (50000), growth as a percentage (25%)")
    if isinstance(value, str) and not value.strip().endswith("%"):
        number = number_text(value)
        raise refuse("threshold_expected", "expected a number, or a percentage like 25% for a growth tier",
                     f"remove the quotes: write {number}" if number is not None
                     else "write cases or money as a number (50000), growth as a percentage (25%)")
    return value


Threshold = Annotated[Fraction, Field(ge=0), BeforeValidator(_threshold)]
"""Where a tier starts or ends: cases, money, or growth written as a percentage."""


class BandTier(RuleModel):
    """One band of a price-band table."""

    from_: Threshold = Field(alias="from")
    """Lower bound (inclusive): cases of last year's volume, or years of partnership."""
    adjustment: Fraction = Field(ge=-0.5, le=0.5)
    """Change to the list price, e.g. '-1.5%'."""


class PriceBand(RuleModel):
    """Adjusts the list price by the account's purchase volume, partnership years or market position."""

    section = "price_bands"
    id: Id
    applies_to: Scope = EVERYWHERE
    basis: Literal["last_year_volume", "partnership_years", "market_position"]
    """What sets the band: last year's cases, years since partner_since, or market position."""
    tiers: tuple[BandTier, ...] = ()
    """For a numeric basis: bands by lower bound; the highest band reached applies."""
    positions: dict[Literal["leader", "challenger", "follower"], Annotated[Fraction, Field(ge=-0.5, le=0.5)]] = (
        Field(default_factory=dict)
    )
    """For basis market_position: adjustment per position."""

    @model_validator(mode="after")
    def _shape(self) -> PriceBand:
        if self.basis == "market_position" and not self.positions:
            raise ValueError("basis market_position needs 'positions', e.g. {leader: -1%}")
        if self.basis != "market_position" and not self.tiers:
            raise ValueError(f"basis {self.basis} needs 'tiers', e.g. [{{from: 0, adjustment: 0%}}]")
        return self


class Discount(RuleModel):
    """An off-invoice discount: exactly one of `percent`, `per_case` or `fixed`."""

    section = "discounts"
    id: Id
    name: str = ""
    applies_to: Scope = EVERYWHERE
    percent: Share | None = None
    """Percentage off the running invoice price."""
    per_case: Money | None = None
    """Amount off per case."""
    fixed: Money | None = None
    """Lump sum per account over the validity period (e.g. a listing allowance); no effect on price per case."""
    valid: DateRange | None = None
    """When the discount is live; a week is covered when its first day is."""
    stacking: Literal["stack", "exclusive", "best_of"] = "stack"
    """stack: combine with others; exclusive: apply alone; best_of: only the best of its group applies."""
    group: Id | None = None
    """Stacking group for best_of (defaults to the discount's own id)."""
    priority: WholeNumber = Field(default=100, ge=0, le=1_000_000)
    """Lower applies first."""
    stop: Flag = False
    """Stop-after: discard every later-priority discount when this one is live."""

    @model_validator(mode="after")
    def _one_amount(self) -> Discount:
        given = [name for name in ("percent", "per_case", "fixed") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of percent, per_case, fixed (got {given or 'none'})")
        return self

    @property
    def stacking_group(self) -> str:
        return self.group or self.id


class RebateTier(RuleModel):
    """One tier of a rebate table."""

    from_: Threshold = Field(alias="from")
    """Tier threshold: cases (volume), money (revenue) or growth vs last year (write 25% for +25%)."""
    to: Threshold | None = None
    """Optional upper end of the tier (exclusive). Leave it out: a tier runs to the next tier's 'from'."""
    rate: Share
    """Rebate as a share of invoice revenue."""


class Rebate(RuleModel):
    """A quarterly or annual rebate (季度/年度回馈) paid on reaching volume, revenue or growth tiers."""

    section = "rebates"
    id: Id
    name: str = ""
    applies_to: Scope = EVERYWHERE
    period: Literal["quarter", "year"]
    """Settlement period: each fiscal quarter separately, or the whole year."""
    basis: Literal["volume", "revenue", "growth"]
    """volume: cases; revenue: invoice revenue; growth: volume vs last year's volume of the same period."""
    method: Literal["retroactive", "incremental"]
    """retroactive: the reached tier's rate on every unit; incremental: each rate only on units in its band."""
    tiers: tuple[RebateTier, ...] = Field(min_length=1)
    """Tiers in ascending order of 'from'."""
    cap: Money | None = None
    """Maximum rebate per account and period."""
    settlement: Literal["paid", "accrued"] = "accrued"
    """paid: settled in cash at period end; accrued: booked each week as volume accrues."""
    valid: DateRange | None = None
    """When the rebate is live (its volume counts)."""
