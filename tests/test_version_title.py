"""A version's title (issue 17: the re-plan is submitted "as the next version, e.g. "Q1 revision""), on SQLite and
PostgreSQL: `plan submit --label`, or the label a re-plan writes into its plan file; kept with the version (migration
0005), covered by its content hash, and shown by plan list/show/diff, the approval pack and the audit trail."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from test_store_support import (  # noqa: F401 - fixtures
    World,
    base_frozen_fixture,
    copy_demo,
    db_url_fixture,
    sql,
    world_fixture,
)

from planner.cli import main
from planner.cli.replan import revision_label
from planner.report.plans import diff_text, list_text, show_text
from planner.rules.load import load_rules
from planner.rules.plan import load_plan, plan_yaml
from planner.store import CannotOpen, audit
from planner.store.diff import between
from planner.store.versions import content_of, load, submit

ROOT = Path(__file__).resolve().parents[1]


def run(world: World, *args: str) -> Result:
    user = args[args.index("--as") + 1] if "--as" in args else None
    return CliRunner().invoke(main, [*args, "--db", world.url_as(user) if user else world.url])


def test_a_title_is_kept_hashed_and_shown(world: World) -> None:
    first = submit(world.store_as("alice"), world.frozen, "alice")
    second = submit(world.store_as("alice"), world.variant(budget_used=3_000_000.0), "alice", title=" Q1 revision ")
    assert (first.title, second.title) == (None, "Q1 revision")
    stored = load(world.store, "base-2027", 2)
    assert stored.title == "Q1 revision" and stored.label == 'base-2027 version 2 "Q1 revision"'
    assert "title" not in first.content() and stored.content()["title"] == "Q1 revision"
    assert stored.content() == content_of(stored.frozen, 2, "alice", stored.submitted_at, "Q1 revision")
    assert show_text(stored, None).startswith('base-2027 version 2 "Q1 revision": ')
    listing = list_text([load(world.store, "base-2027", 1), stored]).splitlines()
    assert "title" in listing[0].split() and "Q1 revision" in listing[2] and " - " in listing[1]
    difference = between(load(world.store, "base-2027", 1), stored)
    assert difference["to"]["title"] == "Q1 revision" and difference["from"]["title"] is None
    assert diff_text(difference).startswith('base-2027 version 1 (superseded) -> base-2027 version 2 "Q1 revision" '
                                            "(submitted)")
    with world.store.read() as connection:
        rows = [row for row in audit.rows(connection) if row.action == "submit"]
    assert ["title" in row.payload for row in rows] == [False, True] and rows[1].payload["title"] == "Q1 revision"
    assert run(world, "audit", "verify").exit_code == 0
    log = run(world, "audit", "log", "--scenario", "base-2027").stdout
    assert 'submitted "Q1 revision"' in log
    # the title is part of what the content hash covers: edited in the database, the version fails verification
    sql(world, "UPDATE plan_versions SET title = 'Q2 revision' WHERE scenario = 'base-2027' AND number = 2")
    shown = run(world, "plan", "show", "base-2027@2")
    assert shown.exit_code == 1 and "content" in shown.output


def test_a_title_is_no_part_of_the_plan_and_must_be_plain_text(world: World) -> None:
    submit(world.store_as("alice"), world.frozen, "alice", title="draft A")
    from planner.store import Refused

    with pytest.raises(Refused, match="already holds exactly this plan"):
        submit(world.store_as("alice"), world.frozen, "alice", title="draft B")
    with pytest.raises(CannotOpen, match="title .* contains control characters"):
        submit(world.store_as("alice"), world.variant(budget_used=1.0), "alice", title="Q1\nrevision")
    with pytest.raises(CannotOpen, match="at most 200"):
        submit(world.store_as("alice"), world.variant(budget_used=1.0), "alice", title="x" * 201)


def test_submit_takes_the_label_of_a_replans_plan_file_or_the_option(world: World) -> None:
    rules = load_rules([world.path / "rules"]).rules
    plan = world.path / "q1-plan.yaml"
    plan.write_text(plan_yaml(list(rules.events), "base-2027", "optimizer", label="Q1 revision"), encoding="utf-8")
    assert load_plan(plan).label == "Q1 revision"
    submitted = run(world, "plan", "submit", "scenarios/base.yaml", "--plan", str(plan), "--set", "options.draws=0",
                    "--as", "alice")
    assert submitted.exit_code == 0, submitted.output
    assert submitted.stdout.startswith('submitted base-2027 version 1 "Q1 revision" by alice')
    relabelled = run(world, "plan", "submit", "scenarios/base.yaml", "--set", "options.draws=0",
                     "--set", "options.seed=7", "--label", "Q1 revision (finance)", "--as", "alice")
    assert relabelled.exit_code == 0, relabelled.output
    listed = json.loads(run(world, "plan", "list", "--format", "json").stdout)
    assert [v["title"] for v in listed] == ["Q1 revision", "Q1 revision (finance)"]
    shown = json.loads(run(world, "plan", "show", "base-2027@2", "--format", "json").stdout)
    assert shown["title"] == "Q1 revision (finance)"
    diff = run(world, "plan", "diff", "base-2027@1", "base-2027@2")
    assert 'version 1 "Q1 revision" (superseded) -> base-2027 version 2 "Q1 revision (finance)"' in diff.stdout
    bad = run(world, "plan", "submit", "scenarios/base.yaml", "--label", "a\x1bb", "--as", "alice")
    assert bad.exit_code == 2 and "control characters" in bad.output


def test_a_replan_suggests_the_quarter_of_its_last_week_of_actuals() -> None:
    calendar = load_rules([ROOT / "rules"]).rules.calendar
    assert calendar is not None and calendar.quarters[0] == 13
    assert [revision_label(calendar, week) for week in (0, 1, 13, 14, 26, 52)] == [
        "", "Q1 revision", "Q1 revision", "Q2 revision", "Q2 revision", "Q4 revision"]


def test_a_replans_plan_file_is_submitted_as_the_q1_revision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """End to end on SQLite: actuals in, `optimize --from-actuals --through 13 --out` writes `label: "Q1 revision"`
    into plan.yaml, and `plan submit --plan` gives the version that title. (A short --time-limit: the plan may be
    the scenario's calendar with the past fixed; the label does not depend on the solve.)"""
    demo = copy_demo(tmp_path / "demo")
    shutil.copytree(ROOT / "history", demo / "history")
    monkeypatch.chdir(demo)
    for variable in ("PLANNER_DB", "PLANNER_ROLES", "PLANNER_USER"):
        monkeypatch.delenv(variable, raising=False)
    runner = CliRunner()
    imported = runner.invoke(main, ["actuals", "import", "history/actuals-2027-q1-sales.csv",
                                    "history/actuals-2027-q1-promotions.csv", "--scenario", "scenarios/base.yaml",
                                    "--as", "alice", "--db", "plans.db"])
    assert imported.exit_code == 0, imported.output
    replanned = runner.invoke(main, ["optimize", "scenarios/base.yaml", "--from-actuals", "--through", "13",
                                     "--db", "plans.db", "--time-limit", "5", "--out", "q1"])
    assert replanned.exit_code == 0, replanned.output
    assert load_plan(demo / "q1" / "plan.yaml").label == "Q1 revision"
    submitted = runner.invoke(main, ["plan", "submit", "scenarios/base.yaml", "--plan", "q1/plan.yaml",
                                     "--as", "alice", "--db", "plans.db", "--allow-findings"])
    assert submitted.exit_code == 0, submitted.output
    assert submitted.stdout.startswith('submitted base-2027 version 1 "Q1 revision" by alice')
