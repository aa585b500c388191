"""The plan workbook (planner plan export / import) on the demo: the grid, a round trip that gives back the
identical plan file, a planner's two edits read back, validated and simulated, and located refusals that write
nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from openpyxl import load_workbook

from planner.cli import main
from planner.cli.common import simulate
from planner.prepare import prepare
from planner.rules.findings import Severity
from planner.rules.plan import load_plan, plan_yaml
from planner.rules.scenario import resolve
from planner.workbook.layout import CALENDAR, FIRST_LINE_ROW, FIRST_WEEK_COLUMN, KIND_COLOURS, LOCKED_COLOUR

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "base.yaml"


def run(*arguments: str) -> Result:
    return CliRunner().invoke(main, list(arguments), catch_exceptions=False)


@pytest.fixture(scope="module")
def plan_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's own calendar as a plan file, with a negotiated saving, a funding share and vividness listed:
    every part of the format the workbook must carry back."""
    rules = resolve(SCENARIO, []).rules
    events = list(rules.events)
    negotiated = next(k for k, event in enumerate(events) if event.id == "cf-labour-day-lemonlime")
    events[negotiated] = events[negotiated].model_copy(update={"depth": 0.25, "funding": 0.8})
    events.append(events[0].model_copy(update={"id": "cf-extra", "locked": False, "weeks": (20, 22),
                                               "depth": 0.2537}))
    path = tmp_path_factory.mktemp("plan") / "plan.yaml"
    path.write_text(plan_yaml(events, "base-2027", "optimizer", {"st-hyper-water": ("walmart",)}), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def workbook(plan_file: Path) -> Path:
    out = plan_file.with_name("plan.xlsx")
    result = run("plan", "export", str(plan_file), "--scenario", str(SCENARIO), "--out", str(out))
    assert result.exit_code == 0, result.output
    return out


def _row(sheet: object, account: str, group: str) -> int:
    for row in range(FIRST_LINE_ROW, sheet.max_row + 1):  # type: ignore[attr-defined]
        if sheet.cell(row, 1).value == account and sheet.cell(row, 3).value == group:  # type: ignore[attr-defined]
            return row
    raise AssertionError(f"no row for {account} x {group}")


def test_calendar_grid_holds_mechanic_and_saving_coloured_locked_marked_with_drop_downs(workbook: Path) -> None:
    book = load_workbook(workbook)
    assert book.sheetnames[:5] == ["Calendar", "Events", "Budgets", "Policy", "Read me"]
    sheet = book[CALENDAR]
    assert sheet["E1"].value == "Q1" and sheet["E2"].value == "2027-01" and str(sheet["E3"].value).startswith("W1 ")
    assert any(str(merged).startswith("E1:") for merged in sheet.merged_cells.ranges)
    row = _row(sheet, "carrefour", "pg-cola-cans")
    assert sheet.cell(row, 2).value.startswith("Carrefour")
    locked = sheet.cell(row, FIRST_WEEK_COLUMN + 3)  # week 4: cf-cny-cola-cans, locked
    assert locked.value == "tpr-20-feature 20%" and locked.font.bold and locked.comment is not None
    assert locked.fill.fgColor.rgb.endswith(LOCKED_COLOUR)
    extra = sheet.cell(row, FIRST_WEEK_COLUMN + 19)  # week 20: the added event with a negotiated saving
    lemonlime = sheet.cell(_row(sheet, "carrefour", "pg-lemonlime"), FIRST_WEEK_COLUMN + 16)
    assert lemonlime.value == "tpr-20-feature 25% funding 80%"
    assert extra.value == "tpr-20-feature 25.37%" and extra.fill.fgColor.rgb.endswith(KIND_COLOURS["price_cut"])
    lists = [v for v in sheet.data_validations.dataValidation if f"E{row}:" in str(v.sqref)]
    assert len(lists) == 1 and lists[0].type == "list" and lists[0].formula1.startswith("_lines!")
    allowed = [cell.value for cell in book["_lines"][row - FIRST_LINE_ROW + 1][2:] if cell.value]
    assert "tpr-20-feature 20%" in allowed and "tpr-10 10%" in allowed
    events = book["Events"]
    header = [cell.value for cell in events[1]]
    assert "Promotion spend (CNY)" in header and "ROI" in header
    spend = [row[header.index("Promotion spend (CNY)")] for row in events.iter_rows(min_row=2, values_only=True)]
    assert len(spend) == len(load_plan(Path(str(workbook).replace(".xlsx", ".yaml"))).events)
    assert all(isinstance(value, int) for value in spend) and sum(spend) > 0
    budgets = book["Budgets"]
    assert [cell.value for cell in budgets[1]][:6] == ["Budget", "Kind", "Scope", "Used (CNY)", "Limit (CNY)",
                                                       "Headroom (CNY)"]
    assert budgets.max_row > 1 and book["Policy"].max_row > 1


def test_round_trip_without_edit_gives_the_identical_plan_file(plan_file: Path, workbook: Path,
                                                               tmp_path: Path) -> None:
    back = tmp_path / "back.yaml"
    result = run("plan", "import", str(workbook), "--out", str(back))
    assert result.exit_code == 0, result.output
    assert back.read_bytes() == plan_file.read_bytes()


def test_two_edited_cells_are_imported_validated_and_simulated(workbook: Path, tmp_path: Path) -> None:
    book = load_workbook(workbook)
    sheet = book[CALENDAR]
    row = _row(sheet, "walmart", "pg-water")
    sheet.cell(row, FIRST_WEEK_COLUMN + 31).value = None  # wm-summer-water loses week 32
    sheet.cell(row, FIRST_WEEK_COLUMN + 9).value = "tpr-10 10%"  # a price cut in week 10
    edited = tmp_path / "edited.xlsx"
    book.save(edited)
    plan = tmp_path / "edited.yaml"
    result = run("plan", "import", str(edited), "--out", str(plan))
    assert result.exit_code == 0, result.output
    events = {event.id: event for event in load_plan(plan).events}
    assert "wm-summer-water" not in events
    assert events["walmart-pg-water-w10"].mechanic == "tpr-10" and events["walmart-pg-water-w10"].weeks == (10,)
    assert [e.weeks for e in events.values() if e.account == "walmart" and e.product_group == "pg-water"
            and e.mechanic == "multibuy-3for2"] == [(31,)]
    assert load_plan(plan).source == "planner"
    prepared = prepare(SCENARIO, [f"options.plan={plan}", "options.draws=0"])
    assert not [f for f in prepared.findings + prepared.consistency if f.severity is Severity.ERROR]
    before = simulate(prepare(SCENARIO, ["options.draws=0"]))
    after = simulate(prepared)
    assert after.plan_source.endswith("edited.yaml")
    assert after.account_weeks["walmart"]["volume"][9] > before.account_weeks["walmart"]["volume"][9]
    assert after.accounts["carrefour"] != before.accounts["carrefour"]  # the fixture's plan differs at carrefour
    result = run("simulate", str(SCENARIO), "--plan", str(plan), "--draws", "0", "--format", "json")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("cell", "value", "expected"), [
    ("walmart/pg-water/10", "tpr-1O 10%", "'tpr-1O' is not a mechanic of the rules; did you mean 'tpr-10'?"),
    ("walmart/pg-water/10", "tpr-10 ten", "'ten' is not a saving"),
    ("walmart/pg-water/10", 12, "holds 12, not a mechanic"),
    ("carrefour/pg-cola-cans/4", None, "week 4 of locked event cf-cny-cola-cans is 'empty'"),
    ("carrefour/pg-cola-cans/5", "tpr-20 20%", "week 5 of locked event cf-cny-cola-cans is 'tpr-20 20%'"),
])
def test_a_wrong_cell_is_refused_located_and_nothing_is_written(workbook: Path, tmp_path: Path, cell: str,
                                                               value: object, expected: str) -> None:
    account, group, week = cell.split("/")
    book = load_workbook(workbook)
    sheet = book[CALENDAR]
    row = _row(sheet, account, group)
    target = sheet.cell(row, FIRST_WEEK_COLUMN + int(week) - 1)
    target.value = value
    edited = tmp_path / "edited.xlsx"
    book.save(edited)
    out = tmp_path / "plan.yaml"
    result = CliRunner().invoke(main, ["plan", "import", str(edited), "--out", str(out)])
    assert result.exit_code == 1
    assert f"Calendar!{target.coordinate}: " in result.output and expected in result.output
    assert "(fix: " in result.output and not out.exists()
    assert not list(tmp_path.glob(".plan.yaml.partial-*"))


def test_a_mechanic_outside_its_scope_names_the_ones_allowed(workbook: Path, tmp_path: Path) -> None:
    book = load_workbook(workbook)
    sheet = book[CALENDAR]
    row = next(r for r in range(FIRST_LINE_ROW, sheet.max_row + 1)
               if sheet.cell(r, 1).value == "familymart")
    target = sheet.cell(row, FIRST_WEEK_COLUMN + 6)
    target.value = "tpr-20-feature 20%"  # hypermarkets and supermarkets only
    edited = tmp_path / "edited.xlsx"
    book.save(edited)
    result = CliRunner().invoke(main, ["plan", "import", str(edited), "--out", str(tmp_path / "plan.yaml")])
    assert result.exit_code == 1
    assert f"Calendar!{target.coordinate}: 'tpr-20-feature' may not run at" in result.output
    assert "use one of: " in result.output


def test_not_a_workbook_cannot_run(tmp_path: Path) -> None:
    fake = tmp_path / "plan.xlsx"
    fake.write_text("not a workbook", encoding="utf-8")
    result = CliRunner().invoke(main, ["plan", "import", str(fake), "--out", str(tmp_path / "plan.yaml")])
    assert result.exit_code == 2 and "is not an Excel workbook" in result.output
    assert not (tmp_path / "plan.yaml").exists()


def test_export_refuses_what_it_cannot_export(plan_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A name that is not .xlsx is a usage error; a plan whose scenario is not in ./scenarios asks for --scenario;
    a scenario with error findings is refused as simulate refuses it; nothing is written in any case."""
    out = tmp_path / "plan.xlsx"
    wrong = CliRunner().invoke(main, ["plan", "export", str(SCENARIO), "--out", str(tmp_path / "plan.csv")])
    assert wrong.exit_code == 2 and "ends in .xlsx" in wrong.output
    monkeypatch.chdir(tmp_path)
    lost = CliRunner().invoke(main, ["plan", "export", str(plan_file), "--out", str(out)])
    assert lost.exit_code == 2 and "--scenario FILE" in lost.output
    broken = CliRunner().invoke(main, ["plan", "export", str(SCENARIO), "--out", str(out),
                                       "--set", "budgets.bud-total-2027.max=1"])
    assert broken.exit_code == 1 and "refused" in broken.output
    assert not out.exists() and not list(tmp_path.glob(".plan.xlsx.partial-*"))


def test_a_scenario_naming_a_plan_round_trips_that_plan(plan_file: Path, tmp_path: Path) -> None:
    """options.plan in the scenario file: the workbook carries that plan (vividness listing included) back."""
    import shutil

    for folder in ("rules", "scenarios"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    shutil.copy(plan_file, tmp_path / "scenarios" / "chosen-plan.yaml")
    scenario = tmp_path / "scenarios" / "chosen.yaml"
    scenario.write_text("scenario:\n  id: chosen\n  extends: base.yaml\n  options: {plan: chosen-plan.yaml}\n",
                        encoding="utf-8")
    book, back = tmp_path / "chosen.xlsx", tmp_path / "back.yaml"
    assert run("plan", "export", str(scenario), "--out", str(book)).exit_code == 0
    assert run("plan", "import", str(book), "--out", str(back)).exit_code == 0
    assert back.read_bytes() == plan_file.read_bytes()
