"""Stress: many processes submitting and approving on one plan store at once, SQLite and PostgreSQL.

    .venv/bin/python -m benchmarks.bench_store_stress [--processes 5 20 40] [--actions 10] [--postgres URL]

For each backend and process count, half the processes submit variants of the demo base plan (as alice) and the
other half approve the latest pending version (bob, carol, pat): `--actions` each. The same number of actions run
first by ONE process, one after the other (the reference, measured in the same run). The table gives wall time,
CPU time of all processes (children's user + system), actions per second, latency P50/P95/max of one action,
how many succeeded, were refused by the workflow (already approved, superseded) or gave up waiting for the lock,
and what `check_store` found lost or invented (versions not 1..N, a success not in the store, a broken chain).
On PostgreSQL each user logs in as themselves (login roles alice, bob, carol, pat must exist with password = name,
as tests/test_store_support.py creates them). Needs the demo (run from the repository root).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import chdir, contextmanager
from pathlib import Path
from typing import Any

from benchmarks.store_stress import Outcome, check_store, run_actor
from planner.store.database import open_store
from planner.store.roles import import_file, read_file
from planner.store.versions import Frozen

ROOT = Path(__file__).resolve().parent.parent
APPROVERS = ("bob", "carol", "pat")
ROLES = "users:\n  alice: [planner]\n  bob: [approver]\n  carol: [approver]\n  pat: [approver]\n  dana: [admin]\n"


def _frozen() -> Frozen:
    from planner.rules.scenario import resolve
    from planner.simulate import simulate
    from planner.store.versions import freeze

    with chdir(ROOT):
        resolved = resolve(Path("scenarios/base.yaml"), ["options.draws=0"])
        simulation = simulate(resolved.rules, resolved.options, scenario=resolved.id, name=resolved.name,
                              applied=resolved.applied)
        return freeze(resolved, simulation, list(resolved.chain) + list(resolved.rules.files),
                      list(resolved.rules.events), command_line=["options.draws=0"])


@contextmanager
def _store(backend: str, postgres: str | None) -> Iterator[tuple[str, dict[str, str]]]:
    """A fresh store (URL) with the roles imported, and the URL each user logs in with."""
    folder = Path(tempfile.mkdtemp(prefix="bench-store-"))
    (folder / "roles.yaml").write_text(ROLES, encoding="utf-8")
    schema = None
    if backend == "sqlite":
        url = str(folder / "plans.db")
        logins = {user: url for user in ("alice", *APPROVERS)}
    else:
        import psycopg
        from sqlalchemy.engine import make_url

        assert postgres is not None
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(postgres, autocommit=True) as connection:
            connection.execute(f"CREATE SCHEMA {schema}")
        url = f"{postgres}?options=-csearch_path%3D{schema}"
        logins = {user: make_url(url).set(username=user, password=user).render_as_string(hide_password=False)
                  for user in ("alice", *APPROVERS)}
    store = open_store(url)
    try:
        if schema is not None:
            import psycopg

            users = ", ".join(logins)
            with psycopg.connect(postgres or "", autocommit=True) as connection:
                connection.execute(f"GRANT USAGE ON SCHEMA {schema} TO {users}")
                connection.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {users}")
                connection.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {users}")
        with store.write() as connection:
            import_file(connection, "dana", read_file(folder / "roles.yaml"))
        yield url, logins
    finally:
        store.close()
        shutil.rmtree(folder, ignore_errors=True)
        if schema is not None:
            import psycopg

            with psycopg.connect(postgres or "", autocommit=True) as connection:
                connection.execute(f"DROP SCHEMA {schema} CASCADE")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(backend: str, postgres: str | None, frozen: Frozen, processes: int, actions: int) -> dict[str, Any]:
    context = multiprocessing.get_context("fork")
    with _store(backend, postgres) as (url, logins):
        users = ["alice" if n % 2 == 0 else APPROVERS[n % 3] for n in range(processes)]
        cpu, started = _children_cpu(), time.perf_counter()
        with context.Pool(processes) as pool:
            results = pool.starmap(run_actor, [(logins[user], user, n, frozen, actions)
                                               for n, user in enumerate(users)])
        wall, cpu = time.perf_counter() - started, _children_cpu() - cpu
        outcomes: list[Outcome] = [o for found in results for o in found]
        store = open_store(url)
        try:
            problems = check_store(store, outcomes)
        finally:
            store.close()
    latencies = sorted(o.seconds for o in outcomes)
    return {"backend": backend, "processes": processes, "actions": len(outcomes), "wall": wall, "cpu": cpu,
            "rate": len(outcomes) / wall, "p50": statistics.median(latencies),
            "p95": latencies[int(0.95 * (len(latencies) - 1))], "max": latencies[-1],
            "ok": sum(o.ok for o in outcomes), "refused": sum(o.refused for o in outcomes),
            "gave_up": sum(not o.ok and not o.refused for o in outcomes), "problems": len(problems)}


def _sequential(backend: str, postgres: str | None, frozen: Frozen, actions: int) -> dict[str, Any]:
    """The reference: the same number of submissions by one process, one after the other."""
    with _store(backend, postgres) as (_url, logins):
        cpu, started = time.process_time(), time.perf_counter()
        outcomes = run_actor(logins["alice"], "alice", 0, frozen, actions)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"backend": backend, "processes": 1, "actions": actions, "wall": wall, "cpu": cpu,
            "rate": actions / wall, "p50": statistics.median(o.seconds for o in outcomes),
            "p95": sorted(o.seconds for o in outcomes)[int(0.95 * (actions - 1))],
            "max": max(o.seconds for o in outcomes), "ok": sum(o.ok for o in outcomes), "refused": 0, "gave_up": 0,
            "problems": 0}


def _history(backend: str, postgres: str | None, frozen: Frozen, sizes: list[int]) -> list[tuple[int, float, float]]:
    """(earlier versions, wall s, CPU s) of one submission as the scenario's history grows: the time spent inside
    the write lock must not grow with the number of earlier versions."""
    from dataclasses import replace

    from planner.store.versions import submit

    found = []
    with _store(backend, postgres) as (url, _logins):
        store = open_store(url)
        try:
            for n in range(max(sizes) + 1):
                variant = replace(frozen, totals={**frozen.totals, "budget_used": float(n)})
                cpu, started = time.process_time(), time.perf_counter()
                submit(store, variant, "alice")
                if n in sizes:
                    found.append((n, time.perf_counter() - started, time.process_time() - cpu))
        finally:
            store.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, nargs="+", default=[5, 20, 40])
    parser.add_argument("--actions", type=int, default=10, help="actions per process")
    parser.add_argument("--history", type=int, nargs="*", default=[0, 50, 200],
                        help="also time one submission after this many earlier versions (SQLite)")
    parser.add_argument("--postgres", default=os.environ.get("PLANNER_TEST_POSTGRES_URL"),
                        help="a PostgreSQL server to stress too (default: $PLANNER_TEST_POSTGRES_URL)")
    arguments = parser.parse_args()
    frozen = _frozen()
    rows = []
    for backend in ["sqlite"] + (["postgresql"] if arguments.postgres else []):
        largest = max(arguments.processes) * arguments.actions
        reference = _sequential(backend, arguments.postgres, frozen, largest // 2)
        rows.append({**reference, "ratio": 1.0})
        for processes in arguments.processes:
            row = _run(backend, arguments.postgres, frozen, processes, arguments.actions)
            rows.append({**row, "ratio": float(row["rate"]) / float(reference["rate"])})
    header = ("backend", "procs", "actions", "wall s", "CPU s", "actions/s", "vs 1 proc", "P50 s", "P95 s", "max s",
              "ok", "refused", "gave up", "lost/invented")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        print(f"| {r['backend']} | {r['processes']} | {r['actions']} | {r['wall']:.1f} | {r['cpu']:.1f} | "
              f"{r['rate']:.1f} | {r['ratio']:.2f} | {r['p50']:.3f} | {r['p95']:.3f} | {r['max']:.3f} | "
              f"{r['ok']} | {r['refused']} | {r['gave_up']} | {r['problems']} |")
    if arguments.history:
        print("\n| earlier versions | submit wall s | submit CPU s |\n|---|---|---|")
        for earlier, wall, cpu in _history("sqlite", None, frozen, arguments.history):
            print(f"| {earlier} | {wall:.3f} | {cpu:.3f} |")


if __name__ == "__main__":
    main()
