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
    ProductGroupSet,
    RuleModel,
    Scope,
    Share,
    Week,
    Weeks,
)
from planner.rules.schema.values import AS_WHOLE_NUMBER, WholeNumber

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
    min: WholeNumber = Field(default=0, ge=0)
    """Minimum event weeks per period."""
    max: Annotated[int, Field(ge=0), AS_WHOLE_NUMBER] | None = None
    """Maximum event weeks per period."""

    @model_validator(mode="after")
    def _bounds(self) -> EventCount:
        if self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self


class MaxConsecutive(_CalendarRule):
    """At most `weeks` promoted weeks in a row."""

    kind: Literal["max_consecutive"]
    weeks: WholeNumber = Field(ge=1)
    """Most promoted weeks in a row."""


class MinGap(_CalendarRule):
    """At least `weeks` unpromoted weeks after each run before the next one."""

    kind: Literal["min_gap"]
    weeks: WholeNumber = Field(ge=1)
    """Fewest unpromoted weeks after each run."""


class DeepDiscountWindow(_CalendarRule):
    """A mechanic at least `min_depth` deep at most `at_most` times in any `window_weeks` consecutive weeks."""

    kind: Literal["deep_discount_window"]
    min_depth: Share
    """Effective depth from which a mechanic counts as deep."""
    window_weeks: WholeNumber = Field(ge=1)
    """Length of the sliding window, in weeks."""
    at_most: WholeNumber = Field(default=1, ge=0)
    """Most deep event weeks in any window."""


class Blackout(_CalendarRule):
    """No promotion (of the listed mechanics, or any) in these weeks."""

    kind: Literal["blackout"]
    weeks: Weeks = Field(min_length=1)
    """Fiscal weeks without promotion, each listed once."""
    mechanics: MechanicRefs | None = None
    """Mechanics barred in those weeks (all when absent)."""


class ForbiddenSequence(_CalendarRule):
    """`then` may not follow `first` within `within_weeks` weeks."""

    kind: Literal["forbidden_sequence"]
    first: MechanicRefs
    """Mechanic(s) that start the sequence."""
    then: MechanicRefs
    """Mechanic(s) that may not follow."""
    within_weeks: WholeNumber = Field(ge=1)
    """Weeks after `first` during which `then` may not run."""


class FeatureMinDepth(_CalendarRule):
    """A featured or displayed event must cut the price by at least `min_depth`."""

    kind: Literal["feature_min_depth"]
    min_depth: Share
    """Least effective depth of a featured or displayed event."""


class DisplayMinRevenue(_CalendarRule):
    """A display week must bring at least `min_revenue` of net sales."""

    kind: Literal["display_min_revenue"]
    min_revenue: Money
    """Least net sales of a display week."""


class ProductClash(_CalendarRule):
    """The listed product groups may not be promoted in the same week at one account."""

    kind: Literal["product_clash"]
    groups: ProductGroupSet
    """Two or more different product groups, each listed once."""


class PairedProducts(_CalendarRule):
    """The listed product groups are promoted together: one promoted means all promoted that week."""

    kind: Literal["paired_products"]
    groups: ProductGroupSet
    """Two or more different product groups, each listed once."""


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
