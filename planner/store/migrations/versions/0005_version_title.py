"""A version's title (issue 17): the label a planner gives a submission, e.g. "Q1 revision".

    plan_versions         + title (up to 200 characters; NULL for a version submitted without one, and for every
                            version stored before this migration, whose content hashes do not cover a title)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

A migration is frozen history: it spells out its columns instead of importing `planner.store.schema`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("plan_versions", sa.Column("title", sa.String(200), nullable=True))


def downgrade() -> None:
    op.drop_column("plan_versions", "title")
