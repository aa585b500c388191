"""Master data: company, channels, regions, categories, brands, products, accounts, the fiscal calendar,
seasonality, baselines, product groups and demand response parameters."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from planner.rules.schema.common import (
    EVERYWHERE,
    AccountRef,
    AccountScope,
    BrandRef,
    Cases,
    CategoryRef,
    ChannelRef,
    Fraction,
    Growth,
    Id,
    Money,
    ProductScope,
    RefTo,
    RegionRef,
    RuleModel,
    Scope,
    SeasonalityRef,
    Share,
    Tier,
    Weeks,
)
from planner.rules.schema.values import AS_NUMBER, AS_WHOLE_NUMBER, Date, Number, WholeNumber, refuse


class Company(RuleModel):
    """The bottler whose plan this is."""

    section = "company"
    name: str
    """Company name, shown in reports."""
    currency: str = "CNY"
    """ISO currency code of every amount in the rule set."""


class Channel(RuleModel):
    """A trade channel, e.g. hypermarket, supermarket, convenience, wholesale, catering, e-commerce."""

    section = "channels"
    id: Id
    name: str = ""


class Region(RuleModel):
    """A sales region."""

    section = "regions"
    id: Id
    name: str = ""


class Category(RuleModel):
    """A product category, e.g. sparkling soft drinks, water, juice."""

    section = "categories"
    id: Id
    name: str = ""


class Brand(RuleModel):
    """A brand."""

    section = "brands"
    id: Id
    name: str = ""


class Product(RuleModel):
    """A SKU, priced and costed per case."""

    section = "products"
    id: Id
    name: str = ""
    brand: BrandRef
    """Brand id."""
    category: CategoryRef
    """Category id."""
    pack: str = ""
    """Pack description, e.g. '330ml can x24'."""
    units_per_case: WholeNumber = Field(default=24, ge=1)
    """Consumer units in one case."""
    list_price: Money
    """List price per case before any band, discount or rebate."""
    cogs: Money
    """Cost of goods sold per case."""


class Account(RuleModel):
    """A key account (重点客户)."""

    section = "accounts"
    id: Id
    name: str = ""
    channel: ChannelRef
    """Channel id."""
    tier: Tier
    """A (strategic), B or C."""
    region: RegionRef
    """Region id."""
    partner_since: WholeNumber = Field(ge=1900, le=2100)
    """Year the partnership started; partnership years feed price bands."""
    market_position: Literal["leader", "challenger", "follower"] = "challenger"
    """The account's position in its market; feeds market-position price bands."""
    shelf_share: dict[Annotated[str, RefTo("categories")], Share] = Field(default_factory=dict)
    """Current share of the category shelf held by our products, per category."""
    last_year_volume: Cases
    """Last year's volume in cases (all products), the basis of growth rebates and volume price bands."""
    growth_target: Growth | None = None
    """The plan's volume growth target vs last year (e.g. 25%); the simulator reports the chance of reaching it."""
    pass_through: Share = 0.6
    """Share of a trade price change the account passes on to its shelf price."""
    retail_markup: Fraction = Field(default=0.3, ge=0, le=5)
    """Regular shelf price = invoice price x (1 + retail_markup)."""
    safety_stock_weeks: Number = Field(default=1.0, ge=0, le=52)
    """Safety stock in weeks of baseline sales; the order suggestion brings stock to 1.5x this."""


class Holiday(RuleModel):
    """A holiday or event week with a demand uplift (Spring Festival, Mid-Autumn, Golden Week ...)."""

    id: Id
    name: str = ""
    weeks: Weeks = Field(min_length=1)
    """Fiscal weeks (1-based) of the holiday."""
    uplift: Number = Field(gt=0, le=10)
    """Demand multiplier in those weeks, e.g. 1.35; a response profile's `holiday_uplifts` replaces it in the
    cells the profile covers."""
    applies_to: Scope = EVERYWHERE


class Calendar(RuleModel):
    """The fiscal year being planned."""

    section = "calendar"
    year: WholeNumber = Field(ge=2000, le=2100)
    """Fiscal year being planned (e.g. 2027)."""
    start: Date
    """First day of fiscal week 1."""
    weeks: WholeNumber = Field(default=52, ge=1, le=53)
    """Weeks in the fiscal year."""
    quarters: tuple[Annotated[int, Field(ge=1, le=53), AS_WHOLE_NUMBER], ...] = Field(default=(13, 13, 13, 13),
                                                                                       min_length=1)
    """Weeks in each quarter, in order, each at least 1; they must add up to `weeks`."""
    holidays: tuple[Holiday, ...] = ()
    """Holidays and events with a demand uplift."""

    @model_validator(mode="after")
    def _quarters_fill_year(self) -> Calendar:
        if sum(self.quarters) != self.weeks:
            raise ValueError(f"quarters {list(self.quarters)} add up to {sum(self.quarters)} weeks, not {self.weeks}")
        return self

    @property
    def end(self) -> dt.date:
        return self.start + dt.timedelta(days=7 * self.weeks - 1)

    def week_start(self, week: int) -> dt.date:
        return self.start + dt.timedelta(days=7 * (week - 1))

    def quarter_of(self, week: int) -> int:
        """1-based quarter of a 1-based week."""
        edge = 0
        for number, length in enumerate(self.quarters, start=1):
            edge += length
            if week <= edge:
                return number
        return len(self.quarters)

    def quarter_weeks(self, quarter: int) -> range:
        first = sum(self.quarters[: quarter - 1]) + 1
        return range(first, first + self.quarters[quarter - 1])


class Seasonality(RuleModel):
    """A seasonality profile: 4 (quarters), 13 (four-week periods) or 52 (weeks) demand multipliers."""

    section = "seasonality"
    id: Id
    weights: tuple[Annotated[float, Field(gt=0, le=20), AS_NUMBER], ...]
    """Demand multipliers: per quarter (4), per four-week period (13) or per week (52)."""

    @model_validator(mode="after")
    def _length(self) -> Seasonality:
        if len(self.weights) not in (4, 13, 52):
            raise ValueError(f"weights has {len(self.weights)} values; give 4, 13 or 52")
        return self


class Baseline(RuleModel):
    """An account's baseline (unpromoted) sales in cases per week, by product."""

    section = "baselines"
    id: Id
    account: AccountRef
    """Account id."""
    seasonality: SeasonalityRef | None = None
    """Seasonality profile id (flat when absent)."""
    cases_per_week: dict[Annotated[str, RefTo("products")], Cases] = Field(min_length=1)
    """Baseline cases per week by product id; products not listed are not carried by the account."""


class ProductGroup(RuleModel):
    """Products promoted together as one event line (e.g. 'Cola 330ml cans')."""

    section = "product_groups"
    id: Id
    name: str = ""
    products: ProductScope
    """Which products belong to the group."""


def _spread_of_a_share(value: float) -> float:
    if value > 0.5:
        raise refuse("share_spread_too_wide", f"a standard deviation of {value * 100:.6g}% is wider than any share "
                     "can spread (50%: half the draws at 0%, half at 100%)",
                     "write a standard deviation between 0% and 50%, e.g. 3% for a share known to about 3 points")
    return value


ShareSpread = Annotated[Share, AfterValidator(_spread_of_a_share)]
"""The standard deviation of a share, written like one ('3%' or 0.03), from 0% to 50%."""


class Response(RuleModel):
    """How demand responds, for the cells in scope. The most specific matching profile wins."""

    section = "response"
    id: Id
    applies_to: Scope = EVERYWHERE
    elasticity: Number = Field(le=0, ge=-15)
    """Shelf-price elasticity of volume, e.g. -2.2 (a 10% cut sells (0.9)^-2.2 = 1.26x)."""
    post_promo_dip: Share = 0.0
    """Share of a promotion's incremental volume lost in the following weeks (pantry loading)."""
    dip_weeks: WholeNumber = Field(default=1, ge=1, le=8)
    """Weeks over which the dip is spread, evenly."""
    cannibalization: Share = 0.0
    """Share of incremental volume taken from the account's other products of the same category."""
    shelf_elasticity: Number = Field(default=0.3, ge=0, le=3)
    """Volume scales as (shelf share / current shelf share) ** shelf_elasticity."""
    baseline_noise: Share = 0.1
    """Coefficient of variation of weekly baseline volume (Monte Carlo)."""
    elasticity_sd: Number = Field(default=0.2, ge=0, le=5)
    """Standard deviation of the elasticity (Monte Carlo)."""
    post_promo_dip_sd: ShareSpread = 0.0
    """Standard deviation of post_promo_dip (Monte Carlo: normal, truncated to 0%-100%), at most 50%."""
    cannibalization_sd: ShareSpread = 0.0
    """Standard deviation of cannibalization (Monte Carlo: normal, truncated to 0%-100%), at most 50%."""
    lifts: dict[Annotated[str, RefTo("mechanics")], Annotated[float, Field(gt=0, le=10), AS_NUMBER]] = Field(
        default_factory=dict)
    """Lift of a mechanic in the cells this profile covers, by mechanic id, replacing the mechanic's own `lift`
    there (e.g. a lift calibrated per account and product). Resolved per mechanic: the most specific profile
    covering the cell that names the mechanic wins."""
    lift_sd: dict[Annotated[str, RefTo("mechanics")], Annotated[float, Field(ge=0, le=2), AS_NUMBER]] = Field(
        default_factory=dict)
    """Standard deviation of the log of a mechanic's lift in the cells this profile covers, by mechanic id (0.1:
    about +/-10%; Monte Carlo: log-normal around the lift, at most 2). Resolved per mechanic like `lifts`; a
    mechanic no profile names here has an exact lift."""
    holiday_uplifts: dict[Annotated[str, RefTo("holidays")], Annotated[float, Field(gt=0, le=10), AS_NUMBER]] = Field(
        default_factory=dict)
    """Demand multiplier of a calendar holiday in the cells this profile covers, by holiday id, replacing the
    holiday's own `uplift` there (e.g. an uplift calibrated per category); the holiday's `weeks` and `applies_to`
    still say when and where it applies. Resolved per holiday like `lifts`: the most specific profile covering the
    cell that names the holiday wins, the calendar's `uplift` where none does."""
    holiday_uplift_sd: dict[Annotated[str, RefTo("holidays")], Annotated[float, Field(ge=0, le=2), AS_NUMBER]] = Field(
        default_factory=dict)
    """Standard deviation of the log of a holiday's uplift in the cells this profile covers, by holiday id (0.1:
    about +/-10%; Monte Carlo: log-normal around the uplift, at most 2). Resolved per holiday like
    `holiday_uplifts`; a holiday no profile names here has an exact uplift."""


__all__ = [
    "Account",
    "AccountScope",
    "Baseline",
    "Brand",
    "Calendar",
    "Category",
    "Channel",
    "Company",
    "Holiday",
    "Money",
    "Product",
    "ProductGroup",
    "Region",
    "Response",
    "Seasonality",
]
