"""What a history file may leave out, derived by documented rules (docs/history.md):

* **regular_price**, when the column is absent (or for its empty cells): the upper quartile of the prices of the
  same account x product over the 13 weeks centred on the week (6 before, the week, 6 after; weeks without a row
  do not count): the 10th lowest of 13, and the highest of 4 or fewer -- always a price the series had. Promotions
  can fill up to 9 of the 13 weeks and the regular price still shows; a permanent rise shows as a short promotion
  in the 3 weeks before it. A quartile, not the highest price: scanner panels report a week's price as revenue /
  units, an average over the shoppers who paid full price and those who used a card or coupon, so it is noisy in
  both directions, and the highest of 13 such prices overstates the regular one (docs/history.md).
* **depth**: 1 - price / regular_price, clipped at 0 (a price above the regular one is no saving).
* **feature, display, deal**: 0 when the column is absent or the cell empty.
* **promoted**: a feature, a display, a deal or a mechanic that week, or a price at least 5% under the regular
  price (equivalently a depth of 5% or more).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from planner.history.frame import (
    COLUMNS,
    FLAG_COLUMNS,
    FRAME_ORDER,
    NUMBER_COLUMNS,
    PROMOTED_BELOW_REGULAR,
    SERIES,
    TEXT_COLUMNS,
)

WINDOW_WEEKS = 13
QUANTILE = 0.75
RULE = (f"upper quartile of the prices of the account x product over the {WINDOW_WEEKS} weeks centred on the week "
        f"({WINDOW_WEEKS // 2} before, {WINDOW_WEEKS // 2} after)")
CELLS_PER_CHUNK = 2_000_000
"""Series x week cells laid out at once (each holds a window of WINDOW_WEEKS prices while they are sorted)."""


def complete(frame: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The frame with every canonical column, derived where needed, sorted by account, product, week; and the
    regular-price rule used ("given" when the file gave every regular price). Sorts `frame` in place."""
    _sort_in_place(frame)
    for column in COLUMNS:
        if column.name in frame:
            continue
        if column.kind in ("id", "text"):
            frame[column.name] = pd.Series([None] * len(frame), dtype=object)
        else:
            frame[column.name] = np.nan
    for text in TEXT_COLUMNS:  # object dtype holding str, None where absent (not pandas' NaN-backed str dtype)
        if frame[text].dtype != object:
            values = frame[text].astype(object)
            frame[text] = values.where(values.notna(), None)
    for flag in FLAG_COLUMNS:
        frame[flag] = frame[flag].fillna(0.0).astype("float64")
    for number in NUMBER_COLUMNS:
        frame[number] = frame[number].astype("float64")
    missing = frame["regular_price"].isna().to_numpy()
    if not missing.any():
        rule = "given"
    else:
        derived = rolling_regular(frame)
        frame.loc[missing, "regular_price"] = derived[missing]
        rule = RULE if missing.all() else f"given; {int(missing.sum())} empty cell(s) filled with the {RULE}"
    frame["depth"] = frame["depth"].fillna(saving(frame))
    frame["promoted"] = promoted(frame)
    return frame[FRAME_ORDER], rule


def _sort_in_place(frame: pd.DataFrame) -> None:
    """Sort by account, product, week (stable), one column at a time: a large history is not held twice."""
    order = np.lexsort((frame["week"].to_numpy(), pd.factorize(frame["product"], sort=True)[0],
                        pd.factorize(frame["account"], sort=True)[0]))
    if (order[1:] > order[:-1]).all():
        return
    for column in frame.columns:  # a Series keeps object columns object (a bare array would become str)
        frame[column] = pd.Series(frame[column].to_numpy()[order], dtype=frame[column].dtype, index=frame.index)


def saving(frame: pd.DataFrame) -> pd.Series:
    """The derived depth: 1 - price / regular_price, clipped at 0."""
    return (1.0 - frame["price"] / frame["regular_price"]).clip(lower=0.0)


def promoted(frame: pd.DataFrame) -> pd.Series:
    """The promoted-week rule: a feature, display, deal or mechanic, or a price 5%+ under the regular price."""
    return (
        (frame["feature"] > 0) | (frame["display"] > 0) | (frame["deal"] > 0) | frame["mechanic"].notna()
        | (frame["price"] <= (1.0 - PROMOTED_BELOW_REGULAR) * frame["regular_price"] + 1e-9)
        | (frame["depth"] >= PROMOTED_BELOW_REGULAR - 1e-9)
    ).astype(bool)


def reprice(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with regular prices derived again from its own rows (depths that were derived follow)."""
    out = frame.copy()
    derived_depth = np.isclose(out["depth"].to_numpy(), saving(out).to_numpy(), equal_nan=True)
    out["regular_price"] = rolling_regular(out)
    out.loc[derived_depth, "depth"] = saving(out)[derived_depth]
    out["promoted"] = promoted(out)
    return out


def rolling_regular(frame: pd.DataFrame) -> np.ndarray:
    """Per row, the upper quartile of its series' prices within +-6 weeks (the order statistic at or above the
    75th percentile, so always one of the prices). `frame` is sorted by account, product, week.

    Each chunk of series is laid on a dense series x week grid (empty weeks NaN), every cell's window of 13 weeks
    is sorted (NaN last), and each row reads the statistic of its cell: vectorised, memory bounded by the chunk."""
    weeks = frame["week"].to_numpy()
    index = ((weeks - weeks.min()) // np.timedelta64(7, "D")).astype(np.int64)
    series = frame.groupby(SERIES, sort=False).ngroup().to_numpy()
    price = frame["price"].to_numpy(dtype="float64")
    out = np.empty(len(frame), dtype="float64")
    width = int(index.max()) + 1 if len(index) else 1
    half = WINDOW_WEEKS // 2
    per_chunk = max(1, CELLS_PER_CHUNK // width)
    for start in range(0, int(series.max()) + 1 if len(series) else 0, per_chunk):
        rows = np.flatnonzero((series >= start) & (series < start + per_chunk))
        grid = np.full((int(series[rows].max()) - start + 1, width + 2 * half), np.nan)
        grid[series[rows] - start, index[rows] + half] = price[rows]
        windows = np.sort(sliding_window_view(grid, WINDOW_WEEKS, axis=1), axis=2)  # (series, week, 13)
        seen = np.isfinite(windows).sum(axis=2)
        rank = np.ceil(QUANTILE * np.maximum(seen - 1, 0)).astype(np.intp)
        regular = np.take_along_axis(windows, rank[..., None], axis=2)[..., 0]
        out[rows] = regular[series[rows] - start, index[rows]]
    out[~np.isfinite(out)] = np.nan
    return out
