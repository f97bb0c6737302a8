"""course ratings by the workers who completed them

A worker who completed a course may rate it once (1 to 5, with an optional comment); the
worker portal shows each institution's average rating beside its completion and certificate
rates.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 07:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from skillvoucher.persistence.types import UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "course_ratings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("enrolment_id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("province_code", sa.String(length=6), nullable=False),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.Column("comment", sa.String(length=200), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint("score >= 1 AND score <= 5", name=op.f("ck_course_ratings_score_range")),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_course_ratings_course_id_courses")
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["enrolments.id"],
            name=op.f("fk_course_ratings_enrolment_id_enrolments"),
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_course_ratings_institution_id_institutions"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_course_ratings_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_ratings")),
        sa.UniqueConstraint("enrolment_id", name=op.f("uq_course_ratings_enrolment_id")),
    )
    with op.batch_alter_table("course_ratings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_course_ratings_institution_id"), ["institution_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("course_ratings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_course_ratings_institution_id"))
    op.drop_table("course_ratings")
