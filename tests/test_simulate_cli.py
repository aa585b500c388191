"""`planner simulate` and `planner compare` on the shipped demo: the JSON contract, the accounting identities the
numbers must obey, results folders, and refusals (exit 1/2, located findings, nothing written).

Only what must hold is asserted: identities of the P&L, sums over accounts, determinism under a seed, equality of
the shorthand options and their `--set` spelling. Demo numbers change as the rules are tuned, so none is pinned.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner, Result

from planner.cli import main
from planner.results import MONEY_AND_VOLUME
from planner.rules.plan import plan_yaml
from planner.rules.scenario import resolve

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "scenarios" / "base.yaml"
BUDGET_CUT = ROOT / "scenarios" / "budget-cut-10.yaml"
SUMMER = ROOT / "scenarios" / "summer-push.yaml"
CONTRACT = ("volume", "gross_sales", "trade_spend", "net_sales", "cogs", "gross_profit", "gross_margin", "promo_roi",
            "budget_used")
TRADE_SPEND_PARTS = ("off_invoice", "promo_funding", "event_costs", "fixed_discounts", "vividness", "rebates")
RESULT_FILES = {"totals.csv", "accounts.csv", "account_weeks.csv", "product_weeks.csv", "policy.csv", "uncertainty.csv",
                "overrides.txt", "simulation.xlsx"}


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(arg) for arg in args])


def simulated(*args: str | Path) -> dict[str, Any]:
    result = run("simulate", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)


@pytest.fixture(scope="module")
def base() -> dict[str, Any]:
    return simulated(BASE, "--draws", "0")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A copy of the demo rules with a scenarios folder, so a test can write its own scenario or plan files."""
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    (tmp_path / "scenarios").mkdir()
    return tmp_path


# --- the JSON contract --------------------------------------------------------------------------------------


def test_json_holds_the_contract_keys(base: dict[str, Any]) -> None:
    assert {"scenario", "name", "year", "currency", "plan_source", "totals", "accounts", "policy", "growth",
            "uncertainty", "applied_overrides"} <= set(base)
    assert (base["scenario"], base["currency"], base["plan_source"]) == ("base-2027", "CNY", "rules")
    assert set(CONTRACT) <= set(base["totals"])
    accounts = resolve(BASE).rules.accounts
    assert [item["id"] for item in base["accounts"]] == [account.id for account in accounts]
    for item in base["accounts"]:
        assert set(base["totals"]) <= set(item)
    assert {"rule", "kind", "scope", "actual", "limit", "ok", "detail"} == set(base["policy"][0])
    assert base["uncertainty"] is None
    assert [line for line in base["applied_overrides"] if "(command line" in line] == [
        "options.draws = 0 (command line, <command line>:1:1) replaces 200 (scenarios/base.yaml:11:12)"]


def test_the_p_and_l_adds_up_for_the_total_and_every_account(base: dict[str, Any]) -> None:
    for kpis in [base["totals"], *base["accounts"]]:
        assert close(kpis["net_sales"], kpis["gross_sales"] - kpis["trade_spend"])
        assert close(kpis["gross_profit"], kpis["net_sales"] - kpis["cogs"])
        assert close(kpis["trade_spend"], sum(kpis[part] for part in TRADE_SPEND_PARTS))
        assert close(kpis["gross_margin"], kpis["gross_profit"] / kpis["net_sales"])
        assert close(kpis["trade_spend_pct"], kpis["trade_spend"] / kpis["gross_sales"])


def test_accounts_sum_to_the_totals(base: dict[str, Any]) -> None:
    for kpi in (*MONEY_AND_VOLUME, "budget_used"):
        assert close(sum(item[kpi] for item in base["accounts"]), base["totals"][kpi]), kpi


def test_a_budget_cut_does_not_raise_budget_use_and_lowers_the_limit(base: dict[str, Any]) -> None:
    cut = simulated(BUDGET_CUT, "--draws", "0")
    assert cut["totals"]["budget_used"] <= base["totals"]["budget_used"] + 1e-6

    def limit(document: dict[str, Any]) -> float:
        return float(next(c["limit"] for c in document["policy"] if c["rule"] == "bud-total-2027"))

    assert limit(cut) < limit(base)


def test_the_same_seed_gives_identical_json() -> None:
    first = run("simulate", BASE, "--draws", "20", "--seed", "7", "--format", "json")
    second = run("simulate", BASE, "--draws", "20", "--seed", "7", "--format", "json")
    assert first.exit_code == 0, first.output
    assert first.stdout == second.stdout
    uncertainty = json.loads(first.stdout)["uncertainty"]
    assert (uncertainty["draws"], uncertainty["seed"]) == (20, 7)
    spread = uncertainty["totals"]["gross_profit"]
    assert spread["p10"] <= spread["p50"] <= spread["p90"]


def test_the_draws_shorthand_equals_setting_the_option() -> None:
    assert simulated(BASE, "--set", "options.draws=20") == simulated(BASE, "--draws", "20")


def test_a_set_override_is_applied_and_logged(base: dict[str, Any]) -> None:
    """Also: a consistency finding (account minimums now exceed the total, PP410) blocks the run unless
    --allow-findings makes it a deliberate what-if."""
    refused = run("simulate", BASE, "--draws", "0", "--set", "budgets.bud-total-2027.max=1000")
    assert refused.exit_code == 1 and "error PP410" in refused.stderr and refused.stdout == ""
    tight = simulated(BASE, "--draws", "0", "--set", "budgets.bud-total-2027.max=1000", "--allow-findings")
    [check] = [c for c in tight["policy"] if c["rule"] == "bud-total-2027"]
    assert (check["limit"], check["ok"]) == (1000, False)
    assert any(line.startswith("budgets.bud-total-2027.max = 1000 (command line") for line in
               tight["applied_overrides"])
    assert tight["totals"] == base["totals"]  # a budget is a limit on the plan, not a driver of it


# --- text ---------------------------------------------------------------------------------------------------


def test_text_is_plain_and_formatted_for_finance() -> None:
    result = run("simulate", BASE, "--draws", "60", "--set", "budgets.bud-total-2027.max=1M")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "\x1b[" not in text
    assert result.stderr == ""  # no progress bar when stderr is not a terminal
    assert text.startswith("base-2027 - Base plan 2027\nfiscal 2027, 52 weeks, CNY; plan: rules")
    for heading in ("Totals", "Accounts", "Policy checks:", "Uncertainty: P10 / P50 / P90 over 60 draws (seed 2027)",
                    "Applied overrides"):
        assert f"\n{heading}" in text
    failing = next(line for line in text.splitlines() if "bud-total-2027" in line and "budget_max" in line)
    assert failing.split()[0] == "FAIL" and failing.split()[-1] == "1,000,000"
    gross = next(line for line in text.splitlines() if line.strip().startswith("Gross sales "))
    assert gross.split()[-1] == "CNY" and "," in gross.split()[-2]
    assert any(line.split()[-1].endswith("%") for line in text.splitlines() if "Gross margin %" in line)


# --- results folder -----------------------------------------------------------------------------------------


def test_out_writes_every_file_and_a_workbook_with_every_view(tmp_path: Path) -> None:
    out = tmp_path / "results"
    result = run("simulate", BASE, "--draws", "20", "--out", out, "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    accounts = len(document["accounts"])
    assert {path.name for path in out.iterdir()} >= RESULT_FILES
    assert [path.name for path in tmp_path.iterdir()] == ["results"]  # no staging folder left behind
    assert len((out / "accounts.csv").read_text().splitlines()) == accounts + 1
    assert len((out / "account_weeks.csv").read_text().splitlines()) == accounts * 52 + 1
    assert (out / "account_weeks.csv").read_text().splitlines()[0] == (
        "account,account_name,account_name_zh,week,volume (cases),gross_sales (CNY),trade_spend (CNY),net_sales (CNY),"
        "gross_profit (CNY),budget_spend (CNY),order_suggestion (cases)")
    assert (out / "overrides.txt").read_text().splitlines()[-1] == (
        "options.draws = 20 (command line, <command line>:1:1) replaces 200 (scenarios/base.yaml:11:12)")
    workbook = openpyxl.load_workbook(out / "simulation.xlsx")
    assert workbook.sheetnames == ["totals", "accounts", "account x week", "product x week", "policy", "uncertainty"]
    assert workbook["accounts"].max_row == accounts + 1
    assert workbook["account x week"].max_row == accounts * 52 + 1
    assert workbook["policy"].max_row == len(document["policy"]) + 1
    totals = {row[0]: row[1] for row in workbook["totals"].iter_rows(min_row=2, values_only=True)}
    assert close(totals["gross_profit"], document["totals"]["gross_profit"])


def test_a_failing_scenario_exits_1_with_a_located_finding_and_writes_nothing(workspace: Path) -> None:
    scenario = workspace / "scenarios" / "bad.yaml"
    scenario.write_text("scenario:\n  id: bad\n  rules: ../rules\n  overrides:\n"
                        "    budgets.bud-total-2027.maximum: 1000\n", encoding="utf-8")
    out = workspace / "results"
    result = run("simulate", scenario, "--out", out)
    assert result.exit_code == 1
    assert result.stdout == ""
    first = result.stderr.splitlines()[0]  # PP110 (unknown key) or PP501 (unknown target): either names the place
    assert re.search(r"scenarios/bad\.yaml:5:5: error PP(110|501) .*'maximum'", first), first
    assert "Traceback" not in result.output
    assert not out.exists()
    assert {path.name for path in workspace.iterdir()} == {"rules", "scenarios"}


def test_a_failing_run_leaves_earlier_results_as_they_were(tmp_path: Path) -> None:
    out = tmp_path / "results"
    assert run("simulate", BASE, "--draws", "0", "--out", out).exit_code == 0
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    assert run("simulate", BASE, "--set", "budgets.nope.max=1", "--out", out).exit_code == 2  # a bad --set cannot run
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before


def test_out_refuses_a_folder_that_holds_other_files(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("keep me", encoding="utf-8")
    result = run("simulate", BASE, "--draws", "0", "--out", tmp_path)
    assert result.exit_code == 2
    assert "holds files that are not results (notes.md)" in result.stderr
    assert [path.name for path in tmp_path.iterdir()] == ["notes.md"]


# --- plans --------------------------------------------------------------------------------------------------


def test_a_plan_that_drops_a_locked_event_exits_1(tmp_path: Path) -> None:
    events = list(resolve(BASE).rules.events)
    dropped = next(event for event in events if event.locked)
    plan = tmp_path / "plan.yaml"
    plan.write_text(plan_yaml([e for e in events if e is not dropped], "base-2027", "planner"), encoding="utf-8")
    result = run("simulate", BASE, "--plan", plan)
    assert result.exit_code == 1
    assert f"PP424 the plan drops locked event '{dropped.id}'" in result.stderr
    assert result.stdout == ""


def test_a_plan_of_the_rules_own_events_reproduces_the_rules(base: dict[str, Any], tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(plan_yaml(list(resolve(BASE).rules.events), "base-2027", "planner"), encoding="utf-8")
    document = simulated(BASE, "--draws", "0", "--plan", plan)
    assert document["plan_source"].endswith("plan.yaml")
    for kpi, value in base["totals"].items():
        assert close(document["totals"][kpi], value), kpi


def test_a_plan_buys_vividness_at_the_accounts_it_lists(base: dict[str, Any], tmp_path: Path) -> None:
    """`vividness:` narrows each listed item to its accounts (none: not bought); the fees and the shelf-share
    report follow, and listing every item as the rules offer it changes nothing."""
    rules = resolve(BASE).rules
    events = list(rules.events)
    plan = tmp_path / "plan.yaml"
    plan.write_text(plan_yaml(events, "base-2027", "planner", {"st-hyper-water": ("walmart",),
                                                                 "cooler-lawson": ()}), encoding="utf-8")
    document = simulated(BASE, "--draws", "0", "--plan", plan)
    assert document["totals"]["vividness"] < base["totals"]["vividness"]
    water = [t for t in document["shelf_targets"] if t["target"] == "st-hyper-water"]
    assert [t["account"] for t in water] == ["walmart"]
    lawson, before = ({a["id"]: a for a in d["accounts"]}["lawson"] for d in (document, base))
    assert lawson["vividness"] < before["vividness"] and lawson["volume"] < before["volume"]
    offered = {"st-hyper-water": ("carrefour", "rt-mart", "walmart"), "cooler-lawson": ("lawson",)}
    plan.write_text(plan_yaml(events, "base-2027", "planner", offered), encoding="utf-8")
    assert close(simulated(BASE, "--draws", "0", "--plan", plan)["totals"]["gross_profit"],
                 base["totals"]["gross_profit"])


def test_a_plan_buying_vividness_outside_its_scope_unknown_or_dropping_locked_exits_1(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(plan_yaml(list(resolve(BASE).rules.events), "base-2027", "planner",
                              {"cooler-lawson": ("familymart",), "st-nowhere": ("walmart",)}), encoding="utf-8")
    lines = plan.read_text(encoding="utf-8").splitlines()
    result = run("simulate", BASE, "--plan", plan)
    assert result.exit_code == 1 and result.stdout == ""
    lawson = next(n for n, line in enumerate(lines, 1) if "cooler-lawson" in line)
    nowhere = next(n for n, line in enumerate(lines, 1) if "st-nowhere" in line)
    assert re.search(rf"plan.yaml:{lawson}:\d+: .*PP425 'cooler-lawson' is bought at familymart", result.stderr)
    assert re.search(rf"plan.yaml:{nowhere}:\d+: .*PP201 'st-nowhere' is not a shelf target", result.stderr)
    plan.write_text(plan_yaml(list(resolve(BASE).rules.events), "base-2027", "planner", {"cooler-familymart": ()}),
                    encoding="utf-8")
    result = run("simulate", BASE, "--plan", plan)
    assert result.exit_code == 1 and "PP426 the plan drops locked 'cooler-familymart' at familymart" in result.stderr


def test_a_plan_named_in_the_scenario_is_relative_to_the_scenario_file(workspace: Path) -> None:
    events = list(resolve(BASE).rules.events)
    dropped = next(event for event in events if not event.locked)
    kept = [event for event in events if event is not dropped]
    (workspace / "scenarios" / "plan.yaml").write_text(plan_yaml(kept, "x", "planner"), encoding="utf-8")
    scenario = workspace / "scenarios" / "planned.yaml"
    scenario.write_text("scenario:\n  id: planned\n  options: {plan: plan.yaml, draws: 0}\n", encoding="utf-8")
    document = simulated(scenario)
    assert document["plan_source"].endswith("plan.yaml")
    assert document["totals"]["event_costs"] <= simulated(BASE, "--draws", "0")["totals"]["event_costs"]


@pytest.mark.parametrize("args", [["simulate", "missing.yaml"], ["simulate", str(BASE), "--plan", "missing.yaml"],
                                  ["compare", str(BASE)]])
def test_what_cannot_run_exits_2(args: list[str]) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Traceback" not in result.output


# --- compare ------------------------------------------------------------------------------------------------


def test_compare_json_deltas_are_the_differences_of_the_totals() -> None:
    result = run("compare", BASE, BUDGET_CUT, SUMMER, "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    first, *others = document["scenarios"]
    assert [item["id"] for item in document["scenarios"]] == ["base-2027", "budget-cut-10", "summer-push"]
    assert all(item["uncertainty"] is None for item in document["scenarios"])  # deterministic unless --draws
    assert [(d["scenario"], d["vs"]) for d in document["deltas"]] == [(o["id"], "base-2027") for o in others]
    for other, change in zip(others, document["deltas"]):
        for kpi, value in other["totals"].items():
            assert close(change["totals"][kpi], value - first["totals"][kpi]), kpi
        for kpi in ("gross_profit", "trade_spend", "volume"):
            assert close(sum(item[kpi] for item in change["accounts"].values()), change["totals"][kpi])


def test_compare_text_has_a_column_per_scenario_and_deltas() -> None:
    result = run("compare", BASE, SUMMER, "--set", "budgets.bud-total-2027.max=1M")
    assert result.exit_code == 0, result.output
    header = next(line for line in result.stdout.splitlines() if line.strip().startswith("KPI"))
    assert header.split() == ["KPI", "Unit", "base-2027", "summer-push", "Δ", "summer-push", "Δ%", "summer-push"]
    failures = [line.split()[:2] for line in result.stdout.split("Policy failures")[1].splitlines()]
    assert ["base-2027", "bud-total-2027"] in failures and ["summer-push", "bud-total-2027"] in failures


def test_compare_out_writes_the_comparison_and_refuses_a_foreign_folder(tmp_path: Path) -> None:
    out = tmp_path / "compared"
    result = run("compare", BASE, str(ROOT / "scenarios" / "no-bogo-carrefour.yaml"), "--out", out)
    assert result.exit_code == 0, result.output
    header, *rows = (out / "comparison.csv").read_text(encoding="utf-8").splitlines()
    assert header == "kpi,unit,base-2027,no-bogo-carrefour,delta no-bogo-carrefour"
    volume = next(row.split(",") for row in rows if row.startswith("volume,"))
    assert volume[1] == "cases" and float(volume[4]) == pytest.approx(float(volume[3]) - float(volume[2]), abs=0.011)
    assert "家乐福华东" in (out / "comparison_accounts.csv").read_text(encoding="utf-8")
    assert openpyxl.load_workbook(out / "comparison.xlsx").sheetnames == ["comparison", "accounts"]
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "mine.txt").write_text("keep", encoding="utf-8")
    refused = run("compare", BASE, BASE, "--out", tmp_path / "notes")
    assert refused.exit_code == 2 and "mine.txt" in refused.output
