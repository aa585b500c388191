"""Actuals in: located errors and nothing imported on any, re-import replaces and is audited, on SQLite and
PostgreSQL; the demo's Q1 actuals are what their seeded generator makes and hold the deviations it documents."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from test_store_support import db_url_fixture  # noqa: F401 - fixtures

from planner.actuals.read import PromotionsFile, SalesFile, read_actuals
from planner.actuals.store import actuals_from_files, import_actuals, load_actuals
from planner.cli import main
from planner.history import HistoryError
from planner.review import demo_actuals
from planner.rules.scenario import resolve
from planner.rules.schema import RuleSet
from planner.store import audit, identity, roles
from planner.store.database import open_store
from planner.store.errors import Refused

ROOT = Path(__file__).resolve().parents[1]
SALES = ROOT / "history" / "actuals-2027-q1-sales.csv"
PROMOTIONS = ROOT / "history" / "actuals-2027-q1-promotions.csv"


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return resolve(ROOT / "scenarios" / "base.yaml", []).rules


def broken_copy(tmp_path: Path, source: Path, edit: dict[tuple[int, str], str]) -> Path:
    """`source` with cells replaced: (0-based record, column) -> text."""
    frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    for (row, column), value in edit.items():
        frame.loc[row, column] = value
    path = tmp_path / source.name
    frame.to_csv(path, index=False)
    return path


def test_the_demo_files_read_clean(rules: RuleSet) -> None:
    sales, promotions = read_actuals(SALES, rules), read_actuals(PROMOTIONS, rules)
    assert isinstance(sales, SalesFile) and isinstance(promotions, PromotionsFile)
    assert sales.weeks == list(range(1, 14))
    assert len(sales.sales) == 13 * sales.sales.groupby(["account", "product"]).ngroups
    executed = {p.event for p in promotions.promotions}
    assert demo_actuals.CANCELLED not in executed and demo_actuals.UNPLANNED.id in executed


def test_the_generator_is_seeded_and_reproduces_the_files(rules: RuleSet, tmp_path: Path) -> None:
    assert demo_actuals.main([str(ROOT / "scenarios" / "base.yaml"), str(tmp_path)]) == 0
    for committed in (SALES, PROMOTIONS):
        assert (tmp_path / committed.name).read_bytes() == committed.read_bytes(), (
            f"{committed.name} is not what its generator makes from today's rules: run "
            "python -m planner.review.demo_actuals scenarios/base.yaml history/ (history/README.md)")
    sales, promotions = demo_actuals.demo_actuals(rules, 13, 2027)
    again, _ = demo_actuals.demo_actuals(rules, 13, 2027)
    pd.testing.assert_frame_equal(sales, again)
    other, _ = demo_actuals.demo_actuals(rules, 13, 1)
    assert not sales["cases"].equals(other["cases"])
    below = sales[sales["account"] == demo_actuals.BELOW_TREND]
    read = read_actuals(PROMOTIONS, rules)
    assert isinstance(read, PromotionsFile)
    assert len(below) and set(promotions["event"]) == {p.event for p in read.promotions}


@pytest.mark.parametrize(("edit", "column", "words"), [
    ({(3, "cases"): "-2"}, "cases", "negative"),
    ({(5, "invoice_price"): ""}, "invoice_price", "empty"),
    ({(7, "week"): "2026-12-28"}, "week", "outside the plan year"),
    ({(9, "account"): "carefour"}, "account", "did you mean 'carrefour'"),
])
def test_a_bad_sales_row_is_located(rules: RuleSet, tmp_path: Path, edit: dict[tuple[int, str], str], column: str,
                                    words: str) -> None:
    with pytest.raises(HistoryError) as caught:
        read_actuals(broken_copy(tmp_path, SALES, edit), rules)
    row = next(iter(edit))[0] + 2  # the header is row 1
    problem = next(p for p in caught.value.problems if p.column == column)
    assert (problem.row, problem.file.endswith(SALES.name)) == (row, True) and words in problem.message
    assert problem.fix


@pytest.mark.parametrize(("edit", "column", "words"), [
    ({(0, "mechanic"): "tpr-25"}, "mechanic", "unknown mechanic 'tpr-25'"),
    ({(1, "last_week"): "2027-01-04"}, "last_week", "before first_week"),
    ({(2, "funding"): "lots"}, "funding", "not a number"),
    ({(3, "event"): "cf-cny-cola-cans"}, "event", "a second row for event"),
    ({(4, "first_week"): "2028-03-01"}, "first_week", "outside the plan year"),
])
def test_a_bad_promotion_row_is_located(rules: RuleSet, tmp_path: Path, edit: dict[tuple[int, str], str],
                                        column: str, words: str) -> None:
    with pytest.raises(HistoryError) as caught:
        read_actuals(broken_copy(tmp_path, PROMOTIONS, edit), rules)
    problem = next(p for p in caught.value.problems if p.column == column)
    assert problem.row == next(iter(edit))[0] + 2 and words in problem.message


def test_sales_without_invoice_price_are_refused_at_the_header(rules: RuleSet, tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    pd.read_csv(SALES).drop(columns=["invoice_price"]).to_csv(path, index=False)
    with pytest.raises(HistoryError) as caught:
        read_actuals(path, rules)
    assert [(p.row, p.column) for p in caught.value.problems] == [(1, "invoice_price")]


def test_import_replaces_weeks_and_events_and_audits_each_file(db_url: str, rules: RuleSet, tmp_path: Path) -> None:
    sales, promotions = read_actuals(SALES, rules), read_actuals(PROMOTIONS, rules)
    assert isinstance(sales, SalesFile) and isinstance(promotions, PromotionsFile)
    store = open_store(db_url)
    try:
        with store.write() as connection:  # the acting user on PostgreSQL is the login: make it a planner too
            login = identity.login(connection)
            team = tmp_path / "roles.yaml"
            team.write_text("users:\n  alice: [planner]\n  erin: [planner]\n  bob: [approver]\n  dana: [admin]\n"
                            + (f"  {login}: [planner]\n" if login else ""), encoding="utf-8")
            roles.import_file(connection, "dana", roles.read_file(team))
        if login is None:  # a single-user store takes --as as typed: an approver may not import
            with pytest.raises(Refused, match="needs the planner role"):
                import_actuals(store, 2027, [sales], "bob")
        first = import_actuals(store, 2027, [sales, promotions], "alice" if login is None else None)
        assert [(i.kind, i.rows, i.replaced) for i in first] == [("sales", len(sales.sales), 0),
                                                                 ("promotions", len(promotions.promotions), 0)]
        week_two = SalesFile(sales.source, "0" * 64, sales.sales[sales.sales["week"] == 2].assign(cases=1.0))
        again = import_actuals(store, 2027, [week_two], "erin" if login is None else None)
        assert again[0].replaced == len(week_two.sales)
        loaded = load_actuals(store, 2027)
        expected = actuals_from_files(2027, [sales, promotions, week_two])
        key = ["account", "product", "week"]
        pd.testing.assert_frame_equal(loaded.sales.sort_values(key, ignore_index=True),
                                      expected.sales.sort_values(key, ignore_index=True), check_dtype=False)
        assert loaded.promotions == expected.promotions and loaded.last_week == 13
        assert load_actuals(store, 2028).last_week == 0
        with store.read() as connection:
            rows = [row for row in audit.rows(connection) if row.action == "actuals_import"]
        first_actor, second_actor = (login, login) if login else ("alice", "erin")
        assert [(r.actor, r.payload["kind"], r.payload["replaced"]) for r in rows] == [
            (first_actor, "sales", 0), (first_actor, "promotions", 0), (second_actor, "sales", len(week_two.sales))]
    finally:
        store.close()


def test_the_cli_imports_nothing_when_one_file_is_bad(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    demo = tmp_path / "demo"
    for folder in ("rules", "scenarios", "history", ".planner"):
        shutil.copytree(ROOT / folder, demo / folder)
    monkeypatch.chdir(demo)
    (demo / "bad").mkdir()
    bad = broken_copy(demo / "bad", PROMOTIONS, {(0, "account"): "nobody"})
    runner = CliRunner()
    refused = runner.invoke(main, ["actuals", "import", "history/actuals-2027-q1-sales.csv", str(bad), "--scenario",
                                   "scenarios/base.yaml", "--as", "alice", "--db", "plans.db"])
    assert refused.exit_code == 1, refused.output
    assert "bad/actuals-2027-q1-promotions.csv:2 [account]: unknown account 'nobody'" in refused.output
    assert not (demo / "plans.db").exists()
    done = runner.invoke(main, ["actuals", "import", "history/actuals-2027-q1-sales.csv",
                                "history/actuals-2027-q1-promotions.csv", "--scenario", "scenarios/base.yaml",
                                "--as", "alice", "--db", "plans.db"])
    assert done.exit_code == 0, done.output
    shown = runner.invoke(main, ["actuals", "show", "--scenario", "scenarios/base.yaml", "--db", "plans.db",
                                 "--format", "json"])
    assert '"last_week": 13' in shown.output
    usage = runner.invoke(main, ["actuals", "import", "history/actuals-2027-q1-sales.csv", "--scenario",
                                 "scenarios/base.yaml", "--db", "plans.db"], env={"PLANNER_USER": ""})
    assert usage.exit_code == 2


def test_parquet_and_excel_read_as_the_csv_and_excel_problems_name_the_cell(rules: RuleSet, tmp_path: Path) -> None:
    sales = pd.read_csv(SALES, parse_dates=["week"])
    promotions = pd.read_csv(PROMOTIONS, parse_dates=["first_week", "last_week"])
    sales.to_parquet(tmp_path / "sales.parquet", index=False)
    promotions.to_excel(tmp_path / "promotions.xlsx", index=False, sheet_name="Promotions")
    expected = actuals_from_files(2027, [read_actuals(SALES, rules), read_actuals(PROMOTIONS, rules)])
    found = actuals_from_files(2027, [read_actuals(tmp_path / "sales.parquet", rules),
                                      read_actuals(tmp_path / "promotions.xlsx", rules)])
    pd.testing.assert_frame_equal(found.sales, expected.sales)
    assert found.promotions == expected.promotions
    promotions.loc[2, "funding"] = -5
    promotions.to_excel(tmp_path / "bad.xlsx", index=False, sheet_name="Promotions")
    with pytest.raises(HistoryError) as caught:
        read_actuals(tmp_path / "bad.xlsx", rules)
    [problem] = caught.value.problems
    assert (problem.row, problem.column, problem.cell) == (4, "funding", "Promotions!H4")
