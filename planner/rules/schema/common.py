"""Building blocks shared by every rule kind: ids, references, percentages, scopes and date ranges.

Every rule object is a strict, frozen pydantic model (`extra="forbid"`, `frozen=True`): an unknown key is an
error with a did-you-mean, and nothing downstream can mutate a rule. Attribute docstrings become the field
descriptions of `planner schema` and of docs/rules.md.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from planner.rules.findings import UNKNOWN_LOCATION, Location
from planner.rules.schema.values import AS_NUMBER, AS_WHOLE_NUMBER, Date, number_text, refuse

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"
Id = Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=80)]
"""An object's id: letters, digits, '-' and '_' (no dots: dots separate the parts of an override path)."""


@dataclass(frozen=True)
class RefTo:
    """Marks a field as a reference to an object of `kind` (a rule-set section name, e.g. 'accounts')."""

    kind: str


def _one_or_many(value: Any) -> Any:
    if isinstance(value, str):
        return (value,)
    return value


def _at_least_one(ids: tuple[str, ...]) -> tuple[str, ...]:
    """An empty list would mean 'any of nothing': a rule that covers nothing, or a reference to nothing."""
    if not ids:
        raise refuse("empty_list", "the list is empty",
                     "list at least one id (in a scope, leave the key out to mean all)")
    return ids


_NON_EMPTY = AfterValidator(_at_least_one)


_IdText = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
_ONE_OR_MORE_IDS = WithJsonSchema({"anyOf": [
    {"type": "string", "pattern": ID_PATTERN},
    {"type": "array", "items": {"type": "string", "pattern": ID_PATTERN}, "minItems": 1},
]})
"""The JSON Schema of a `...Refs` field: one id, or a non-empty list of ids."""

# A field holding one id of a kind (`...Ref`), or one id or a list of them normalised to a tuple (`...Refs`);
# `RefTo` names the section the ids must exist in (rules/reference.py). Spelled out per kind so that type
# checkers see a `str` / `tuple[str, ...]` field.
AccountRef = Annotated[str, RefTo("accounts"), StringConstraints(pattern=ID_PATTERN)]
BrandRef = Annotated[str, RefTo("brands"), StringConstraints(pattern=ID_PATTERN)]
CategoryRef = Annotated[str, RefTo("categories"), StringConstraints(pattern=ID_PATTERN)]
ChannelRef = Annotated[str, RefTo("channels"), StringConstraints(pattern=ID_PATTERN)]
MechanicRef = Annotated[str, RefTo("mechanics"), StringConstraints(pattern=ID_PATTERN)]
ProductGroupRef = Annotated[str, RefTo("product_groups"), StringConstraints(pattern=ID_PATTERN)]
RegionRef = Annotated[str, RefTo("regions"), StringConstraints(pattern=ID_PATTERN)]
SeasonalityRef = Annotated[str, RefTo("seasonality"), StringConstraints(pattern=ID_PATTERN)]

AccountRefs = Annotated[tuple[_IdText, ...], RefTo("accounts"), BeforeValidator(_one_or_many), _NON_EMPTY,
                        _ONE_OR_MORE_IDS]
BrandRefs = Annotated[tuple[_IdText, ...], RefTo("brands"), BeforeValidator(_one_or_many), _NON_EMPTY,
                      _ONE_OR_MORE_IDS]
CategoryRefs = Annotated[tuple[_IdText, ...], RefTo("categories"), BeforeValidator(_one_or_many), _NON_EMPTY,
                         _ONE_OR_MORE_IDS]
ChannelRefs = Annotated[tuple[_IdText, ...], RefTo("channels"), BeforeValidator(_one_or_many), _NON_EMPTY,
                        _ONE_OR_MORE_IDS]
MechanicRefs = Annotated[tuple[_IdText, ...], RefTo("mechanics"), BeforeValidator(_one_or_many), _NON_EMPTY,
                         _ONE_OR_MORE_IDS]
ProductRefs = Annotated[tuple[_IdText, ...], RefTo("products"), BeforeValidator(_one_or_many), _NON_EMPTY,
                        _ONE_OR_MORE_IDS]
ProductGroupRefs = Annotated[tuple[_IdText, ...], RefTo("product_groups"), BeforeValidator(_one_or_many),
                             _NON_EMPTY, _ONE_OR_MORE_IDS]
RegionRefs = Annotated[tuple[_IdText, ...], RefTo("regions"), BeforeValidator(_one_or_many), _NON_EMPTY,
                       _ONE_OR_MORE_IDS]


def _two_or_more_groups(ids: tuple[str, ...]) -> tuple[str, ...]:
    """A clash or a pair of one group says nothing, and a group listed twice would clash with itself."""
    twice = sorted({group for group in ids if ids.count(group) > 1})
    if twice:
        raise refuse("groups_repeated", f"product group {', '.join(twice)} is listed more than once",
                     "list each product group once")
    if len(ids) < 2:
        raise refuse("too_few_groups", "needs at least two product groups",
                     "list two or more different product groups, e.g. groups: [cola-cans, cola-pet]")
    return ids


ProductGroupSet = Annotated[
    tuple[_IdText, ...], RefTo("product_groups"), BeforeValidator(_one_or_many), AfterValidator(_two_or_more_groups),
    WithJsonSchema({"type": "array", "items": {"type": "string", "pattern": ID_PATTERN}, "minItems": 2,
                    "uniqueItems": True}),
]
"""Two or more different product groups (a clash or a pair between groups)."""


def _fraction(value: Any) -> Any:
    """'2.5%' -> 0.025; a bare number is already a fraction (0.025)."""
    how = "write a percentage like 2.5% or a fraction like 0.025"
    if isinstance(value, bool):
        raise refuse("percentage_expected", "expected a percentage like '2.5%' or a fraction like 0.025, "
                     "not a boolean", how)
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        if not text.endswith("%"):
            fix = how
            if (number := number_text(text)) is not None:
                fix = f"remove the quotes: write {number} (a fraction), or write it with a % sign"
            raise refuse("percentage_expected", "expected a percentage like '2.5%' or a fraction like 0.025", fix)
        try:
            return float(text[:-1].replace("_", "")) / 100
        except ValueError:
            raise refuse("percentage_expected", "not a number followed by '%'",
                         f"{how} (digits, '.' for decimals)") from None
    return value


_PERCENT_SCHEMA = WithJsonSchema(
    {"anyOf": [{"type": "number"}, {"type": "string", "pattern": r"^\s*[-+]?[0-9]*\.?[0-9]+\s*%\s*$"}]}
)
Fraction = Annotated[float, BeforeValidator(_fraction), Field(allow_inf_nan=False), _PERCENT_SCHEMA]
"""A share written as '2.5%' or 0.025."""
Growth = Annotated[float, Field(ge=-1, le=10, allow_inf_nan=False), BeforeValidator(_fraction), _PERCENT_SCHEMA]
"""Growth against last year, from -100% to +1000% (bounds inside, so that an optional field keeps them)."""


def _within_share(value: float) -> float:
    if not 0 <= value <= 1:
        raise refuse("share_out_of_range", f"{value:.6g} is {value * 100:.6g}%, outside 0% to 100%",
                     "write a share between 0% and 100%; a bare number is a fraction (0.25 is 25%), so to mean "
                     "25 percent write 25%")
    return value


Share = Annotated[float, BeforeValidator(_fraction), Field(allow_inf_nan=False), AfterValidator(_within_share),
                  _PERCENT_SCHEMA]
"""A share between 0% and 100%."""


def _below_whole(value: float) -> float:
    if value >= 1:
        raise refuse("depth_too_deep", "a 100% saving gives the product away, and demand at a zero price has no "
                     "answer", "use at most 99%")
    return value


Depth = Annotated[float, BeforeValidator(_fraction), Field(allow_inf_nan=False), AfterValidator(_within_share),
                  AfterValidator(_below_whole), _PERCENT_SCHEMA]
"""A shopper's saving as a share of the shelf price: 0% up to, not including, 100%."""
Money = Annotated[float, Field(ge=0), AS_NUMBER]
"""An amount in the company's currency."""
Cases = Annotated[float, Field(ge=0), AS_NUMBER]
"""A quantity in cases."""
Week = Annotated[int, Field(ge=1, le=53), AS_WHOLE_NUMBER]
"""A fiscal week number, 1-based."""


def _distinct_weeks(weeks: tuple[int, ...]) -> tuple[int, ...]:
    if len(set(weeks)) == len(weeks):  # the usual case, in one pass (counting each week is quadratic: 52 x 52)
        return weeks
    twice = sorted({week for week in weeks if weeks.count(week) > 1})
    if twice:
        listed = ", ".join(str(week) for week in twice)
        raise refuse("weeks_repeated", f"week {listed} is listed twice" if len(twice) == 1
                     else f"weeks {listed} are listed twice", "list each week once")
    return weeks


Weeks = Annotated[tuple[Week, ...], AfterValidator(_distinct_weeks), Field(json_schema_extra={"uniqueItems": True})]
"""Fiscal weeks, each at most once (a week listed twice would be promoted or charged twice)."""


class RuleModel(BaseModel):
    """Base of every rule object: strict, frozen, and located in its file."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True, str_strip_whitespace=True)

    section: ClassVar[str] = ""

    # Where an object was read from lives in pydantic's per-instance private store, written by `locate`, without
    # declaring private attributes: declared ones cost a default per attribute on every object validated (about a
    # tenth of the schema phase), and every object is located right after validation anyway.

    @property
    def location(self) -> Location:
        private = self.__pydantic_private__
        return UNKNOWN_LOCATION if private is None else private["location"]

    @property
    def read_from(self) -> tuple[Any, Any] | None:
        """(document, path) the object was read from (a planner.rules.source.Document and its path in it), or None:
        field locations are looked up only when a finding needs one."""
        private = self.__pydantic_private__
        return None if private is None else private["source"]

    def field_location(self, name: str) -> Location:
        source = self.read_from
        if source is None:
            return self.location
        document, path = source
        info = type(self).model_fields.get(name)
        return document.at(path + ((info.alias or name) if info else name,))  # type: ignore[no-any-return]

    def locate(self, location: Location, document: Any = None, path: tuple[Any, ...] = ()) -> None:
        """Remember where the object was read from (`document` is a planner.rules.source.Document)."""
        object.__setattr__(self, "__pydantic_private__",
                           {"location": location, "source": (document, path) if document is not None else None})


Tier = Literal["A", "B", "C"]
Tiers = Annotated[tuple[Tier, ...], BeforeValidator(_one_or_many), _NON_EMPTY, WithJsonSchema({"anyOf": [
    {"type": "string", "enum": ["A", "B", "C"]},
    {"type": "array", "items": {"type": "string", "enum": ["A", "B", "C"]}, "minItems": 1},
]})]


class AccountScope(RuleModel):
    """Which accounts a rule covers: each key narrows it; a missing key means 'all'; a list means 'any of'."""

    account: AccountRefs | None = None
    """Account id(s)."""
    channel: ChannelRefs | None = None
    """Channel id(s), e.g. hypermarket, convenience."""
    tier: Tiers | None = None
    """Account tier(s): A, B or C."""
    region: RegionRefs | None = None
    """Region id(s)."""

    ACCOUNT_KEYS: ClassVar[tuple[str, ...]] = ("account", "channel", "tier", "region")


class ProductScope(RuleModel):
    """Which products a rule covers: each key narrows it; a missing key means 'all'; a list means 'any of'."""

    product: ProductRefs | None = None
    """Product (SKU) id(s)."""
    brand: BrandRefs | None = None
    """Brand id(s)."""
    category: CategoryRefs | None = None
    """Category id(s)."""

    PRODUCT_KEYS: ClassVar[tuple[str, ...]] = ("product", "brand", "category")



class Scope(AccountScope, ProductScope):
    """Which account x product cells a rule covers: each key narrows it; a missing key means 'all'."""

    @property
    def specificity(self) -> int:
        """How many keys narrow the scope: the most specific response profile wins."""
        return sum(getattr(self, key) is not None for key in self.ACCOUNT_KEYS + self.PRODUCT_KEYS)


EVERYWHERE = Scope()
ALL_ACCOUNTS = AccountScope()
ALL_PRODUCTS = ProductScope()


class DateRange(RuleModel):
    """A validity period, both ends inclusive. Either end may be left out (open)."""

    from_: Date | None = Field(default=None, alias="from")
    """First day the rule is live."""
    to: Date | None = None
    """Last day the rule is live."""

    model_config = ConfigDict(populate_by_name=True)

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.from_ and self.to and self.to < self.from_:
            raise ValueError(f"'to' ({self.to}) is before 'from' ({self.from_})")
        return self

    def covers(self, day: dt.date) -> bool:
        return (self.from_ is None or self.from_ <= day) and (self.to is None or day <= self.to)
