"""The plan store's tables (SQLAlchemy Core), as the latest migration leaves them.

The migrations in `migrations/versions/` create these tables; `tests/test_store_schema.py` checks that a migrated
database matches this metadata, so the two cannot drift apart. Times are ISO-8601 UTC text (`2027-01-04T09:30:00.
123456Z`) and documents are JSON written as canonical text, so a row reads back byte for byte on SQLite and on
PostgreSQL and its hash can be re-computed.

    plan_versions         one frozen version: scenario, options, overrides, events, totals, policy, who and when;
                          and its title (migration 0005); `status` and `revision` (the optimistic counter) are the
                          only columns that ever change
    plan_rule_files       sha256 of every file the version was built from (scenario chain, rule files, plan file)
    plan_account_results  per-account KPIs (and growth, uncertainty) of the version
    plan_decisions        approvals and rejections, at most one per person and version
    planner_roles         who holds which role (planner, approver, admin)
    planner_settings      workflow settings, e.g. two_approvers_above
    audit_log             append-only, hash-chained record of every action
    audit_head            one row: the last audit row's number and hash (the chain's end, and the write lock)
    plan_files            every frozen file once per sha256, zlib-compressed (approve anywhere, re-simulate)
    planner_keys          each user's Ed25519 public key, registered by an administrator
    actuals_sales         imported sell-in per plan year x account x product x week (issue 17)
    actuals_promotions    executed promotions per plan year x event (issue 17)
    account_plan_status   the annual plan document's status per scenario x account: draft/discussed/signed (issue 18)
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from planner.store.hashing import canonical_json

ID = 80
"""Longest scenario, account or user id (rule ids are at most 80 characters)."""
HASH = 64
TIME = 32
PATH = 1000
TITLE = 200
"""Longest version title ("Q1 revision"; migration 0005)."""



class Document(TypeDecorator[Any]):
    """A JSON document: PostgreSQL's `json` (kept as written), canonical JSON text on SQLite.

    SQLite gives a column declared JSON numeric affinity, which turns a stored `1.0` or `1e+16` into an integer:
    the document would no longer hash as it did when written. TEXT keeps it byte for byte.
    """

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(JSON() if dialect.name == "postgresql" else Text())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if dialect.name == "postgresql" or value is None:
            return value
        return canonical_json(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if dialect.name == "postgresql" or value is None:
            return value
        return json.loads(value)


metadata = MetaData()

plan_versions = Table(
    "plan_versions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scenario", String(ID), nullable=False),
    Column("number", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("scenario_file", String(PATH), nullable=False),
    Column("workdir", String(PATH), nullable=False),
    Column("year", Integer, nullable=False),
    Column("currency", String(16), nullable=False),
    Column("options", Document, nullable=False),
    Column("applied", Document, nullable=False),
    Column("plan_source", String(PATH), nullable=False),
    Column("events", Document, nullable=False),
    Column("totals", Document, nullable=False),
    Column("policy", Document, nullable=False),
    Column("uncertainty", Document, nullable=True),
    Column("content_sha256", String(HASH), nullable=False),
    Column("submitted_by", String(ID), nullable=False),
    Column("submitted_at", String(TIME), nullable=False),
    Column("status", String(16), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("command_line", Document, nullable=True),
    Column("basis_sha256", String(HASH), nullable=True),
    Column("title", String(TITLE), nullable=True),
    UniqueConstraint("scenario", "number", name="uq_plan_versions_scenario_number"),
    Index("ix_plan_versions_basis", "scenario", "basis_sha256"),
)

plan_rule_files = Table(
    "plan_rule_files", metadata,
    Column("version_id", Integer, ForeignKey("plan_versions.id"), nullable=False),
    Column("path", String(PATH), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("sha256", String(HASH), nullable=False),
    PrimaryKeyConstraint("version_id", "path", name="pk_plan_rule_files"),
)

plan_account_results = Table(
    "plan_account_results", metadata,
    Column("version_id", Integer, ForeignKey("plan_versions.id"), nullable=False),
    Column("account", String(ID), nullable=False),
    Column("kpis", Document, nullable=False),
    Column("details", Document, nullable=False),
    PrimaryKeyConstraint("version_id", "account", name="pk_plan_account_results"),
)

plan_decisions = Table(
    "plan_decisions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("version_id", Integer, ForeignKey("plan_versions.id"), nullable=False),
    Column("actor", String(ID), nullable=False),
    Column("decision", String(16), nullable=False),
    Column("comment", Text, nullable=False),
    Column("decided_at", String(TIME), nullable=False),
    UniqueConstraint("version_id", "actor", name="uq_plan_decisions_version_actor"),
)

planner_roles = Table(
    "planner_roles", metadata,
    Column("username", String(ID), nullable=False),
    Column("role", String(16), nullable=False),
    Column("granted_by", String(ID), nullable=False),
    Column("granted_at", String(TIME), nullable=False),
    PrimaryKeyConstraint("username", "role", name="pk_planner_roles"),
)

planner_settings = Table(
    "planner_settings", metadata,
    Column("key", String(ID), primary_key=True),
    Column("value", Document, nullable=True),
)

audit_log = Table(
    "audit_log", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", String(TIME), nullable=False),
    Column("actor", String(ID), nullable=False),
    Column("action", String(32), nullable=False),
    Column("scenario", String(ID), nullable=True),
    Column("version", Integer, nullable=True),
    Column("payload", Document, nullable=False),
    Column("prev_hash", String(HASH), nullable=False),
    Column("row_hash", String(HASH), nullable=False),
    Column("signature", String(128), nullable=True),
)

audit_head = Table(
    "audit_head", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("hash", String(HASH), nullable=False),
)

plan_files = Table(
    "plan_files", metadata,
    Column("sha256", String(HASH), primary_key=True),
    Column("size", Integer, nullable=False),
    Column("content", LargeBinary, nullable=False),
)

planner_keys = Table(
    "planner_keys", metadata,
    Column("username", String(ID), primary_key=True),
    Column("public_key", String(HASH), nullable=False),
    Column("registered_by", String(ID), nullable=False),
    Column("registered_at", String(TIME), nullable=False),
)

actuals_sales = Table(
    "actuals_sales", metadata,
    Column("year", Integer, nullable=False),
    Column("account", String(ID), nullable=False),
    Column("product", String(ID), nullable=False),
    Column("week", Integer, nullable=False),
    Column("cases", Float, nullable=False),
    Column("invoice_value", Float, nullable=False),
    Column("source", String(PATH), nullable=False),
    Column("imported_at", String(TIME), nullable=False),
    PrimaryKeyConstraint("year", "account", "product", "week", name="pk_actuals_sales"),
)

actuals_promotions = Table(
    "actuals_promotions", metadata,
    Column("year", Integer, nullable=False),
    Column("event", String(ID), nullable=False),
    Column("account", String(ID), nullable=False),
    Column("product_group", String(ID), nullable=False),
    Column("mechanic", String(ID), nullable=False),
    Column("first_week", Integer, nullable=False),
    Column("last_week", Integer, nullable=False),
    Column("depth", Float, nullable=True),
    Column("funding", Float, nullable=False),
    Column("fixed_cost", Float, nullable=False),
    Column("source", String(PATH), nullable=False),
    Column("imported_at", String(TIME), nullable=False),
    PrimaryKeyConstraint("year", "event", name="pk_actuals_promotions"),
)

account_plan_status = Table(
    "account_plan_status", metadata,
    Column("scenario", String(ID), nullable=False),
    Column("account", String(ID), nullable=False),
    Column("status", String(16), nullable=False),
    Column("version", Integer, nullable=True),
    Column("changed_by", String(ID), nullable=False),
    Column("changed_at", String(TIME), nullable=False),
    Column("note", Text, nullable=False),
    PrimaryKeyConstraint("scenario", "account", name="pk_account_plan_status"),
)
