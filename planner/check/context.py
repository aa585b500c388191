"""What every check may need, computed once per run: the plan index and the discount stack; and how a finding
names the objects involved when hundreds of them are (capped lists, so that the output stays linear in findings)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar

from planner.compile.discounts import DiscountTable, Stack, stack_discounts
from planner.compile.index import FloatArray, PlanIndex
from planner.compile.terms import band_prices, compile_discounts
from planner.rules.findings import Location
from planner.rules.schema import RuleSet

SHOWN = 20
"""At most this many related locations (and ids in one list of an example) per finding; the rest are counted.

A dense repository stacks hundreds of clones on one scope: naming every one in every finding made the output grow
with findings x clones (236 MB of JSON at 50,000 rules)."""

T = TypeVar("T")


def shown(items: Sequence[T], example: dict[str, Any], key: str) -> list[T]:
    """The first SHOWN items; when there are more, `example[key]` counts the rest."""
    if len(items) > SHOWN:
        example[key] = len(items) - SHOWN
    return list(items[:SHOWN])


def related(locations: Sequence[Location], example: dict[str, Any]) -> list[Location]:
    """Related locations capped at SHOWN, the rest counted in the example as `related_not_shown`."""
    return shown(locations, example, "related_not_shown")


@dataclass
class CheckContext:
    rules: RuleSet

    @cached_property
    def index(self) -> PlanIndex:
        return PlanIndex.of(self.rules)

    @cached_property
    def band_price(self) -> FloatArray:
        return band_prices(self.rules, self.index)

    @cached_property
    def discounts(self) -> DiscountTable:
        return compile_discounts(self.rules, self.index)

    @cached_property
    def stack(self) -> Stack:
        return stack_discounts(self.band_price, self.discounts, self.index.calendar.weeks)
