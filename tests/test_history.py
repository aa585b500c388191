"""The history loader: the canonical frame it promises, the documented derivation rules, every source format
giving the same frame, row numbers that survive streaming, and the package's place on the ground floor.

Broken files and the exact problems they give are in tests/test_history_fixtures.py.
"""

from __future__ import annotations

import ast
import gzip
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.history import COLUMNS, History, HistoryError, HistoryUnreadable, load_history, split_holdout
from planner.history import read as history_read
from planner.history.derive import RULE, WINDOW_WEEKS, rolling_regular

REPO = Path(__file__).resolve().parent.parent
GOOD = REPO / "tests" / "fixtures" / "history" / "good.csv"
TEXT = ["account", "product", "mechanic", "event", "category", "brand", "channel", "region"]
NUMBERS = ["cases", "price", "regular_price", "feature", "display", "deal", "depth", "invoice_price"]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def row(history: History, account: str, product: str, week: str) -> pd.Series:
    frame = history.frame
    match = frame[(frame["account"] == account) & (frame["product"] == product) & (frame["week"] == week)]
    assert len(match) == 1
    return match.iloc[0]


def test_the_frame_has_the_promised_columns_dtypes_order_and_provenance() -> None:
    history = load_history(GOOD)
    frame = history.frame
    assert list(frame.columns) == [c.name for c in COLUMNS] + ["promoted", "source_row"]
    assert frame["week"].dtype == np.dtype("datetime64[ns]")
    assert all(frame[c].dtype == object for c in TEXT)
    assert all(frame[c].dtype == np.float64 for c in NUMBERS)
    assert frame["promoted"].dtype == bool
    assert frame["mechanic"].tolist() == [None] * len(frame)
    assert frame["invoice_price"].isna().all()
    keys = frame[["account", "product", "week"]]
    assert not keys.duplicated().any()
    assert keys.equals(keys.sort_values(["account", "product", "week"]).reset_index(drop=True))
    assert history.sha256 == hashlib.sha256(GOOD.read_bytes()).hexdigest()
    assert history.regular_price_rule == "given"
    assert row(history, "hyper-a", "cola-can", "2027-01-18")["source_row"] == 4


def test_promoted_weeks_follow_the_documented_rule() -> None:
    history = load_history(GOOD)
    assert row(history, "hyper-a", "cola-can", "2027-01-18")["promoted"]  # feature and deal
    assert row(history, "hyper-a", "aqua-pet", "2027-01-18")["promoted"]  # display only
    assert row(history, "conv-b", "cola-can", "2027-01-18")["promoted"]  # 58 vs 62: 6.5% under, no flag
    assert not row(history, "hyper-a", "aqua-pet", "2027-01-25")["promoted"]  # 29 vs 30: 3.3% under
    assert not row(history, "hyper-a", "cola-can", "2027-01-04")["promoted"]
    assert row(history, "conv-b", "cola-can", "2027-01-18")["depth"] == pytest.approx(1 - 58 / 62)


def test_a_missing_row_is_a_missing_observation_not_zero_sales() -> None:
    frame = load_history(GOOD).frame
    aqua = frame[(frame["account"] == "hyper-a") & (frame["product"] == "aqua-pet")]
    assert aqua["week"].dt.strftime("%Y-%m-%d").tolist() == ["2027-01-04", "2027-01-18", "2027-01-25"]


def test_regular_price_is_the_rolling_upper_quartile_when_absent(tmp_path: Path) -> None:
    weeks = pd.date_range("2027-01-04", periods=30, freq="7D")
    prices = [10.0] * 10 + [8.0] * 3 + [10.0] * 7 + [12.0] * 10  # a 3-week cut, then a permanent rise
    frame = pd.DataFrame({"week": weeks.strftime("%Y-%m-%d"), "account": "a", "product": "p", "cases": 5.0,
                          "price": prices})
    frame.to_csv(tmp_path / "h.csv", index=False)
    history = load_history(tmp_path / "h.csv")
    assert history.regular_price_rule == RULE
    regular = history.frame["regular_price"].tolist()
    assert regular[10:13] == [10.0] * 3  # the cut weeks see the regular price around them
    assert history.frame["promoted"].tolist()[10:13] == [True] * 3
    assert regular[0:4] == [10.0] * 4 and regular[25:] == [12.0] * 5
    assert regular[14:17] == [10.0] * 3
    assert regular[17:20] == [12.0] * 3  # the documented cost: the 3 weeks before a rise look promoted


def test_one_high_average_price_does_not_become_the_regular_price(tmp_path: Path) -> None:
    """A panel's weekly price is revenue / units: a week with few card or coupon shoppers averages above the
    regular price. The highest price of the window would take it as the regular price for 13 weeks."""
    weeks = pd.date_range("2027-01-04", periods=20, freq="7D")
    prices = [10.0] * 20
    prices[8] = 10.6
    prices[15] = 7.5  # a promotion still shows
    frame = pd.DataFrame({"week": weeks.strftime("%Y-%m-%d"), "account": "a", "product": "p", "cases": 5.0,
                          "price": prices})
    frame.to_csv(tmp_path / "h.csv", index=False)
    history = load_history(tmp_path / "h.csv")
    assert history.frame["regular_price"].tolist() == [10.0] * 20
    assert history.frame["promoted"].tolist() == [False] * 15 + [True] + [False] * 4


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from([6.0, 8.0, 9.5, 10.0, 10.0, 10.0, 12.0]), min_size=1, max_size=40),
                min_size=1, max_size=4))
def test_the_derived_regular_price_is_a_price_of_its_window_at_or_above_its_median(series: list[list[float]]) -> None:
    half = WINDOW_WEEKS // 2
    frame = pd.DataFrame([{"account": f"a{s}", "product": "p", "week": np.datetime64("2027-01-04") + np.timedelta64(7 * w, "D"),
                           "price": price} for s, prices in enumerate(series) for w, price in enumerate(prices)])
    regular = rolling_regular(frame)
    position = 0
    for prices in series:
        for w in range(len(prices)):
            window = sorted(prices[max(0, w - half):w + half + 1])
            assert regular[position] in window
            assert regular[position] >= window[(len(window) - 1) // 2]  # at least the (lower) median
            assert regular[position] == window[-1] or len(window) > 4  # a short window gives its highest
            position += 1


def test_empty_regular_prices_are_filled_by_the_rule_and_said_so(tmp_path: Path) -> None:
    path = write(tmp_path / "h.csv", "week,account,product,cases,price,regular_price\n"
                 "2027-01-04,a,p,5,10,10\n2027-01-11,a,p,5,8,\n2027-01-18,a,p,5,10,10\n")
    history = load_history(path)
    assert history.regular_price_rule.startswith("given; 1 empty cell(s) filled with the upper quartile")
    assert row(history, "a", "p", "2027-01-11")["regular_price"] == 10.0


def test_a_column_map_and_loose_headers_read_an_erp_export_unedited(tmp_path: Path) -> None:
    data = write(tmp_path / "export.csv", "Week Start,STORE_NUM,Sku,UNITS,Price,Feature,CATEGORY\n"
                 "2027-01-04,s1,p1,5,10,yes,Cereal\n2027-01-11,s1,p1,7,10,0.5,Cereal\n")
    columns = write(tmp_path / "map.yaml", "columns:\n  week: Week Start\n  account: STORE_NUM\n"
                    "  product: Sku\n  cases: UNITS\n")
    history = load_history(data, columns)
    assert history.frame["cases"].tolist() == [5.0, 7.0]
    assert history.frame["feature"].tolist() == [1.0, 0.5]  # 'yes' and a share of the week
    assert history.frame["category"].tolist() == ["Cereal", "Cereal"]  # 'CATEGORY' matched loosely
    assert history.frame["display"].tolist() == [0.0, 0.0]  # absent flag: 0


def _same_data(left: pd.DataFrame, right: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(left.drop(columns="source_row"), right.drop(columns="source_row"))


def test_parquet_excel_and_gzip_give_the_same_frame(tmp_path: Path) -> None:
    import openpyxl

    expected = load_history(GOOD).frame
    raw = pd.read_csv(GOOD)
    gz = tmp_path / "good.csv.gz"
    with gzip.open(gz, "wb") as handle:
        handle.write(GOOD.read_bytes())
    _same_data(load_history(gz).frame, expected)
    table = pa.Table.from_pandas(raw.assign(week=pd.to_datetime(raw["week"]).dt.date), preserve_index=False)
    pq.write_table(table, tmp_path / "good.parquet")
    parquet = load_history(tmp_path / "good.parquet")
    _same_data(parquet.frame, expected)
    assert parquet.frame["source_row"].min() == 1  # Parquet has no header row
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sales"
    sheet.append(list(raw.columns))
    for values in raw.itertuples(index=False):
        cells = list(values)
        cells[0] = pd.Timestamp(cells[0]).to_pydatetime()
        sheet.append(cells)
    book.save(tmp_path / "good.xlsx")
    excel = load_history(tmp_path / "good.xlsx")
    _same_data(excel.frame, expected)
    assert excel.frame["source_row"].tolist() == expected["source_row"].tolist()


def test_an_excel_problem_names_its_cell(tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sales"
    sheet.append(["week", "account", "product", "cases", "price"])
    sheet.append(["2027-01-04", "a", "p", 5, 10])
    sheet.append(["2027-01-11", "a", "p", "five", 10])
    book.save(tmp_path / "bad.xlsx")
    with pytest.raises(HistoryError) as raised:
        load_history(tmp_path / "bad.xlsx")
    (problem,) = raised.value.problems
    assert (problem.row, problem.column, problem.cell) == (3, "cases", "Sales!D3")


def test_ids_stored_as_numbers_read_as_ids(tmp_path: Path) -> None:
    table = pa.table({"week": pa.array([pd.Timestamp("2027-01-04").date()] * 2, pa.date32()),
                      "account": pa.array([389, 2277], pa.int64()),
                      "product": pa.array([1111009477.0, 1111009497.0]),
                      "cases": pa.array([3, 4], pa.int32()), "price": [1.5, 2.5]})
    pq.write_table(table, tmp_path / "ids.parquet")
    frame = load_history(tmp_path / "ids.parquet").frame
    assert frame["account"].tolist() == ["2277", "389"]
    assert sorted(frame["product"]) == ["1111009477", "1111009497"]


def test_a_truncated_file_cannot_be_read_and_says_so(tmp_path: Path) -> None:
    weeks = pd.date_range("2027-01-04", periods=3000, freq="7D").strftime("%Y-%m-%d")
    text = "week,account,product,cases,price\n" + "".join(f"{w},a,p,5,10\n" for w in weeks)
    packed = gzip.compress(text.encode())
    (tmp_path / "cut.csv.gz").write_bytes(packed[: len(packed) // 2])
    with pytest.raises(HistoryUnreadable) as raised:
        load_history(tmp_path / "cut.csv.gz")
    assert "cannot read the file to its end" in raised.value.problems[0].message


def test_a_byte_order_mark_does_not_hide_the_first_column(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.read_bytes())
    _same_data(load_history(path).frame, load_history(GOOD).frame)


def test_rows_keep_their_numbers_across_streamed_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    weeks = pd.date_range("2027-01-04", periods=300, freq="7D").strftime("%Y-%m-%d")
    lines = ["week,account,product,cases,price"] + [f"{w},a,p,5,10" for w in weeks]
    lines[250] = lines[250].replace(",5,", ",-1,")  # line 251 of the file
    path = write(tmp_path / "long.csv", "\n".join(lines) + "\n")
    monkeypatch.setattr(history_read, "CSV_BLOCK_BYTES", 512)  # many small batches
    with pytest.raises(HistoryError) as raised:
        load_history(path)
    assert [(p.row, p.column) for p in raised.value.problems] == [(251, "cases")]
    lines[250] = lines[250].replace(",-1,", ",5,")
    write(path, "\n".join(lines) + "\n")
    streamed = load_history(path).frame
    monkeypatch.setattr(history_read, "CSV_BLOCK_BYTES", 8 << 20)
    pd.testing.assert_frame_equal(streamed, load_history(path).frame)


def test_a_file_with_every_row_wrong_gives_a_readable_report(tmp_path: Path) -> None:
    weeks = pd.date_range("2027-01-04", periods=50, freq="7D").strftime("%Y-%m-%d")
    path = write(tmp_path / "bad.csv", "week,account,product,cases,price\n"
                 + "".join(f"{w},a,p,-1,10\n" for w in weeks))
    with pytest.raises(HistoryError) as raised:
        load_history(path)
    problems = raised.value.problems
    assert len(problems) == 11  # the first 10 rows, then one line counting the rest
    assert sum("... and 40 more row(s) with the same problem" in p.message for p in problems) == 1


def test_split_holdout_takes_the_last_weeks_and_derives_training_prices_from_training_rows(tmp_path: Path) -> None:
    weeks = pd.date_range("2027-01-04", periods=20, freq="7D")
    prices = [10.0] * 17 + [14.0] * 3  # the held-out weeks carry a higher price
    frame = pd.DataFrame({"week": weeks.strftime("%Y-%m-%d"), "account": "a", "product": "p", "cases": 5.0,
                          "price": prices})
    frame.to_csv(tmp_path / "h.csv", index=False)
    history = load_history(tmp_path / "h.csv")
    assert history.frame["regular_price"].iloc[16] == 14.0  # on the whole history the window sees the future
    training, holdout = split_holdout(history, 3)
    assert len(training.frame) == 17 and len(holdout.frame) == 3
    assert training.frame["week"].max() < holdout.frame["week"].min()
    assert (training.frame["regular_price"] == 10.0).all()  # no held-out price leaks into the fit
    assert not training.frame["promoted"].any()
    assert (training.source, training.sha256) == (history.source, history.sha256)
    with pytest.raises(ValueError):
        split_holdout(history, 0)


FORBIDDEN = ("planner.compile", "planner.economics", "planner.simulate", "planner.optimize", "planner.cli",
             "planner.check", "planner.validate", "planner.calibrate")


def test_the_history_package_imports_nothing_above_the_ground_floor() -> None:
    for path in sorted((REPO / "planner" / "history").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else (
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else [])
            for name in names:
                assert not name.startswith(FORBIDDEN), f"{path.name} imports {name}"
