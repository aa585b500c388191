"""The approval workflow: versions, roles, segregation of duties, two approvers, changed files, diff."""

from __future__ import annotations

import pytest
from test_store_support import World, base_frozen_fixture, db_url_fixture, world_fixture  # noqa: F401 - fixtures

from planner.store import Conflict, NotFound, Refused
from planner.store.diff import baseline, between
from planner.store.versions import list_versions, load, submit
from planner.store.workflow import approve, reject


def test_submit_freezes_the_scenario_its_files_and_results(world: World) -> None:
    version = submit(world.store, world.access, world.frozen, "alice")
    stored = load(world.store, "base-2027", 1)
    assert (stored.number, stored.status, stored.submitted_by) == (1, "submitted", "alice")
    assert stored.frozen == world.frozen
    assert stored.content_sha256 == version.content_sha256
    assert stored.totals["budget_used"] == pytest.approx(3_556_432.340, abs=1)
    assert len(stored.accounts) == 14 and stored.accounts["carrefour"]["gross_profit"] > 0
    assert {kind for kind, _ in stored.frozen.rule_files.values()} == {"scenario", "rules"}
    assert len(stored.frozen.events) == 70 and stored.frozen.options["draws"] == 0
    assert stored.frozen.policy and all("ok" in check for check in stored.frozen.policy)


def test_versions_are_numbered_per_scenario_and_a_new_one_supersedes_the_pending_one(world: World) -> None:
    submit(world.store, world.access, world.frozen, "alice")
    submit(world.store, world.access, world.variant(budget_used=3_000_000.0), "alice")
    other = world.frozen.__class__(**{**world.frozen.__dict__, "scenario": "summer-push"})
    submit(world.store, world.access, other, "alice")
    found = [(v.scenario, v.number, v.status) for v in list_versions(world.store)]
    assert found == [("base-2027", 1, "superseded"), ("base-2027", 2, "submitted"), ("summer-push", 1, "submitted")]
    with pytest.raises(Conflict, match="superseded by a newer version"):
        approve(world.store, world.access, "base-2027", 1, "bob")


def test_submitting_the_same_plan_again_is_refused(world: World) -> None:
    submit(world.store, world.access, world.frozen, "alice")
    with pytest.raises(Refused, match="already holds exactly this plan"):
        submit(world.store, world.access, world.frozen, "pat")


def test_an_approver_approves_and_the_decision_is_final(world: World) -> None:
    submit(world.store, world.access, world.frozen, "alice")
    outcome = approve(world.store, world.access, "base-2027", 1, "bob", "ok")
    assert (outcome.version.status, outcome.approvals, outcome.needed) == ("approved", 1, 1)
    assert [(d.actor, d.decision, d.comment) for d in outcome.version.decisions] == [("bob", "approve", "ok")]
    with pytest.raises(Conflict, match="already approved by bob"):
        approve(world.store, world.access, "base-2027", 1, "carol")
    with pytest.raises(Conflict, match="already approved"):
        reject(world.store, world.access, "base-2027", 1, "carol", "too late")


def test_roles_are_required(world: World) -> None:
    with pytest.raises(Refused, match="bob may not submit plans: that needs the planner role, and bob has approver"):
        submit(world.store, world.access, world.frozen, "bob")
    submit(world.store, world.access, world.frozen, "alice")
    with pytest.raises(Refused, match="alice may not approve plans"):
        approve(world.store, world.access, "base-2027", 1, "alice")
    with pytest.raises(Refused, match="dana may not reject plans"):
        reject(world.store, world.access, "base-2027", 1, "dana", "no")


def test_nobody_approves_or_rejects_their_own_submission(world: World) -> None:
    submit(world.store, world.access, world.frozen, "pat")  # pat is planner and approver
    with pytest.raises(Refused, match="segregation of duties: pat submitted base-2027 version 1 and cannot approve"):
        approve(world.store, world.access, "base-2027", 1, "pat")
    with pytest.raises(Refused, match="cannot reject"):
        reject(world.store, world.access, "base-2027", 1, "pat", "withdrawn")
    assert approve(world.store, world.access, "base-2027", 1, "bob").version.status == "approved"


def test_a_plan_above_the_threshold_needs_two_distinct_approvers(world: World) -> None:
    roles = (world.path / ".planner" / "roles.yaml")
    roles.write_text(roles.read_text().replace("two_approvers_above: null", "two_approvers_above: 3500000"))
    submit(world.store, world.access, world.frozen, "alice")  # budget used 3.56M > 3.5M
    first = approve(world.store, world.access, "base-2027", 1, "bob", "fine by me")
    assert (first.version.status, first.approvals, first.needed) == ("submitted", 1, 2)
    with pytest.raises(Conflict, match="bob already approved base-2027 version 1"):
        approve(world.store, world.access, "base-2027", 1, "bob")
    second = approve(world.store, world.access, "base-2027", 1, "carol")
    assert (second.version.status, second.approvals) == ("approved", 2)


def test_below_the_threshold_one_approver_is_enough(world: World) -> None:
    roles = (world.path / ".planner" / "roles.yaml")
    roles.write_text(roles.read_text().replace("two_approvers_above: null", "two_approvers_above: 4000000"))
    submit(world.store, world.access, world.frozen, "alice")
    assert approve(world.store, world.access, "base-2027", 1, "bob").version.status == "approved"


def test_reject_needs_a_comment_and_is_final(world: World) -> None:
    submit(world.store, world.access, world.frozen, "alice")
    with pytest.raises(Refused, match="needs a comment"):
        reject(world.store, world.access, "base-2027", 1, "bob", "  ")
    outcome = reject(world.store, world.access, "base-2027", 1, "bob", "cut the BOGO at Carrefour")
    assert outcome.version.status == "rejected"
    with pytest.raises(Conflict, match="already rejected by bob"):
        approve(world.store, world.access, "base-2027", 1, "carol")


@pytest.mark.parametrize("change", ["edit", "delete", "add"])
def test_approval_refuses_when_the_rule_files_changed(world: World, change: str) -> None:
    submit(world.store, world.access, world.frozen, "alice")
    policy = world.path / "rules" / "policy.yaml"
    if change == "edit":
        policy.write_text(policy.read_text() + "\n# edited after submission\n")
        expected = "rules/policy.yaml: changed (submitted "
    elif change == "delete":
        policy.unlink()
        expected = "rules/policy.yaml: missing"
    else:
        (world.path / "rules" / "zz-late.yaml").write_text("discounts: []\n")
        expected = "rules/zz-late.yaml: added"
    with pytest.raises(Refused, match="1 file\\(s\\) changed since base-2027 version 1 was submitted") as refused:
        approve(world.store, world.access, "base-2027", 1, "bob")
    assert expected in str(refused.value)
    assert load(world.store, "base-2027", 1).status == "submitted"


def test_unknown_scenarios_and_versions_are_named(world: World) -> None:
    with pytest.raises(NotFound, match="no versions of scenario 'base-2027' in the plan store \\(scenarios: none"):
        load(world.store, "base-2027")
    submit(world.store, world.access, world.frozen, "alice")
    with pytest.raises(NotFound, match="scenario 'base-2027' has no version 7 \\(versions: 1\\)"):
        approve(world.store, world.access, "base-2027", 7, "bob")


def test_diff_names_the_accounts_terms_and_events_that_changed(world: World) -> None:
    from dataclasses import replace

    submit(world.store, world.access, world.frozen, "alice")
    approve(world.store, world.access, "base-2027", 1, "bob")
    frozen = world.frozen
    accounts = {**frozen.accounts, "carrefour": {**frozen.accounts["carrefour"],
                                                 "trade_spend": frozen.accounts["carrefour"]["trade_spend"] + 1000}}
    events = [{**frozen.events[0], "weeks": [6, 7]}, *frozen.events[2:]]
    files = {**frozen.rule_files, "rules/rebates.yaml": ("rules", "0" * 64)}
    changed = replace(frozen, accounts=accounts, events=events, rule_files=files,
                      totals={**frozen.totals, "trade_spend": frozen.totals["trade_spend"] + 1000})
    submit(world.store, world.access, changed, "alice")
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


def test_roles_in_the_database_when_there_is_no_roles_file(world: World) -> None:
    from planner.store.roles import Access, grant, held, revoke, set_threshold

    (world.path / ".planner" / "roles.yaml").unlink()
    access = Access()
    with world.store.write() as connection, pytest.raises(Refused, match="no admin yet"):
        grant(connection, access, "eve", "eve", "approver")
    with world.store.write() as connection:
        grant(connection, access, "dana", "dana", "admin")  # the first admin: anyone may grant it
    with world.store.write() as connection, pytest.raises(Refused, match="eve may not grant roles: that needs"):
        grant(connection, access, "eve", "eve", "approver")
    with world.store.write() as connection:
        grant(connection, access, "dana", "alice", "planner")
        grant(connection, access, "dana", "bob", "approver")
        set_threshold(connection, access, "dana", 1_000_000.0)
        revoke(connection, access, "dana", "bob", "approver")
        assert held(connection) == {"dana": {"admin"}, "alice": {"planner"}}
    submit(world.store, access, world.frozen, "alice")
    with pytest.raises(Refused, match="bob may not approve plans"):
        approve(world.store, access, "base-2027", 1, "bob")


def test_a_roles_file_in_force_refuses_direct_role_changes(world: World) -> None:
    from planner.store.roles import grant

    with world.store.write() as connection, pytest.raises(Refused, match="roles come from .planner/roles.yaml"):
        grant(connection, world.access, "dana", "eve", "approver")


def test_a_broken_roles_file_is_located(world: World) -> None:
    from planner.store import CannotOpen
    from planner.store.roles import load_access

    (world.path / ".planner" / "roles.yaml").write_text("users:\n  bob: [aprover]\n")
    with pytest.raises(CannotOpen, match=r".planner/roles.yaml:2:\d+: users.bob.0: Input should be"):
        load_access()
