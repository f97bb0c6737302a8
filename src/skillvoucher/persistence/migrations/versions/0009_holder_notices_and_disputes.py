"""holder notices (an outbox) and disputes

Every enrolment, attendance milestone, completion and settlement of a voucher writes a notice
to its holder in the same transaction; a worker sends them afterwards. A holder may dispute a
record of theirs, and anyone allowed may object to a batch on public notice: while open, the
money concerned waits.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 08:00:00.000000
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from skillvoucher.persistence.types import UtcDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

NOTICE_KINDS = (
    "enrolled",
    "enrolment_cancelled",
    "attendance_started",
    "attendance_reached",
    "completed",
    "certified",
    "settlement_approved",
    "settlement_paid",
    "settled",
    "revoked",
    "clawed_back",
    "dispute_opened",
    "dispute_resolved",
)
SUBJECT_KINDS = ("enrolment", "attendance", "completion", "settlement_line", "batch")
DISPUTE_STATUSES = ("open", "upheld", "dismissed")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "holder_notices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("voucher_id", sa.Uuid(), nullable=True),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("province_code", sa.String(length=6), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(*NOTICE_KINDS, name="notice_kind", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("delivered_at", UtcDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=True),
        sa.Column("channel_results", _json(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_holder_notices_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["voucher_id"], ["vouchers.id"], name=op.f("fk_holder_notices_voucher_id_vouchers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holder_notices")),
    )
    with op.batch_alter_table("holder_notices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_holder_notices_delivered_at_next_attempt_at"),
            ["delivered_at", "next_attempt_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_holder_notices_person_id_created_at"),
            ["person_id", "created_at"],
            unique=False,
        )
    op.create_table(
        "disputes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("voucher_id", sa.Uuid(), nullable=True),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column(
            "subject_kind",
            sa.Enum(*SUBJECT_KINDS, name="subject_kind", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                *DISPUTE_STATUSES, name="dispute_status", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column("opened_at", UtcDateTime(), nullable=False),
        sa.Column("opened_by", sa.String(length=80), nullable=False),
        sa.Column("resolved_at", UtcDateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(length=80), nullable=True),
        sa.Column("resolution_note", sa.String(length=500), nullable=True),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("province_code", sa.String(length=6), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["settlement_batches.id"],
            name=op.f("fk_disputes_batch_id_settlement_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_disputes_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["voucher_id"], ["vouchers.id"], name=op.f("fk_disputes_voucher_id_vouchers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputes")),
    )
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_disputes_region_code_status"), ["region_code", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_disputes_subject_kind_subject_id_status"),
            ["subject_kind", "subject_id", "status"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_disputes_voucher_id_status"), ["voucher_id", "status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disputes_voucher_id_status"))
        batch_op.drop_index(batch_op.f("ix_disputes_subject_kind_subject_id_status"))
        batch_op.drop_index(batch_op.f("ix_disputes_region_code_status"))
    op.drop_table("disputes")
    with op.batch_alter_table("holder_notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_holder_notices_person_id_created_at"))
        batch_op.drop_index(batch_op.f("ix_holder_notices_delivered_at_next_attempt_at"))
    op.drop_table("holder_notices")
