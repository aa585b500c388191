"""Actuals per plan year (issue 17): the imported sell-in and the executed promotions.

    actuals_sales         one row per plan year x account x product x fiscal week: cases and invoiced value, the
                          file it came from and when; re-importing a week replaces that week's rows
    actuals_promotions    one row per plan year x event: the promotion as it ran (mechanic, weeks, depth, funding
                          claimed, fixed costs); re-importing an event replaces it

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

A migration is frozen history: it spells out its tables instead of importing `planner.store.schema`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "actuals_sales",
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("account", sa.String(80), nullable=False),
        sa.Column("product", sa.String(80), nullable=False),
        sa.Column("week", sa.Integer, nullable=False),
        sa.Column("cases", sa.Float, nullable=False),
        sa.Column("invoice_value", sa.Float, nullable=False),
        sa.Column("source", sa.String(1000), nullable=False),
        sa.Column("imported_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("year", "account", "product", "week", name="pk_actuals_sales"),
    )
    op.create_table(
        "actuals_promotions",
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("event", sa.String(80), nullable=False),
        sa.Column("account", sa.String(80), nullable=False),
        sa.Column("product_group", sa.String(80), nullable=False),
        sa.Column("mechanic", sa.String(80), nullable=False),
        sa.Column("first_week", sa.Integer, nullable=False),
        sa.Column("last_week", sa.Integer, nullable=False),
        sa.Column("depth", sa.Float, nullable=True),
        sa.Column("funding", sa.Float, nullable=False),
        sa.Column("fixed_cost", sa.Float, nullable=False),
        sa.Column("source", sa.String(1000), nullable=False),
        sa.Column("imported_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("year", "event", name="pk_actuals_promotions"),
    )


def downgrade() -> None:
    op.drop_table("actuals_promotions")
    op.drop_table("actuals_sales")
