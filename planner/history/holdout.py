"""Splitting a history at a date for a backtest: fit on the weeks before, judge on the last N weeks."""

from __future__ import annotations

import numpy as np

from planner.history.derive import RULE, reprice
from planner.history.frame import History


def split_holdout(history: History, weeks: int) -> tuple[History, History]:
    """(training, holdout): the holdout is the last `weeks` weeks of the whole history (by date, so series
    that stop early simply have no holdout rows); the training part is everything before.

    When regular prices were derived (not given), the training part's are derived again from its own rows, so
    that no price of a held-out week leaks into the fit through the centred window. The holdout keeps the
    values derived on the whole history: a future regular shelf price is a plan input, known in advance."""
    if weeks < 1:
        raise ValueError("hold out at least one week")
    frame = history.frame
    last = frame["week"].max()
    cut = last - np.timedelta64(7 * weeks, "D")
    before = (frame["week"] <= cut).to_numpy()
    training = frame.loc[before].reset_index(drop=True)
    if history.regular_price_rule == RULE and len(training):
        training = reprice(training)
    return history.with_frame(training), history.with_frame(frame.loc[~before])
