"""What every check may need, computed once per run: the plan index and the discount stack."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from planner.compile.index import PlanIndex
from planner.compile.terms import band_prices, compile_discounts
from planner.economics.discounts import DiscountTable, FloatArray, Stack, stack_discounts
from planner.rules.schema import RuleSet


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
