"""Write a simulation to a results folder: CSV for scripts and planners, an Excel workbook for finance, Parquet
for analysts when pyarrow is installed.

Every format is built from the same `View`s (a table: name, columns, rows, number formats), so a CSV file and its
worksheet can never disagree. Planners read them directly: display names (English and Chinese) beside ids when
the rules are at hand (`Detail`), the unit in each header (`gross_sales (CNY)`, `volume (cases)`, or a `unit`
column where it changes by row), money and volumes rounded to cents in CSV and Excel (no 399999.9999999999),
and, with `Detail`, one row per account x product x week with the SKU's order suggestion. Parquet keeps the plain
column names and unrounded values, one file per view. Nothing is half-written: all files go into a staging folder next to the target, and
the staging folder replaces the target only once every file is complete, so a failed run leaves the previous
results as they were. openpyxl and pyarrow are imported only here, inside the writers, to keep `planner validate`
light; pyarrow is optional (not a dependency) and Parquet is skipped silently without it.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planner.folders import write_folder
from planner.report.simulation import PERCENT_POLICIES, kind_of, unit
from planner.results import Kpis, Simulation

if TYPE_CHECKING:
    import pandas as pd

    from planner.rules.schema import Event, RuleSet

ACCOUNT_WEEK_COLUMNS = ("volume", "gross_sales", "trade_spend", "net_sales", "gross_profit", "budget_spend",
                        "order_suggestion")
EXCEL_FORMATS = {
    "money": "#,##0;[Red]-#,##0",
    "volume": "#,##0",
    "percent": "0.0%",
    "per_case": "#,##0.00",
    "probability": "0%",
    "count": "0",
    "text": "General",
}
"""Excel number formats by kind: finance reads whole currency units with separators and percentages to 0.1%."""
MAX_COLUMN_WIDTH = 60
WORKBOOK = "simulation.xlsx"
PARQUET = "account_weeks.parquet"
VIEW_NAMES = ("totals", "accounts", "account_weeks", "product_weeks", "policy", "uncertainty")
RESULT_FILES = frozenset({f"{name}.{ext}" for name in VIEW_NAMES for ext in ("csv", "parquet")}
                         | {"overrides.txt", WORKBOOK})
"""Everything a results folder of `planner simulate` may hold; only such a folder may be replaced by a new run."""
COMPARISON = "comparison.xlsx"
COMPARISON_FILES = frozenset({f"{name}.{ext}" for name in ("comparison", "comparison_accounts")
                              for ext in ("csv", "parquet")} | {COMPARISON})
"""What `planner compare --out` writes."""
DECIMALS = {"money": 2, "volume": 2, "per_case": 4, "percent": 6, "probability": 4}
"""Rounding of each kind of number in CSV and Excel (Parquet keeps full precision)."""
OPTIMIZATION_FILES = RESULT_FILES | {"plan.yaml", "optimization.json", "frontier.csv"}
"""What `planner optimize` writes: the plan, its report, the frontier and the plan's simulation files."""


@dataclass(frozen=True)
class View:
    """One table of results, as a CSV file and a worksheet."""

    name: str
    """File stem (`accounts` -> accounts.csv)."""
    sheet: str
    """Worksheet title."""
    columns: tuple[str, ...]
    kinds: tuple[str, ...]
    """Kind of each column (a key of EXCEL_FORMATS)."""
    rows: list[tuple[Any, ...]]
    cell_kinds: dict[tuple[int, int], str] = field(default_factory=dict)
    """(row, column) -> kind, for columns whose unit changes by row (a totals list, policy limits)."""

    currency: str = ""
    """Shown in the headers of money columns."""
    for_planners: bool = False
    """Units in the headers and numbers rounded (DECIMALS): the results files of simulate and compare. Other
    views written through here (the approval pack's sheets, frontier.csv) keep plain names and full values."""

    def kind(self, row: int, column: int) -> str:
        return self.cell_kinds.get((row, column), self.kinds[column])

    @property
    def headers(self) -> list[str]:
        """Column names with their unit, where the whole column has one: 'gross_sales (CNY)', 'volume (cases)'."""
        if not self.for_planners:
            return list(self.columns)
        return [header(name, kind, self.currency) for name, kind in zip(self.columns, self.kinds)]


def header(name: str, kind: str, currency: str) -> str:
    if kind in ("money", "volume", "per_case") and (currency or kind == "volume"):
        return f"{name} ({unit(kind, currency)})"
    return f"{name} (fraction)" if kind == "percent" else name


@dataclass(frozen=True)
class Detail:
    """What the rules add to a simulation's files: display names beside ids, and the account x product x week
    table (planner.frames.product_weeks)."""

    account_names: dict[str, tuple[str, str]]
    product_weeks: pd.DataFrame | None = None

    @classmethod
    def of(cls, rules: RuleSet, events: Sequence[Event] | None = None) -> Detail:
        """Names from the rules; with the plan's `events`, the per-SKU table too."""
        from planner.frames import names, product_weeks

        return cls({account.id: names(account.name, account.id) for account in rules.accounts},
                   product_weeks(rules, events) if events is not None else None)

    def names(self, account: str) -> tuple[str, str]:
        return self.account_names.get(account, (account, ""))


def _named(detail: Detail | None, account: str) -> tuple[str, ...]:
    return (account, *detail.names(account)) if detail is not None else (account,)


NAME_COLUMNS = ("account_name", "account_name_zh")


def _unit_of(kind: str, currency: str) -> str:
    if kind in ("text", "count", "probability"):
        return ""
    return "fraction" if kind == "percent" else unit(kind, currency)

KPI_NAMES = tuple(item.name for item in fields(Kpis))


def totals_view(simulation: Simulation) -> View:
    values = simulation.totals.as_dict()
    return View("totals", "totals", ("kpi", "value", "unit"), ("text", "money", "text"),
                [(kpi, values[kpi], _unit_of(kind_of(kpi), simulation.currency)) for kpi in KPI_NAMES],
                {(row, 1): kind_of(kpi) for row, kpi in enumerate(KPI_NAMES)}, for_planners=True)


def accounts_view(simulation: Simulation, detail: Detail | None = None) -> View:
    names = NAME_COLUMNS if detail is not None else ()
    columns = ("account", *names, *KPI_NAMES, "growth_vs_last_year")
    rows = [(*_named(detail, account), *kpis.as_dict().values(), simulation.growth.get(account, math.nan))
            for account, kpis in simulation.accounts.items()]
    kinds = ("text", *("text" for _ in names), *(kind_of(kpi) for kpi in KPI_NAMES), "percent")
    return View("accounts", "accounts", columns, kinds, rows, currency=simulation.currency, for_planners=True)


def account_weeks_view(simulation: Simulation, detail: Detail | None = None) -> View:
    names = NAME_COLUMNS if detail is not None else ()
    rows = [(*_named(detail, account), week + 1, *(by_week[column][week] for column in ACCOUNT_WEEK_COLUMNS))
            for account, by_week in simulation.account_weeks.items() for week in range(simulation.weeks)]
    kinds = ("text", *("text" for _ in names), "count", "volume", "money", "money", "money", "money", "money",
             "volume")
    return View("account_weeks", "account x week", ("account", *names, "week", *ACCOUNT_WEEK_COLUMNS), kinds, rows,
                currency=simulation.currency, for_planners=True)


PRODUCT_WEEK_COLUMNS = ("account", "account_name", "account_name_zh", "product", "product_name", "product_name_zh",
                        "week", "mechanic", "volume", "incremental_volume", "order_suggestion", "gross_sales",
                        "trade_spend", "net_sales", "gross_profit")


def product_weeks_view(frame: pd.DataFrame, currency: str) -> View:
    """One row per carried account x product x week: what each SKU sells and what to order of it."""
    kinds = tuple("text" if column in PRODUCT_WEEK_COLUMNS[:6] or column == "mechanic" else "count"
                  if column == "week" else "volume" if column in ("volume", "incremental_volume", "order_suggestion")
                  else "money" for column in PRODUCT_WEEK_COLUMNS)
    columns = [frame[column].tolist() for column in PRODUCT_WEEK_COLUMNS]
    return View("product_weeks", "product x week", PRODUCT_WEEK_COLUMNS, kinds, list(zip(*columns)),
                currency=currency, for_planners=True)


def policy_view(simulation: Simulation) -> View:
    def kind(check_kind: str) -> str:
        return "percent" if check_kind in PERCENT_POLICIES else "count" if check_kind == "calendar" else "money"

    rows = [(check.rule, check.kind, check.scope, check.actual, check.limit,
             _unit_of(kind(check.kind), simulation.currency), check.ok, check.detail) for check in simulation.policy]
    percent = {(row, column): "percent" for row, check in enumerate(simulation.policy)
               if check.kind in PERCENT_POLICIES for column in (3, 4)}
    return View("policy", "policy", ("rule", "kind", "scope", "actual", "limit", "unit", "ok", "detail"),
                ("text", "text", "text", "money", "money", "text", "text", "text"), rows, percent, for_planners=True)


def uncertainty_view(simulation: Simulation) -> View | None:
    """P10/P50/P90 per KPI for the total and each account, then each account's chance of its growth target."""
    uncertainty = simulation.uncertainty
    if uncertainty is None:
        return None
    scopes = [("total", uncertainty.totals), *uncertainty.accounts.items()]
    rows: list[tuple[Any, ...]] = [(scope, kpi, spread.p10, spread.p50, spread.p90,
                                    _unit_of(kind_of(kpi), simulation.currency), None)
                                   for scope, spreads in scopes for kpi, spread in spreads.items()]
    cell_kinds = {(row, column): kind_of(values[1]) for row, values in enumerate(rows) for column in (2, 3, 4)}
    rows += [(account, "growth_target_reached", None, None, None, "", probability)
             for account, probability in uncertainty.target_probability.items()]
    return View("uncertainty", "uncertainty", ("scope", "kpi", "p10", "p50", "p90", "unit", "probability"),
                ("text", "text", "money", "money", "money", "text", "probability"), rows, cell_kinds,
                for_planners=True)


def views(simulation: Simulation, detail: Detail | None = None) -> list[View]:
    found = [totals_view(simulation), accounts_view(simulation, detail), account_weeks_view(simulation, detail),
             product_weeks_view(detail.product_weeks, simulation.currency)
             if detail is not None and detail.product_weeks is not None else None,
             policy_view(simulation), uncertainty_view(simulation)]
    return [view for view in found if view is not None]


def comparison_views(simulations: Sequence[Simulation], detail: Detail | None = None) -> list[View]:
    """`planner compare --out`: each KPI per scenario with deltas against the first, and every account's KPIs per
    scenario."""
    first, labels = simulations[0], [simulation.scenario for simulation in simulations]
    columns = ("kpi", "unit", *labels, *(f"delta {label}" for label in labels[1:]))
    rows: list[tuple[Any, ...]] = []
    cell_kinds: dict[tuple[int, int], str] = {}
    for row, kpi in enumerate(KPI_NAMES):
        values = [getattr(simulation.totals, kpi) for simulation in simulations]
        rows.append((kpi, _unit_of(kind_of(kpi), first.currency), *values, *(v - values[0] for v in values[1:])))
        cell_kinds |= {(row, column): kind_of(kpi) for column in range(2, len(columns))}
    totals = View("comparison", "comparison", columns, ("text", "text", *("money" for _ in columns[2:])), rows,
                  cell_kinds, for_planners=True)
    names = NAME_COLUMNS if detail is not None else ()
    account_rows = [(simulation.scenario, *_named(detail, account), *kpis.as_dict().values())
                    for simulation in simulations for account, kpis in simulation.accounts.items()]
    accounts = View("comparison_accounts", "accounts", ("scenario", "account", *names, *KPI_NAMES),
                    ("text", "text", *("text" for _ in names), *(kind_of(kpi) for kpi in KPI_NAMES)), account_rows,
                    currency=first.currency, for_planners=True)
    return [totals, accounts]


def _cell(value: Any, kind: str | None = None) -> Any:
    """NaN and infinity have no portable spelling in CSV or Excel: they are written as empty cells. With a `kind`,
    a number is rounded as planners read it (DECIMALS): cents, not 399999.9999999999."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if kind in DECIMALS and isinstance(value, float):
        return round(value, DECIMALS[kind]) + 0.0  # + 0.0: no '-0.0'
    return value


def _rounded(view: View) -> list[list[Any]]:
    return [[_cell(value, view.kind(number, column) if view.for_planners else None)
             for column, value in enumerate(row)] for number, row in enumerate(view.rows)]


def write_csv(view: View, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(view.headers)
        writer.writerows(_rounded(view))


def _width(view: View, column: int) -> float:
    longest = max([len(view.headers[column])] + [len(f"{value:,.0f}" if isinstance(value, float) else str(value))
                                                  for value in (row[column] for row in view.rows[:500])])
    return min(longest + 3, MAX_COLUMN_WIDTH)


def write_workbook(items: Sequence[View], path: Path) -> None:
    """One sheet per view (`add_sheet`)."""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for view in items:
        add_sheet(workbook, view)
    workbook.save(path)


def add_sheet(workbook: Any, view: View) -> Any:
    """A worksheet for `view`: bold frozen header row, a filter, number formats for money and percentages."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    sheet = workbook.create_sheet(view.sheet)
    sheet.append(view.headers)
    bold = Font(bold=True)
    for cell in sheet[1]:
        cell.font = bold
    for number, row in enumerate(_rounded(view)):
        sheet.append(row)
        for column in range(len(row)):
            # sheet.cell, not sheet[row]: indexing a row asks openpyxl for max_column, a scan of every cell so far
            sheet.cell(row=number + 2, column=column + 1).number_format = EXCEL_FORMATS[view.kind(number, column)]
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    for column in range(len(view.columns)):
        sheet.column_dimensions[get_column_letter(column + 1)].width = _width(view, column)
    return sheet


def write_parquet(view: View, path: Path) -> None:
    """Parquet for data tools (plain column names, full precision)."""
    import pyarrow
    import pyarrow.parquet

    table = pyarrow.table({name: [_cell(row[column]) for row in view.rows] for column, name in enumerate(view.columns)})
    pyarrow.parquet.write_table(table, str(path))


def overrides_text(simulation: Simulation) -> str:
    return "".join(f"{line}\n" for line in simulation.applied_overrides)


def write_views(items: Sequence[View], folder: Path, workbook: str) -> list[str]:
    """Each view as CSV and Parquet, and all of them as one workbook."""
    written = []
    for view in items:
        write_csv(view, folder / f"{view.name}.csv")
        write_parquet(view, folder / f"{view.name}.parquet")
        written += [f"{view.name}.csv", f"{view.name}.parquet"]
    write_workbook(items, folder / workbook)
    return [*written, workbook]


def write_simulation_files(simulation: Simulation, folder: Path, detail: Detail | None = None) -> list[str]:
    """Every results file of a simulation, straight into `folder` (callers stage it: `write_folder`)."""
    (folder / "overrides.txt").write_text(overrides_text(simulation), encoding="utf-8")
    return [*write_views(views(simulation, detail), folder, WORKBOOK), "overrides.txt"]


def write_results(simulation: Simulation, out: Path, detail: Detail | None = None) -> list[str]:
    """Write every results file of a simulation into `out`, replacing an existing `out` only after all were
    written. Returns the file names written."""
    return write_folder(out, lambda folder: write_simulation_files(simulation, folder, detail), RESULT_FILES)


def write_comparison(simulations: Sequence[Simulation], out: Path, detail: Detail | None = None) -> list[str]:
    """`planner compare --out`: comparison.csv, comparison_accounts.csv (and Parquet), comparison.xlsx."""
    return write_folder(out, lambda folder: write_views(comparison_views(simulations, detail), folder, COMPARISON),
                        COMPARISON_FILES)
