"""Results files (planner.report.files) on a small hand-made simulation: every view is written the same way to CSV
and Excel (units in the headers, money rounded to cents), names beside ids and the per-SKU table when the rules
are at hand, the workbook is formatted for finance, Parquet (one file per view, plain names, full precision) is
optional, compare writes its own folder, and a failed write changes nothing.
"""

from __future__ import annotations

import csv
import math
from dataclasses import fields, replace
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from planner.folders import unsafe_target
from planner.report import files
from planner.report.files import (
    COMPARISON_FILES,
    EXCEL_FORMATS,
    RESULT_FILES,
    Detail,
    views,
    write_comparison,
    write_results,
)
from planner.results import Kpis, PolicyCheck, Simulation, Spread, Uncertainty

WEEKS = 3


def kpis(scale: float) -> Kpis:
    sums = {item.name: scale for item in fields(Kpis)} | {"budget_spend": scale / 10}
    sums.update(gross_sales=100 * scale, trade_spend=20 * scale, net_sales=80 * scale, cogs=50 * scale,
                gross_profit=30 * scale, rebates=399999.9999999999 * scale)
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


NORTH = Detail({"north": ("North Mart", "北方超市"), "south": ("South Mart", "")},
               pd.DataFrame({"account": ["north", "north"], "account_name": ["North Mart"] * 2,
                             "account_name_zh": ["北方超市"] * 2, "product": ["cola-can"] * 2,
                             "product_name": ["Cola can"] * 2, "product_name_zh": ["可乐"] * 2, "week": [1, 2],
                             "mechanic": ["tpr-20", ""], "volume": [10.123456, 5.0],
                             "incremental_volume": [4.0, 0.0], "order_suggestion": [12.0, 4.5],
                             "gross_sales": [600.004, 300.0], "trade_spend": [60.0, 30.0],
                             "net_sales": [540.0, 270.0], "gross_profit": [240.0, 120.0]}))


def test_every_view_is_written_as_csv_and_as_a_sheet(tmp_path: Path) -> None:
    written = write_results(simulation(), tmp_path / "out", NORTH)
    out = tmp_path / "out"
    assert set(written) == {path.name for path in out.iterdir()} == RESULT_FILES
    workbook = openpyxl.load_workbook(out / "simulation.xlsx")
    for view in views(simulation(), NORTH):
        rows = read_csv(out / f"{view.name}.csv")
        sheet = [list(row) for row in workbook[view.sheet].iter_rows(values_only=True)]
        assert rows[0] == sheet[0] == view.headers
        assert len(rows) == len(sheet) == len(view.rows) + 1
        for number, (text_row, cell_row, row) in enumerate(zip(rows[1:], sheet[1:], view.rows)):
            for column, (text, cell, value) in enumerate(zip(text_row, cell_row, row)):
                if isinstance(value, float) and math.isfinite(value):
                    decimals = files.DECIMALS.get(view.kind(number, column))
                    assert float(text) == cell == (round(value, decimals) if decimals is not None else value)
                elif value is None or (isinstance(value, float) and math.isnan(value)):
                    assert (text, cell) == ("", None)  # NaN has no portable spelling: an empty cell
    assert len(read_csv(out / "account_weeks.csv")) == 2 * WEEKS + 1
    assert (out / "overrides.txt").read_text(encoding="utf-8") == "budgets.bud.max = 1000 (command line)\n"


def test_headers_carry_units_money_is_rounded_and_names_sit_beside_ids(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_results(simulation(), out, NORTH)
    accounts = read_csv(out / "accounts.csv")
    assert accounts[0][:4] == ["account", "account_name", "account_name_zh", "volume (cases)"]
    assert "gross_sales (CNY)" in accounts[0] and "gross_margin (fraction)" in accounts[0]
    assert "dead_net_per_case (CNY/case)" in accounts[0]
    rebates = accounts[0].index("rebates (CNY)")
    assert [row[rebates] for row in accounts[1:]] == ["400000.0", "800000.0"]  # not 399999.9999999999
    assert accounts[1][:3] == ["north", "North Mart", "北方超市"]
    totals = {row[0]: row[1:] for row in read_csv(out / "totals.csv")}
    assert totals["kpi"] == ["value", "unit"] and totals["volume"][1] == "cases" and totals["rebates"] == [
        "1200000.0", "CNY"]
    assert read_csv(out / "policy.csv")[0][5] == "unit"
    skus = read_csv(out / "product_weeks.csv")
    assert skus[0][:3] == ["account", "account_name", "account_name_zh"] and "order_suggestion (cases)" in skus[0]
    assert skus[1][skus[0].index("volume (cases)")] == "10.12" and skus[1][skus[0].index("mechanic")] == "tpr-20"


def test_compare_writes_totals_with_deltas_and_accounts_per_scenario(tmp_path: Path) -> None:
    cut = replace(simulation(), scenario="cut", totals=kpis(2.0))
    written = write_comparison([simulation(), cut], tmp_path / "cmp", NORTH)
    assert set(written) == {path.name for path in (tmp_path / "cmp").iterdir()} == COMPARISON_FILES
    totals = read_csv(tmp_path / "cmp" / "comparison.csv")
    assert totals[0] == ["kpi", "unit", "tiny", "cut", "delta cut"]
    assert next(row for row in totals if row[0] == "gross_profit")[2:] == ["90.0", "60.0", "-30.0"]
    accounts = read_csv(tmp_path / "cmp" / "comparison_accounts.csv")
    assert accounts[0][:4] == ["scenario", "account", "account_name", "account_name_zh"] and len(accounts) == 5


def test_the_workbook_is_formatted_for_finance(tmp_path: Path) -> None:
    write_results(simulation(), tmp_path / "out")
    workbook = openpyxl.load_workbook(tmp_path / "out" / "simulation.xlsx")
    for sheet in workbook:
        assert sheet.freeze_panes == "A2"
        assert all(cell.font.bold for cell in sheet[1])
        assert sheet.column_dimensions["A"].width >= len(str(sheet["A1"].value))
    accounts = workbook["accounts"]
    header = [str(cell.value).split(" (")[0] for cell in accounts[1]]
    row = {name: cell.number_format for name, cell in zip(header, accounts[2])}
    assert (row["gross_sales"], row["gross_margin"], row["volume"], row["dead_net_per_case"]) == (
        EXCEL_FORMATS["money"], EXCEL_FORMATS["percent"], EXCEL_FORMATS["volume"], EXCEL_FORMATS["per_case"])
    totals = {sheet_row[0].value: sheet_row[1].number_format for sheet_row in workbook["totals"].iter_rows(min_row=2)}
    assert (totals["gross_profit"], totals["promo_roi"]) == (EXCEL_FORMATS["money"], EXCEL_FORMATS["percent"])
    policy = {sheet_row[0].value: sheet_row[3].number_format for sheet_row in workbook["policy"].iter_rows(min_row=2)}
    assert (policy["bud"], policy["mf"]) == (EXCEL_FORMATS["money"], EXCEL_FORMATS["percent"])
    uncertainty = {(r[0].value, r[1].value): r for r in workbook["uncertainty"].iter_rows(min_row=2)}
    assert uncertainty[("total", "gross_margin")][3].number_format == EXCEL_FORMATS["percent"]
    assert uncertainty[("north", "growth_target_reached")][6].value == 0.8


def test_without_draws_there_is_no_uncertainty_file_or_sheet(tmp_path: Path) -> None:
    write_results(simulation(draws=False), tmp_path / "out")
    assert not (tmp_path / "out" / "uncertainty.csv").exists()
    assert "uncertainty" not in openpyxl.load_workbook(tmp_path / "out" / "simulation.xlsx").sheetnames


def test_parquet_keeps_plain_names_and_full_precision(tmp_path: Path) -> None:
    import pyarrow.parquet

    written = write_results(simulation(), tmp_path / "out", NORTH)
    for view in views(simulation(), NORTH):
        assert f"{view.name}.parquet" in written
    account_weeks = pyarrow.parquet.read_table(tmp_path / "out" / files.PARQUET).to_pydict()
    assert list(account_weeks) == ["account", "account_name", "account_name_zh", "week", *files.ACCOUNT_WEEK_COLUMNS]
    assert account_weeks["week"] == [1, 2, 3, 1, 2, 3]
    accounts = pyarrow.parquet.read_table(tmp_path / "out" / "accounts.parquet").to_pydict()
    assert accounts["rebates"] == [399999.9999999999, 799999.9999999998]


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
