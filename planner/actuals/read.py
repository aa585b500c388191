"""Reading actuals files: sell-in in the history format, and executed promotions in a small table of their own.

Both are checked like a history file (docs/history.md): every problem is located (file, row, column, cell for
Excel), says what is wrong and how to fix it, and nothing is returned unless the whole file is clean.

* **Sell-in** is a history file (planner.history.load_history, with the rules: unknown accounts and products are
  problems) that must also hold `invoice_price` on every row: the invoiced value of a row is cases x
  invoice_price. Each row's week must fall inside the plan year's fiscal calendar.
* **Executed promotions** are recognised by a `product_group` column. One row per promotion as it ran:
  `event`, `account`, `product_group`, `mechanic`, `first_week`, `last_week` (dates in the first and last week,
  ISO `YYYY-MM-DD`), `funding` (claimed), and optionally `depth` (the shopper's saving as run, a fraction) and
  `fixed_cost` (0 when absent).
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner.actuals.model import ExecutedPromotion
from planner.history import HistoryError, HistoryUnreadable, Problem, load_history
from planner.history.frame import SOURCE_ROW, Problems
from planner.history.read import Source, batches, open_source
from planner.rules.load import display_name
from planner.rules.schema import Calendar, RuleSet

PROMOTION_COLUMNS = ("event", "account", "product_group", "mechanic", "first_week", "last_week", "depth",
                     "funding", "fixed_cost")
OPTIONAL = ("depth", "fixed_cost")


@dataclass(frozen=True)
class SalesFile:
    """A checked sell-in file: rows on fiscal weeks (planner.actuals.model.SALES_COLUMNS)."""

    source: str
    sha256: str
    sales: pd.DataFrame

    @property
    def weeks(self) -> list[int]:
        return sorted(int(w) for w in self.sales["week"].unique())


@dataclass(frozen=True)
class PromotionsFile:
    source: str
    sha256: str
    promotions: tuple[ExecutedPromotion, ...]


ActualsFile = SalesFile | PromotionsFile


def read_actuals(path: Path, rules: RuleSet) -> ActualsFile:
    """Read one actuals file of the rules' plan year; raises HistoryError with every problem, located."""
    from planner.history.load import sha256_of

    name = display_name(path)
    if not Path(path).is_file():
        raise HistoryUnreadable([Problem(name, 1, "", "no such file", "check the path of the actuals file")])
    calendar = rules.calendar
    if calendar is None:
        raise HistoryUnreadable([Problem(name, 1, "", "the rules have no calendar: no plan year to import into",
                                         "import with a scenario whose rules define the fiscal calendar")])
    source = open_source(Path(path), name)
    if "product_group" in source.header:
        return PromotionsFile(name, sha256_of(Path(path)), _promotions(source, rules, calendar))
    return SalesFile(name, sha256_of(Path(path)), _sales(Path(path), name, source, rules, calendar))


def fiscal_week(calendar: Calendar, day: dt.date) -> int:
    """The 1-based fiscal week a date falls in (outside 1..weeks when it is not in the plan year)."""
    return (day - calendar.start).days // 7 + 1


def _out_of_year(calendar: Calendar, day: dt.date) -> str:
    last = calendar.start + dt.timedelta(weeks=calendar.weeks) - dt.timedelta(days=1)
    return f"{day} is outside the plan year {calendar.year} ({calendar.start} to {last})"


def _sales(path: Path, name: str, source: Source, rules: RuleSet, calendar: Calendar) -> pd.DataFrame:
    if "invoice_price" not in source.header:
        near = difflib.get_close_matches("invoice_price", source.header, n=1, cutoff=0.6)
        raise HistoryError([Problem(name, 1, "invoice_price",
                                    "actual sell-in needs an invoice_price column (the price per case invoiced)"
                                    + (f"; did you mean '{near[0]}'?" if near else ""),
                                    "export the invoiced price per case beside the cases")])
    frame = load_history(path, rules=rules).frame
    problems = Problems()
    rows = frame[SOURCE_ROW].to_numpy()
    missing = np.flatnonzero(frame["invoice_price"].isna().to_numpy()).tolist()
    problems.add_rows("invoice_price", "empty", missing, lambda i: Problem(
        name, int(rows[i]), "invoice_price", "invoice_price is empty; every row of actuals needs one",
        "fill in the invoiced price per case", source.cell("invoice_price", int(rows[i]))))
    days = [day.date() for day in pd.to_datetime(frame["week"])]
    weeks = np.array([fiscal_week(calendar, day) for day in days], dtype=np.int64)
    outside = np.flatnonzero((weeks < 1) | (weeks > calendar.weeks)).tolist()
    problems.add_rows("week", "outside", outside, lambda i: Problem(
        name, int(rows[i]), "week", _out_of_year(calendar, days[i]),
        "import the rows of this plan year only (one file per year)", source.cell("week", int(rows[i]))))
    problems.raise_if_any()
    cases = frame["cases"].to_numpy(dtype=float)
    return pd.DataFrame({"account": frame["account"].to_numpy(), "product": frame["product"].to_numpy(),
                         "week": weeks, "cases": cases,
                         "invoice_value": cases * frame["invoice_price"].to_numpy(dtype=float)})


def _promotions(source: Source, rules: RuleSet, calendar: Calendar) -> tuple[ExecutedPromotion, ...]:
    name = source.name
    wanted = {column: column for column in PROMOTION_COLUMNS if column in source.header}
    missing = [c for c in PROMOTION_COLUMNS if c not in wanted and c not in OPTIONAL]
    if missing:
        raise HistoryError([Problem(name, 1, column, f"missing required column '{column}' of executed promotions",
                                    f"add a '{column}' column (docs/review.md lists the columns)")
                            for column in missing])
    records: list[dict[str, Any]] = []
    for batch in batches(source, wanted):
        values = {column: array.to_pylist() for column, array in batch.columns.items()}
        for k, row in enumerate(batch.rows.tolist()):
            records.append({"row": int(row), **{column: values[column][k] for column in wanted}})
    if not records:
        raise HistoryError([Problem(name, source.first_row, "", "the file has no rows",
                                    "list at least one executed promotion")])
    checker = _PromotionChecker(source, rules, calendar)
    out = [checker.promotion(record) for record in records]
    checker.problems.raise_if_any()
    return tuple(p for p in out if p is not None)


class _PromotionChecker:
    """Checks one row at a time, collecting every problem with its row, column and cell."""

    def __init__(self, source: Source, rules: RuleSet, calendar: Calendar) -> None:
        self.source, self.calendar, self.problems = source, calendar, Problems()
        self.known = {"account": {a.id for a in rules.accounts}, "product_group": {g.id for g in rules.product_groups},
                      "mechanic": {m.id for m in rules.mechanics}}
        self.seen: dict[str, int] = {}

    def fail(self, row: int, column: str, message: str, fix: str) -> None:
        self.problems.add(Problem(self.source.name, row, column, message, fix, self.source.cell(column, row)), column)

    def promotion(self, record: dict[str, Any]) -> ExecutedPromotion | None:
        row, before = record["row"], len(self.problems.items)
        event = self._text(record, "event")
        ids = {column: self._id(record, column) for column in ("account", "product_group", "mechanic")}
        first, last = self._week(record, "first_week"), self._week(record, "last_week")
        if first is not None and last is not None and last < first:
            self.fail(row, "last_week", f"last_week (fiscal week {last}) is before first_week (week {first})",
                      "swap the two dates")
        depth = self._number(record, "depth", required=False, below_one=True)
        funding = self._number(record, "funding", required=True)
        fixed = self._number(record, "fixed_cost", required=False)
        if event is not None:
            if event in self.seen:
                self.fail(row, "event", f"a second row for event '{event}' (first at row {self.seen[event]})",
                          "give each executed promotion its own event id, or delete the repeated row")
            self.seen.setdefault(event, row)
        if len(self.problems.items) > before or event is None or first is None or last is None \
                or funding is None or any(v is None for v in ids.values()):
            return None
        return ExecutedPromotion(event, str(ids["account"]), str(ids["product_group"]), str(ids["mechanic"]),
                                 first, last, depth, funding, fixed or 0.0)

    def _text(self, record: dict[str, Any], column: str) -> str | None:
        value = record.get(column)
        text = "" if value is None else str(value).strip()
        if not text:
            self.fail(record["row"], column, f"{column} is empty; every row needs one", f"fill in the {column}")
            return None
        return text

    def _id(self, record: dict[str, Any], column: str) -> str | None:
        text = self._text(record, column)
        if text is not None and text not in self.known[column]:
            near = difflib.get_close_matches(text, sorted(self.known[column]), n=1, cutoff=0.6)
            self.fail(record["row"], column, f"unknown {column} '{text}'" + (f"; did you mean '{near[0]}'?" if near
                                                                            else f" (not in the rules' {column}s)"),
                      f"use '{near[0]}'" if near else f"define {column} '{text}' in the rules, or drop the row")
            return None
        return text

    def _week(self, record: dict[str, Any], column: str) -> int | None:
        value = record.get(column)
        if value is None or (isinstance(value, str) and not value.strip()):
            self.fail(record["row"], column, f"{column} is empty; every row needs one",
                      "give a date in the week, ISO YYYY-MM-DD")
            return None
        try:
            day = value.date() if isinstance(value, dt.datetime) else value if isinstance(value, dt.date) \
                else dt.date.fromisoformat(str(value).strip()[:10])
        except ValueError:
            self.fail(record["row"], column, f"{column}: '{value}' is not a date", "write it as YYYY-MM-DD")
            return None
        week = fiscal_week(self.calendar, day)
        if not 1 <= week <= self.calendar.weeks:
            self.fail(record["row"], column, _out_of_year(self.calendar, day), "import this plan year's promotions")
            return None
        return week

    def _number(self, record: dict[str, Any], column: str, *, required: bool, below_one: bool = False) -> float | None:
        value = record.get(column)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(record["row"], column, f"{column} is empty; every row needs one", "write 0 if nothing")
            return None
        try:
            number = float(str(value).strip()) if isinstance(value, str) else float(value)
        except ValueError:
            self.fail(record["row"], column, f"{column}: '{value}' is not a number", "write a plain number, e.g. 1250.5")
            return None
        if math.isnan(number) or number < 0 or (below_one and number >= 1):
            meaning = "a fraction from 0 up to (not including) 1" if below_one else "0 or more"
            self.fail(record["row"], column, f"{column} is {value}: it must be {meaning}", "correct the value")
            return None
        return number
