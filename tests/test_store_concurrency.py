"""Concurrency and crashes across processes: 20 processes submitting and approving at once lose nothing, number
versions without gaps or duplicates and keep the chain valid; a submission killed at a random moment leaves a
whole version or none. Bounded (seconds); the stress version with a table is benchmarks/bench_store_stress.py.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from test_store_support import World, base_frozen_fixture, db_url_fixture, world_fixture  # noqa: F401 - fixtures

from benchmarks.store_stress import Outcome, check_store, run_actor
from planner.store.verify import verify
from planner.store.versions import list_versions

PROCESSES = 20


def test_twenty_processes_submitting_and_approving_lose_nothing(world: World) -> None:
    context = multiprocessing.get_context("fork")
    actors = [("alice" if n % 2 == 0 else ("bob", "carol", "pat")[n % 3], n) for n in range(PROCESSES)]
    world.store.engine.dispose()  # no pooled connection crosses the fork
    with context.Pool(PROCESSES) as pool:
        results: list[list[Outcome]] = pool.starmap(
            run_actor, [(world.url_as(user), user, n, world.frozen, 2) for user, n in actors])
    outcomes = [outcome for outcomes in results for outcome in outcomes]
    problems = check_store(world.store, outcomes)
    assert problems == [], problems
    submitted = [o for o in outcomes if o.action == "submit" and o.ok]
    assert len(submitted) == PROCESSES  # every submission went through: none gave up waiting
    assert all(o.ok or o.refused for o in outcomes), [o for o in outcomes if not (o.ok or o.refused)]
    numbers = [v.number for v in list_versions(world.store, "base-2027")]
    assert numbers == list(range(1, PROCESSES + 1))


def _submit_forever(url: str, frozen: Any, seed: int) -> None:
    """Submit variants of the plan one after the other until killed."""
    from dataclasses import replace

    from planner.store.database import open_store
    from planner.store.versions import submit

    store = open_store(url)
    n = 0
    while True:
        n += 1
        submit(store, replace(frozen, totals={**frozen.totals, "budget_used": seed * 1e6 + n}), "alice")


def test_a_submission_killed_at_a_random_moment_leaves_a_whole_version_or_none(world: World) -> None:
    context = multiprocessing.get_context("fork")
    chance = random.Random(16)
    world.store.engine.dispose()
    for round_number in range(4):
        child = context.Process(target=_submit_forever, args=(world.url_as("alice"), world.frozen, round_number))
        before = _count(world)
        child.start()
        deadline = time.monotonic() + 60
        while _count(world) == before and time.monotonic() < deadline:  # it is submitting, one after the other
            time.sleep(0.05)
        time.sleep(chance.random() * 0.5)  # then, at a random moment of a later submission
        assert child.pid is not None
        os.kill(child.pid, signal.SIGKILL)
        child.join(10)
    versions = list_versions(world.store, "base-2027")
    assert len(versions) >= 4, "the child never got to submit"
    assert [v.number for v in versions] == list(range(1, len(versions) + 1))
    assert all(len(v.accounts) == len(world.frozen.accounts) for v in versions)
    result = verify(world.store)
    assert result.ok, result.problems


def test_the_submit_command_killed_at_a_random_moment(world: World) -> None:
    """The real command, killed while it simulates or while it writes."""
    chance = random.Random(7)
    env = {**os.environ, "PLANNER_DB": world.url_as("alice")}
    for _ in range(2):
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "planner"), "plan", "submit", "scenarios/base.yaml", "--as",
             "alice", "--set", "options.draws=0", "--set", f"options.seed={chance.randint(1, 10**6)}"],
            cwd=world.path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(chance.uniform(1.0, 6.0))
        process.kill()
        process.wait(10)
    versions = list_versions(world.store, "base-2027") if _has_versions(world) else []
    assert [v.number for v in versions] == list(range(1, len(versions) + 1))
    assert verify(world.store).ok


def _count(world: World) -> int:
    from sqlalchemy import func, select

    from planner.store.schema import plan_versions

    with world.store.read() as connection:
        return int(connection.scalar(select(func.count()).select_from(plan_versions)) or 0)


def _has_versions(world: World) -> bool:
    from planner.store import NotFound

    try:
        list_versions(world.store, "base-2027")
    except NotFound:
        return False
    return True


@pytest.fixture(autouse=True)
def _fork_safe() -> None:
    if multiprocessing.get_start_method(allow_none=True) not in (None, "fork"):
        pytest.skip("these tests fork worker processes")
