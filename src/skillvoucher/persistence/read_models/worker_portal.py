"""What the worker portal reads: one holder's vouchers and training, and the quality figures of
the institutions a holder may choose. Every query of a holder's rows is narrowed to that holder
here, by the person id the caller's scope carries."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.catalogue import SkillLevel
from skillvoucher.domain.vouchers import EnrolmentStatus, VoucherStatus
from skillvoucher.persistence.tables import (
    AttendanceEvent,
    Course,
    CourseRating,
    Enrolment,
    Institution,
    Person,
    Scheme,
    Voucher,
)


@dataclass(frozen=True)
class HeldVoucher:
    voucher_id: uuid.UUID
    status: VoucherStatus
    scheme_code: str
    scheme_name: str
    scheme_rules: dict[str, Any]
    face_value_fen: int
    redeemable_fen: int | None
    """What the voucher pays for the course it is enrolled on; None before enrolment."""
    issued_at: datetime
    valid_until: datetime
    closed_at: datetime | None


@dataclass(frozen=True)
class TrainingRow:
    enrolment_id: uuid.UUID
    voucher_id: uuid.UUID
    enrolment_status: EnrolmentStatus
    voucher_status: VoucherStatus
    scheme_rules: dict[str, Any]
    course_id: uuid.UUID
    course_name: str
    course_hours: int
    price_fen: int
    institution_name: str
    institution_region: str
    voucher_pays_fen: int
    attended_minutes: int
    sessions: int
    enrolled_at: datetime
    ended_at: datetime | None
    completed_at: datetime | None
    certificate_no: str | None
    certificate_level: SkillLevel | None
    rating: int | None


@dataclass(frozen=True)
class InstitutionFigures:
    """Enrolments still standing at an institution, how many completed and were certified,
    and its holders' ratings."""

    region_code: str
    enrolled: int = 0
    completed: int = 0
    certified: int = 0
    ratings: int = 0
    rating_sum: int = 0


def household_region(session: Session, person_id: uuid.UUID) -> str | None:
    return session.scalar(sa.select(Person.household_region).where(Person.id == person_id))


def held_vouchers(session: Session, person_id: uuid.UUID) -> list[HeldVoucher]:
    """The holder's vouchers, newest first."""
    stmt = (
        sa.select(
            Voucher.id,
            Voucher.status,
            Scheme.code,
            Scheme.name,
            Scheme.rules,
            Voucher.face_value_fen,
            Voucher.redeemable_fen,
            Voucher.issued_at,
            Voucher.valid_until,
            Voucher.closed_at,
        )
        .join(Scheme, Scheme.id == Voucher.scheme_id)
        .where(Voucher.person_id == person_id)
        .order_by(Voucher.id.desc())
    )
    return [HeldVoucher(*row) for row in session.execute(stmt)]


def training_of(session: Session, person_id: uuid.UUID) -> list[TrainingRow]:
    """The holder's enrolments, newest first, with attendance and the course's outcome."""
    sessions = (
        sa.select(AttendanceEvent.enrolment_id, sa.func.count().label("sessions"))
        .group_by(AttendanceEvent.enrolment_id)
        .subquery()
    )
    stmt = (
        sa.select(
            Enrolment.id,
            Enrolment.voucher_id,
            Enrolment.status,
            Voucher.status,
            Scheme.rules,
            Course.id,
            Course.name,
            Course.hours,
            Course.price_fen,
            Institution.name,
            Institution.region_code,
            Enrolment.redeemable_fen,
            Enrolment.attended_minutes,
            sa.func.coalesce(sessions.c.sessions, 0),
            Enrolment.enrolled_at,
            Enrolment.ended_at,
            Voucher.completed_at,
            Voucher.certificate_no,
            Voucher.certificate_level,
            CourseRating.score,
        )
        .join(Voucher, Voucher.id == Enrolment.voucher_id)
        .join(Scheme, Scheme.id == Voucher.scheme_id)
        .join(Course, Course.id == Enrolment.course_id)
        .join(Institution, Institution.id == Enrolment.institution_id)
        .outerjoin(sessions, sessions.c.enrolment_id == Enrolment.id)
        .outerjoin(CourseRating, CourseRating.enrolment_id == Enrolment.id)
        .where(Enrolment.person_id == person_id)
        .order_by(Enrolment.id.desc())
    )
    return [
        _training_row(row, active=row[2] is EnrolmentStatus.ACTIVE) for row in session.execute(stmt)
    ]


def _training_row(row: Any, *, active: bool) -> TrainingRow:
    # A cancelled enrolment's voucher may since be enrolled elsewhere: the voucher's outcome
    # (completion, certificate) belongs to its live enrolment only.
    values = list(row)
    if not active:
        values[16:19] = [None, None, None]
    return TrainingRow(*values)


def institution_figures(
    session: Session, credit_codes: Collection[str]
) -> dict[str, InstitutionFigures]:
    """Quality figures of the institutions with these credit codes, keyed by credit code."""
    if not credit_codes:
        return {}
    institutions = dict(
        session.execute(
            sa.select(Institution.id, Institution.credit_code).where(
                Institution.credit_code.in_(list(credit_codes))
            )
        ).all()
    )
    regions = dict(
        session.execute(
            sa.select(Institution.credit_code, Institution.region_code).where(
                Institution.id.in_(list(institutions))
            )
        ).all()
    )
    outcomes = session.execute(
        sa.select(
            Enrolment.institution_id,
            sa.func.count(),
            sa.func.count(Voucher.completed_at),
            sa.func.count(Voucher.certificate_no),
        )
        .join(Voucher, Voucher.id == Enrolment.voucher_id)
        .where(
            Enrolment.institution_id.in_(list(institutions)),
            Enrolment.status == EnrolmentStatus.ACTIVE,
        )
        .group_by(Enrolment.institution_id)
    ).all()
    ratings = session.execute(
        sa.select(CourseRating.institution_id, sa.func.count(), sa.func.sum(CourseRating.score))
        .where(CourseRating.institution_id.in_(list(institutions)))
        .group_by(CourseRating.institution_id)
    ).all()
    counts: dict[uuid.UUID, dict[str, int]] = {}
    for institution_id, enrolled, completed, certified in outcomes:
        counts.setdefault(institution_id, {}).update(
            enrolled=enrolled, completed=completed, certified=certified
        )
    for institution_id, rated, score_sum in ratings:
        counts.setdefault(institution_id, {}).update(ratings=rated, rating_sum=int(score_sum))
    return {
        code: InstitutionFigures(regions[code], **counts.get(institution_id, {}))
        for institution_id, code in institutions.items()
    }
