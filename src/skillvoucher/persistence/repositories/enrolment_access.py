"""Enrolments, and the vouchers and courses they bind, as a signed-in caller may see them.

Every query here serves a principal, so every one is narrowed by ``within_scope``: a row outside
the caller's scope is simply not found, exactly like a row that does not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.access import Scope
from skillvoucher.domain.vouchers import EnrolmentStatus
from skillvoucher.persistence.scoping import within_scope
from skillvoucher.persistence.tables import Course, Enrolment, Institution, Person, Voucher


@dataclass(frozen=True)
class EnrolmentRecord:
    enrolment: Enrolment
    course: Course
    institution: Institution
    holder: Person
    voucher: Voucher


def _visible_enrolments(statement: sa.Select[Any], scope: Scope) -> sa.Select[Any]:
    # An institution may train holders of vouchers issued anywhere in its province, so its own
    # enrolments are found by the institution and where the institution is; everyone else sees
    # enrolments by the region of the voucher (the city that pays for it).
    region = Institution.region_code if scope.institution_id is not None else Enrolment.region_code
    return within_scope(
        statement,
        scope,
        region=region,
        person=Enrolment.person_id,
        institution=Enrolment.institution_id,
        employer=Person.employer_credit_code,
    )


def _select(*entities: Any) -> sa.Select[Any]:
    # Typed as a plain Select, as ``within_scope`` takes it, whatever the entities.
    return sa.select(*entities)


def _records() -> sa.Select[Any]:
    return (
        _select(Enrolment, Course, Institution, Person, Voucher)
        .join(Course, Course.id == Enrolment.course_id)
        .join(Institution, Institution.id == Enrolment.institution_id)
        .join(Person, Person.id == Enrolment.person_id)
        .join(Voucher, Voucher.id == Enrolment.voucher_id)
    )


def _bare() -> sa.Select[Any]:
    return (
        sa.select(Enrolment)
        .join(Institution, Institution.id == Enrolment.institution_id)
        .join(Person, Person.id == Enrolment.person_id)
    )


class EnrolmentAccess:
    def __init__(self, session: Session) -> None:
        self._session = session

    def voucher(self, scope: Scope, voucher_id: uuid.UUID) -> Voucher | None:
        stmt = within_scope(
            sa.select(Voucher).where(Voucher.id == voucher_id),
            scope,
            region=Voucher.region_code,
            person=Voucher.person_id,
            institution=Voucher.institution_id,
        )
        return self._session.scalars(stmt).first()

    def course(
        self,
        scope: Scope,
        *,
        course_id: uuid.UUID | None = None,
        institution_code: str | None = None,
        course_code: str | None = None,
    ) -> tuple[Course, Institution] | None:
        """The course named by id, or by course code (and institution code), if visible."""
        stmt = _select(Course, Institution).join(
            Institution, Institution.id == Course.institution_id
        )
        if course_id is not None:
            stmt = stmt.where(Course.id == course_id)
        if institution_code is not None:
            stmt = stmt.where(Institution.credit_code == institution_code)
        if course_code is not None:
            stmt = stmt.where(Course.course_code == course_code)
        stmt = within_scope(
            stmt, scope, region=Institution.region_code, institution=Course.institution_id
        )
        # Two rows only when a course code is named without an institution: ambiguous, so none.
        found = list(self._session.execute(stmt.limit(2)))
        return (found[0][0], found[0][1]) if len(found) == 1 else None

    def record(self, scope: Scope, enrolment_id: uuid.UUID) -> EnrolmentRecord | None:
        stmt = _visible_enrolments(_records().where(Enrolment.id == enrolment_id), scope)
        row = self._session.execute(stmt).first()
        return EnrolmentRecord(*row) if row is not None else None

    def search(
        self,
        scope: Scope,
        *,
        status: EnrolmentStatus | None,
        course_id: uuid.UUID | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[EnrolmentRecord]:
        """Visible enrolments in id order (ids are time-ordered), for keyset pagination."""
        stmt = _records().order_by(Enrolment.id).limit(limit)
        if status is not None:
            stmt = stmt.where(Enrolment.status == status)
        if course_id is not None:
            stmt = stmt.where(Enrolment.course_id == course_id)
        if after is not None:
            stmt = stmt.where(Enrolment.id > after)
        return [
            EnrolmentRecord(*row) for row in self._session.execute(_visible_enrolments(stmt, scope))
        ]

    def by_ids(
        self, scope: Scope, enrolment_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, Enrolment]:
        if not enrolment_ids:
            return {}
        stmt = _visible_enrolments(_bare().where(Enrolment.id.in_(set(enrolment_ids))), scope)
        return {e.id: e for e in self._session.scalars(stmt)}

    def active_by_vouchers(
        self, scope: Scope, voucher_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, Enrolment]:
        """The live enrolment of each voucher, where the caller may see it."""
        if not voucher_ids:
            return {}
        stmt = _bare().where(
            Enrolment.voucher_id.in_(set(voucher_ids)), Enrolment.status == EnrolmentStatus.ACTIVE
        )
        return {e.voucher_id: e for e in self._session.scalars(_visible_enrolments(stmt, scope))}
