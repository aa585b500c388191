"""Shared fixtures of the plan-store tests (imported by tests/test_store_*.py; holds no tests itself).

A test module imports the fixture functions (`world_fixture`, ...); pytest knows them by their names (`world`).

Every store test runs against SQLite, and against PostgreSQL when PLANNER_TEST_POSTGRES_URL names a server (each
test gets its own schema there, dropped afterwards). On PostgreSQL the acting user is the database login, so each
demo user (alice, bob ...) is a real login role of the server (created once, password = name), granted the test's
schema; `World.store_as(user)` is the store as that user logs in to it (on SQLite, the one store). The demo scenario is resolved and simulated once per session;
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
from planner.store.roles import import_file, read_file
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
USERS = ("alice", "pat", "bob", "carol", "dana", "erin", "mallory")
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
    return freeze(resolved, simulation, files, list(resolved.rules.events), command_line=list(sets))


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
    logins: dict[str, Store]

    def url_as(self, user: str) -> str:
        """The store's URL as `user` logs in (PostgreSQL); the SQLite file is the same for everyone."""
        return user_url(self.url, user)

    def store_as(self, user: str) -> Store:
        if self.store.dialect == "sqlite":
            return self.store
        if user not in self.logins:
            self.logins[user] = open_store(self.url_as(user))
        return self.logins[user]

    def variant(self, **totals: float) -> Frozen:
        """The base plan with some totals changed: a different version of the same scenario."""
        return replace(self.frozen, totals={**self.frozen.totals, **totals})


def user_url(url: str, user: str) -> str:
    """`url` logged in as `user` (the test logins' password is their name)."""
    if "://" not in url:
        return url
    from sqlalchemy.engine import make_url

    return make_url(url).set(username=user, password=user).render_as_string(hide_password=False)


def grant_logins(url: str) -> None:
    """Every demo user may use the test's schema and its tables (as an administrator sets a shared store up)."""
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    schema = str(parsed.query["options"]).split("=", 1)[1]
    plain = parsed.set(query={}).set(drivername="postgresql").render_as_string(hide_password=False)
    users = ", ".join(USERS)
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f"GRANT USAGE ON SCHEMA {schema} TO {users}")
        connection.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {users}")
        connection.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {users}")


def _postgres_schema_url(base: str) -> Iterator[str]:
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
        for user in USERS:  # login roles are server-wide: created once, kept for later runs
            exists = connection.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone()
            if exists is None:
                connection.execute(f"CREATE ROLE {user} LOGIN PASSWORD '{user}'")
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
    if store.dialect == "postgresql":
        grant_logins(db_url)
    with store.write() as connection:  # the administrator sets the roles up, as docs/approval.md says
        import_file(connection, "dana", read_file(demo / ".planner" / "roles.yaml"))
    world = World(demo, store, db_url, base_frozen, {})
    try:
        yield world
    finally:
        for other in world.logins.values():
            other.close()
        store.close()


def sql(world: World, statement: str, **parameters: Any) -> Any:
    """Run raw SQL against the store, outside the planner: how the tamper tests edit the database."""
    from sqlalchemy import text

    with world.store.engine.begin() as connection:
        return connection.execute(text(statement), parameters)
