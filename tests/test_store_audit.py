"""The audit trail: every action chained by sha256; tampering with the database by SQL is detected and located."""

from __future__ import annotations

import pytest
from test_store_support import World, base_frozen_fixture, db_url_fixture, sql, world_fixture  # noqa: F401 - fixtures

from planner.store import audit
from planner.store.hashing import GENESIS, chain_hash
from planner.store.verify import verify
from planner.store.versions import submit
from planner.store.workflow import approve, reject


def _history(world: World) -> list[audit.AuditRow]:
    """Roles imported (6 grants), two submissions, a rejection, an approval: 10 rows."""
    submit(world.store_as("alice"), world.frozen, "alice")
    reject(world.store_as("bob"), "base-2027", 1, "bob", "trim Carrefour")
    submit(world.store_as("alice"), world.variant(budget_used=3_000_000.0), "alice")
    approve(world.store_as("carol"), "base-2027", 2, "carol", "ok")
    with world.store.read() as connection:
        return audit.rows(connection)


def _json_text_replace(world: World, table: str, column: str, old: str, new: str, where: str) -> None:
    """Edit a JSON column as text, the way someone with SQL access would."""
    cast_back = "CAST({} AS JSON)" if world.store.dialect == "postgresql" else "{}"
    replaced = cast_back.format(f"REPLACE(CAST({column} AS TEXT), :old, :new)")
    sql(world, f"UPDATE {table} SET {column} = {replaced} WHERE {where}", old=old, new=new)


def test_every_action_is_chained(world: World) -> None:
    rows = _history(world)
    assert [row.action for row in rows][-4:] == ["submit", "reject", "submit", "approve"]
    assert [row.seq for row in rows] == list(range(1, len(rows) + 1))
    previous = GENESIS
    for row in rows:
        assert row.prev_hash == previous and row.row_hash == chain_hash(previous, row.content())
        previous = row.row_hash
    submitted = rows[-2]
    assert submitted.payload["content_sha256"] and submitted.payload["supersedes"] == []
    assert set(submitted.payload["rule_files"]) == set(world.frozen.rule_files)
    assert rows[-1].payload["rule_files"] == submitted.payload["rule_files"]
    grants = [(row.payload["user"], row.payload["role"]) for row in rows if row.action == "role_grant"]
    assert ("bob", "approver") in grants and all(row.payload["sha256"] for row in rows[:5])
    result = verify(world.store)
    assert result.ok and result.rows == len(rows) and result.head_hash == previous


def test_an_edited_comment_in_the_trail_is_found(world: World) -> None:
    rows = _history(world)
    rejected = next(row for row in rows if row.action == "reject")
    _json_text_replace(world, "audit_log", "payload", "trim Carrefour", "looks great", f"seq = {rejected.seq}")
    result = verify(world.store)
    assert not result.ok and result.broken_row == rejected.seq
    assert result.problems[0] == f"audit {rejected.label} does not match its hash: the row was edited"


def test_an_edited_comment_in_the_decisions_table_is_found(world: World) -> None:
    _history(world)
    sql(world, "UPDATE plan_decisions SET comment = 'looks great' WHERE actor = 'bob'")
    result = verify(world.store)
    assert not result.ok and result.broken_row is None  # the chain holds; the table disagrees with it
    assert result.problems == [("bob's decision on base-2027 version 1: plan_decisions says comment 'looks great', "
                                "audit row 8 recorded 'trim Carrefour'")]


def test_a_deleted_middle_row_is_found(world: World) -> None:
    rows = _history(world)
    middle = rows[len(rows) // 2]
    sql(world, f"DELETE FROM audit_log WHERE seq = {middle.seq}")
    result = verify(world.store)
    assert not result.ok and result.broken_row == middle.seq + 1
    assert result.problems[0].endswith(f"follows row {middle.seq - 1}: row {middle.seq} deleted")


def test_a_deleted_last_row_is_found_by_the_head(world: World) -> None:
    rows = _history(world)
    sql(world, f"DELETE FROM audit_log WHERE seq = {rows[-1].seq}")
    result = verify(world.store)
    assert not result.ok and result.broken_row == rows[-1].seq
    assert f"the audit head names row {rows[-1].seq} but the chain ends at row {rows[-2].seq}" in result.problems[0]


def test_a_rewritten_row_with_a_recomputed_hash_breaks_the_next_link(world: World) -> None:
    rows = _history(world)
    target = rows[-2]
    edited = audit.AuditRow(**{**target.__dict__, "actor": "mallory"})
    sql(world, "UPDATE audit_log SET actor = 'mallory', row_hash = :hash WHERE seq = :seq",
        hash=chain_hash(edited.prev_hash, edited.content()), seq=target.seq)
    result = verify(world.store)
    assert result.broken_row == rows[-1].seq and "does not link to row" in result.problems[0]


def test_an_edited_version_is_found(world: World) -> None:
    _history(world)
    _json_text_replace(world, "plan_versions", "totals", '"budget_used":3000000.0', '"budget_used":2000000.0',
                       "number = 2")
    result = verify(world.store)
    assert not result.ok and result.broken_row is None
    assert result.problems == [("base-2027 version 2 no longer matches the content hash its submit row 9 recorded: "
                                "its frozen content was edited")]


def test_a_status_or_role_changed_by_sql_is_found(world: World) -> None:
    _history(world)
    sql(world, "UPDATE plan_versions SET status = 'approved' WHERE number = 1")
    sql(world, "INSERT INTO planner_roles (username, role, granted_by, granted_at) "
               "VALUES ('mallory', 'approver', 'mallory', '2027-01-01T00:00:00.000000Z')")
    problems = verify(world.store).problems
    assert problems == ["base-2027 version 1 is 'approved' but the audit trail says 'rejected'",
                        "role approver of mallory is held in the store only"]


def test_a_failed_append_of_an_unknown_action_writes_nothing(world: World) -> None:
    before = verify(world.store).rows  # the roles the administrator imported
    with pytest.raises(ValueError, match="unknown audit action"), world.store.write() as connection:
        audit.append(connection, "bob", "delete_everything", {})
    assert verify(world.store).rows == before == 6
