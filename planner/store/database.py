"""Opening the plan store: which database, how to connect, migrations, and one transaction per action.

The database is named by `--db`, else the environment variable PLANNER_DB, else the SQLite file
`.planner/plans.db` below the working directory (created on first use). A value with `://` is a SQLAlchemy URL
(`postgresql://user:password@host/db` is read as `postgresql+psycopg://...`); anything else is a SQLite file path.

Concurrency: every action that writes runs in one transaction that first takes the store's write lock — the single
`audit_head` row, locked with `SELECT ... FOR UPDATE` on PostgreSQL, and the database write lock taken by
`BEGIN IMMEDIATE` on SQLite (WAL journal, busy timeout). Actions are therefore serialised: the second of two
concurrent approvals waits, then sees the first one's result and is refused with a conflict. A crash or an error
anywhere inside the transaction rolls all of it back, so no version, decision or audit row is ever half-written.

Waits are bounded: a writer waits for the lock at most PLANNER_LOCK_TIMEOUT seconds (default 30; `lock_timeout` on
PostgreSQL, the busy timeout on SQLite), then exits 1 saying the store stayed locked; on PostgreSQL a writer stopped
inside its transaction is disconnected by the server after the same time idle (`idle_in_transaction_session_
timeout`), releasing its lock. Reads run in one snapshot: `Store.read()` is REPEATABLE READ, READ ONLY on
PostgreSQL (a verification that runs while others write sees one consistent state, never half of an action), and
one deferred transaction on SQLite (WAL readers see the state of their first read). A SQLite store whose folder
cannot be written (read-only media, an archive) is opened immutable by the commands that only read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc, select, text
from sqlalchemy.engine import URL, make_url

from planner.store.errors import CannotOpen, Conflict
from planner.store.hashing import canonical_json
from planner.store.schema import audit_head

ENV_URL = "PLANNER_DB"
DEFAULT_PATH = Path(".planner") / "plans.db"
VERSION_TABLE = "planner_alembic_version"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
ENV_LOCK_TIMEOUT = "PLANNER_LOCK_TIMEOUT"
BUSY_TIMEOUT_SECONDS = 30.0
MIGRATION_LOCK = 7_061_746_572  # PostgreSQL advisory lock key held while migrating
CONFLICT_STATES = {"40001", "40P01", "55P03", "23505"}  # serialization failure, deadlock, lock timeout, duplicate


def database_url(db: str | None = None) -> URL:
    """The URL of the plan store named by `db`, PLANNER_DB or the default SQLite file."""
    value = (db or os.environ.get(ENV_URL) or str(DEFAULT_PATH)).strip()
    if value == ":memory:":
        raise CannotOpen("an in-memory SQLite database forgets every version: name a file, e.g. --db plans.db")
    if "://" not in value:
        return URL.create("sqlite", database=os.path.abspath(Path(value).expanduser()))
    try:
        url = make_url(value)
    except exc.ArgumentError as error:
        raise CannotOpen(f"cannot read the database URL {value!r}: {error}") from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise CannotOpen(f"unsupported database {url.get_backend_name()!r}: use a SQLite file or a PostgreSQL URL")
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        raise CannotOpen("an in-memory SQLite database forgets every version: name a file, e.g. --db plans.db")
    return url


class NoStore(CannotOpen):
    """There is no plan store where one was named, and the command only reads (exit 2, naming where it looked)."""


def lock_timeout() -> float:
    """How long a writer waits for the store's lock (PLANNER_LOCK_TIMEOUT seconds, default 30)."""
    value = os.environ.get(ENV_LOCK_TIMEOUT, "").strip()
    if not value:
        return BUSY_TIMEOUT_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 86_400:
        raise CannotOpen(f"{ENV_LOCK_TIMEOUT}={value!r}: give the seconds to wait for a locked store, e.g. 30")
    return seconds


def _sqlite_engine(url: URL, create: bool) -> Engine:
    path = Path(str(url.database))
    if not create and not path.is_file():
        raise NoStore(f"there is no plan store at {path}: submit a plan first (planner plan submit), or name the "
                      "store with --db or PLANNER_DB")
    immutable = not create and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CannotOpen(f"cannot create the folder of the plan store {path}: {error.strerror or error}") from None
    wait = lock_timeout()
    if immutable:  # read-only media: no -shm/-wal file can be created, and nobody can be writing
        url = URL.create("sqlite", database=f"file:{path}?mode=ro&immutable=1", query={"uri": "true"})
    engine = create_engine(url, connect_args={"timeout": wait, "check_same_thread": False},
                           json_serializer=canonical_json, json_deserializer=json.loads)

    @event.listens_for(engine, "connect")
    def _connect(connection: Any, _record: Any) -> None:
        connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below), so the driver must not
        cursor = connection.cursor()
        if not immutable:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        writing = connection.get_execution_options().get("planner_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")

    return engine


@dataclass
class Store:
    """An open plan store. Use `write()` for an action, `read()` to look."""

    engine: Engine
    label: str
    """The URL with its password hidden, for messages."""

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One action, one transaction, holding the store's write lock from its first statement (waiting for it at
        most `lock_timeout()` seconds)."""
        with self.translate(), self.engine.connect() as connection:
            connection.execution_options(planner_write=True)
            with connection.begin():
                if self.dialect == "postgresql":
                    wait = int(lock_timeout() * 1000)
                    connection.execute(text(f"SET LOCAL lock_timeout = {wait}"))
                    connection.execute(text(f"SET LOCAL idle_in_transaction_session_timeout = {wait}"))
                head = connection.execute(select(audit_head.c.seq).where(audit_head.c.id == 1).with_for_update())
                if head.first() is None:
                    raise CannotOpen("the audit trail's head row is missing: the store was tampered with; "
                                     "run 'planner audit verify'")
                yield connection

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """Several queries in one snapshot: REPEATABLE READ, READ ONLY on PostgreSQL; one deferred transaction on
        SQLite (a WAL reader keeps the state of its first read)."""
        with self.translate(), self.engine.connect() as connection:
            if self.dialect == "postgresql":
                connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with connection.begin():
                yield connection

    @contextmanager
    def translate(self) -> Iterator[None]:
        """Database errors become errors a person can act on: a conflict to retry, or a store that cannot open."""
        try:
            yield
        except exc.DBAPIError as error:
            state = getattr(error.orig, "sqlstate", None)
            detail = " ".join(str(error.orig).split()) or type(error.orig).__name__
            if state == "55P03" or "database is locked" in detail:
                raise Conflict(f"the plan store {self.label} stayed locked by another action for "
                               f"{lock_timeout():g} s (PLANNER_LOCK_TIMEOUT); nothing was changed: try again") from None
            if state in CONFLICT_STATES or isinstance(error, exc.IntegrityError):
                raise Conflict(f"another action changed the same plan at the same time ({detail}); "
                               "look again with 'planner plan show' and retry") from None
            raise CannotOpen(f"plan store {self.label}: {detail}") from None

    def close(self) -> None:
        self.engine.dispose()


def open_store(db: str | None = None, *, migrate: bool = True, create: bool = True) -> Store:
    """Open (and on first use create and migrate) the plan store named by `db`, PLANNER_DB or the default file.

    With `create=False` (commands that only read) nothing is created: no SQLite file, no folder, no tables in an
    empty database; an absent store raises NoStore naming where it looked. An existing store is still migrated.
    """
    url = database_url(db)
    label = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite":
        engine = _sqlite_engine(url, create)
    else:
        engine = create_engine(url, json_serializer=canonical_json, json_deserializer=json.loads,
                               pool_pre_ping=True)
    store = Store(engine, label)
    if migrate:
        try:
            current, head = revisions(store)
            if current is None and not create:
                raise NoStore(f"there is no plan store in {label} (the database has no planner tables): submit a "
                              "plan first (planner plan submit), or run planner db upgrade")
        except CannotOpen:
            store.close()
            raise
        if current != head:
            upgrade(store)
    return store


def _alembic_config(connection: Connection | None = None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def revisions(store: Store) -> tuple[str | None, str | None]:
    """(the database's migration revision, the newest revision this planner knows)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    with store.read() as connection:
        current = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE}).get_current_revision()
    if current is not None and current != head:
        known = {script.revision for script in ScriptDirectory.from_config(_alembic_config()).walk_revisions()}
        if current not in known:
            raise CannotOpen(f"the plan store {store.label} is at revision {current}, which this planner does not "
                             "know: a newer planner migrated it; install that version")
    return current, head


def upgrade(store: Store) -> str | None:
    """Apply every migration not yet applied, in one transaction under a lock; returns the new revision."""
    from alembic import command

    with store.translate(), store.engine.connect() as connection:
        connection.execution_options(planner_write=True)
        with connection.begin():
            if store.dialect == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            command.upgrade(_alembic_config(connection), "head")
    return revisions(store)[0]
