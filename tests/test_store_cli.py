"""`planner plan`, `planner audit`, `planner db` and `planner role` on the command line: exit codes, messages."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from test_store_support import World, base_frozen_fixture, db_url_fixture, sql, world_fixture  # noqa: F401 - fixtures

from planner.cli import main


def run(world: World, *args: str) -> Result:
    """A command, logged in to the store as the user it acts as (on PostgreSQL the acting user is the login)."""
    user = args[args.index("--as") + 1] if "--as" in args else None
    return CliRunner().invoke(main, [*args, "--db", world.url_as(user) if user else world.url])


def test_the_demo_commands_submit_approve_and_verify(world: World) -> None:
    submitted = run(world, "plan", "submit", "scenarios/base.yaml", "--as", "alice", "--set", "options.draws=0")
    assert submitted.exit_code == 0, submitted.output
    assert submitted.stdout.startswith("submitted base-2027 version 1 by alice: budget used 3,564,122 CNY, 12 files")
    approved = run(world, "plan", "approve", "base-2027", "--version", "1", "--as", "bob", "--comment", "ok")
    assert (approved.exit_code, approved.stdout) == (0, "base-2027 version 1: approved (by bob)\n")
    verified = run(world, "audit", "verify")
    assert verified.exit_code == 0 and verified.stdout.startswith("audit trail intact: 8 rows, chain head ")
    listed = json.loads(run(world, "plan", "list", "--format", "json").stdout)
    assert [(v["scenario"], v["version"], v["status"], v["approved_by"]) for v in listed] == [
        ("base-2027", 1, "approved", ["bob"])]
    shown = json.loads(run(world, "plan", "show", "base-2027", "--format", "json").stdout)
    assert shown["totals"]["budget_used"] == pytest.approx(world.frozen.totals["budget_used"])
    assert shown["decisions"][0]["comment"] == "ok" and len(shown["rule_files"]) == 12
    text = run(world, "plan", "show", "base-2027").stdout
    assert "status        approved" in text and "approved      by bob at" in text and "carrefour" in text
    log = run(world, "audit", "log", "--scenario", "base-2027").stdout.splitlines()
    assert [line.split()[4] for line in log[1:]] == ["submit", "approve"]


def test_diff_on_the_command_line(world: World) -> None:
    run(world, "plan", "submit", "scenarios/base.yaml", "--as", "alice", "--set", "options.draws=0")
    run(world, "plan", "approve", "base-2027", "--version", "1", "--as", "bob")
    changed = run(world, "plan", "submit", "scenarios/base.yaml", "--as", "alice", "--set", "options.draws=0",
                  "--set", "rebates.rb-carrefour-growth.tiers.1.rate=3%")
    assert changed.exit_code == 0, changed.output
    result = run(world, "plan", "diff", "base-2027")
    assert result.exit_code == 0, result.output
    assert "base-2027 version 1 (approved) -> base-2027 version 2 (submitted)" in result.stdout.splitlines()
    assert "Accounts changed: 1\n  carrefour: Trade spend +" in result.stdout
    assert "Override added: rebates.rb-carrefour-growth.tiers.1.rate = 0.03 (written 3%)" in result.stdout
    data = json.loads(run(world, "plan", "diff", "base-2027@1", "base-2027@2", "--format", "json").stdout)
    assert [a["id"] for a in data["accounts"]] == ["carrefour"] and data["totals"]["trade_spend"]["delta"] > 0


def test_a_plan_file_is_frozen_and_checked_like_a_rule_file(world: World) -> None:
    from planner.rules.plan import plan_yaml
    from planner.rules.scenario import resolve

    events = list(resolve(world.path / "scenarios" / "base.yaml").rules.events)
    kept = [e for e in events if e.locked] + [e for e in events if not e.locked][:-3]
    (world.path / "plan.yaml").write_text(plan_yaml(kept, "base-2027", "planner"), encoding="utf-8")
    submitted = run(world, "plan", "submit", "scenarios/base.yaml", "--plan", "plan.yaml", "--as", "alice",
                    "--set", "options.draws=0")
    assert submitted.exit_code == 0, submitted.output
    shown = json.loads(run(world, "plan", "show", "base-2027", "--format", "json").stdout)
    assert shown["plan_source"] == "plan.yaml" and len(shown["events"]) == len(events) - 3
    assert [f["path"] for f in shown["rule_files"] if f["kind"] == "plan"] == ["plan.yaml"]
    frozen_bytes = (world.path / "plan.yaml").read_bytes()
    with (world.path / "plan.yaml").open("a", encoding="utf-8") as plan:
        plan.write("# changed after submission\n")
    approved = run(world, "plan", "approve", "base-2027", "--version", "1", "--as", "bob")
    assert approved.exit_code == 0, approved.output  # what is approved is what the store froze, not the disk
    exported = run(world, "plan", "checkout", "base-2027@1", "--out", str(world.path / "export"))
    assert exported.exit_code == 0, exported.output
    assert (world.path / "export" / "plan.yaml").read_bytes() == frozen_bytes
    assert "planner simulate scenarios/base.yaml --set options.draws=0 --set 'options.plan=\"plan.yaml\"'" in \
        exported.stdout


@pytest.mark.parametrize(("args", "code", "message"), [
    (("plan", "approve", "base-2027", "--version", "1", "--as", "alice"), 1, "alice may not approve plans"),
    (("plan", "approve", "base-2027", "--version", "1", "--as", "pat"), 1, "segregation of duties"),
    (("plan", "approve", "base-2027", "--version", "3", "--as", "bob"), 2, "has no version 3 (versions: 1)"),
    (("plan", "show", "nowhere"), 2, "no versions of scenario 'nowhere'"),
    (("plan", "reject", "base-2027", "--version", "1", "--as", "bob"), 2, "Missing option '--comment'"),
    (("plan", "approve", "base-2027", "--version", "1"), 2, "who is acting? pass --as USER or set PLANNER_USER"),
    (("plan", "diff", "base-2027@x"), 2, "write SCENARIO or SCENARIO@N"),
    (("plan", "diff", "base-2027"), 2, "is the first version: name two versions to compare"),
])
def test_refusals_exit_1_and_what_cannot_run_exits_2(world: World, args: tuple[str, ...], code: int,
                                                     message: str) -> None:
    assert run(world, "plan", "submit", "scenarios/base.yaml", "--as", "pat", "--set", "options.draws=0").exit_code == 0
    if world.store.dialect == "postgresql" and "--as" not in args and "approve" in args:
        code, message = 1, "planner may not approve plans"  # a shared store knows who acts: the login
    result = run(world, *args)
    assert result.exit_code == code, result.output
    assert message in result.stderr and "Traceback" not in result.output


def test_a_broken_chain_exits_1_naming_the_first_broken_row(world: World) -> None:
    run(world, "plan", "submit", "scenarios/base.yaml", "--as", "alice", "--set", "options.draws=0")
    run(world, "plan", "approve", "base-2027", "--version", "1", "--as", "bob", "--comment", "ok")
    sql(world, "DELETE FROM audit_log WHERE seq = 3")
    result = run(world, "audit", "verify")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[:2] == ["audit trail BROKEN (2 problem(s) in 7 rows)", "first broken row: 4"]
    assert lines[3] == "  role approver of carol is held in the store only"  # the grant's audit row is gone
    assert lines[2].startswith("  audit row 4 (role_grant by dana at ") and lines[2].endswith("follows row 2: row 3 deleted")


def test_roles_are_kept_in_the_store_and_changed_by_an_admin(world: World) -> None:
    assert run(world, "role", "grant", "erin", "approver", "--as", "bob").exit_code == 1
    assert run(world, "role", "grant", "Erin", "approver", "--as", "dana").exit_code == 0
    assert run(world, "role", "threshold", "3,000,000", "--as", "dana").exit_code == 0
    listed = run(world, "role", "list").stdout.splitlines()
    assert "erin: approver" in listed and "two approvers above a budget used of 3,000,000" in listed
    (world.path / "other-roles.yaml").write_text("users:\n  alice: [planner]\n  dana: [admin]\n")
    assert run(world, "role", "import", "other-roles.yaml", "--as", "alice").exit_code == 1
    imported = run(world, "role", "import", "other-roles.yaml", "--as", "dana")
    assert imported.exit_code == 0 and "imported other-roles.yaml: 6 change(s), by dana" in imported.stdout
    assert [line.split(":")[0] for line in run(world, "role", "list").stdout.splitlines()[:2]] == ["alice", "dana"]
    assert run(world, "plan", "submit", "scenarios/base.yaml", "--as", "alice", "--roles", "x.yaml").exit_code == 2
    actions = [line.split()[4] for line in run(world, "audit", "log").stdout.splitlines()[1:]]
    assert actions[6:] == ["role_grant", "setting_change"] + ["role_revoke"] * 5 + ["setting_change"]


def test_db_upgrade_and_unusable_databases(world: World, tmp_path: Path) -> None:
    assert run(world, "db", "upgrade").stdout.endswith("already at revision 0005 (newest)\n")
    fresh = CliRunner().invoke(main, ["db", "upgrade", "--db", str(tmp_path / "new" / "plans.db")])
    assert fresh.exit_code == 0 and "migrated from empty to revision 0005" in fresh.stdout
    for url, message in (("mysql://u:p@localhost/x", "unsupported database 'mysql'"),
                         ("postgresql://planner:secret@127.0.0.1:1/none", "plan store postgresql+psycopg://planner:***@"),
                         (":memory:", ""), ("sqlite://", "in-memory SQLite database forgets every version")):
        result = CliRunner().invoke(main, ["plan", "list", "--db", url])
        assert result.exit_code == 2 and message in result.stderr, result.output
        assert "secret" not in result.output and "Traceback" not in result.output


def test_a_store_migrated_by_a_newer_planner_is_refused(world: World) -> None:
    sql(world, "UPDATE planner_alembic_version SET version_num = '9999'")
    result = run(world, "plan", "list")
    assert result.exit_code == 2 and "is at revision 9999, which this planner does not know" in result.stderr


def test_validate_does_not_import_the_database_stack(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text("company: {name: X}\ncalendar: {year: 2027, start: 2027-01-04}\n")
    script = textwrap.dedent(f"""
        import sys
        from click.testing import CliRunner
        from planner.cli import main
        result = CliRunner().invoke(main, ["validate", {str(tmp_path / "rules.yaml")!r}])
        assert result.exit_code == 0, result.output
        print(sorted({{name.split(".")[0] for name in sys.modules}} & {{"sqlalchemy", "alembic", "psycopg"}}))
    """)
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"
