"""A holder's ratings of the courses they completed: finding the enrolment to rate (the
holder's own, alone) and storing the rating."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.errors import AlreadyExists
from skillvoucher.domain.vouchers import EnrolmentStatus
from skillvoucher.persistence.tables import CourseRating, Enrolment, Voucher


def own_enrolment(
    session: Session, person_id: uuid.UUID, enrolment_id: uuid.UUID
) -> tuple[Enrolment, Voucher] | None:
    """The holder's live enrolment with its voucher; None alike for missing and another's."""
    row = session.execute(
        sa.select(Enrolment, Voucher)
        .join(Voucher, Voucher.id == Enrolment.voucher_id)
        .where(
            Enrolment.id == enrolment_id,
            Enrolment.person_id == person_id,
            Enrolment.status == EnrolmentStatus.ACTIVE,
        )
    ).first()
    return None if row is None else (row[0], row[1])


def has_rating(session: Session, enrolment_id: uuid.UUID) -> bool:
    found = session.scalar(
        sa.select(CourseRating.id).where(CourseRating.enrolment_id == enrolment_id)
    )
    return found is not None


def add_rating(session: Session, values: dict[str, Any]) -> None:
    """Store a rating; AlreadyExists if the enrolment was rated meanwhile (the unique key
    decides a race between two tabs on PostgreSQL; SQLite serialises writers)."""
    try:
        session.execute(sa.insert(CourseRating).values(**values))
    except sa.exc.IntegrityError:
        raise AlreadyExists(f"enrolment {values['enrolment_id']} is already rated") from None
