"""planner.api: its docstrings run as doctests, docs/api.md's notebook runs cell by cell, scenarios with errors
are refused with their findings, options.plan is honoured, and the tables are tidy and add up to the typed
results."""

from __future__ import annotations

import contextlib
import doctest
import io
import re
import shutil
from pathlib import Path

import pytest
from tiny_world import write_tiny_world

from planner import api
from planner.rules.plan import load_plan, plan_yaml

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def test_docstring_examples_run() -> None:
    outcome = doctest.testmod(api, optionflags=doctest.ELLIPSIS)
    assert outcome.attempted >= 12 and outcome.failed == 0


def test_the_notebook_in_docs_runs_cell_by_cell() -> None:
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    cells = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert len(cells) >= 6
    namespace: dict[str, object] = {}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for cell in cells:
            exec(compile(cell, "docs/api.md", "exec"), namespace)  # noqa: S102 - the documented example
    output = printed.getvalue()
    assert "base-2027" in output and "PP" in output and output.count("plan.yaml") == 1


def test_a_scenario_with_errors_is_refused_with_its_findings() -> None:
    with pytest.raises(api.ScenarioError) as refused:
        api.simulate(api.load("scenarios/base.yaml", sets=["budgets.bud-total-2027.max=1"]))
    assert refused.value.findings and all(f.severity.value == "error" for f in refused.value.findings)
    assert refused.value.findings[0].location.line >= 1
    allowed = api.load("scenarios/base.yaml", sets=["budgets.bud-total-2027.max=1"], allow_findings=True)
    assert allowed.id == "base-2027"


def test_options_plan_is_honoured(tmp_path: Path) -> None:
    for folder in ("rules", "scenarios"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    base = api.load("scenarios/base.yaml")
    kept = [event for event in base.events if event.locked]
    plan = tmp_path / "scenarios" / "locked-only-plan.yaml"
    plan.write_text(plan_yaml(kept, base.id, "planner"), encoding="utf-8")
    scenario = tmp_path / "scenarios" / "locked-only.yaml"
    scenario.write_text("scenario:\n  id: locked-only\n  extends: base.yaml\n"
                        f"  options: {{plan: {plan.name}}}\n", encoding="utf-8")
    from_options = api.load(scenario)
    assert from_options.plan_source.endswith("locked-only-plan.yaml") and len(from_options.events) == len(kept)
    by_argument = api.simulate(api.load("scenarios/base.yaml", plan=plan))
    full = api.simulate(base)
    assert by_argument.simulation.totals.volume < full.simulation.totals.volume
    assert set(by_argument.cells.loc[by_argument.cells["mechanic"] != "", "mechanic"]) == {e.mechanic for e in kept}
    assert api.simulate(from_options).simulation.totals == by_argument.simulation.totals


def test_cells_are_tidy_and_add_up_to_the_simulation() -> None:
    result = api.simulate("scenarios/base.yaml")
    cells, simulation = result.cells, result.simulation
    assert not cells.duplicated(["account", "product", "week"]).any()
    by_account_week = cells.groupby(["account", "week"])["volume"].sum()
    for account, weeks in simulation.account_weeks.items():
        assert by_account_week[account].to_numpy() == pytest.approx(weeks["volume"], rel=1e-9)
    assert cells["order_suggestion"].min() >= 0 and cells.attrs["units"]["gross_profit"] == "CNY"
    assert result.accounts.set_index("account")["gross_profit"].to_dict() == pytest.approx(
        {account: kpis.gross_profit for account, kpis in simulation.accounts.items()})


def test_optimize_returns_the_plan_and_its_table(tmp_path: Path) -> None:
    best = api.optimize(write_tiny_world(tmp_path), time_limit=30)
    assert best.result.has_plan and best.cells is not None and best.result.simulation is not None
    promoted = best.cells.loc[best.cells["mechanic"] != ""]
    assert len(promoted) and set(promoted["mechanic"]) <= {"tpr-15", "tpr-25-feature"}
    written = best.write_plan(tmp_path / "plan.yaml")
    assert len(load_plan(written).events) == len(best.events)
    again = api.simulate(api.load(tmp_path / "scenarios" / "tiny.yaml", plan=written))
    assert again.simulation.totals.gross_profit == pytest.approx(best.result.simulation.totals.gross_profit)
