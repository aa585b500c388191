"""The dimensions of a plan (accounts x products x weeks) and the resolution of rule scopes onto them.

Every scope (`applies_to`, product scopes, validity dates) is resolved here, once, to index arrays; everything
downstream works on arrays. A week is covered by a date range when the week's first day is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from planner.rules.schema import Account, Calendar, Product, RuleSet
from planner.rules.schema.common import AccountScope, DateRange, ProductScope

FloatArray = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]
Positions = npt.NDArray[np.intp]


@dataclass(frozen=True)
class Cell:
    """One account x product x week cell, by position (weeks 0-based here, 1-based in rule files)."""

    account: int
    product: int
    week: int


@dataclass
class PlanIndex:
    """Accounts, products and weeks in rule-file order, with attribute arrays for fast scope resolution."""

    accounts: tuple[Account, ...]
    products: tuple[Product, ...]
    calendar: Calendar
    account_position: dict[str, int] = field(init=False)
    product_position: dict[str, int] = field(init=False)
    _account_attributes: dict[str, npt.NDArray[Any]] = field(init=False)
    _product_attributes: dict[str, npt.NDArray[Any]] = field(init=False)
    _cache: dict[Any, Any] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.account_position = {a.id: i for i, a in enumerate(self.accounts)}
        self.product_position = {p.id: i for i, p in enumerate(self.products)}
        self._account_attributes = {
            "account": np.array([a.id for a in self.accounts], dtype=object),
            "channel": np.array([a.channel for a in self.accounts], dtype=object),
            "tier": np.array([a.tier for a in self.accounts], dtype=object),
            "region": np.array([a.region for a in self.accounts], dtype=object),
        }
        self._product_attributes = {
            "product": np.array([p.id for p in self.products], dtype=object),
            "brand": np.array([p.brand for p in self.products], dtype=object),
            "category": np.array([p.category for p in self.products], dtype=object),
        }

    @classmethod
    def of(cls, rules: RuleSet) -> PlanIndex:
        calendar = rules.calendar or Calendar(year=2000, start=dt.date(2000, 1, 3))
        return cls(rules.accounts, rules.products, calendar)

    @property
    def shape(self) -> tuple[int, int, int]:
        return len(self.accounts), len(self.products), self.calendar.weeks

    def account_mask(self, scope: AccountScope | None) -> Mask:
        return self._mask(scope, AccountScope.ACCOUNT_KEYS, self._account_attributes, len(self.accounts))

    def product_mask(self, scope: ProductScope | None) -> Mask:
        return self._mask(scope, ProductScope.PRODUCT_KEYS, self._product_attributes, len(self.products))

    def _mask(self, scope: Any, keys: tuple[str, ...], attributes: dict[str, npt.NDArray[Any]], size: int) -> Mask:
        if scope is None:
            return np.ones(size, dtype=bool)
        by_object = self._cache.get((id(scope), keys))  # rule objects are frozen: one resolution per object
        if by_object is not None:
            return by_object[1]  # type: ignore[no-any-return]
        wanted = (keys, tuple((key, getattr(scope, key)) for key in keys if getattr(scope, key, None) is not None))
        mask = self._cache.get(wanted)
        if mask is None:
            mask = np.ones(size, dtype=bool)
            for key, values in wanted[1]:
                mask &= np.isin(attributes[key], np.array(values, dtype=object))
            mask.flags.writeable = False
            self._cache[wanted] = mask
        self._cache[(id(scope), keys)] = (scope, mask)  # keeps the scope alive, so its id is never reused
        return mask

    def week_range(self, valid: DateRange | None) -> slice:
        """The 0-based weeks a validity range covers, as a slice (possibly empty)."""
        if valid is None:
            return slice(0, self.calendar.weeks)
        first, count = self.calendar.start, self.calendar.weeks
        start = 0 if valid.from_ is None else min(count, max(0, -(-(valid.from_ - first).days // 7)))
        stop = count if valid.to is None else min(count, max(0, (valid.to - first).days // 7 + 1))
        return slice(start, max(start, stop))

    def week_mask(self, valid: DateRange | None) -> Mask:
        cached = self._cache.get((id(valid), "weeks"))
        if cached is not None:
            return cached[1]  # type: ignore[no-any-return]
        mask = np.zeros(self.calendar.weeks, dtype=bool)
        mask[self.week_range(valid)] = True
        mask.flags.writeable = False
        self._cache[(id(valid), "weeks")] = (valid, mask)
        return mask

    def cell_names(self, cell: Cell) -> dict[str, Any]:
        """A cell in the user's terms, for examples: account id, product id, 1-based week."""
        return {"account": self.accounts[cell.account].id, "product": self.products[cell.product].id,
                "week": cell.week + 1}


def positions(mask: Mask) -> Positions | None:
    """Index array of a mask, or None when it selects everything (a cheap full slice downstream)."""
    if mask.all():
        return None
    return np.flatnonzero(mask)


def block(accounts: Positions | None, products: Positions | None, weeks: slice) -> tuple[Any, ...]:
    """An index into an (account, product, week) array selecting the block accounts x products x weeks.

    Full dimensions stay slices (views, no copies); two index arrays are broadcast against each other so the
    result keeps the (account, product, week) axis order.
    """
    if accounts is None and products is None:
        return (slice(None), slice(None), weeks)
    if products is None:
        return (accounts, slice(None), weeks)
    if accounts is None:
        return (slice(None), products, weeks)
    return (accounts[:, None], products[None, :], weeks)
