"""course approval; an administrator's refusal of an institution kept on its row

Courses get an approval status (pending, approved, refused): existing courses are approved, as
they were usable. Institutions get who refused them, when and why, so that a re-import of the
catalogue file keeps a refused institution refused; refusals recorded before this revision are
read back from the audit trail.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 07:10:00.000000
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

from skillvoucher.persistence.types import UtcDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One statement both databases accept: SQLite adds a column with its CHECK without
    # rebuilding the table, and the constraint keeps the naming convention's name.
    op.execute(
        "ALTER TABLE courses ADD COLUMN approval_status VARCHAR(8) DEFAULT 'approved' NOT NULL "
        "CONSTRAINT ck_courses_course_approval "
        "CHECK (approval_status IN ('pending', 'approved', 'refused'))"
    )
    with op.batch_alter_table("institutions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refused_at", UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column("refused_by", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("refusal_reason", sa.String(length=500), nullable=True))
    _mark_earlier_refusals()


def _mark_earlier_refusals() -> None:
    """Institutions still refused get their latest refusal from the audit trail."""
    events = sa.table(
        "audit_events",
        sa.column("occurred_at", UtcDateTime()),
        sa.column("actor", sa.String()),
        sa.column("action", sa.String()),
        sa.column("entity_type", sa.String()),
        sa.column("entity_id", sa.String()),
        sa.column("payload", sa.JSON()),
    )
    institutions = sa.table(
        "institutions",
        sa.column("id", sa.Uuid()),
        sa.column("approval_status", sa.String()),
        sa.column("refused_at", UtcDateTime()),
        sa.column("refused_by", sa.String()),
        sa.column("refusal_reason", sa.String()),
    )
    connection = op.get_bind()
    refusals = connection.execute(
        sa.select(events.c.entity_id, events.c.occurred_at, events.c.actor, events.c.payload)
        .where(events.c.entity_type == "institution", events.c.action == "institution.refused")
        .order_by(events.c.occurred_at)
    ).all()
    latest = {entity_id: (at, actor, payload) for entity_id, at, actor, payload in refusals}
    for entity_id, (at, actor, payload) in latest.items():
        reason = payload.get("reason") if isinstance(payload, dict) else None
        connection.execute(
            sa.update(institutions)
            .where(institutions.c.id == uuid.UUID(entity_id))
            .where(institutions.c.approval_status == "revoked")
            .values(refused_at=at, refused_by=actor[:80], refusal_reason=reason)
        )


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+): a batch rebuild of institutions would have to drop a
    # table that courses refer to. The course status's CHECK goes with its column.
    for column in ("refusal_reason", "refused_by", "refused_at"):
        op.drop_column("institutions", column)
    op.drop_column("courses", "approval_status")
