"""Results files (planner.report.files) on a small hand-made simulation: every view is written the same way to CSV
and Excel, the workbook is formatted for finance, Parquet is optional, and a failed write changes nothing.
"""

from __future__ import annotations

import csv
import math
import sys
import types
from dataclasses import fields
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from planner.folders import unsafe_target
from planner.report import files
from planner.report.files import EXCEL_FORMATS, RESULT_FILES, views, write_results
from planner.results import Kpis, PolicyCheck, Simulation, Spread, Uncertainty

WEEKS = 3


def kpis(scale: float) -> Kpis:
    sums = {item.name: scale for item in fields(Kpis)} | {"budget_spend": scale / 10}
    sums.update(gross_sales=100 * scale, trade_spend=20 * scale, net_sales=80 * scale, cogs=50 * scale,
                gross_profit=30 * scale)
    return Kpis.of(sums, 0.0)


def simulation(draws: bool = True) -> Simulation:
    accounts = {"north": kpis(1.0), "south": kpis(2.0)}
    weekly = {account: {column: [float(week) for week in range(WEEKS)] for column in files.ACCOUNT_WEEK_COLUMNS}
              for account in accounts}
    uncertainty = Uncertainty(10, 1, {"gross_profit": Spread(1.0, 2.0, 3.0), "gross_margin": Spread(0.3, 0.4, 0.5)},
                              {"north": {"gross_profit": Spread(0.5, 1.0, 1.5)}}, {"north": 0.8}) if draws else None
    return Simulation(
        scenario="tiny", name="Tiny", year=2027, currency="CNY", totals=kpis(3.0), accounts=accounts, weeks=WEEKS,
        account_weeks=weekly,
        policy=[PolicyCheck("bud", "budget_max", "total year", 0.3, 1000.0, True),
                PolicyCheck("mf", "margin_floor", "north", 0.375, 0.4, False),
                PolicyCheck("cal", "calendar", "north x cola", 0.0, 0.0, False, "weeks [3, 4] too close")],
        growth={"north": 0.1, "south": math.nan}, shelf_targets=[], uncertainty=uncertainty,
        applied_overrides=["budgets.bud.max = 1000 (command line)"])


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


@pytest.fixture(autouse=True)
def no_pyarrow(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests see the same world whether or not pyarrow happens to be installed."""
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)


def test_every_view_is_written_as_csv_and_as_a_sheet(tmp_path: Path) -> None:
    written = write_results(simulation(), tmp_path / "out")
    out = tmp_path / "out"
    assert set(written) == {path.name for path in out.iterdir()} == RESULT_FILES - {files.PARQUET}
    workbook = openpyxl.load_workbook(out / "simulation.xlsx")
    for view in views(simulation()):
        rows = read_csv(out / f"{view.name}.csv")
        sheet = [list(row) for row in workbook[view.sheet].iter_rows(values_only=True)]
        assert rows[0] == sheet[0] == list(view.columns)
        assert len(rows) == len(sheet) == len(view.rows) + 1
        for text_row, cell_row, row in zip(rows[1:], sheet[1:], view.rows):
            for text, cell, value in zip(text_row, cell_row, row):
                if isinstance(value, float) and math.isfinite(value):
                    assert float(text) == cell == value
                elif value is None or (isinstance(value, float) and math.isnan(value)):
                    assert (text, cell) == ("", None)  # NaN has no portable spelling: an empty cell
    assert len(read_csv(out / "account_weeks.csv")) == 2 * WEEKS + 1
    assert (out / "overrides.txt").read_text(encoding="utf-8") == "budgets.bud.max = 1000 (command line)\n"


def test_the_workbook_is_formatted_for_finance(tmp_path: Path) -> None:
    write_results(simulation(), tmp_path / "out")
    workbook = openpyxl.load_workbook(tmp_path / "out" / "simulation.xlsx")
    for sheet in workbook:
        assert sheet.freeze_panes == "A2"
        assert all(cell.font.bold for cell in sheet[1])
        assert sheet.column_dimensions["A"].width >= len(str(sheet["A1"].value))
    accounts = workbook["accounts"]
    header = [cell.value for cell in accounts[1]]
    row = {name: cell.number_format for name, cell in zip(header, accounts[2])}
    assert (row["gross_sales"], row["gross_margin"], row["volume"], row["dead_net_per_case"]) == (
        EXCEL_FORMATS["money"], EXCEL_FORMATS["percent"], EXCEL_FORMATS["volume"], EXCEL_FORMATS["per_case"])
    totals = {sheet_row[0].value: sheet_row[1].number_format for sheet_row in workbook["totals"].iter_rows(min_row=2)}
    assert (totals["gross_profit"], totals["promo_roi"]) == (EXCEL_FORMATS["money"], EXCEL_FORMATS["percent"])
    policy = {sheet_row[0].value: sheet_row[3].number_format for sheet_row in workbook["policy"].iter_rows(min_row=2)}
    assert (policy["bud"], policy["mf"]) == (EXCEL_FORMATS["money"], EXCEL_FORMATS["percent"])
    uncertainty = {(r[0].value, r[1].value): r for r in workbook["uncertainty"].iter_rows(min_row=2)}
    assert uncertainty[("total", "gross_margin")][3].number_format == EXCEL_FORMATS["percent"]
    assert uncertainty[("north", "growth_target_reached")][5].value == 0.8


def test_without_draws_there_is_no_uncertainty_file_or_sheet(tmp_path: Path) -> None:
    write_results(simulation(draws=False), tmp_path / "out")
    assert not (tmp_path / "out" / "uncertainty.csv").exists()
    assert "uncertainty" not in openpyxl.load_workbook(tmp_path / "out" / "simulation.xlsx").sheetnames


def test_parquet_is_written_when_pyarrow_is_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pyarrow is optional, so a stand-in records what the writer hands it."""
    handed: dict[str, Any] = {}
    parquet = types.ModuleType("pyarrow.parquet")
    parquet.write_table = lambda table, where: (handed.update(table=table), Path(where).write_bytes(b"PAR1"))  # type: ignore[attr-defined]
    arrow = types.ModuleType("pyarrow")
    arrow.table = lambda columns: columns  # type: ignore[attr-defined]
    arrow.parquet = parquet  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pyarrow", arrow)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", parquet)
    written = write_results(simulation(), tmp_path / "out")
    assert files.PARQUET in written and (tmp_path / "out" / files.PARQUET).exists()
    assert list(handed["table"]) == ["account", "week", *files.ACCOUNT_WEEK_COLUMNS]
    assert handed["table"]["week"] == [1, 2, 3, 1, 2, 3]


def test_a_failed_write_leaves_the_previous_results_and_no_staging_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    write_results(simulation(), out)
    before = {path.name: path.read_bytes() for path in out.iterdir()}

    def broken(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(files, "write_workbook", broken)
    with pytest.raises(OSError, match="disk full"):
        write_results(simulation(draws=False), out)
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before
    assert [path.name for path in tmp_path.iterdir()] == ["out"]
    with pytest.raises(OSError):
        write_results(simulation(), tmp_path / "fresh")
    assert [path.name for path in tmp_path.iterdir()] == ["out"]


def test_a_new_run_replaces_earlier_results_entirely(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_results(simulation(), out)
    write_results(simulation(draws=False), out)
    assert "uncertainty.csv" not in {path.name for path in out.iterdir()}
    assert [path.name for path in tmp_path.iterdir()] == ["out"]


def test_only_a_results_folder_may_be_replaced(tmp_path: Path) -> None:
    assert unsafe_target(tmp_path / "new", RESULT_FILES) is None
    (tmp_path / "project.toml").write_text("", encoding="utf-8")
    problem = unsafe_target(tmp_path, RESULT_FILES)
    assert problem is not None and "project.toml" in problem
    with pytest.raises(FileExistsError):
        write_results(simulation(), tmp_path)
    assert [path.name for path in tmp_path.iterdir()] == ["project.toml"]
    assert "is a file" in (unsafe_target(tmp_path / "project.toml", RESULT_FILES) or "")
