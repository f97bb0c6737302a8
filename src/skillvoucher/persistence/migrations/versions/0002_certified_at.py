"""certified_at on vouchers, withheld_at on settlement lines

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 21:44:02.907638
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from skillvoucher.persistence.types import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("vouchers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("certified_at", UtcDateTime(), nullable=True))
    with op.batch_alter_table("settlement_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("withheld_at", UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("settlement_lines", schema=None) as batch_op:
        batch_op.drop_column("withheld_at")
    with op.batch_alter_table("vouchers", schema=None) as batch_op:
        batch_op.drop_column("certified_at")
