"""The recorded attendance events a new one is compared with before it is accepted.

Each query fetches a small time window around the new event; the rules in
``domain.attendance`` decide what in it makes the new event impossible.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.attendance import OFFLINE_SOURCES, AttendanceFact, AttendanceSource
from skillvoucher.persistence.tables import AttendanceEvent, Enrolment


class AttendanceChecks:
    def __init__(self, session: Session) -> None:
        self._session = session

    def lock_device(self, institution_id: uuid.UUID, device_id: str) -> None:
        """Serialise check-ins from one device until this transaction ends (PostgreSQL; SQLite
        already serialises writers). Without it, a crowd checked in at the same instant would
        each see fewer than the limit and all be accepted."""
        if self._session.get_bind().dialect.name != "postgresql":
            return
        key = f"attendance-device:{institution_id}:{device_id}"
        self._session.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}
        )

    def already_recorded(
        self, enrolment_id: uuid.UUID, source: AttendanceSource, occurred_at: datetime
    ) -> bool:
        """Whether this very event (same enrolment, source and time) was recorded before."""
        stmt = sa.select(AttendanceEvent.id).where(
            AttendanceEvent.enrolment_id == enrolment_id,
            AttendanceEvent.source == source,
            AttendanceEvent.occurred_at == occurred_at,
        )
        return self._session.scalars(stmt.limit(1)).first() is not None

    def offline_of_person(
        self, person_id: uuid.UUID, since: datetime, until: datetime
    ) -> list[AttendanceFact]:
        """The person's check-ins, under any of their enrolments, between the two times."""
        return self._facts(
            AttendanceEvent.enrolment_id.in_(self.enrolments_of([person_id])),
            AttendanceEvent.source.in_(sorted(OFFLINE_SOURCES)),
            AttendanceEvent.occurred_at.between(since, until),
        )

    def enrolments_of(self, person_ids: list[uuid.UUID]) -> list[uuid.UUID]:
        """The ids of every enrolment of these people.

        Read first, and their events then found by enrolment id, rather than in one query with
        the enrolments as a sub-select: when the events' statistics were stale (the table grew
        since the last ANALYZE, as it does all through a term with autovacuum off or behind),
        PostgreSQL planned that as a scan of every recorded event, 260–490 ms at the pilot's
        168,660 check-ins; by enrolment id it is an index scan, 3 ms."""
        stmt = sa.select(Enrolment.id).where(Enrolment.person_id.in_(person_ids))
        return list(self._session.scalars(stmt))

    def of_device(
        self, institution_id: uuid.UUID, device_id: str, since: datetime, until: datetime
    ) -> list[AttendanceFact]:
        """What one institution's device recorded between the two times."""
        return self._facts(
            # device_id and occurred_at first: the pair an index on the events may cover.
            AttendanceEvent.device_id == device_id,
            AttendanceEvent.occurred_at.between(since, until),
            AttendanceEvent.institution_id == institution_id,
        )

    def online_of_enrolment(
        self, enrolment_id: uuid.UUID, since: datetime, until: datetime
    ) -> list[AttendanceFact]:
        """The enrolment's online spans ending between the two times."""
        return self._facts(
            AttendanceEvent.enrolment_id == enrolment_id,
            AttendanceEvent.source == AttendanceSource.ONLINE,
            AttendanceEvent.occurred_at.between(since, until),
        )

    def _facts(self, *conditions: Any) -> list[AttendanceFact]:
        stmt = (
            sa.select(
                Enrolment.person_id,
                AttendanceEvent.enrolment_id,
                AttendanceEvent.institution_id,
                AttendanceEvent.source,
                AttendanceEvent.device_id,
                AttendanceEvent.occurred_at,
                AttendanceEvent.minutes,
            )
            .join(Enrolment, Enrolment.id == AttendanceEvent.enrolment_id)
            .where(*conditions)
        )
        return [AttendanceFact(*row) for row in self._session.execute(stmt)]
