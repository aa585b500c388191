"""Reliability: of concurrent decisions exactly one wins; a crash mid-action leaves nothing half-written."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from test_store_support import World, base_frozen_fixture, db_url_fixture, world_fixture  # noqa: F401 - fixtures

from planner.store import Conflict, audit, roles, versions, workflow
from planner.store.database import open_store, revisions
from planner.store.schema import metadata
from planner.store.verify import verify
from planner.store.versions import list_versions, load, set_status, submit, version_at
from planner.store.workflow import approve, reject

HOLD_SECONDS = 0.3


def _counts(world: World) -> dict[str, int]:
    with world.store.read() as connection:
        return {table.name: int(connection.scalar(select(func.count()).select_from(table)) or 0)
                for table in metadata.sorted_tables if table.name != "audit_head"}


def _race(actions: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """Start every action at the same instant in its own thread; each result is a value or the error raised."""
    barrier = threading.Barrier(len(actions))
    results: dict[str, Any] = {}

    def run(name: str, action: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[name] = action()
        except Exception as error:  # noqa: BLE001 - the test inspects what each thread got
            results[name] = error

    threads = [threading.Thread(target=run, args=item) for item in actions.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.fixture
def slow_decisions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hold each decision's transaction open a moment (after it took the lock) so two decisions surely overlap."""
    original = roles.two_approvers_above

    def slow(connection: Any) -> float | None:
        time.sleep(HOLD_SECONDS)
        return original(connection)

    monkeypatch.setattr(roles, "two_approvers_above", slow)


@pytest.mark.usefixtures("slow_decisions")
def test_of_two_concurrent_approvals_exactly_one_wins(world: World) -> None:
    submit(world.store_as("alice"), world.frozen, "alice")
    def approval(actor: str) -> Callable[[], workflow.Outcome]:
        return lambda: approve(world.store_as(actor), "base-2027", 1, actor, "ok")

    results = _race({actor: approval(actor) for actor in ("bob", "carol")})
    winners = [actor for actor, result in results.items() if isinstance(result, workflow.Outcome)]
    losers = [result for result in results.values() if isinstance(result, Conflict)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert str(losers[0]).startswith(f"base-2027 version 1 is already approved by {winners[0]}")
    stored = load(world.store, "base-2027", 1)
    assert stored.status == "approved" and [d.actor for d in stored.decisions] == winners
    assert stored.revision == 1 and verify(world.store).ok


@pytest.mark.usefixtures("slow_decisions")
def test_an_approval_racing_a_rejection_gives_one_decision(world: World) -> None:
    submit(world.store_as("alice"), world.frozen, "alice")
    results = _race({"approve": lambda: approve(world.store_as("bob"), "base-2027", 1, "bob"),
                     "reject": lambda: reject(world.store_as("carol"), "base-2027", 1, "carol", "no")})
    assert sum(isinstance(result, Conflict) for result in results.values()) == 1, results
    assert len(load(world.store, "base-2027", 1).decisions) == 1 and verify(world.store).ok


@pytest.mark.usefixtures("slow_decisions")
def test_one_approver_twice_at_once_counts_once(world: World) -> None:
    with world.store.write() as connection:
        roles.set_threshold(connection, "dana", 1.0)
    submit(world.store_as("alice"), world.frozen, "alice")
    results = _race({f"bob-{n}": lambda: approve(world.store_as("bob"), "base-2027", 1, "bob") for n in (1, 2)})
    assert sum(isinstance(result, Conflict) for result in results.values()) == 1, results
    stored = load(world.store, "base-2027", 1)
    assert stored.status == "submitted" and [d.actor for d in stored.decisions] == ["bob"]


def test_concurrent_submissions_get_distinct_numbers(world: World) -> None:
    plans = {f"plan-{n}": world.variant(budget_used=1_000_000.0 * n) for n in range(1, 4)}
    def submission(frozen: versions.Frozen) -> Callable[[], versions.Version]:
        return lambda: submit(world.store_as("alice"), frozen, "alice")

    results = _race({name: submission(frozen) for name, frozen in plans.items()})
    assert all(isinstance(result, versions.Version) for result in results.values()), results
    stored = list_versions(world.store, "base-2027")
    assert [v.number for v in stored] == [1, 2, 3]
    assert [v.status for v in stored] == ["superseded", "superseded", "submitted"]
    assert verify(world.store).ok


def test_a_stale_revision_is_a_conflict(world: World) -> None:
    """The optimistic counter on its own: a status change based on an old read is refused."""
    submit(world.store_as("alice"), world.frozen, "alice")
    with world.store.read() as connection:
        stale = version_at(connection, "base-2027", 1)
    approve(world.store_as("bob"), "base-2027", 1, "bob")
    changed = "base-2027 version 1 was changed by another action at the same time"
    with pytest.raises(Conflict, match=changed), world.store.write() as connection:
        set_status(connection, stale, "rejected")
    assert load(world.store, "base-2027", 1).status == "approved"


def _crash(*_args: Any, **_kwargs: Any) -> None:
    raise RuntimeError("power cut")


def test_a_crash_between_inserts_leaves_no_partial_version(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _counts(world)
    monkeypatch.setattr(versions, "_insert_accounts", _crash)  # after the version row and its files
    with pytest.raises(RuntimeError, match="power cut"):
        submit(world.store_as("alice"), world.frozen, "alice")
    assert _counts(world) == before and before["plan_versions"] == before["plan_files"] == 0
    monkeypatch.undo()
    assert submit(world.store_as("alice"), world.frozen, "alice").number == 1
    assert verify(world.store).ok


def test_a_crash_inside_a_decision_leaves_the_version_undecided(world: World,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    submit(world.store_as("alice"), world.frozen, "alice")
    before = _counts(world)
    monkeypatch.setattr(workflow, "set_status", _crash)  # after the decision row is inserted
    with pytest.raises(RuntimeError, match="power cut"):
        approve(world.store_as("bob"), "base-2027", 1, "bob")
    assert _counts(world) == before and load(world.store, "base-2027", 1).status == "submitted"
    monkeypatch.undo()
    monkeypatch.setattr(audit, "update", _crash)  # the audit row is inserted, the head not yet moved
    with pytest.raises(RuntimeError, match="power cut"):
        approve(world.store_as("bob"), "base-2027", 1, "bob")
    assert _counts(world) == before and verify(world.store).ok


def test_concurrent_first_use_migrates_once(db_url: str) -> None:
    results = _race({str(n): lambda: open_store(db_url) for n in range(3)})
    assert all(not isinstance(result, Exception) for result in results.values()), results
    store = results["0"]
    try:
        current, head = revisions(store)
        assert current == head == "0005" and verify(store).ok
    finally:
        for opened in results.values():
            opened.close()
