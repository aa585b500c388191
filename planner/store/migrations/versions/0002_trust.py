"""Plan store trust (issue 16): reserved for identities, roles kept in the store, signing keys and the frozen
rule files of each version. Empty until that work lands; the revision exists so later migrations chain after it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
