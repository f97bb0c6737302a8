"""statistics tallies kept by triggers

Voucher and ledger statistics become sums over small tally tables that database triggers add
to in the same statement as every change to ``vouchers`` and ``ledger_entries``; the tallies of
what is already there are computed once here.

The trigger SQL comes from ``skillvoucher.persistence.tally_sql``, which the statistics code
reads as well. A later change to the tallies must come with a migration of its own that drops
these triggers and creates the new ones.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from skillvoucher.persistence import tally_sql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _tally_id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "voucher_tallies",
        sa.Column("id", _tally_id(), autoincrement=True, nullable=False),
        sa.Column("scheme_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("province_code", sa.String(length=6), nullable=False),
        sa.Column("issued_in", sa.String(length=7), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("holder_region", sa.String(length=6), nullable=True),
        sa.Column("target_group", sa.String(length=30), nullable=True),
        sa.Column("institution_id", sa.Uuid(), nullable=True),
        sa.Column("event_month", sa.String(length=7), nullable=True),
        *(
            sa.Column(measure, sa.BigInteger(), nullable=False)
            for measure in tally_sql.TALLY_MEASURES
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voucher_tallies")),
    )
    op.create_index(
        op.f("ix_voucher_tallies_dimension_region_code"),
        "voucher_tallies",
        ["dimension", "region_code"],
    )
    op.create_table(
        "ledger_tallies",
        sa.Column("id", _tally_id(), autoincrement=True, nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("province_code", sa.String(length=6), nullable=False),
        sa.Column("account", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("positive_fen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_tallies")),
    )
    op.create_index(op.f("ix_ledger_tallies_region_code"), "ledger_tallies", ["region_code"])
    if op.get_bind().dialect.name == "postgresql":
        statements = tally_sql.postgres_ddl()
        statements += tally_sql.backfill(tally_sql.postgres_month, "NULL::timestamptz")
    else:
        statements = tally_sql.sqlite_ddl()
        statements += tally_sql.backfill(tally_sql.sqlite_month, "NULL")
    for statement in statements:
        op.execute(sa.text(statement))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        drops = tally_sql.postgres_drop_ddl()
    else:
        drops = tally_sql.sqlite_drop_ddl()
    for statement in drops:
        op.execute(sa.text(statement))
    op.drop_index(op.f("ix_ledger_tallies_region_code"), table_name="ledger_tallies")
    op.drop_table("ledger_tallies")
    op.drop_index(op.f("ix_voucher_tallies_dimension_region_code"), table_name="voucher_tallies")
    op.drop_table("voucher_tallies")
