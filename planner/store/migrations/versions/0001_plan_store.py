"""Plan store: versions, rule-file hashes, account results, decisions, roles, settings, audit chain.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

A migration is frozen history: it spells out its tables instead of importing `planner.store.schema`, which always
describes the latest state.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

GENESIS = "0" * 64
DOCUMENT = sa.JSON().with_variant(sa.Text(), "sqlite")
"""JSON documents: PostgreSQL json; TEXT on SQLite, whose JSON columns would turn '1.0' into the integer 1."""


def upgrade() -> None:
    op.create_table(
        "plan_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("scenario", sa.String(80), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("scenario_file", sa.String(1000), nullable=False),
        sa.Column("workdir", sa.String(1000), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("currency", sa.String(16), nullable=False),
        sa.Column("options", DOCUMENT, nullable=False),
        sa.Column("applied", DOCUMENT, nullable=False),
        sa.Column("plan_source", sa.String(1000), nullable=False),
        sa.Column("events", DOCUMENT, nullable=False),
        sa.Column("totals", DOCUMENT, nullable=False),
        sa.Column("policy", DOCUMENT, nullable=False),
        sa.Column("uncertainty", DOCUMENT, nullable=True),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("submitted_by", sa.String(80), nullable=False),
        sa.Column("submitted_at", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.UniqueConstraint("scenario", "number", name="uq_plan_versions_scenario_number"),
    )
    op.create_table(
        "plan_rule_files",
        sa.Column("version_id", sa.Integer, sa.ForeignKey("plan_versions.id"), nullable=False),
        sa.Column("path", sa.String(1000), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("version_id", "path", name="pk_plan_rule_files"),
    )
    op.create_table(
        "plan_account_results",
        sa.Column("version_id", sa.Integer, sa.ForeignKey("plan_versions.id"), nullable=False),
        sa.Column("account", sa.String(80), nullable=False),
        sa.Column("kpis", DOCUMENT, nullable=False),
        sa.Column("details", DOCUMENT, nullable=False),
        sa.PrimaryKeyConstraint("version_id", "account", name="pk_plan_account_results"),
    )
    op.create_table(
        "plan_decisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("plan_versions.id"), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("decided_at", sa.String(32), nullable=False),
        sa.UniqueConstraint("version_id", "actor", name="uq_plan_decisions_version_actor"),
    )
    op.create_table(
        "planner_roles",
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("granted_by", sa.String(80), nullable=False),
        sa.Column("granted_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("username", "role", name="pk_planner_roles"),
    )
    op.create_table(
        "planner_settings",
        sa.Column("key", sa.String(80), primary_key=True),
        sa.Column("value", DOCUMENT, nullable=True),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("scenario", sa.String(80), nullable=True),
        sa.Column("version", sa.Integer, nullable=True),
        sa.Column("payload", DOCUMENT, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("row_hash", sa.String(64), nullable=False),
    )
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS}])


def downgrade() -> None:
    for table in ("audit_head", "audit_log", "planner_settings", "planner_roles", "plan_decisions",
                  "plan_account_results", "plan_rule_files", "plan_versions"):
        op.drop_table(table)
