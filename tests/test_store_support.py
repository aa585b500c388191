"""Shared fixtures of the plan-store tests (imported by tests/test_store_*.py; holds no tests itself).

A test module imports the fixture functions (`world_fixture`, ...); pytest knows them by their names (`world`).

Every store test runs against SQLite, and against PostgreSQL when PLANNER_TEST_POSTGRES_URL names a server (each
test gets its own schema there, dropped afterwards). The demo scenario is resolved and simulated once per session;
each test gets its own copy of the demo files (so it may change them) and its own store.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import chdir
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from planner.store.database import Store, open_store
from planner.store.roles import Access, load_access
from planner.store.versions import Frozen, freeze

POSTGRES_ENV = "PLANNER_TEST_POSTGRES_URL"
ROOT = Path(__file__).resolve().parent.parent
ROLES = """users:
  alice: [planner]
  pat: [planner, approver]
  bob: [approver]
  carol: [approver]
  dana: [admin]
two_approvers_above: null
"""
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.skipif(
        not os.environ.get(POSTGRES_ENV), reason=f"set {POSTGRES_ENV} to run the PostgreSQL tests")),
]


def copy_demo(target: Path, roles: str = ROLES) -> Path:
    """The demo's rules and scenarios, and a roles file, in `target`."""
    for folder in ("rules", "scenarios"):
        shutil.copytree(ROOT / folder, target / folder)
    (target / ".planner").mkdir()
    (target / ".planner" / "roles.yaml").write_text(roles, encoding="utf-8")
    return target


def simulate_frozen(scenario: str = "scenarios/base.yaml", sets: tuple[str, ...] = ("options.draws=0",)) -> Frozen:
    """Resolve, simulate and freeze a scenario of the working directory, as `planner plan submit` does."""
    from planner.rules.scenario import resolve
    from planner.simulate import simulate

    resolved = resolve(Path(scenario), list(sets))
    assert resolved.ok, resolved.findings
    simulation = simulate(resolved.rules, resolved.options, scenario=resolved.id, name=resolved.name,
                          applied=resolved.applied)
    files = list(resolved.chain) + list(resolved.rules.files)
    return freeze(resolved, simulation, files, list(resolved.rules.events))


@pytest.fixture(scope="session", name="base_frozen")
def base_frozen_fixture(tmp_path_factory: pytest.TempPathFactory) -> Frozen:
    """The demo base scenario, frozen once (its file paths are relative, so it fits every copy of the demo)."""
    with chdir(copy_demo(tmp_path_factory.mktemp("demo"))):
        return simulate_frozen()


@dataclass
class World:
    """A test's demo folder (the working directory), its store and the frozen base scenario."""

    path: Path
    store: Store
    url: str
    frozen: Frozen

    @property
    def access(self) -> Access:
        return load_access()

    def variant(self, **totals: float) -> Frozen:
        """The base plan with some totals changed: a different version of the same scenario."""
        return replace(self.frozen, totals={**self.frozen.totals, **totals})


def _postgres_schema_url(base: str) -> Iterator[str]:
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(base, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=BACKENDS, name="db_url")
def db_url_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "store" / "plans.db")
    else:
        yield from _postgres_schema_url(os.environ[POSTGRES_ENV])


@pytest.fixture(name="world")
def world_fixture(db_url: str, tmp_path: Path, base_frozen: Frozen, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    demo = copy_demo(tmp_path / "demo")
    monkeypatch.chdir(demo)
    for variable in ("PLANNER_DB", "PLANNER_ROLES", "PLANNER_USER"):
        monkeypatch.delenv(variable, raising=False)
    store = open_store(db_url)
    try:
        yield World(demo, store, db_url, base_frozen)
    finally:
        store.close()


def sql(world: World, statement: str, **parameters: Any) -> Any:
    """Run raw SQL against the store, outside the planner: how the tamper tests edit the database."""
    from sqlalchemy import text

    with world.store.engine.begin() as connection:
        return connection.execute(text(statement), parameters)
