"""Actuals per plan year (issue 17): reserved for the imported sell-in and executed promotions. Empty until that
work lands; the revision exists so that it chains after 0002.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
