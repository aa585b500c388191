"""The sales history as the rest of the planner sees it: one checked frame and the problems that stop one.

A history is a long table, one row per account x product x week. `History.frame` holds the canonical columns
(`COLUMNS`) with fixed dtypes whatever the source file looked like, so calibration, review and `planner init`
never re-parse or re-check anything. A file that cannot become such a frame raises `HistoryError` with every
problem found, each located by file, row and column with a fix (the habit of the rule loader: collect, then
report once).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

Kind = Literal["date", "id", "text", "number", "flag"]


@dataclass(frozen=True)
class Column:
    """One canonical column: its name, what its values are, and whether a history must have it."""

    name: str
    kind: Kind
    required: bool
    doc: str


COLUMNS: tuple[Column, ...] = (
    Column("week", "date", True, "a date in the week (ISO YYYY-MM-DD); a series' weeks are multiples of 7 days apart"),
    Column("account", "id", True, "account id (a rule id: letters, digits, '-' and '_')"),
    Column("product", "id", True, "product id (a rule id)"),
    Column("cases", "number", True, "cases sold in the week (>= 0)"),
    Column("price", "number", True, "shelf price paid per case (> 0)"),
    Column("regular_price", "number", False, "regular shelf price per case; derived from price when absent"),
    Column("feature", "flag", False, "feature ad: 0/1 or the share of the week (0 when absent)"),
    Column("display", "flag", False, "secondary display: 0/1 or the share of the week (0 when absent)"),
    Column("deal", "flag", False, "temporary price reduction or other deal: 0/1 or share of the week"),
    Column("depth", "number", False, "shopper's saving as a fraction of the regular price; derived when absent"),
    Column("mechanic", "text", False, "name of the promotion mechanic run that week, empty when none"),
    Column("event", "text", False, "name of the promotion event the week belongs to, empty when none"),
    Column("holiday", "id", False, "id of the rules' calendar holiday that fell in the week, empty when none"),
    Column("invoice_price", "number", False, "price per case the company invoiced (sell-in), when known"),
    Column("category", "text", False, "product's category"),
    Column("brand", "text", False, "product's brand"),
    Column("channel", "text", False, "account's channel"),
    Column("region", "text", False, "account's region"),
)
BY_NAME: dict[str, Column] = {column.name: column for column in COLUMNS}
REQUIRED: tuple[str, ...] = tuple(column.name for column in COLUMNS if column.required)
TEXT_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.kind in ("id", "text"))
NUMBER_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.kind == "number")
FLAG_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.kind == "flag")
PRODUCT_ATTRIBUTES: tuple[str, ...] = ("category", "brand")
ACCOUNT_ATTRIBUTES: tuple[str, ...] = ("channel", "region")
SERIES: list[str] = ["account", "product"]
SOURCE_ROW = "source_row"
"""Extra column of the frame: the row of the source file each record came from (to locate later findings)."""
PROMOTED_BELOW_REGULAR = 0.05
"""A week is promoted when its price is at least this share under the regular price (or it has a flag)."""
FRAME_ORDER: list[str] = [c.name for c in COLUMNS] + ["promoted", SOURCE_ROW]


@dataclass(frozen=True)
class Problem:
    """One reason a history file cannot load: where (file, 1-based row as a user sees it, column), what, and how
    to fix it. `cell` is the spreadsheet address (Sheet!C7) for Excel files, empty otherwise."""

    file: str
    row: int
    column: str
    message: str
    fix: str
    cell: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.row}" + (f" ({self.cell})" if self.cell else "")
        column = f" [{self.column}]" if self.column else ""
        return f"{where}{column}: {self.message} (fix: {self.fix})"

    def as_json(self) -> dict[str, str | int]:
        return {"file": self.file, "row": self.row, "column": self.column, "cell": self.cell,
                "message": self.message, "fix": self.fix}


class HistoryError(Exception):
    """A history file that cannot load, with every problem found (sorted by row)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.row, p.column))
        shown = "\n".join(f"  {problem}" for problem in self.problems[:20])
        more = f"\n  ... {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
        super().__init__(f"{len(self.problems)} problem(s) in the history:\n{shown}{more}")


class HistoryUnreadable(HistoryError):
    """The file (or its column map) cannot be read at all: absent, unknown format, corrupt, or a broken map.
    Commands exit 2 (cannot run) on it, and 1 on a HistoryError about the rows."""


@dataclass
class Problems:
    """Collects problems, keeping at most `per_kind` of each (column, kind) so that a file where every one of a
    million rows is wrong gives a readable report: the first rows, then one line counting the rest."""

    per_kind: int = 10
    items: list[Problem] = field(default_factory=list)
    seen: Counter[tuple[str, str]] = field(default_factory=Counter)
    first: dict[tuple[str, str], Problem] = field(default_factory=dict)

    def add(self, problem: Problem, kind: str) -> None:
        key = (problem.column, kind)
        self.seen[key] += 1
        if self.seen[key] <= self.per_kind:
            self.items.append(problem)
            self.first.setdefault(key, problem)

    def add_rows(self, column: str, kind: str, rows: list[int], build: Callable[[int], Problem]) -> None:
        """Add the problem `build(i)` for the positions `rows`, building only the ones that will be shown."""
        room = max(0, self.per_kind - self.seen[(column, kind)])
        for position in rows[:room]:
            self.add(build(position), kind)
        if len(rows) > room:
            self.seen[(column, kind)] += len(rows) - room

    def extend(self, problems: list[Problem]) -> None:
        self.items.extend(problems)

    @property
    def empty(self) -> bool:
        return not self.items

    def report(self) -> list[Problem]:
        """The problems kept, plus one per (column, kind) saying how many more rows share it."""
        out = list(self.items)
        for key, count in self.seen.items():
            if count > self.per_kind:
                first = self.first[key]
                out.append(Problem(first.file, first.row, first.column,
                                   f"... and {count - self.per_kind} more row(s) with the same problem "
                                   f"({first.message})", first.fix, first.cell))
        return out

    def raise_if_any(self) -> None:
        if self.items:
            raise HistoryError(self.report())


@dataclass(frozen=True)
class History:
    """A loaded, checked sales history.

    `frame` has the canonical columns (`COLUMNS`) plus `promoted` (bool) and `source_row` (int, the file's row),
    sorted by account, product, week, one row per account x product x week. A missing row is a missing
    observation, not zero sales. dtypes: week datetime64; ids and text columns object (str, None where absent);
    numbers float64 (invoice_price NaN when absent); flags float64 in [0, 1] (0 when absent); promoted bool."""

    frame: pd.DataFrame
    source: str
    """Display name of the file it was read from."""
    sha256: str
    """SHA-256 of the file's bytes (provenance: which export a calibration was fitted on)."""
    regular_price_rule: str
    """How regular_price was obtained: "given", or the derivation rule used (docs/history.md)."""

    @property
    def weeks(self) -> pd.DatetimeIndex:
        """The distinct weeks of the history, in order."""
        return pd.DatetimeIndex(sorted(self.frame["week"].unique()))

    @property
    def accounts(self) -> list[str]:
        return sorted(self.frame["account"].unique())

    @property
    def products(self) -> list[str]:
        return sorted(self.frame["product"].unique())

    def with_frame(self, frame: pd.DataFrame) -> History:
        """The same history (source, provenance, rule) over another frame, e.g. a subset of its rows."""
        return History(frame.reset_index(drop=True), self.source, self.sha256, self.regular_price_rule)
