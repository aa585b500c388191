"""Each column's change of a measure over a scope (`Options.scoped`), summed once per scope however often a family
asks for it.

A re-plan (planner/review/replan.py) moves a rebate's tiers or a per-account budget account by account, so the
rules it hands the optimizer hold one copy of that rebate or budget per account (and per quarter), each with the
products and weeks of the original. `Options.scoped` passes over every column of the model (all accounts), so
asking it once per copy made the build grow with the square of the accounts: at 20 accounts x 100 products the
re-plan's rebates asked 105 times against a fresh optimize's 35, and its build took 2.5 times as long. A family
lists the scopes it will ask for up front; each sum is computed at its first use and let go at its last, so
nothing is kept longer than before when every scope is asked for once (a fresh optimize). The no-promotion
plan's sums over a scope (one number per account) are kept for the same reason.

No family row: `_calendar.py` is the other helper module the families share.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from planner.compile.index import FloatArray
from planner.optimize.options import Options

Mask = npt.NDArray[np.bool_]
Scope = tuple[str, Mask, Mask]
"""(measure, products, weeks), the arguments of `Options.scoped`."""


class ScopedSums:
    """`Options.scoped` for a known sequence of scopes, each summed once; and the no-promotion plan's sums per
    account over a scope, each summed once."""

    def __init__(self, options: Options, scopes: Iterable[Scope]) -> None:
        self.options = options
        self.uses = Counter(self.key(*scope) for scope in scopes)
        self.kept: dict[tuple[str, bytes, bytes], FloatArray] = {}
        self.bases: dict[tuple[str, bytes, bytes], FloatArray] = {}

    @staticmethod
    def key(measure: str, products: Mask, weeks: Mask) -> tuple[str, bytes, bytes]:
        return measure, np.packbits(products).tobytes(), np.packbits(weeks).tobytes()

    def base(self, measure: str, products: Mask, weeks: Mask) -> FloatArray:
        """(A,) the no-promotion plan's `measure` per account over the scope; kept (one number per account)."""
        key = self.key(measure, products, weeks)
        if key not in self.bases:
            cells: FloatArray = getattr(self.options.base, measure)
            self.bases[key] = cells[:, products][:, :, weeks].sum(axis=(1, 2))
        return self.bases[key]

    def __call__(self, measure: str, products: Mask, weeks: Mask) -> FloatArray:
        key = self.key(measure, products, weeks)
        value = self.kept.get(key)
        if value is None:
            value = self.options.scoped(measure, products, weeks)
        self.uses[key] -= 1
        if self.uses[key] > 0:
            self.kept[key] = value
        else:
            self.kept.pop(key, None)
        return value
