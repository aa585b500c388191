"""Alembic environment of the plan store: always run from `planner.store.database` on an open connection.

The caller passes its connection (already inside a write transaction that holds the store's lock) in
`config.attributes["connection"]`, so two processes opening a new database at once cannot both migrate it.
"""

from __future__ import annotations

from alembic import context

from planner.store.database import VERSION_TABLE
from planner.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE,
                  transactional_ddl=True, render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
