"""Plan store trust (issue 16): the frozen files of each version, signing keys, signed audit rows.

    plan_files            every file a version was built from, once per sha256 (content-addressed), zlib-compressed:
                          approve, report and diff need only the store, and a version can be re-simulated from it
    plan_versions         + command_line (the --set entries, so a re-simulation resolves the same scenario)
                          + basis_sha256 (hash of the terms, so a submit finds an identical earlier plan in one query)
    planner_keys          each user's Ed25519 public key, registered by an administrator
    audit_log             + signature (Ed25519 over the row's hash, by the acting user's registered key)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

DOCUMENT = sa.JSON().with_variant(sa.Text(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "plan_files",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
    )
    op.add_column("plan_versions", sa.Column("command_line", DOCUMENT, nullable=True))
    op.add_column("plan_versions", sa.Column("basis_sha256", sa.String(64), nullable=True))
    op.create_index("ix_plan_versions_basis", "plan_versions", ["scenario", "basis_sha256"])
    op.create_table(
        "planner_keys",
        sa.Column("username", sa.String(80), primary_key=True),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("registered_by", sa.String(80), nullable=False),
        sa.Column("registered_at", sa.String(32), nullable=False),
    )
    op.add_column("audit_log", sa.Column("signature", sa.String(128), nullable=True))


def downgrade() -> None:
    op.drop_column("audit_log", "signature")
    op.drop_table("planner_keys")
    op.drop_index("ix_plan_versions_basis", "plan_versions")
    op.drop_column("plan_versions", "basis_sha256")
    op.drop_column("plan_versions", "command_line")
    op.drop_table("plan_files")
