"""Set-wise reads, locks and writes for the chunked training paths (``attendance_batches``,
``enrolment_batches``, ``completion_batches``): a chunk's context in a few statements and its
changes in a few more, instead of a dozen statements per item.

Every read here answers, for a whole chunk, a question the single-item paths ask of one item;
the chunk's items are then judged one by one, in memory, by the same rules."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.attendance import OFFLINE_SOURCES, AttendanceFact, AttendanceSource
from skillvoucher.domain.catalogue import CourseApproval
from skillvoucher.domain.vouchers import EnrolmentStatus, VoucherStatus
from skillvoucher.persistence.bulk_copy import copies, copy_line, copy_lines
from skillvoucher.persistence.repositories.attendance_checks import AttendanceChecks
from skillvoucher.persistence.repositories.dialect import bulk_insert, plain_update, rows_changed
from skillvoucher.persistence.tables import (
    AttendanceEvent,
    ConsentCode,
    Course,
    Enrolment,
    Person,
    Scheme,
    Voucher,
)


class ChunkRaced(RuntimeError):
    """A row a chunk holds locked changed under it: a bug, never a holder's error (the chunk
    rolls back)."""


Window = tuple[datetime, datetime]
"""A closed time interval, both ends included (as SQL's BETWEEN)."""


def merged(windows: Iterable[Window]) -> list[Window]:
    """The union of ``windows`` as few disjoint intervals, in order: a chunk's nearby events
    are read with one condition per interval instead of one per event."""
    out: list[Window] = []
    for low, high in sorted(windows):
        if out and low <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], high))
        else:
            out.append((low, high))
    return out


def _within(column: Any, windows: Sequence[Window]) -> sa.ColumnElement[bool]:
    return sa.or_(*(column.between(low, high) for low, high in windows))


class TrainingSets:
    def __init__(self, session: Session) -> None:
        self._session = session

    # Locks ------------------------------------------------------------------------------------

    def lock_people(self, person_ids: Iterable[uuid.UUID]) -> None:
        """Row locks on the holders, in primary-key order (PostgreSQL; SQLite serialises
        writers already): what the single paths take one holder at a time, so a chunk and a
        live enrolment or check-in of the same holder run one after the other, and two chunks
        never wait for each other in a circle."""
        ids = sorted(set(person_ids))
        if ids:
            stmt = sa.select(Person.id).where(Person.id.in_(ids)).order_by(Person.id)
            self._session.execute(stmt.with_for_update()).all()

    # Vouchers, enrolments, courses ------------------------------------------------------------

    def holders(self, voucher_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
        """Voucher → its holder, for the known ones."""
        ids = list(set(voucher_ids))
        if not ids:
            return {}
        stmt = sa.select(Voucher.id, Voucher.person_id).where(Voucher.id.in_(ids))
        return {row.id: row.person_id for row in self._session.execute(stmt)}

    def vouchers(
        self, voucher_ids: Iterable[uuid.UUID], *, lock: bool = False
    ) -> dict[uuid.UUID, Voucher]:
        """The known vouchers, read afresh; with ``lock``, each row locked in primary-key order
        until the transaction ends (the chunk then moves them without a race)."""
        ids = sorted(set(voucher_ids))
        if not ids:
            return {}
        stmt = (
            sa.select(Voucher)
            .where(Voucher.id.in_(ids))
            .order_by(Voucher.id)
            .execution_options(populate_existing=True)
        )
        if lock:
            stmt = stmt.with_for_update()
        return {v.id: v for v in self._session.scalars(stmt)}

    def schemes(self, scheme_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Scheme]:
        ids = list(set(scheme_ids))
        if not ids:
            return {}
        return {s.id: s for s in self._session.scalars(sa.select(Scheme).where(Scheme.id.in_(ids)))}

    def active_enrolments(self, voucher_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Enrolment]:
        """Voucher → its live enrolment, read afresh."""
        ids = list(set(voucher_ids))
        if not ids:
            return {}
        stmt = (
            sa.select(Enrolment)
            .where(Enrolment.voucher_id.in_(ids), Enrolment.status == EnrolmentStatus.ACTIVE)
            .execution_options(populate_existing=True)
        )
        return {e.voucher_id: e for e in self._session.scalars(stmt)}

    def attended_minutes(self, enrolment_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
        """Each enrolment's attended minutes as stored now (read under its holder's lock)."""
        ids = list(set(enrolment_ids))
        if not ids:
            return {}
        stmt = sa.select(Enrolment.id, Enrolment.attended_minutes).where(Enrolment.id.in_(ids))
        return {row.id: int(row.attended_minutes) for row in self._session.execute(stmt)}

    def active_trainings(
        self, person_ids: Iterable[uuid.UUID]
    ) -> list[tuple[uuid.UUID, str, str, uuid.UUID]]:
        """(holder, occupation, level, voucher) of the holders' live enrolments: what
        ``VoucherRepository.has_trained_in`` looks through, for a chunk's holders at once."""
        ids = list(set(person_ids))
        if not ids:
            return []
        stmt = sa.select(
            Enrolment.person_id,
            Enrolment.occupation_code,
            Enrolment.skill_level,
            Enrolment.voucher_id,
        ).where(Enrolment.person_id.in_(ids), Enrolment.status == EnrolmentStatus.ACTIVE)
        return [(p, o, str(level), v) for p, o, level, v in self._session.execute(stmt)]

    def courses(self, course_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Course]:
        ids = list(set(course_ids))
        if not ids:
            return {}
        return {c.id: c for c in self._session.scalars(sa.select(Course).where(Course.id.in_(ids)))}

    def courses_by_code(
        self, institution_id: uuid.UUID, course_codes: Iterable[str]
    ) -> dict[str, Course]:
        """The institution's courses with these codes, read afresh and locked in primary-key
        order: their seat counters are the chunk's until it commits."""
        codes = sorted(set(course_codes))
        if not codes:
            return {}
        stmt = (
            sa.select(Course)
            .where(Course.institution_id == institution_id, Course.course_code.in_(codes))
            .order_by(Course.id)
            .execution_options(populate_existing=True)
            .with_for_update()
        )
        return {c.course_code: c for c in self._session.scalars(stmt)}

    # Consent codes ----------------------------------------------------------------------------

    def add_consent_codes(self, rows: Sequence[dict[str, Any]]) -> None:
        bulk_insert(self._session, ConsentCode, rows)

    def live_consent_codes(
        self, voucher_ids: Iterable[uuid.UUID], now: datetime
    ) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
        """(code id, voucher, digest) of the vouchers' unused, unexpired consent codes, oldest
        id first: the candidates ``VoucherRepository.use_consent_code`` chooses among."""
        ids = list(set(voucher_ids))
        if not ids:
            return []
        stmt = (
            sa.select(ConsentCode.id, ConsentCode.voucher_id, ConsentCode.code_digest)
            .where(
                ConsentCode.voucher_id.in_(ids),
                ConsentCode.used_at.is_(None),
                ConsentCode.expires_at > now,
            )
            .order_by(ConsentCode.id)
        )
        return [(c, v, d) for c, v, d in self._session.execute(stmt)]

    def spend_consent_codes(self, code_ids: Sequence[uuid.UUID], now: datetime) -> int:
        """Mark the codes used (each still unused); how many were."""
        if not code_ids:
            return 0
        return rows_changed(
            self._session,
            plain_update(ConsentCode)
            .where(ConsentCode.id.in_(code_ids), ConsentCode.used_at.is_(None))
            .values(used_at=now),
        )

    # Enrolment writes -------------------------------------------------------------------------

    def take_seats(self, seats: Mapping[uuid.UUID, int]) -> int:
        """Take ``seats[course]`` seats of each course that still has the room and is approved
        (as ``CatalogueRepository.take_seat``, several seats and courses in one UPDATE); how
        many courses did."""
        if not seats:
            return 0
        added = sa.case(
            {course: sa.literal(count) for course, count in seats.items()},
            value=Course.id,
            else_=0,
        )
        return rows_changed(
            self._session,
            plain_update(Course)
            .where(
                Course.id.in_(sorted(seats)),
                Course.enrolled_count + added <= Course.capacity,
                Course.approval_status == CourseApproval.APPROVED,
            )
            .values(enrolled_count=Course.enrolled_count + added),
        )

    def add_enrolments(self, rows: Sequence[dict[str, Any]]) -> None:
        self._insert(Enrolment, rows)

    # Attendance writes ------------------------------------------------------------------------

    def add_attendance(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert events known to be new (the chunk holds their holders' locks and has looked)."""
        self._insert(AttendanceEvent, rows)

    def _insert(self, entity: Any, rows: Sequence[dict[str, Any]]) -> None:
        """COPY on PostgreSQL (no parameters to bind and pipeline row by row), one executemany
        on SQLite; every row names the same columns."""
        if not rows:
            return
        if not copies(self._session):
            bulk_insert(self._session, entity, rows)
            return
        columns = list(rows[0])
        lines = (copy_line([row[c] for c in columns]) for row in rows)
        copy_lines(self._session, entity.__tablename__, columns, lines)

    def add_minutes(self, minutes: Mapping[uuid.UUID, int]) -> None:
        """Add ``minutes[enrolment]`` to each enrolment's attended minutes, in one UPDATE."""
        if not minutes:
            return
        added = sa.case(
            {enrolment: sa.literal(m) for enrolment, m in minutes.items()},
            value=Enrolment.id,
            else_=0,
        )
        self._session.execute(
            plain_update(Enrolment)
            .where(Enrolment.id.in_(list(minutes)))
            .values(attended_minutes=Enrolment.attended_minutes + added)
        )

    def move_vouchers(
        self,
        voucher_ids: Sequence[uuid.UUID],
        source: VoucherStatus,
        target: VoucherStatus,
        values: Mapping[str, Any] | None = None,
    ) -> set[uuid.UUID]:
        """Move the vouchers still in ``source`` to ``target`` with ``values`` (each a value,
        or a mapping voucher → value), as ``VoucherRepository.transition`` moves one, but in
        one UPDATE (the tallies' trigger on vouchers runs once per statement); the ids moved."""
        if not voucher_ids:
            return set()
        columns: dict[str, Any] = {}
        for name, value in (values or {}).items():
            if isinstance(value, Mapping):
                column = getattr(Voucher, name)
                columns[name] = sa.case(
                    {v: sa.literal(x, column.type) for v, x in value.items()},
                    value=Voucher.id,
                    else_=column,
                )
            else:
                columns[name] = value
        stmt = (
            plain_update(Voucher)
            .where(Voucher.id.in_(list(voucher_ids)), Voucher.status == source)
            .values(status=target, version=Voucher.version + 1, **columns)
            .returning(Voucher.id)
        )
        return set(self._session.scalars(stmt))


class ChunkAttendanceChecks(AttendanceChecks):
    """``AttendanceChecks`` for a chunk of events, answered from memory.

    First the chunk's events are judged once against nothing, only to learn which questions
    the rules ask (which holders, devices and enrolments, over which windows); ``load`` then
    reads the recorded events those questions cover, in one query per kind of question; from
    then on each question is answered as its query would be, from what was read plus the
    events the chunk has accepted since (``note``)."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self._loaded = False
        self._asked: dict[str, dict[Any, list[Window]]] = defaultdict(lambda: defaultdict(list))
        self._keys: set[tuple[uuid.UUID, AttendanceSource, datetime]] = set()
        self._offline: dict[uuid.UUID, list[AttendanceFact]] = defaultdict(list)
        self._device: dict[tuple[uuid.UUID, str], list[AttendanceFact]] = defaultdict(list)
        self._online: dict[uuid.UUID, list[AttendanceFact]] = defaultdict(list)

    def load(self) -> None:
        """Read the recorded events every question asked so far may need."""
        self._loaded = True
        asked = self._asked
        if asked["keys"]:
            windows = [w for ws in asked["keys"].values() for w in ws]
            stmt = sa.select(
                AttendanceEvent.enrolment_id, AttendanceEvent.source, AttendanceEvent.occurred_at
            ).where(
                AttendanceEvent.enrolment_id.in_(sorted(asked["keys"])),
                AttendanceEvent.occurred_at.in_(sorted({low for low, _ in windows})),
            )
            self._keys.update((e, s, t) for e, s, t in self._session.execute(stmt))
        if asked["people"]:
            for fact in self._facts(
                AttendanceEvent.enrolment_id.in_(self.enrolments_of(sorted(asked["people"]))),
                AttendanceEvent.source.in_(sorted(OFFLINE_SOURCES)),
                _within(AttendanceEvent.occurred_at, _all(asked["people"])),
            ):
                self._offline[fact.person_id].append(fact)
        if asked["devices"]:
            devices = sorted(asked["devices"])
            for fact in self._facts(
                AttendanceEvent.device_id.in_(sorted({d for _, d in devices})),
                _within(AttendanceEvent.occurred_at, _all(asked["devices"])),
                AttendanceEvent.institution_id.in_(sorted({i for i, _ in devices})),
            ):
                assert fact.device_id is not None  # matched by its device
                self._device[(fact.institution_id, fact.device_id)].append(fact)
        if asked["online"]:
            for fact in self._facts(
                AttendanceEvent.enrolment_id.in_(sorted(asked["online"])),
                AttendanceEvent.source == AttendanceSource.ONLINE,
                _within(AttendanceEvent.occurred_at, _all(asked["online"])),
            ):
                self._online[fact.enrolment_id].append(fact)

    def note(self, fact: AttendanceFact) -> None:
        """``fact`` was recorded by the chunk: its later events are judged with it."""
        self._keys.add((fact.enrolment_id, fact.source, fact.occurred_at))
        if fact.offline:
            self._offline[fact.person_id].append(fact)
        if fact.device_id is not None:
            self._device[(fact.institution_id, fact.device_id)].append(fact)
        if fact.source is AttendanceSource.ONLINE:
            self._online[fact.enrolment_id].append(fact)

    # The questions of AttendanceChecks (lock_device is its own).

    def already_recorded(
        self, enrolment_id: uuid.UUID, source: AttendanceSource, occurred_at: datetime
    ) -> bool:
        if not self._loaded:
            self._asked["keys"][enrolment_id].append((occurred_at, occurred_at))
            return False
        return (enrolment_id, source, occurred_at) in self._keys

    def offline_of_person(
        self, person_id: uuid.UUID, since: datetime, until: datetime
    ) -> list[AttendanceFact]:
        return self._answer("people", person_id, self._offline, since, until)

    def of_device(
        self, institution_id: uuid.UUID, device_id: str, since: datetime, until: datetime
    ) -> list[AttendanceFact]:
        return self._answer("devices", (institution_id, device_id), self._device, since, until)

    def online_of_enrolment(
        self, enrolment_id: uuid.UUID, since: datetime, until: datetime
    ) -> list[AttendanceFact]:
        return self._answer("online", enrolment_id, self._online, since, until)

    def _answer(
        self,
        kind: str,
        key: Any,
        known: Mapping[Any, list[AttendanceFact]],
        since: datetime,
        until: datetime,
    ) -> list[AttendanceFact]:
        if not self._loaded:
            self._asked[kind][key].append((since, until))
            return []
        return [f for f in known.get(key, ()) if since <= f.occurred_at <= until]


def _all(asked: Mapping[Any, list[Window]]) -> list[Window]:
    return merged(w for windows in asked.values() for w in windows)
