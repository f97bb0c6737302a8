"""tally updated vouchers by groups of alike ones

The update trigger of ``vouchers`` sums alike old and new rows before crossing them with the
tally dimensions, as the insert and delete triggers do since 0013, and finds the vouchers whose
keys changed before it looks up their money. The tallies it adds are the same. PostgreSQL only:
SQLite's triggers are row-level.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 16:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from skillvoucher.persistence import tally_sql

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.text(tally_sql.postgres_update_function(grouped=True)))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.text(tally_sql.postgres_update_function(grouped=False)))
