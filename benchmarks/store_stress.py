"""Many processes acting on one plan store at once: what each did, and whether the store kept all of it.

`run_actor` is one process's work (a planner submitting variants of the base plan, or an approver approving the
latest pending version), recorded as `Outcome`s; `check_store` compares the store with every outcome: versions
numbered 1..N without gaps or duplicates, every successful submission and approval present, nothing recorded that
nobody did, the audit chain intact. Used by tests/test_store_concurrency.py (bounded) and
benchmarks/bench_store_stress.py (the stress run with a table).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

from planner.store import Conflict, Refused, StoreError
from planner.store.database import Store, open_store
from planner.store.verify import verify
from planner.store.versions import Frozen, list_versions, submit
from planner.store.workflow import approve

SCENARIO = "base-2027"


@dataclass(frozen=True)
class Outcome:
    action: str
    user: str
    ok: bool
    refused: bool
    """A clean refusal by the workflow (already approved, superseded): expected under contention, not a loss."""
    number: int | None
    budget_used: float | None
    seconds: float
    error: str = ""


def _latest_pending(store: Store) -> int | None:
    """The newest version waiting for a decision (one small query: polling must not load every version)."""
    from sqlalchemy import func, select

    from planner.store.schema import plan_versions

    with store.read() as connection:
        found = connection.scalar(select(func.max(plan_versions.c.number))
                                  .where(plan_versions.c.scenario == SCENARIO, plan_versions.c.status == "submitted"))
    return int(found) if found is not None else None


def run_actor(url: str, user: str, seed: int, frozen: Frozen, actions: int) -> list[Outcome]:
    """`actions` actions by `user` (alice submits, anyone else approves), each timed and recorded."""
    store = open_store(url)
    outcomes = []
    try:
        for step in range(actions):
            started = time.perf_counter()
            if user == "alice":
                budget = 1_000_000.0 + seed * 1_000 + step
                variant = replace(frozen, totals={**frozen.totals, "budget_used": budget})
                outcomes.append(_attempt("submit", user, started, budget, lambda v=variant: submit(store, v, user)))
                continue
            number = None
            for _ in range(50):  # wait for something to approve (not counted in the action's time)
                number = _latest_pending(store)
                if number is not None:
                    break
                time.sleep(0.05)
            started = time.perf_counter()
            if number is None:
                outcomes.append(Outcome("approve", user, False, True, None, None, time.perf_counter() - started,
                                        "nothing pending"))
                continue
            outcomes.append(_attempt("approve", user, started, None,
                                     lambda n=number: approve(store, SCENARIO, n, user, "ok")))
    finally:
        store.close()
    return outcomes


def _attempt(action: str, user: str, started: float, budget: float | None, call: Any) -> Outcome:
    try:
        result = call()
    except (Conflict, Refused) as error:
        timed_out = "stayed locked" in str(error)
        return Outcome(action, user, False, not timed_out, None, budget, time.perf_counter() - started, str(error))
    except StoreError as error:
        return Outcome(action, user, False, False, None, budget, time.perf_counter() - started, str(error))
    number = result.number if action == "submit" else result.version.number
    return Outcome(action, user, True, False, number, budget, time.perf_counter() - started)


def check_store(store: Store, outcomes: list[Outcome]) -> list[str]:
    """What the store lost or invented, compared with what every process was told; empty when all is kept."""
    problems = []
    versions = list_versions(store, SCENARIO) if any(o.ok for o in outcomes) else []
    numbers = [v.number for v in versions]
    if numbers != list(range(1, len(numbers) + 1)):
        problems.append(f"version numbers are not 1..{len(numbers)}: {numbers}")
    by_number = {v.number: v for v in versions}
    submits = [o for o in outcomes if o.action == "submit" and o.ok]
    if len(submits) != len(versions):
        problems.append(f"{len(submits)} submissions succeeded but the store holds {len(versions)} versions")
    for outcome in submits:
        version = by_number.get(outcome.number or 0)
        if version is None or version.budget_used != outcome.budget_used or version.submitted_by != outcome.user:
            problems.append(f"submission {outcome.number} by {outcome.user} is not in the store as it was made")
    decided = {(v.number, d.actor) for v in versions for d in v.decisions}
    approvals = {(o.number, o.user) for o in outcomes if o.action == "approve" and o.ok}
    if decided != approvals:
        problems.append(f"decisions in the store {sorted(decided)} are not the approvals made {sorted(approvals)}")
    result = verify(store)
    if not result.ok:
        problems += result.problems
    return problems
