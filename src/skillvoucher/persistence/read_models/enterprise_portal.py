"""What the enterprise portal shows an enterprise's HR: the enterprise schemes of their region,
their employees' enterprise vouchers by status, and each employee's training.

Every statement is narrowed by ``within_scope`` with the employer column, as the voucher search
does: HR sees vouchers of enterprise schemes held by people registered as their employees, and
nothing else (an employee's individual vouchers are their own business).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.access import Scope
from skillvoucher.domain.catalogue import SkillLevel
from skillvoucher.domain.schemes import IssuanceMode, SchemeStatus, SchemeType
from skillvoucher.domain.vouchers import EnrolmentStatus, VoucherStatus
from skillvoucher.persistence.scoping import within_scope
from skillvoucher.persistence.tables import (
    Course,
    Enrolment,
    Institution,
    Person,
    Region,
    Scheme,
    Voucher,
)


@dataclass(frozen=True)
class EnterpriseSchemeRow:
    code: str
    name: str
    region_code: str
    region_name: str
    issuance_mode: IssuanceMode
    face_value_max_fen: int
    quota: int
    issued_count: int
    launched_at: datetime | None


@dataclass(frozen=True)
class StatusCount:
    status: VoucherStatus
    vouchers: int
    face_value_fen: int


@dataclass(frozen=True)
class TrainingRow:
    voucher_id: uuid.UUID
    voucher_status: VoucherStatus
    scheme_code: str
    holder_name: str
    holder_id_masked: str
    issued_at: datetime
    valid_until: datetime
    course_name: str | None
    course_hours: int | None
    institution_name: str | None
    enrolled_at: datetime | None
    attended_minutes: int | None
    completed_at: datetime | None
    certificate_no: str | None
    certificate_level: SkillLevel | None


def _select(*columns: Any) -> sa.Select[Any]:
    # Typed as a plain Select, as ``within_scope`` takes it, whatever the columns.
    return sa.select(*columns)


def active_enterprise_schemes(session: Session, scope: Scope) -> list[EnterpriseSchemeRow]:
    """Active enterprise schemes within ``scope``'s region, newest first. A scheme belongs to a
    region, not to an employer, so the employer narrowing is lifted for this look-up only (as
    ``issuance_access.enterprise_issue_for`` does)."""
    stmt = within_scope(
        _select(
            Scheme.code,
            Scheme.name,
            Scheme.region_code,
            Region.name,
            Scheme.issuance_mode,
            Scheme.face_value_max_fen,
            Scheme.quota,
            Scheme.issued_count,
            Scheme.launched_at,
        )
        .join(Region, Region.code == Scheme.region_code)
        .where(Scheme.type == SchemeType.ENTERPRISE, Scheme.status == SchemeStatus.ACTIVE),
        replace(scope, employer_credit_code=None),
        region=Scheme.region_code,
    )
    return [EnterpriseSchemeRow(*row) for row in session.execute(stmt.order_by(Scheme.id.desc()))]


def employee_household_regions(session: Session, employer_credit_code: str) -> set[str]:
    """The household regions of the employer's registered employees (a few distinct codes)."""
    stmt = (
        sa.select(Person.household_region)
        .where(Person.employer_credit_code == employer_credit_code)
        .distinct()
    )
    return set(session.scalars(stmt))


def _employees_vouchers(scope: Scope, *columns: Any) -> sa.Select[Any]:
    stmt = (
        _select(*columns)
        .join(Scheme, Scheme.id == Voucher.scheme_id)
        .join(Person, Person.id == Voucher.person_id)
        .where(Scheme.type == SchemeType.ENTERPRISE)
    )
    return within_scope(
        stmt,
        scope,
        region=Voucher.region_code,
        person=Voucher.person_id,
        institution=Voucher.institution_id,
        employer=Person.employer_credit_code,
    )


def voucher_counts(session: Session, scope: Scope) -> list[StatusCount]:
    """The employees' enterprise vouchers counted by status, with their face value."""
    stmt = _employees_vouchers(
        scope,
        Voucher.status,
        sa.func.count(),
        sa.func.coalesce(sa.func.sum(Voucher.face_value_fen), 0),
    ).group_by(Voucher.status)
    found = {status: (count, int(total)) for status, count, total in session.execute(stmt)}
    return [StatusCount(status, *found[status]) for status in VoucherStatus if status in found]


def employees_training(
    session: Session,
    scope: Scope,
    *,
    status: VoucherStatus | None,
    after: uuid.UUID | None,
    limit: int,
) -> list[TrainingRow]:
    """The employees' enterprise vouchers with their live enrolment (if any), in voucher id
    order (issue order) after ``after``, for keyset pagination."""
    stmt = (
        _employees_vouchers(
            scope,
            Voucher.id,
            Voucher.status,
            Scheme.code,
            Person.name,
            Person.id_masked,
            Voucher.issued_at,
            Voucher.valid_until,
            Course.name,
            Course.hours,
            Institution.name,
            Enrolment.enrolled_at,
            Enrolment.attended_minutes,
            Voucher.completed_at,
            Voucher.certificate_no,
            Voucher.certificate_level,
        )
        # A voucher has at most one active enrolment (a unique partial index); a cancelled
        # one is history and not shown.
        .outerjoin(
            Enrolment,
            sa.and_(Enrolment.voucher_id == Voucher.id, Enrolment.status == EnrolmentStatus.ACTIVE),
        )
        .outerjoin(Course, Course.id == Enrolment.course_id)
        .outerjoin(Institution, Institution.id == Enrolment.institution_id)
    )
    if status is not None:
        stmt = stmt.where(Voucher.status == status)
    if after is not None:
        stmt = stmt.where(Voucher.id > after)
    rows = session.execute(stmt.order_by(Voucher.id).limit(limit))
    return [TrainingRow(*row) for row in rows]
