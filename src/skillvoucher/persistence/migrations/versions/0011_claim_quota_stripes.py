"""claim quota stripes

A first-come scheme's quota is split into stripes that claims take places from, so that
concurrent claims do not all queue for the scheme row's counter (docs/decisions/0017). A
scheme's stripes are laid out by its first claim, counting the vouchers it already issued.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 09:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheme_quota_stripes",
        sa.Column("scheme_id", sa.Uuid(), nullable=False),
        sa.Column("stripe", sa.SmallInteger(), nullable=False),
        sa.Column("quota", sa.Integer(), nullable=False),
        sa.Column("taken", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "taken >= 0 AND taken <= quota", name=op.f("ck_scheme_quota_stripes_within_share")
        ),
        sa.ForeignKeyConstraint(
            ["scheme_id"], ["schemes.id"], name=op.f("fk_scheme_quota_stripes_scheme_id_schemes")
        ),
        sa.PrimaryKeyConstraint("scheme_id", "stripe", name=op.f("pk_scheme_quota_stripes")),
    )


def downgrade() -> None:
    op.drop_table("scheme_quota_stripes")
