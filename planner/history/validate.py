"""Checks on the whole typed history, where one row alone cannot tell: ranges, duplicates, week spacing, ids,
one category per product, and (with a rules folder) ids the rules do not know.

Every problem is located at the row of the file it comes from (the frame's `source_row`), with a fix.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from planner.history.frame import (
    ACCOUNT_ATTRIBUTES,
    FLAG_COLUMNS,
    PRODUCT_ATTRIBUTES,
    SOURCE_ROW,
    History,
    Problem,
    Problems,
)
from planner.rules.schema import RuleSet
from planner.rules.schema.common import ID_PATTERN

ID = re.compile(ID_PATTERN)
MAX_ID_LENGTH = 80
Cell = Callable[[str, int], str]
"""(canonical column, row) -> spreadsheet cell, empty when the file is not a spreadsheet."""

RANGES: dict[str, tuple[float, float, bool, str]] = {
    # column: (low, high, low is allowed, what it means)
    "cases": (0.0, np.inf, True, "cases cannot be negative (a return is not a sale)"),
    "price": (0.0, np.inf, False, "price must be above 0"),
    "regular_price": (0.0, np.inf, False, "regular_price must be above 0"),
    "invoice_price": (0.0, np.inf, True, "invoice_price cannot be negative"),
    "depth": (0.0, 1.0, True, "depth is a fraction of the regular price, from 0 up to (not including) 1"),
    **{flag: (0.0, 1.0, True, f"{flag} is 0/1 or a share of the week between 0 and 1") for flag in FLAG_COLUMNS},
}


def check(frame: pd.DataFrame, file: str, cell: Cell, problems: Problems) -> None:
    """Range, identity, duplicate, spacing and master-attribute checks on the typed frame (any row order)."""
    rows = frame[SOURCE_ROW].to_numpy()

    def at(column: str, message: Callable[[int], str], fix: str) -> Callable[[int], Problem]:
        return lambda i: Problem(file, int(rows[i]), column, message(i), fix, cell(column, int(rows[i])))

    for column, (low, high, closed, meaning) in RANGES.items():
        if column not in frame:
            continue
        values = frame[column].to_numpy(dtype="float64")
        outside = (values < low) | (values > high) | ((values == low) & (not closed))
        if column == "depth":
            outside |= values >= 1.0
        bad = np.flatnonzero(outside & ~np.isnan(values)).tolist()
        problems.add_rows(column, "range", bad, at(column, _value_message(column, values, meaning),
                                                   "correct the value, or delete the row"))
    for column in [c for c in ("account", "product", "holiday") if c in frame]:
        ids = frame[column]
        wrong = [value for value in ids.unique()
                 if value is not None and (not ID.fullmatch(value) or len(value) > MAX_ID_LENGTH)]
        bad = np.flatnonzero(ids.isin(wrong).to_numpy()).tolist() if wrong else []
        problems.add_rows(column, "id", bad, at(column, _id_message(column, ids),
                                                "clean the ids in the export (e.g. spaces to '-'), so that "
                                                "rule files can name them"))
    _weeks(frame, rows, at, problems)
    for owner, attributes in (("product", PRODUCT_ATTRIBUTES), ("account", ACCOUNT_ATTRIBUTES)):
        for attribute in attributes:
            if attribute in frame:
                _one_value(frame, owner, attribute, at, problems)


def _value_message(column: str, values: np.ndarray, meaning: str) -> Callable[[int], str]:
    return lambda i: f"{column} is {values[i]:g}: {meaning}"


def _id_message(column: str, ids: pd.Series) -> Callable[[int], str]:
    return lambda i: (f"{column} id {ids.iloc[i]!r} is not a rule id (letters, digits, '-' and '_', no "
                      f"spaces, at most {MAX_ID_LENGTH} characters)")


def _weeks(frame: pd.DataFrame, rows: np.ndarray, at: Callable[..., Callable[[int], Problem]],
           problems: Problems) -> None:
    """Duplicate rows (same account x product x week) and weeks of one series not a multiple of 7 days apart.

    Rows are ordered by series and week with a stable sort on integer codes, so equal keys stay in file order:
    the first of a run of duplicates is the row the others are reported against."""
    accounts = pd.factorize(frame["account"])[0]
    products = pd.factorize(frame["product"])[0]
    weeks = frame["week"].to_numpy()
    order = np.lexsort((weeks, products, accounts))
    same = (accounts[order][1:] == accounts[order][:-1]) & (products[order][1:] == products[order][:-1])
    days = (weeks[order][1:] - weeks[order][:-1]) / np.timedelta64(1, "D")
    twice = same & (days == 0)
    run_start = np.maximum.accumulate(np.where(np.concatenate([[True], ~twice]), np.arange(len(order)), 0))
    first = {int(order[p + 1]): int(order[run_start[p + 1]]) for p in np.flatnonzero(twice)[:problems.per_kind]}
    problems.add_rows("week", "duplicate", [int(order[p + 1]) for p in np.flatnonzero(twice)], at(
        "week", lambda i: f"a second row for account {frame['account'].iloc[i]!r} x product "
                          f"{frame['product'].iloc[i]!r} in the week of {frame['week'].iloc[i]:%Y-%m-%d} "
                          f"(first at row {rows[first[i]]})",
        "keep one row per account x product x week: add the duplicates up or delete one"))
    off = np.flatnonzero(same & (days % 7 != 0))
    previous = {int(order[p + 1]): int(order[p]) for p in off[:problems.per_kind]}
    problems.add_rows("week", "spacing", [int(order[p + 1]) for p in off], at(
        "week", lambda i: f"week {frame['week'].iloc[i]:%Y-%m-%d} is "
                          f"{(frame['week'].iloc[i] - frame['week'].iloc[previous[i]]).days} days after the "
                          f"previous week of this account x product ({frame['week'].iloc[previous[i]]:%Y-%m-%d},"
                          f" row {rows[previous[i]]}): a series' weeks must be multiples of 7 days apart",
        "date every row by the same weekday (e.g. the Monday that starts the week)"))


def _one_value(frame: pd.DataFrame, owner: str, attribute: str,
               at: Callable[..., Callable[[int], Problem]], problems: Problems) -> None:
    """A product has one category and brand, an account one channel and region, across all rows: the first
    row that gives the attribute sets it, and a row that differs is reported."""
    owners, _ = pd.factorize(frame[owner])
    values, names = pd.factorize(frame[attribute])
    known = np.flatnonzero((owners >= 0) & (values >= 0))
    if not len(known):
        return
    seen, first = np.unique(owners[known], return_index=True)
    expected = np.full(int(owners.max()) + 1, -1)
    expected[seen] = values[known][first]
    clash = known[values[known] != expected[owners[known]]]
    problems.add_rows(attribute, "attribute", clash.tolist(), at(
        attribute, lambda i: f"{owner} {frame[owner].iloc[i]!r} has {attribute} {frame[attribute].iloc[i]!r} here"
                             f" but {names[expected[owners[i]]]!r} in an earlier row",
        f"give each {owner} one {attribute} in every row"))


def check_against(history: History, rules: RuleSet) -> list[Problem]:
    """Accounts and products of the history that the rules do not define, located at their first row, with a
    did-you-mean (an export that spells 'carrefour' as 'Carrefour' is caught here, not in calibration)."""
    problems: list[Problem] = []
    frame = history.frame
    for column, defined in (("account", {a.id for a in rules.accounts}),
                            ("product", {p.id for p in rules.products})):
        first = frame.sort_values(SOURCE_ROW).drop_duplicates(column)
        for value, row in zip(first[column], first[SOURCE_ROW], strict=True):
            if value in defined:
                continue
            near = difflib.get_close_matches(value, sorted(defined), n=1, cutoff=0.6)
            hint = f"; did you mean '{near[0]}'?" if near else ""
            problems.append(Problem(history.source, int(row), column,
                                    f"unknown {column} '{value}'{hint} (not in the rules' {column}s)",
                                    f"use '{near[0]}'" if near else
                                    f"define {column} '{value}' in the rules, or drop its rows"))
    return problems
