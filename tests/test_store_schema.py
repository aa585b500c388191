"""The migrations build exactly the tables `planner.store.schema` describes, and hashes are stable."""

from __future__ import annotations

import math

import pytest
from test_store_support import db_url_fixture  # noqa: F401 - fixtures

from planner.store.database import VERSION_TABLE, open_store
from planner.store.hashing import canonical_json, chain_hash, content_hash
from planner.store.schema import metadata


def test_the_migrated_database_matches_the_schema(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    store = open_store(db_url)
    try:
        with store.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
            differences = compare_metadata(context, metadata)
    finally:
        store.close()
    assert differences == []


def test_canonical_json_is_one_text_per_value() -> None:
    assert canonical_json({"b": 1.0, "a": [1, "é"]}) == '{"a":[1,"é"],"b":1.0}'
    assert content_hash({"a": 1, "b": 2}) == content_hash({"b": 2, "a": 1})
    assert chain_hash("0" * 64, {"seq": 1}) != chain_hash("1" * 64, {"seq": 1})
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        canonical_json({"roi": math.inf})


def test_json_documents_read_back_exactly(db_url: str) -> None:
    """Hashes are re-computed from what the database gives back: floats and text must survive the round trip."""
    from sqlalchemy import select

    from planner.store.schema import planner_settings

    values = [0.1, 1e16, 1 / 3, -2.5e-12, 123456789.98765433, "繁體 ✓", [1, 2.0, None], {"z": 1, "a": 2}]
    store = open_store(db_url)
    try:
        with store.write() as connection:
            connection.execute(planner_settings.insert(), [{"key": f"k{n}", "value": v} for n, v in enumerate(values)])
        with store.read() as connection:
            found = dict(connection.execute(select(planner_settings.c.key, planner_settings.c.value)).all())
    finally:
        store.close()
    assert [found[f"k{n}"] for n in range(len(values))] == values
    assert [canonical_json(found[f"k{n}"]) for n in range(len(values))] == [canonical_json(v) for v in values]
