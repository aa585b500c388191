"""Policy: margin floors, price floors, trade-spend caps, budgets and calendar rules.

Calendar rules follow the industry's trade-promotion-optimization rule set. Vocabulary (docs/rules.md):
an *event week* is one promoted week of one account x product group; consecutive event weeks form a *run*;
`min_gap` asks for that many unpromoted weeks after each run.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from planner.rules.schema.common import (
    ALL_ACCOUNTS,
    EVERYWHERE,
    AccountScope,
    Fraction,
    Id,
    MechanicRefs,
    Money,
    ProductGroupRefs,
    RuleModel,
    Scope,
    Share,
    Week,
    Weeks,
)

Period = Literal["year", "Q1", "Q2", "Q3", "Q4"]


class MarginFloor(RuleModel):
    """Minimum gross margin (gross profit / net sales)."""

    section = "margin_floors"
    id: Id
    applies_to: AccountScope = ALL_ACCOUNTS
    per: Literal["account", "channel", "total"] = "account"
    """Each account, each channel, or the accounts in scope together."""
    min_gross_margin: Share
    """Minimum gross profit / net sales."""


class PriceFloor(RuleModel):
    """Dead-net price per case must stay at or above COGS x (1 + min_markup)."""

    section = "price_floors"
    id: Id
    applies_to: Scope = EVERYWHERE
    min_markup: Fraction = Field(ge=-1, le=10)
    """Required markup of dead-net over COGS (5% means dead-net >= 1.05 x COGS)."""


class TradeSpendCap(RuleModel):
    """Maximum trade spend as a share of gross sales."""

    section = "trade_spend_caps"
    id: Id
    applies_to: AccountScope = ALL_ACCOUNTS
    per: Literal["account", "channel", "total"] = "total"
    """Each account, each channel, or the accounts in scope together."""
    max_share: Share
    """Maximum trade spend / gross sales."""


class Budget(RuleModel):
    """Promotion budget: funding of consumer mechanics, event fees and vividness costs (not contractual
    discounts and rebates). A product scope makes it a fund pool; `per: account` applies min/max to each account."""

    section = "budgets"
    id: Id
    applies_to: Scope = EVERYWHERE
    period: Period = "year"
    """The year, or one quarter (Q1..Q4)."""
    per: Literal["total", "account"] = "total"
    """total: one amount for everything in scope; account: the bounds apply to each account in scope."""
    max: Money | None = None
    """Maximum promotion spend."""
    min: Money | None = None
    """Minimum promotion spend (e.g. contractually committed support)."""

    @model_validator(mode="after")
    def _bounds(self) -> Budget:
        if self.max is None and self.min is None:
            raise ValueError("give max, min or both")
        if self.max is not None and self.min is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:,.0f}) is above max ({self.max:,.0f})")
        return self


class _CalendarRule(RuleModel):
    section = "calendar_rules"
    id: Id
    applies_to: AccountScope = ALL_ACCOUNTS
    product_groups: ProductGroupRefs | None = None
    """Product groups the rule covers (all when absent)."""


class EventCount(_CalendarRule):
    """Minimum and/or maximum event weeks per account x product group in each period."""

    kind: Literal["event_count"]
    mechanics: MechanicRefs | None = None
    """Count only these mechanics (all when absent)."""
    period: Literal["year", "quarter"] = "year"
    """Count per year, or per quarter (the bounds apply to each quarter)."""
    min: int = Field(default=0, ge=0)
    """Minimum event weeks per period."""
    max: int | None = Field(default=None, ge=0)
    """Maximum event weeks per period."""

    @model_validator(mode="after")
    def _bounds(self) -> EventCount:
        if self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self


class MaxConsecutive(_CalendarRule):
    """At most `weeks` promoted weeks in a row."""

    kind: Literal["max_consecutive"]
    weeks: int = Field(ge=1)


class MinGap(_CalendarRule):
    """At least `weeks` unpromoted weeks after each run before the next one."""

    kind: Literal["min_gap"]
    weeks: int = Field(ge=1)


class DeepDiscountWindow(_CalendarRule):
    """A mechanic at least `min_depth` deep at most `at_most` times in any `window_weeks` consecutive weeks."""

    kind: Literal["deep_discount_window"]
    min_depth: Share
    window_weeks: int = Field(ge=1)
    at_most: int = Field(default=1, ge=0)


class Blackout(_CalendarRule):
    """No promotion (of the listed mechanics, or any) in these weeks."""

    kind: Literal["blackout"]
    weeks: Weeks = Field(min_length=1)
    mechanics: MechanicRefs | None = None


class ForbiddenSequence(_CalendarRule):
    """`then` may not follow `first` within `within_weeks` weeks."""

    kind: Literal["forbidden_sequence"]
    first: MechanicRefs
    then: MechanicRefs
    within_weeks: int = Field(ge=1)


class FeatureMinDepth(_CalendarRule):
    """A featured or displayed event must cut the price by at least `min_depth`."""

    kind: Literal["feature_min_depth"]
    min_depth: Share


class DisplayMinRevenue(_CalendarRule):
    """A display week must bring at least `min_revenue` of net sales."""

    kind: Literal["display_min_revenue"]
    min_revenue: Money


class ProductClash(_CalendarRule):
    """The listed product groups may not be promoted in the same week at one account."""

    kind: Literal["product_clash"]
    groups: ProductGroupRefs


class PairedProducts(_CalendarRule):
    """The listed product groups are promoted together: one promoted means all promoted that week."""

    kind: Literal["paired_products"]
    groups: ProductGroupRefs


CalendarRule = Annotated[
    EventCount | MaxConsecutive | MinGap | DeepDiscountWindow | Blackout | ForbiddenSequence | FeatureMinDepth | DisplayMinRevenue | ProductClash | PairedProducts,
    Field(discriminator="kind"),
]
CALENDAR_RULE_KINDS = {
    cls.model_fields["kind"].annotation.__args__[0]: cls  # type: ignore[union-attr]
    for cls in (
        EventCount,
        MaxConsecutive,
        MinGap,
        DeepDiscountWindow,
        Blackout,
        ForbiddenSequence,
        FeatureMinDepth,
        DisplayMinRevenue,
        ProductClash,
        PairedProducts,
    )
}

__all__ = ["Fraction", "Week"]
