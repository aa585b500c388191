"""A category's history as dense series x week arrays: what the estimation and the fitted form both work on.

The canonical history is a long table with missing rows for missing observations. Each category becomes one
`Panel`: its series (account x product) as rows, every week of the history's span as columns, and an `observed`
mask. Dense arrays make the post-promotion dip (a shift along the weeks) and cannibalization (a sum over an
account's products in a week) plain array operations, and keep the time per row flat: a panel costs its
category's series x weeks, nothing crosses categories.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

LIFT_KINDS: tuple[str, ...] = ("feature", "display", "deal")
"""Promotion flags with a multiplicative lift of their own on top of the price response."""
SEASON_WEEKS = 52
MIN_RATIO, MAX_RATIO = 0.05, 2.0
"""Price / regular price is clipped to this range: a data error must not dominate the price response."""


class CalibrationError(ValueError):
    """History that cannot be calibrated, with a message a person can act on."""


@dataclass(frozen=True)
class Panel:
    """One category: S series x W weeks. Cells without a row are unobserved (cases 0, ratio 1, no promotion)."""

    category: str
    account: IntArray
    """(S,) index into the fit's accounts."""
    product: IntArray
    """(S,) index into the fit's products."""
    account_local: IntArray
    """(S,) index into this category's accounts (0 .. A_c - 1): the cannibalization groups, the account deviations."""
    product_local: IntArray
    """(S,) index into this category's products (0 .. P_c - 1)."""
    season_group: IntArray
    """(S,) index into `season_ids`."""
    season_ids: tuple[str, ...]
    cases: FloatArray
    """(S, W) cases, 0 where unobserved."""
    observed: BoolArray
    log_ratio: FloatArray
    """(S, W) log(price / regular price), 0 where unobserved."""
    flags: FloatArray
    """(len(LIFT_KINDS), S, W) feature, display, deal in [0, 1]."""
    promoted: BoolArray
    week_of_season: IntArray
    """(W,) 0 .. 51: (weeks since the anchor) % 52."""
    row_position: IntArray
    """(R,) positions in the frame of the rows this panel holds."""
    row_cell: IntArray
    """(R,) flat cell (series x W + week) of each of those rows."""
    holiday: IntArray
    """(S, W) index into `holiday_ids` of the holiday each cell's row names (the history's `holiday`), -1: none."""
    holiday_ids: tuple[str, ...]

    @property
    def shape(self) -> tuple[int, int]:
        return self.cases.shape[0], self.cases.shape[1]


def week_numbers(weeks: pd.Series, anchor: dt.date) -> IntArray:
    """Whole weeks since the anchor (rounded, so a week labelled by any day of it lands in its column)."""
    days = (pd.to_datetime(weeks) - pd.Timestamp(anchor)).dt.days.to_numpy()
    return np.asarray(np.floor_divide(days + 3, 7), dtype=np.intp)


def season_profile(category: str, channel: object) -> str:
    """Profile id of a series: its category, split by channel when the history names channels."""
    return category if channel is None or pd.isna(channel) else f"{category}/{channel}"


def build_panels(frame: pd.DataFrame, accounts: tuple[str, ...], products: tuple[str, ...],
                 anchor: dt.date, first_week: int, weeks: int) -> list[Panel]:
    """One panel per category of `frame`, over the columns first_week .. first_week + weeks - 1."""
    account_of = {a: i for i, a in enumerate(accounts)}
    product_of = {p: i for i, p in enumerate(products)}
    panels = []
    groups = frame.groupby("category", sort=True, dropna=False, observed=True).indices
    for category, positions in groups.items():  # one category's rows copied at a time, never the whole frame
        panels.append(_panel(str(category), frame.iloc[positions], np.asarray(positions, dtype=np.intp),
                             account_of, product_of, anchor, first_week, weeks))
    return panels


def subset(panel: Panel, series: BoolArray) -> Panel:
    """The panel's rows `series` only, with the same account and product numbering (so a fit of the subset has
    the layout of the whole panel); it holds no frame rows."""
    empty = np.zeros(0, dtype=np.intp)
    return Panel(panel.category, panel.account[series], panel.product[series], panel.account_local[series],
                 panel.product_local[series], panel.season_group[series], panel.season_ids, panel.cases[series],
                 panel.observed[series], panel.log_ratio[series], panel.flags[:, series], panel.promoted[series],
                 panel.week_of_season, empty, empty, panel.holiday[series], panel.holiday_ids)


def _panel(category: str, rows: pd.DataFrame, positions: IntArray, account_of: dict[str, int],
           product_of: dict[str, int], anchor: dt.date, first_week: int, weeks: int) -> Panel:
    series_keys = rows[["account", "product"]].drop_duplicates().sort_values(["account", "product"])
    account = np.array([account_of[a] for a in series_keys["account"]], dtype=np.intp)
    product = np.array([product_of[p] for p in series_keys["product"]], dtype=np.intp)
    _, account_local = np.unique(account, return_inverse=True)
    _, product_local = np.unique(product, return_inverse=True)
    channel = rows.groupby("account", sort=False)["channel"].first() if "channel" in rows else None
    profiles = [season_profile(category, None if channel is None else channel.get(a))
                for a in series_keys["account"]]
    season_ids = tuple(sorted(set(profiles)))
    season_group = np.array([season_ids.index(p) for p in profiles], dtype=np.intp)
    series_index = pd.MultiIndex.from_frame(series_keys).get_indexer(
        pd.MultiIndex.from_frame(rows[["account", "product"]]))
    column = week_numbers(rows["week"], anchor) - first_week
    keep = (column >= 0) & (column < weeks)
    s, w = series_index[keep], column[keep]
    shape = (len(series_keys), weeks)
    cases = np.zeros(shape)
    observed = np.zeros(shape, dtype=bool)
    log_ratio = np.zeros(shape)
    flags = np.zeros((len(LIFT_KINDS), *shape))
    promoted = np.zeros(shape, dtype=bool)
    if "cases" in rows:
        cases[s, w] = np.nan_to_num(rows["cases"].to_numpy(dtype=float)[keep])
    observed[s, w] = True
    log_ratio[s, w] = price_log_ratio(rows)[keep]
    for k, kind in enumerate(LIFT_KINDS):
        if kind in rows:
            flags[k, s, w] = np.clip(rows[kind].fillna(0.0).to_numpy(dtype=float), 0.0, 1.0)[keep]
    if "promoted" in rows:
        promoted[s, w] = rows["promoted"].fillna(False).to_numpy(dtype=bool)[keep]
    holiday = np.full(shape, -1, dtype=np.intp)
    holiday_ids: tuple[str, ...] = ()
    if "holiday" in rows:
        named = rows["holiday"].to_numpy(dtype=object)[keep]
        present = np.array([isinstance(h, str) and h != "" for h in named], dtype=bool)
        holiday_ids = tuple(sorted({str(h) for h in named[present]}))
        position = {h: i for i, h in enumerate(holiday_ids)}
        holiday[s[present], w[present]] = [position[str(h)] for h in named[present]]
    index = np.arange(first_week, first_week + weeks, dtype=np.intp)
    return Panel(category, account, product, np.asarray(account_local, dtype=np.intp),
                 np.asarray(product_local, dtype=np.intp), season_group, season_ids, cases, observed, log_ratio,
                 flags, promoted, np.asarray(index % SEASON_WEEKS, dtype=np.intp),
                 positions[keep], np.asarray(s * weeks + w, dtype=np.intp), holiday, holiday_ids)


def price_log_ratio(rows: pd.DataFrame) -> FloatArray:
    """log(price / regular price) per row; 0 where either is missing or not positive (the regular price)."""
    price = rows["price"].to_numpy(dtype=float)
    regular = rows["regular_price"].to_numpy(dtype=float) if "regular_price" in rows else price
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = price / regular
    ratio = np.where(np.isfinite(ratio) & (ratio > 0), ratio, 1.0)
    return np.asarray(np.log(np.clip(ratio, MIN_RATIO, MAX_RATIO)), dtype=np.float64)


def check_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows a fit can use (cases known, >= 0), or a CalibrationError saying what is wrong."""
    missing = [c for c in ("week", "account", "product", "cases", "price") if c not in frame]
    if missing:
        raise CalibrationError(f"the history has no column(s) {', '.join(missing)}; calibrate needs week, "
                               "account, product, cases and price (load it with planner.history)")
    known = np.isfinite(frame["cases"].to_numpy(dtype=float))
    rows = frame if known.all() else frame[known]  # no copy of a large history that needs none
    if len(rows) == 0:
        raise CalibrationError("the history has no rows with cases: nothing to calibrate")
    if (rows["cases"] < 0).any():
        raise CalibrationError("the history has negative cases; returns must be netted before calibrating")
    return with_category(rows)


def with_category(rows: pd.DataFrame) -> pd.DataFrame:
    """`rows` with a category on every row ("all" where the history names none)."""
    if "category" not in rows:
        return rows.assign(category="all")
    if rows["category"].isna().any():
        return rows.assign(category=rows["category"].astype(object).fillna("all").astype(str))
    return rows
