"""`planner init DIR --from-history FILE`: the repository it bootstraps validates, writing is all-or-nothing,
and the dunnhumby converter maps the real panel (the real-data test skips when ../shared is absent).
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from benchmarks.frat_to_history import convert
from planner.cli import main
from planner.history import load_history
from planner.history.command import init_from_history
from planner.history.write import MARKER, CannotWrite
from planner.rules.load import load_rules
from planner.validate import validate

REPO = Path(__file__).resolve().parent.parent
FRAT = REPO.parent / "shared" / "data" / "breakfast-at-the-frat"


def synthetic_history(path: Path, accounts: int = 3, products: int = 5, weeks: int = 70, seed: int = 0) -> Path:
    """A small history with seasonality, price cuts, features and displays, and a few missing weeks."""
    rng = np.random.default_rng(seed)
    rows = []
    start = pd.Timestamp("2025-01-06")
    for a in range(accounts):
        for p in range(products):
            level = rng.uniform(20, 200)
            for w in range(weeks):
                if rng.random() < 0.03:
                    continue  # a missing observation
                deal = rng.random() < 0.15
                depth = rng.choice([0.1, 0.2, 0.3]) if deal else 0.0
                feature = float(deal and rng.random() < 0.5)
                display = float(rng.random() < 0.05)
                season = 1 + 0.2 * np.sin(2 * np.pi * w / 52)
                cases = level * season * (1 - depth) ** -2.5 * (1.5 if feature else 1) * rng.lognormal(0, 0.1)
                rows.append({"week": (start + pd.Timedelta(weeks=w)).date().isoformat(), "account": f"acct-{a}",
                             "product": f"sku-{p}", "cases": round(cases), "price": round(5 * (1 - depth), 2),
                             "regular_price": 5.0, "feature": feature, "display": display, "deal": float(deal),
                             "category": ["Soft Drinks", "Water"][p % 2], "brand": f"Brand {p % 3}",
                             "channel": ["Hyper", "Convenience"][a % 2], "region": "East"})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def errors_of(folder: Path) -> list[str]:
    report = validate([folder / "rules", folder / "scenarios"])
    return [f"{f.location}: {f.code} {f.message}" for f in report.findings]


def test_the_bootstrapped_repository_validates_and_follows_the_history(tmp_path: Path) -> None:
    history = load_history(synthetic_history(tmp_path / "history.csv"))
    written = init_from_history(history, tmp_path / "repo")
    assert sorted(p.relative_to(tmp_path / "repo").as_posix() for p in written) == [
        "rules/accounts.yaml", "rules/baselines.yaml", "rules/calendar_rules.yaml", "rules/master.yaml",
        "rules/mechanics.yaml", "rules/products.yaml", "rules/response.yaml", "scenarios/base.yaml"]
    assert errors_of(tmp_path / "repo") == []
    rules = validate([tmp_path / "repo" / "rules"])
    assert rules.errors == 0
    loaded = load_rules([tmp_path / "repo" / "rules"]).rules
    assert loaded.calendar is not None
    assert loaded.calendar.start == (history.frame["week"].max() + pd.Timedelta(days=7)).date()
    assert {a.id for a in loaded.accounts} == set(history.accounts)
    assert {p.id for p in loaded.products} == set(history.products)
    assert {g.id for g in loaded.product_groups} == {f"pg-{p}" for p in history.products}
    assert {c.id for c in loaded.categories} == {"soft-drinks", "water"}
    assert {m.kind for m in loaded.mechanics} == {"feature", "display", "price_cut"}
    assert sorted(m.depth or 0 for m in loaded.mechanics if m.kind == "price_cut") == pytest.approx([0.1, 0.2, 0.3])
    assert len(loaded.seasonality) == 2  # a year and more of history: one profile per category
    assert all(p.cogs < p.list_price for p in loaded.products)
    assert all(-6 <= r.elasticity <= -0.5 for r in loaded.response)
    assert {r.kind for r in loaded.calendar_rules} == {"event_count", "max_consecutive"}
    record = json.loads((tmp_path / "repo" / MARKER).read_text(encoding="utf-8"))
    assert record["sha256"] == history.sha256


def test_a_history_with_only_the_required_columns_bootstraps_too(tmp_path: Path) -> None:
    path = tmp_path / "bare.csv"
    pd.read_csv(synthetic_history(tmp_path / "full.csv", weeks=20))[
        ["week", "account", "product", "cases", "price"]].to_csv(path, index=False)
    init_from_history(load_history(path), tmp_path / "repo")
    assert errors_of(tmp_path / "repo") == []
    text = (tmp_path / "repo" / "rules" / "accounts.yaml").read_text(encoding="utf-8")
    assert "channel: unassigned" in text and "region: unassigned" in text


def test_planner_init_on_the_command_line_then_planner_validate(tmp_path: Path) -> None:
    history = synthetic_history(tmp_path / "history.csv", weeks=30)
    out = tmp_path / "repo"
    run = [sys.executable, "-m", "planner"]
    made = subprocess.run([*run, "init", str(out), "--from-history", str(history), "--currency", "USD"],
                          capture_output=True, text=True, check=False, cwd=REPO)
    assert made.returncode == 0, made.stdout + made.stderr
    assert "next: planner validate" in made.stdout
    checked = subprocess.run([*run, "validate", str(out / "rules"), str(out / "scenarios")],
                             capture_output=True, text=True, check=False, cwd=REPO)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "currency: USD" in (out / "rules" / "master.yaml").read_text(encoding="utf-8")


def test_init_replaces_an_unedited_earlier_init_and_refuses_everything_else(tmp_path: Path) -> None:
    history = synthetic_history(tmp_path / "history.csv", weeks=20)
    out = tmp_path / "repo"
    runner = CliRunner()
    assert runner.invoke(main, ["init", str(out), "--from-history", str(history)]).exit_code == 0
    again = runner.invoke(main, ["init", str(out), "--from-history", str(history)])
    assert again.exit_code == 0, again.output  # an earlier init, unedited: replaced
    products = out / "rules" / "products.yaml"
    products.write_text(products.read_text(encoding="utf-8") + "# my note\n", encoding="utf-8")
    edited = runner.invoke(main, ["init", str(out), "--from-history", str(history)])
    assert edited.exit_code == 2 and "was edited since" in edited.stderr
    assert products.read_text(encoding="utf-8").endswith("# my note\n")  # untouched
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine", encoding="utf-8")
    refused = runner.invoke(main, ["init", str(other), "--from-history", str(history)])
    assert refused.exit_code == 2 and "holds no earlier `planner init`" in refused.stderr
    assert sorted(p.name for p in other.iterdir()) == ["notes.txt"]
    missing = runner.invoke(main, ["init", str(tmp_path / "new"), "--from-history", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2 and not (tmp_path / "new").exists()


def test_a_failing_check_leaves_nothing_behind(tmp_path: Path) -> None:
    history = load_history(synthetic_history(tmp_path / "history.csv", weeks=10))
    with pytest.raises(CannotWrite):
        init_from_history(history, tmp_path / "repo", check=lambda folder: ["a problem"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.csv"]  # no repo, no staging folder


def fake_frat(folder: Path) -> Path:
    """Three weeks of two stores x two UPCs in dunnhumby's layout, with a missing price and base price."""
    folder.mkdir()
    sales = pd.DataFrame({
        "week": 14256.0, "week_end_date": ["2009-01-14", "2009-01-21", "2009-01-28"] * 4,
        "store_id": [389] * 6 + [2277] * 6, "upc_id": ([1111009477] * 3 + [7192100339] * 3) * 2,
        "units": [14.0, 44, 24, 3, 4, 5, 1, 2, 3, 4, 5, 6], "visits": 1.0, "hhs": 1.0, "spend": 1.0,
        "price": [1.17, 0.99, None, 5.0, 5.0, 5.0, 1.2, 1.2, 1.2, 4.0, 4.0, 4.0],
        "base_price": [1.18, 1.18, 1.18, 5.0, None, 5.0, 1.2, 1.2, 1.2, 5.0, 5.0, 5.0],
        "feature": [0.0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "display": [1.0] + [0.0] * 11,
        "tpr_only": [0.0] * 9 + [1.0] * 3})
    with gzip.open(folder / "transaction.csv.gz", "wt", encoding="utf-8") as handle:
        sales.to_csv(handle, index=False)
    pd.DataFrame({"upc_id": [1111009477, 7192100339], "description": ["PL MINI TWIST PRETZELS", "PIZZA"],
                  "manufacturer": ["PRIVATE LABEL", "TOMBSTONE"], "category": ["BAG SNACKS", "FROZEN PIZZA"],
                  "sub_category": ["PRETZELS", "PIZZA"], "product_size": ["15 OZ", "20 OZ"], "volume_ml": None,
                  "mass_oz": [15.0, 20.0]}).to_csv(folder / "product.csv", index=False)
    pd.DataFrame({"store_id": [389, 2277], "store_name": ["SILVERLAKE", "ANDERSON"],
                  "address_city_name": ["ERLANGER", "CINCINNATI"], "address_state_prov_code": ["KY", "OH"],
                  "msa_code": 17140.0, "seg_value_name": ["MAINSTREAM", "UPSCALE"], "parking_space_qty": None,
                  "sales_area_size_num": 1.0, "avg_weekly_baskets": 1.0}).to_csv(folder / "store.csv", index=False)
    return folder


def test_the_dunnhumby_converter_maps_stores_upcs_and_promotions(tmp_path: Path) -> None:
    history = convert(fake_frat(tmp_path / "frat"))
    assert len(history) == 11  # the row without a shelf price is dropped
    first = history.iloc[0]
    assert (first["week"], first["account"], first["product"]) == ("2009-01-08", "store-2277", "upc-1111009477")
    assert set(history["channel"]) == {"mainstream", "upscale"} and set(history["region"]) == {"KY", "OH"}
    assert set(history["category"]) == {"Bag Snacks", "Frozen Pizza"}
    assert history["regular_price"].isna().sum() == 1
    assert history.loc[history["account"] == "store-2277", "deal"].sum() == 3
    history.to_csv(tmp_path / "frat.csv", index=False)
    loaded = load_history(tmp_path / "frat.csv")
    assert loaded.regular_price_rule.startswith("given; 1 empty cell")
    init_from_history(loaded, tmp_path / "repo")
    assert errors_of(tmp_path / "repo") == []


@pytest.mark.skipif(not (FRAT / "transaction.csv.gz").is_file(), reason="Breakfast at the Frat is not in ../shared")
def test_breakfast_at_the_frat_becomes_a_second_demo(tmp_path: Path) -> None:
    convert(FRAT).to_parquet(tmp_path / "frat.parquet", index=False)
    history = load_history(tmp_path / "frat.parquet")
    frame = history.frame
    assert (frame["account"].nunique(), frame["product"].nunique(), frame["week"].nunique()) == (77, 55, 156)
    assert len(frame) == 524_950 - 24  # the converter drops the rows without a positive shelf price
    init_from_history(history, tmp_path / "repo")
    assert errors_of(tmp_path / "repo") == []


def test_the_column_map_in_docs_history_reads_an_export_with_those_headers(tmp_path: Path) -> None:
    text = (REPO / "docs" / "history.md").read_text(encoding="utf-8")
    start = text.index("```yaml\n", text.index("<!-- example: columns.yaml -->")) + len("```yaml\n")
    (tmp_path / "columns.yaml").write_text(text[start:text.index("```", start)], encoding="utf-8")
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "Notes"
    sheet = book.create_sheet("Sales")
    sheet.append(["Store", "SKU", "Week Start", "Units Sold", "Shelf Price", "Base Price", "In Circular", "Extra"])
    sheet.append(["s1", "p1", "2027-01-04", 10, 4.0, 5.0, "Y", "ignored"])
    sheet.append(["s1", "p1", "2027-01-11", 4, 5.0, 5.0, "N", "ignored"])
    book.save(tmp_path / "export.xlsx")
    history = load_history(tmp_path / "export.xlsx", tmp_path / "columns.yaml")
    assert history.frame["cases"].tolist() == [10.0, 4.0]
    assert history.frame["feature"].tolist() == [1.0, 0.0]
    assert history.frame["promoted"].tolist() == [True, False]
    assert history.regular_price_rule == "given"


def test_ids_near_the_length_limit_still_make_valid_rule_ids(tmp_path: Path) -> None:
    long_account, long_product = "a" * 78, "p" * 80
    path = tmp_path / "long.csv"
    path.write_text("week,account,product,cases,price,category\n"
                    f"2027-01-04,{long_account},{long_product},5,10,{'Very Long Category Name ' * 5}\n"
                    f"2027-01-11,{long_account},{long_product},6,10,{'Very Long Category Name ' * 5}\n",
                    encoding="utf-8")
    init_from_history(load_history(path), tmp_path / "repo")
    assert errors_of(tmp_path / "repo") == []
