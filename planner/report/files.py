"""Write a simulation to a results folder: CSV for scripts, an Excel workbook for finance, Parquet when pyarrow is
installed.

Every format is built from the same `View`s (a table: name, columns, rows, number formats), so a CSV file and its
worksheet can never disagree. Nothing is half-written: all files go into a staging folder next to the target, and
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
from typing import Any

from planner.folders import write_folder
from planner.report.simulation import PERCENT_POLICIES, kind_of
from planner.results import Kpis, Simulation

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
RESULT_FILES = frozenset({"totals.csv", "accounts.csv", "account_weeks.csv", "policy.csv", "uncertainty.csv",
                          "overrides.txt", WORKBOOK, PARQUET})
"""Everything a results folder of `planner simulate` may hold; only such a folder may be replaced by a new run."""
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

    def kind(self, row: int, column: int) -> str:
        return self.cell_kinds.get((row, column), self.kinds[column])


KPI_NAMES = tuple(item.name for item in fields(Kpis))


def totals_view(simulation: Simulation) -> View:
    values = simulation.totals.as_dict()
    return View("totals", "totals", ("kpi", "value"), ("text", "money"),
                [(kpi, values[kpi]) for kpi in KPI_NAMES],
                {(row, 1): kind_of(kpi) for row, kpi in enumerate(KPI_NAMES)})


def accounts_view(simulation: Simulation) -> View:
    columns = ("account", *KPI_NAMES, "growth_vs_last_year")
    rows = [(account, *kpis.as_dict().values(), simulation.growth.get(account, math.nan))
            for account, kpis in simulation.accounts.items()]
    return View("accounts", "accounts", columns, ("text", *(kind_of(kpi) for kpi in KPI_NAMES), "percent"), rows)


def account_weeks_view(simulation: Simulation) -> View:
    rows = [(account, week + 1, *(by_week[column][week] for column in ACCOUNT_WEEK_COLUMNS))
            for account, by_week in simulation.account_weeks.items() for week in range(simulation.weeks)]
    kinds = ("text", "count", "volume", "money", "money", "money", "money", "money", "volume")
    return View("account_weeks", "account x week", ("account", "week", *ACCOUNT_WEEK_COLUMNS), kinds, rows)


def policy_view(simulation: Simulation) -> View:
    rows = [(check.rule, check.kind, check.scope, check.actual, check.limit, check.ok, check.detail)
            for check in simulation.policy]
    percent = {(row, column): "percent" for row, check in enumerate(simulation.policy)
               if check.kind in PERCENT_POLICIES for column in (3, 4)}
    return View("policy", "policy", ("rule", "kind", "scope", "actual", "limit", "ok", "detail"),
                ("text", "text", "text", "money", "money", "text", "text"), rows, percent)


def uncertainty_view(simulation: Simulation) -> View | None:
    """P10/P50/P90 per KPI for the total and each account, then each account's chance of its growth target."""
    uncertainty = simulation.uncertainty
    if uncertainty is None:
        return None
    scopes = [("total", uncertainty.totals), *uncertainty.accounts.items()]
    rows: list[tuple[Any, ...]] = [(scope, kpi, spread.p10, spread.p50, spread.p90, None)
                                   for scope, spreads in scopes for kpi, spread in spreads.items()]
    cell_kinds = {(row, column): kind_of(values[1]) for row, values in enumerate(rows) for column in (2, 3, 4)}
    rows += [(account, "growth_target_reached", None, None, None, probability)
             for account, probability in uncertainty.target_probability.items()]
    return View("uncertainty", "uncertainty", ("scope", "kpi", "p10", "p50", "p90", "probability"),
                ("text", "text", "money", "money", "money", "probability"), rows, cell_kinds)


def views(simulation: Simulation) -> list[View]:
    found = [totals_view(simulation), accounts_view(simulation), account_weeks_view(simulation),
             policy_view(simulation), uncertainty_view(simulation)]
    return [view for view in found if view is not None]


def _cell(value: Any) -> Any:
    """NaN and infinity have no portable spelling in CSV or Excel: they are written as empty cells."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def write_csv(view: View, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(view.columns)
        writer.writerows([_cell(value) for value in row] for row in view.rows)


def _width(view: View, column: int) -> float:
    longest = max([len(view.columns[column])] + [len(f"{value:,.0f}" if isinstance(value, float) else str(value))
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
    sheet.append(list(view.columns))
    bold = Font(bold=True)
    for cell in sheet[1]:
        cell.font = bold
    for number, row in enumerate(view.rows):
        sheet.append([_cell(value) for value in row])
        for column, cell in enumerate(sheet[number + 2]):
            cell.number_format = EXCEL_FORMATS[view.kind(number, column)]
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    for column in range(len(view.columns)):
        sheet.column_dimensions[get_column_letter(column + 1)].width = _width(view, column)
    return sheet


def write_parquet(view: View, path: Path) -> bool:
    """Parquet for data tools, only when pyarrow is installed (it is not a dependency); False when skipped."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        return False
    table = pyarrow.table({name: [_cell(row[column]) for row in view.rows] for column, name in enumerate(view.columns)})
    pyarrow.parquet.write_table(table, str(path))
    return True


def overrides_text(simulation: Simulation) -> str:
    return "".join(f"{line}\n" for line in simulation.applied_overrides)


def write_simulation_files(simulation: Simulation, folder: Path) -> list[str]:
    """Every results file of a simulation, straight into `folder` (callers stage it: `write_folder`)."""
    items = views(simulation)
    written = []
    for view in items:
        write_csv(view, folder / f"{view.name}.csv")
        written.append(f"{view.name}.csv")
    (folder / "overrides.txt").write_text(overrides_text(simulation), encoding="utf-8")
    write_workbook(items, folder / WORKBOOK)
    written += ["overrides.txt", WORKBOOK]
    if write_parquet(account_weeks_view(simulation), folder / PARQUET):
        written.append(PARQUET)
    return written


def write_results(simulation: Simulation, out: Path) -> list[str]:
    """Write every results file of a simulation into `out`, replacing an existing `out` only after all were
    written. Returns the file names written."""
    return write_folder(out, lambda folder: write_simulation_files(simulation, folder), RESULT_FILES)
