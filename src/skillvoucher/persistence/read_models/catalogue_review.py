"""Institutions and their courses as an administrator reviews them: every approval status,
narrowed to the administrator's region by ``within_scope``."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.access import Scope
from skillvoucher.domain.catalogue import ApprovalStatus
from skillvoucher.persistence.scoping import within_scope
from skillvoucher.persistence.tables import AuditEvent, Course, Institution


def _institutions(scope: Scope) -> sa.Select[Any]:
    return within_scope(
        sa.select(Institution), scope, region=Institution.region_code, institution=Institution.id
    )


def institutions_page(
    session: Session,
    scope: Scope,
    status: ApprovalStatus | None,
    after: uuid.UUID | None,
    limit: int,
) -> list[Institution]:
    """The next ``limit`` institutions after ``after`` in id order."""
    stmt = _institutions(scope).order_by(Institution.id).limit(limit)
    if status is not None:
        stmt = stmt.where(Institution.approval_status == status)
    if after is not None:
        stmt = stmt.where(Institution.id > after)
    return list(session.scalars(stmt))


def institution_counts(session: Session, scope: Scope) -> dict[ApprovalStatus, int]:
    """How many institutions within ``scope`` have each approval status (zeros included)."""
    # Scoped as a one-column select (within_scope's type), then counted.
    stmt = (
        within_scope(
            sa.select(Institution.approval_status),
            scope,
            region=Institution.region_code,
            institution=Institution.id,
        )
        .add_columns(sa.func.count())
        .group_by(Institution.approval_status)
    )
    counts = dict.fromkeys(ApprovalStatus, 0)
    counts.update({status: int(n) for status, n in session.execute(stmt)})
    return counts


def course_counts(session: Session, institution_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not institution_ids:
        return {}
    stmt = (
        sa.select(Course.institution_id, sa.func.count())
        .where(Course.institution_id.in_(institution_ids))
        .group_by(Course.institution_id)
    )
    return {i: int(n) for i, n in session.execute(stmt)}


def institution_for_update(
    session: Session, scope: Scope, institution_id: uuid.UUID
) -> Institution | None:
    """The institution, locked for the decision (on PostgreSQL), if it lies within ``scope``."""
    stmt = _institutions(scope).where(Institution.id == institution_id).with_for_update()
    found: Institution | None = session.scalars(stmt).first()
    return found


def institution_within(
    session: Session, scope: Scope, institution_id: uuid.UUID
) -> Institution | None:
    stmt = _institutions(scope).where(Institution.id == institution_id)
    found: Institution | None = session.scalars(stmt).first()
    return found


def courses_of(session: Session, institution_id: uuid.UUID, limit: int) -> list[Course]:
    stmt = (
        sa.select(Course)
        .where(Course.institution_id == institution_id)
        .order_by(Course.course_code)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def course_for_update(
    session: Session, scope: Scope, institution_id: uuid.UUID, course_id: uuid.UUID
) -> Course | None:
    """The institution's course, locked for the decision (on PostgreSQL; SQLite serialises
    writers), if it lies within ``scope``."""
    stmt = (
        within_scope(
            sa.select(Course), scope, region=Course.region_code, institution=Course.institution_id
        )
        .where(Course.id == course_id, Course.institution_id == institution_id)
        .with_for_update()
    )
    found: Course | None = session.scalars(stmt).first()
    return found


def course_decision_events(
    session: Session,
    scope: Scope,
    course_ids: list[uuid.UUID],
    actions: Collection[str],
    limit: int,
) -> list[AuditEvent]:
    """The latest decisions on these courses, newest first."""
    if not course_ids:
        return []
    stmt = within_scope(
        sa.select(AuditEvent)
        .where(
            AuditEvent.entity_type == "course",
            AuditEvent.entity_id.in_([str(i) for i in course_ids]),
            AuditEvent.action.in_(list(actions)),
        )
        .order_by(AuditEvent.id.desc())
        .limit(limit),
        scope,
        region=AuditEvent.region_code,
    )
    return list(session.scalars(stmt))
