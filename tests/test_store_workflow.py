"""The approval workflow: versions, roles, segregation of duties, two approvers, changed files, diff."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_store_support import World, base_frozen_fixture, db_url_fixture, world_fixture  # noqa: F401 - fixtures

from planner.store import Conflict, NotFound, Refused, audit
from planner.store.diff import baseline, between
from planner.store.versions import list_versions, load, submit
from planner.store.workflow import approve, reject


def test_submit_freezes_the_scenario_its_files_and_results(world: World) -> None:
    version = submit(world.store_as("alice"), world.frozen, "alice")
    stored = load(world.store, "base-2027", 1)
    assert (stored.number, stored.status, stored.submitted_by) == (1, "submitted", "alice")
    assert stored.frozen == world.frozen
    assert stored.content_sha256 == version.content_sha256
    assert stored.totals["budget_used"] == pytest.approx(3_564_121.686, abs=1)
    assert len(stored.accounts) == 14 and stored.accounts["carrefour"]["gross_profit"] > 0
    assert {kind for kind, _ in stored.frozen.rule_files.values()} == {"scenario", "rules"}
    assert len(stored.frozen.events) == 70 and stored.frozen.options["draws"] == 0
    assert stored.frozen.policy and all("ok" in check for check in stored.frozen.policy)


def test_versions_are_numbered_per_scenario_and_a_new_one_supersedes_the_pending_one(world: World) -> None:
    submit(world.store_as("alice"), world.frozen, "alice")
    submit(world.store_as("alice"), world.variant(budget_used=3_000_000.0), "alice")
    other = world.frozen.__class__(**{**world.frozen.__dict__, "scenario": "summer-push"})
    submit(world.store_as("alice"), other, "alice")
    found = [(v.scenario, v.number, v.status) for v in list_versions(world.store)]
    assert found == [("base-2027", 1, "superseded"), ("base-2027", 2, "submitted"), ("summer-push", 1, "submitted")]
    with pytest.raises(Conflict, match="superseded by a newer version"):
        approve(world.store_as("bob"), "base-2027", 1, "bob")


def test_submitting_the_same_plan_again_is_refused(world: World) -> None:
    submit(world.store_as("alice"), world.frozen, "alice")
    with pytest.raises(Refused, match="already holds exactly this plan"):
        submit(world.store_as("pat"), world.frozen, "pat")


def test_an_approver_approves_and_the_decision_is_final(world: World) -> None:
    submit(world.store_as("alice"), world.frozen, "alice")
    outcome = approve(world.store_as("bob"), "base-2027", 1, "bob", "ok")
    assert (outcome.version.status, outcome.approvals, outcome.needed) == ("approved", 1, 1)
    assert [(d.actor, d.decision, d.comment) for d in outcome.version.decisions] == [("bob", "approve", "ok")]
    with pytest.raises(Conflict, match="already approved by bob"):
        approve(world.store_as("carol"), "base-2027", 1, "carol")
    with pytest.raises(Conflict, match="already approved"):
        reject(world.store_as("carol"), "base-2027", 1, "carol", "too late")


def test_roles_are_required(world: World) -> None:
    with pytest.raises(Refused, match="bob may not submit plans: that needs the planner role, and bob has approver"):
        submit(world.store_as("bob"), world.frozen, "bob")
    submit(world.store_as("alice"), world.frozen, "alice")
    with pytest.raises(Refused, match="alice may not approve plans"):
        approve(world.store_as("alice"), "base-2027", 1, "alice")
    with pytest.raises(Refused, match="dana may not reject plans"):
        reject(world.store_as("dana"), "base-2027", 1, "dana", "no")


def test_nobody_approves_or_rejects_their_own_submission(world: World) -> None:
    submit(world.store_as("pat"), world.frozen, "pat")  # pat is planner and approver
    with pytest.raises(Refused, match="segregation of duties: pat submitted base-2027 version 1 and cannot approve"):
        approve(world.store_as("pat"), "base-2027", 1, "pat")
    with pytest.raises(Refused, match="cannot reject"):
        reject(world.store_as("pat"), "base-2027", 1, "pat", "withdrawn")
    assert approve(world.store_as("bob"), "base-2027", 1, "bob").version.status == "approved"


def _threshold(world: World, amount: float) -> None:
    from planner.store.roles import set_threshold

    with world.store.write() as connection:
        set_threshold(connection, "dana", amount)


def test_a_plan_above_the_threshold_needs_two_distinct_approvers(world: World) -> None:
    _threshold(world, 3_500_000)
    submit(world.store_as("alice"), world.frozen, "alice")  # budget used 3.57M > 3.5M
    first = approve(world.store_as("bob"), "base-2027", 1, "bob", "fine by me")
    assert (first.version.status, first.approvals, first.needed) == ("submitted", 1, 2)
    with pytest.raises(Conflict, match="bob already approved base-2027 version 1"):
        approve(world.store_as("bob"), "base-2027", 1, "bob")
    second = approve(world.store_as("carol"), "base-2027", 1, "carol")
    assert (second.version.status, second.approvals) == ("approved", 2)


def test_below_the_threshold_one_approver_is_enough(world: World) -> None:
    _threshold(world, 4_000_000)
    submit(world.store_as("alice"), world.frozen, "alice")
    assert approve(world.store_as("bob"), "base-2027", 1, "bob").version.status == "approved"


def test_reject_needs_a_comment_and_is_final(world: World) -> None:
    submit(world.store_as("alice"), world.frozen, "alice")
    with pytest.raises(Refused, match="needs a comment"):
        reject(world.store_as("bob"), "base-2027", 1, "bob", "  ")
    outcome = reject(world.store_as("bob"), "base-2027", 1, "bob", "cut the BOGO at Carrefour")
    assert outcome.version.status == "rejected"
    with pytest.raises(Conflict, match="already rejected by bob"):
        approve(world.store_as("carol"), "base-2027", 1, "carol")


@pytest.mark.parametrize("change", ["edit", "delete", "elsewhere"])
def test_approval_needs_only_the_store(world: World, change: str, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The version's files are in the store: a changed or deleted checkout, or none at all, changes nothing."""
    submit(world.store_as("alice"), world.frozen, "alice")
    policy = world.path / "rules" / "policy.yaml"
    if change == "edit":
        policy.write_text(policy.read_text() + "\n# edited after submission\n")
    elif change == "delete":
        policy.unlink()
    else:
        monkeypatch.chdir(tmp_path)  # an approver's own folder, no rules repository
    assert approve(world.store_as("bob"), "base-2027", 1, "bob").version.status == "approved"


def test_unknown_scenarios_and_versions_are_named(world: World) -> None:
    with pytest.raises(NotFound, match="no versions of scenario 'base-2027' in the plan store \\(scenarios: none"):
        load(world.store, "base-2027")
    submit(world.store_as("alice"), world.frozen, "alice")
    with pytest.raises(NotFound, match="scenario 'base-2027' has no version 7 \\(versions: 1\\)"):
        approve(world.store_as("bob"), "base-2027", 7, "bob")


def test_diff_names_the_accounts_terms_and_events_that_changed(world: World) -> None:
    from dataclasses import replace

    submit(world.store_as("alice"), world.frozen, "alice")
    approve(world.store_as("bob"), "base-2027", 1, "bob")
    frozen = world.frozen
    accounts = {**frozen.accounts, "carrefour": {**frozen.accounts["carrefour"],
                                                 "trade_spend": frozen.accounts["carrefour"]["trade_spend"] + 1000}}
    events = [{**frozen.events[0], "weeks": [6, 7]}, *frozen.events[2:]]
    files = {**frozen.rule_files, "rules/rebates.yaml": ("rules", "0" * 64)}
    changed = replace(frozen, accounts=accounts, events=events, rule_files=files,
                      totals={**frozen.totals, "trade_spend": frozen.totals["trade_spend"] + 1000})
    submit(world.store_as("alice"), changed, "alice")
    versions = list_versions(world.store, "base-2027")
    assert baseline(versions, versions[1]) == versions[0]
    difference = between(versions[0], versions[1])
    assert difference["totals"]["trade_spend"]["delta"] == pytest.approx(1000)
    assert [a["id"] for a in difference["accounts"]] == ["carrefour"]
    assert difference["accounts"][0]["changes"]["trade_spend"]["delta"] == pytest.approx(1000)
    assert [c["path"] for c in difference["rule_files"]["changed"]] == ["rules/rebates.yaml"]
    assert [e["id"] for e in difference["events"]["removed"]] == [frozen.events[1]["id"]]
    assert difference["events"]["changed"][0]["fields"] == {"weeks": {"before": frozen.events[0]["weeks"],
                                                                      "after": [6, 7]}}


def test_roles_change_only_by_an_admin_and_names_are_one_person_however_written(world: World) -> None:
    from planner.store.roles import grant, held, revoke, set_threshold

    with world.store.write() as connection, pytest.raises(Refused, match="eve may not grant roles: that needs"):
        grant(connection, "eve", "eve", "approver")
    with world.store.write() as connection:
        grant(connection, "dana", "Eve", "approver")
        set_threshold(connection, "dana", 1_000_000.0)
        revoke(connection, "dana", "BOB", "approver")
        assert held(connection)["eve"] == {"approver"} and "bob" not in held(connection)
    with world.store.write() as connection, pytest.raises(Refused, match="eve already has the approver role"):
        grant(connection, "dana", "\uff25\uff36\uff25", "approver")  # full-width EVE: NFKC + casefold = eve
    submit(world.store_as("alice"), world.frozen, "alice")
    with pytest.raises(Refused, match="bob may not approve plans"):
        approve(world.store_as("bob"), "base-2027", 1, "bob")


def test_the_first_admin_of_an_empty_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from planner.store.database import open_store
    from planner.store.roles import grant, held

    monkeypatch.chdir(tmp_path)  # no .planner/roles.yaml here
    store = open_store(str(tmp_path / "plans.db"))
    try:
        with store.write() as connection, pytest.raises(Refused, match="no admin yet"):
            grant(connection, "eve", "eve", "approver")
        with store.write() as connection:
            grant(connection, "dana", "dana", "admin")  # the first admin: anyone may grant it
        with store.write() as connection, pytest.raises(Refused, match="eve may not grant roles"):
            grant(connection, "eve", "eve", "admin")
        with store.read() as connection:
            assert held(connection) == {"dana": {"admin"}}
    finally:
        store.close()


def test_a_roles_file_is_an_import_by_an_admin(world: World) -> None:
    from planner.store import CannotOpen
    from planner.store.roles import held, import_file, read_file

    roles = world.path / ".planner" / "roles.yaml"
    roles.write_text("users:\n  alice: [planner, approver]\n  dana: [admin]\ntwo_approvers_above: 5\n")
    with world.store.write() as connection, pytest.raises(Refused, match="alice may not import roles"):
        import_file(connection, "alice", read_file(roles))
    with world.store.write() as connection:
        assert import_file(connection, "dana", read_file(roles)) == 6  # +approver, -pat x2, -bob, -carol, threshold
        assert held(connection) == {"alice": {"planner", "approver"}, "dana": {"admin"}}
    with world.store.read() as connection:
        rows = audit.rows(connection)[-6:]
    assert {row.actor for row in rows} == {"dana"} and all(row.payload["sha256"] for row in rows)
    roles.write_text("users:\n  bob: [aprover]\n")
    with pytest.raises(CannotOpen, match=r".planner/roles.yaml:2:\d+: users.bob.0: Input should be"):
        read_file(roles)
    roles.write_text("users:\n  bob: [approver]\n  Bob: [planner]\n  dana: [admin]\n")
    with pytest.raises(CannotOpen, match="'Bob' is the same user as another entry"):
        read_file(roles)
