"""claim quota gates

One row per striped first-come scheme counting its stripes that still have a place, so that a
claim arriving after the quota ran out is refused by reading one row instead of every stripe
(docs/decisions/0017). Existing stripes are counted into it.

Revision ID: 0016
Revises: 0012
Create Date: 2026-12-05 12:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheme_quota_gates",
        sa.Column("scheme_id", sa.Uuid(), nullable=False),
        sa.Column("open_stripes", sa.SmallInteger(), nullable=False),
        sa.Column("quota", sa.Integer(), nullable=False),
        sa.CheckConstraint("open_stripes >= 0", name=op.f("ck_scheme_quota_gates_not_negative")),
        sa.ForeignKeyConstraint(
            ["scheme_id"], ["schemes.id"], name=op.f("fk_scheme_quota_gates_scheme_id_schemes")
        ),
        sa.PrimaryKeyConstraint("scheme_id", name=op.f("pk_scheme_quota_gates")),
    )
    op.execute(
        "INSERT INTO scheme_quota_gates (scheme_id, open_stripes, quota) "
        "SELECT scheme_id, SUM(CASE WHEN taken < quota THEN 1 ELSE 0 END), SUM(quota) "
        "FROM scheme_quota_stripes GROUP BY scheme_id"
    )


def downgrade() -> None:
    op.drop_table("scheme_quota_gates")
