"""tally inserted and deleted vouchers by groups of alike ones

The statement-level triggers of ``vouchers`` (migration 0010) crossed every inserted or
deleted voucher with the eight tally dimensions before grouping: about 30 ms of a push chunk's
5,000-voucher COPY. They now group alike vouchers first (a push's differ only in id and
holder), then cross the few groups; the tallies they add are the same. PostgreSQL only:
SQLite's triggers are row-level.

Revision ID: 0013
Revises: 0016 (0016 was written beside it, on 0012: one line of revisions)
Create Date: 2026-12-05 13:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from skillvoucher.persistence import tally_sql

revision = "0013"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in tally_sql.postgres_counting_functions(grouped=True):
            op.execute(sa.text(statement))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in tally_sql.postgres_counting_functions(grouped=False):
            op.execute(sa.text(statement))
