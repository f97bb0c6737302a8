"""index audit events by action and time

The risk rule for repeated impossible attendance counts the recent refusals' audit events
nationwide; without this index that is a scan of the whole audit trail.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 11:30:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_audit_events_action_occurred_at"), "audit_events", ["action", "occurred_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_events_action_occurred_at"), table_name="audit_events")
