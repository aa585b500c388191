"""What actuals are once read: the sell-in of each account x product x fiscal week, and the promotions that ran.

Actuals belong to one plan year (the rules' fiscal calendar): a row's week is the 1-based fiscal week its date
falls in. Money is in the company's currency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planner.compile.index import FloatArray, PlanIndex
from planner.rules.schema import Event

SALES_COLUMNS = ("account", "product", "week", "cases", "invoice_value")
"""The sell-in table: fiscal week 1-based, cases sold in, invoiced value (cases x invoice price)."""


@dataclass(frozen=True)
class ExecutedPromotion:
    """A promotion as it ran: the mechanic, its weeks, the saving given and what it cost."""

    event: str
    """The plan's event id when it ran as (or instead of) a planned event; a new id for an unplanned one."""
    account: str
    product_group: str
    mechanic: str
    first_week: int
    last_week: int
    depth: float | None
    """The shopper's saving as run (None: the mechanic's own)."""
    funding: float
    """Promotion funding the account claimed for it."""
    fixed_cost: float
    """Fixed costs paid for it (fees, tasting staff)."""

    @property
    def weeks(self) -> tuple[int, ...]:
        return tuple(range(self.first_week, self.last_week + 1))

    def as_event(self, *, locked: bool = False) -> Event:
        """The promotion as a calendar event the economics core can evaluate (its depth as run)."""
        return Event(id=self.event, account=self.account, product_group=self.product_group, mechanic=self.mechanic,
                     weeks=self.weeks, depth=self.depth, locked=locked)


@dataclass(frozen=True)
class Actuals:
    """Everything imported for one plan year."""

    year: int
    sales: pd.DataFrame
    """Columns SALES_COLUMNS, one row per account x product x week."""
    promotions: tuple[ExecutedPromotion, ...] = field(default_factory=tuple)

    @property
    def last_week(self) -> int:
        """The last fiscal week with any sell-in row (0: none)."""
        return int(self.sales["week"].max()) if len(self.sales) else 0

    def through(self, week: int) -> Actuals:
        """The actuals of weeks 1..week: sell-in rows, and the promotions that started by then (cut at the week)."""
        cut = tuple(ExecutedPromotion(**{**p.__dict__, "last_week": min(p.last_week, week)})
                    for p in self.promotions if p.first_week <= week)
        return Actuals(self.year, self.sales[self.sales["week"] <= week].reset_index(drop=True), cut)


@dataclass(frozen=True)
class ActualCells:
    """Sell-in on the plan's grid (A, P, W); weeks after `through` are zero and not observed."""

    cases: FloatArray
    invoice_value: FloatArray
    observed: np.ndarray
    """(A, P, W) bool: a row was imported for the cell."""
    through: int


def on_grid(actuals: Actuals, index: PlanIndex, through: int) -> ActualCells:
    """Place the sell-in of weeks 1..through on the plan's account x product x week grid. A cell without a row
    counts as no sell-in (an ERP export leaves out the lines nothing was ordered on)."""
    cases, value = np.zeros(index.shape), np.zeros(index.shape)
    observed = np.zeros(index.shape, dtype=bool)
    rows = actuals.sales[actuals.sales["week"] <= through]
    if len(rows):
        a = pd.Index([x.id for x in index.accounts]).get_indexer(rows["account"])
        p = pd.Index([x.id for x in index.products]).get_indexer(rows["product"])
        known = (a >= 0) & (p >= 0)
        a, p = a[known], p[known]
        w = rows["week"].to_numpy()[known].astype(np.intp) - 1
        cases[a, p, w] = rows["cases"].to_numpy()[known]
        value[a, p, w] = rows["invoice_value"].to_numpy()[known]
        observed[a, p, w] = True
    return ActualCells(cases, value, observed, through)


def empty_sales() -> pd.DataFrame:
    return pd.DataFrame({"account": pd.Series(dtype=object), "product": pd.Series(dtype=object),
                         "week": pd.Series(dtype="int64"), "cases": pd.Series(dtype="float64"),
                         "invoice_value": pd.Series(dtype="float64")})


def merge_sales(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    frames = [part for part in parts if len(part)]
    if not frames:
        return empty_sales()
    return pd.concat(frames, ignore_index=True).sort_values(["account", "product", "week"], ignore_index=True)
