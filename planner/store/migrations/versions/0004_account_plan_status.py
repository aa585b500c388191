"""The account annual plan's status (issue 18): draft -> discussed -> signed, per scenario and account.

    account_plan_status   one row per scenario x account: the status of its annual plan document (客户年计划书),
                          the plan version it refers to, who set it, when, and a note; every change is also an
                          audit row (action account_plan_status)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

A migration is frozen history: it spells out its tables instead of importing `planner.store.schema`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_plan_status",
        sa.Column("scenario", sa.String(80), nullable=False),
        sa.Column("account", sa.String(80), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=True),
        sa.Column("changed_by", sa.String(80), nullable=False),
        sa.Column("changed_at", sa.String(32), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("scenario", "account", name="pk_account_plan_status"),
    )


def downgrade() -> None:
    op.drop_table("account_plan_status")
