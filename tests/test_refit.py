"""The refit (issue 17, docs/review.md "Refit"): `planner calibrate RULES HISTORY... [--actuals]` folds executed
weeks into the calibration, from files or from the plan store (SQLite and PostgreSQL), names every part of its data
in calibrated.yaml, reports before -> after for the parameters the added weeks moved, and refuses overlapping or
misaligned files with located problems.

The fits run on three of the demo's accounts (history/demo-sales.csv and the Q1 2027 actuals), so each stays a few
seconds; the stored actuals are compared with the demo's actuals file on every account."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from test_store_support import db_url_fixture  # noqa: F401 - fixtures

from planner.actuals.read import PromotionsFile, SalesFile, read_actuals
from planner.actuals.store import import_actuals, load_actuals
from planner.calibrate.command import Request, run_calibrate, with_mechanic_flags
from planner.calibrate.fit import Fit, fit
from planner.cli import main
from planner.cli.calibrate import store_actuals
from planner.history import load_history
from planner.history.load import sha256_of
from planner.review.as_history import actuals_history
from planner.rules.load import display_name, load_rules
from planner.rules.schema import RuleSet
from planner.store import identity, roles
from planner.store.database import Store, open_store

ROOT = Path(__file__).resolve().parents[1]
SALES = ROOT / "history" / "actuals-2027-q1-sales.csv"
PROMOTIONS = ROOT / "history" / "actuals-2027-q1-promotions.csv"
ACCOUNTS = ("carrefour", "yonghui", "walmart")
KEY = ["account", "product", "week"]


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules([ROOT / "rules"]).rules


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo's history and Q1 actuals of three accounts, as files."""
    folder = tmp_path_factory.mktemp("history")
    out = []
    for source, name in ((ROOT / "history" / "demo-sales.csv", "sales.csv"), (SALES, "actuals-q1.csv")):
        frame = pd.read_csv(source, dtype=str, keep_default_na=False)
        frame[frame["account"].isin(ACCOUNTS)].to_csv(folder / name, index=False)
        out.append(folder / name)
    return out[0], out[1]


def stored(db_url: str, tmp_path: Path, rules: RuleSet, accounts: tuple[str, ...] | None = None) -> Store:
    """A plan store holding the demo's Q1 actuals (of `accounts` only, when given), imported by a planner."""
    sales, promotions = read_actuals(SALES, rules), read_actuals(PROMOTIONS, rules)
    assert isinstance(sales, SalesFile) and isinstance(promotions, PromotionsFile)
    if accounts is not None:
        sales = SalesFile(sales.source, sales.sha256, sales.sales[sales.sales["account"].isin(accounts)])
        promotions = PromotionsFile(promotions.source, promotions.sha256,
                                    tuple(p for p in promotions.promotions if p.account in accounts))
    store = open_store(db_url)
    with store.write() as connection:
        login = identity.login(connection)
        team = tmp_path / "roles.yaml"
        team.write_text("users:\n  alice: [planner]\n  dana: [admin]\n" + (f"  {login}: [planner]\n" if login else ""),
                        encoding="utf-8")
        roles.import_file(connection, "dana", roles.read_file(team))
    import_actuals(store, 2027, [sales, promotions], None if login else "alice")
    return store


def test_stored_actuals_read_as_the_demo_actuals_file(db_url: str, tmp_path: Path, rules: RuleSet) -> None:
    """Dates, shelf prices, depths, mechanics and invoice prices rebuilt from the store and the rules are the
    file's (which the demo generator rounded: prices to 0.01, depths to 1e-4, invoice prices to 1e-4)."""
    store = stored(db_url, tmp_path, rules)
    try:
        rebuilt = actuals_history(rules, load_actuals(store, 2027))
    finally:
        store.close()
    original = load_history(SALES, rules=rules)
    a, b = rebuilt.frame, original.frame
    assert rebuilt.source == "plan store actuals 2027" and len(a) == len(b) == 1820
    pd.testing.assert_frame_equal(a[KEY], b[KEY])
    np.testing.assert_array_equal(a["cases"], b["cases"])
    for column, tolerance in (("price", 0.006), ("regular_price", 0.006), ("depth", 1e-4), ("invoice_price", 1e-3)):
        np.testing.assert_allclose(a[column], b[column], atol=tolerance, err_msg=column)
    for column in ("mechanic", "event", "category", "brand", "channel", "region"):
        assert a[column].fillna("").tolist() == b[column].fillna("").tolist(), column
    assert a["promoted"].tolist() == b["promoted"].tolist() and a["promoted"].sum() > 0


def test_a_named_mechanic_gives_its_flags(files: tuple[Path, Path], rules: RuleSet) -> None:
    history = with_mechanic_flags(load_history(files[1], rules=rules), rules)
    frame = history.frame
    feature = frame["mechanic"] == "tpr-20-feature"
    assert feature.any() and (frame.loc[feature, "feature"] == 1).all() and (frame.loc[feature, "deal"] == 0).all()
    plain = frame["mechanic"].isna()
    assert (frame.loc[plain, ["feature", "display", "deal"]] == 0).all().all()


def test_refit_from_the_store_reports_what_moved_and_names_its_data(db_url: str, tmp_path: Path, rules: RuleSet,
                                                                   files: tuple[Path, Path]) -> None:
    history, _ = files
    calls: list[tuple[pd.DataFrame, Fit]] = []

    def recording(frame: pd.DataFrame) -> Fit:
        result = fit(frame)
        calls.append((frame, result))
        return result

    store = stored(db_url, tmp_path, rules, ACCOUNTS)
    store.close()
    out, err = io.StringIO(), io.StringIO()
    request = Request([ROOT / "rules"], history, holdout=0, out=tmp_path / "refit", format="json",
                      command="planner calibrate rules sales.csv --actuals", actuals=store_actuals(db_url))
    assert run_calibrate(request, fitter=recording, out=out, err=err) == 0, err.getvalue()
    report = json.loads(out.getvalue())
    refit = report["refit"]
    base = load_history(history, rules=rules).frame
    added = len(pd.read_csv(files[1]))
    assert refit["base"] == display_name(history) and refit["added"] == ["plan store actuals 2027"]
    assert (refit["base_rows"], refit["added_rows"]) == (len(base), added)
    # two fits: everything, then the first history alone over the same weeks
    (joined, after), (alone, before) = calls
    assert len(joined) == len(base) + added
    pd.testing.assert_frame_equal(alone[KEY].reset_index(drop=True), base[KEY])
    assert (joined.loc[joined["mechanic"] == "tpr-20-feature", "feature"] == 1).all()
    moved = {m["parameter"]: m for m in refit["moved"]}
    expected = {name for name in before.intervals if name in after.intervals
                and round(before.intervals[name].value, 3) != round(after.intervals[name].value, 3)}
    assert set(moved) == expected and refit["compared"] == len(set(before.intervals) & set(after.intervals))
    assert any(name.startswith("lift.") for name in moved)
    for name, m in moved.items():
        old, new = before.intervals[name], after.intervals[name]
        assert m["before"]["value"] == pytest.approx(old.value) and m["before"]["low"] == pytest.approx(old.low)
        assert m["after"] == report["parameters"][name]
        assert m["outside_before_interval"] == (not old.low <= new.value <= old.high)
    header = (tmp_path / "refit" / "calibrated.yaml").read_text(encoding="utf-8").split("\nseasonality:")[0]
    assert f"# data part 1: {display_name(history)} sha256 {sha256_of(history)} ({len(base)} rows," in header
    assert "# data part 2: plan store actuals 2027 sha256 " in header
    assert "# window: 2025-01-06 .. 2027-03-29" in header


def test_refit_from_files_prints_before_and_after(tmp_path: Path, files: tuple[Path, Path]) -> None:
    history, actuals = files
    result = CliRunner().invoke(main, ["calibrate", str(ROOT / "rules"), str(history), str(actuals), "--holdout", "0",
                                       "--out", str(tmp_path / "refit")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    start = next(k for k, line in enumerate(lines) if line.startswith("refit: "))
    assert "sales.csv (" in lines[start] and "+ " in lines[start] and "actuals-q1.csv (" in lines[start]
    count = int(lines[start + 1].split()[0])
    rows = lines[start + 3:start + 3 + count]
    assert count > 0 and len(rows) == count
    for row in rows:  # name, before [low, high], after [low, high], '*' when outside the earlier interval
        name, values = row.split(maxsplit=1)
        assert name.startswith(("lift.", "elasticity[", "dip[", "cannibalization["))
        numbers = [float(x) for x in values.replace("[", " ").replace("]", " ").replace(",", " ").replace("*", " ").split()]
        before, low, high, after = numbers[0], numbers[1], numbers[2], numbers[3]
        assert round(before, 3) != round(after, 3) and low <= before <= high
        assert row.rstrip().endswith("*") == (not low <= after <= high)
    assert (tmp_path / "refit" / "calibrated.yaml").is_file()


def test_overlapping_or_misaligned_files_are_located_and_nothing_is_written(tmp_path: Path,
                                                                           files: tuple[Path, Path]) -> None:
    history, actuals = files
    runner = CliRunner()
    twice = runner.invoke(main, ["calibrate", str(ROOT / "rules"), str(history), str(actuals), str(actuals),
                                 "--out", str(tmp_path / "out")])
    assert twice.exit_code == 1
    assert "actuals-q1.csv:2 [week]: carrefour x " in twice.output and "is also in" in twice.output
    assert "(row 2)" in twice.output and "keep each week in one file only" in twice.output
    shifted = pd.read_csv(actuals, dtype=str, keep_default_na=False)
    shifted["week"] = (pd.to_datetime(shifted["week"]) + pd.Timedelta(days=1)).dt.strftime("%Y-%m-%d")
    shifted.to_csv(tmp_path / "shifted.csv", index=False)
    weekday = runner.invoke(main, ["calibrate", str(ROOT / "rules"), str(history), str(tmp_path / "shifted.csv"),
                                   "--out", str(tmp_path / "out")])
    assert weekday.exit_code == 1
    assert "shifted.csv:2 [week]: week 2027-01-05 falls on another weekday" in weekday.output
    assert not (tmp_path / "out").exists()


def test_actuals_from_a_store_without_them_cannot_run(tmp_path: Path, files: tuple[Path, Path]) -> None:
    empty = open_store(str(tmp_path / "plans.db"))
    empty.close()
    result = CliRunner().invoke(main, ["calibrate", str(ROOT / "rules"), str(files[0]), "--actuals",
                                       "--db", str(tmp_path / "plans.db")])
    assert result.exit_code == 2
    assert "--actuals: the plan store holds no sell-in for 2027; import it first" in result.output
    absent = CliRunner().invoke(main, ["calibrate", str(ROOT / "rules"), str(files[0]), "--actuals",
                                       "--db", str(tmp_path / "none" / "plans.db")])
    assert absent.exit_code == 2
    alone = CliRunner().invoke(main, ["calibrate", str(ROOT / "rules"), str(files[0]), "--db", "plans.db"])
    assert alone.exit_code == 2 and "give --actuals too" in alone.output
