"""Record many attendance events in one transaction: an institution's day of check-ins from its
devices, or a file of them. A chunk is recorded set-wise: its vouchers, enrolments and courses
are read in a few statements, its devices and holders locked (devices first, then holders in
primary-key order, as ``record_attendance`` locks one of each), the recorded events its rules
may ask about read at once (``ChunkAttendanceChecks``), and each event then judged in order by
the same functions as ``record_attendance`` (``attending``, ``judge_nearby``), each seeing the
events accepted before it. The accepted ones are written together: their rows, the enrolments'
minutes, the vouchers now in training and their audit events. A chunk so leaves the rows, the
audit events, the notices and the refusals that the events recorded one by one would.

Re-running a chunk is harmless (``retries.py``): an event recorded before is a duplicate."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from skillvoucher.application.attendance_refusals import AttendanceRefusal, record_refusal
from skillvoucher.application.context import AppContext
from skillvoucher.application.retries import retry_chunk
from skillvoucher.application.training import (
    AttendanceReceipt,
    attending,
    check_attendance_shape,
    judge_nearby,
)
from skillvoucher.domain.attendance import AttendanceFact, AttendanceSource
from skillvoucher.domain.errors import DomainError
from skillvoucher.domain.ids import new_id
from skillvoucher.domain.settlement import attendance_percent
from skillvoucher.domain.vouchers import VoucherEvent, VoucherStatus, next_status
from skillvoucher.persistence.repositories.training_sets import (
    ChunkAttendanceChecks,
    TrainingSets,
)
from skillvoucher.persistence.tables import Course, Enrolment, Voucher
from skillvoucher.persistence.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class AttendanceEvent:
    voucher_id: uuid.UUID
    source: AttendanceSource
    occurred_at: datetime
    minutes: int
    device_id: str | None = None
    enrolment_id: uuid.UUID | None = None  # only for that enrolment, as in record_attendance


# A chunk holds its devices' and holders' locks until it commits, and live check-ins at the
# same door wait for them: 200 events (well under a second) keep that wait short and already
# share most of what a commit per event cost.
EVENTS_PER_TRANSACTION = 200

AttendanceOutcome = AttendanceReceipt | DomainError
"""What became of one event: its receipt, or the domain error that refused it."""


def record_attendance_chunked(
    ctx: AppContext, events: Sequence[AttendanceEvent]
) -> list[AttendanceOutcome]:
    """Record ``events`` in chunks (``EVENTS_PER_TRANSACTION``, or ``settings.chunk_size`` when
    smaller), one transaction each; the outcome of every event, in order. A refused event
    leaves the others of its chunk recorded."""
    size = min(ctx.settings.chunk_size, EVENTS_PER_TRANSACTION)
    outcomes: list[AttendanceOutcome] = []
    for start in range(0, len(events), size):
        chunk = events[start : start + size]
        outcomes += retry_chunk(ctx, "attendance", partial(_record_chunk, ctx, chunk))
    return outcomes


@dataclass(frozen=True)
class _Candidate:
    """An event whose voucher and enrolment allow it, waiting for the rules on nearby events."""

    index: int
    event: AttendanceEvent
    voucher: Voucher
    enrolment: Enrolment
    fact: AttendanceFact


def _record_chunk(ctx: AppContext, events: Sequence[AttendanceEvent]) -> list[AttendanceOutcome]:
    outcomes: list[AttendanceOutcome | None] = [None] * len(events)
    refusals: list[AttendanceRefusal] = []
    with ctx.unit_of_work() as uow:
        sets = TrainingSets(uow.session)
        candidates = _candidates(ctx, sets, events, outcomes)
        courses = sets.courses({c.enrolment.course_id for c in candidates})
        checks = ChunkAttendanceChecks(uow.session)
        # Devices first, then holders in primary-key order: the single path's order, one of
        # each; so neither a live check-in nor another chunk can wait for this one in a circle.
        devices = {
            (str(c.enrolment.institution_id), c.event.device_id)
            for c in candidates
            if c.event.device_id is not None
        }
        for institution_id, device_id in sorted(devices):
            checks.lock_device(uuid.UUID(institution_id), device_id)
        sets.lock_people(c.enrolment.person_id for c in candidates)
        # The rules are asked once against nothing, to learn what they will look at; that is
        # read in a few queries under the locks, and then each event is judged for real.
        for c in candidates:
            judge_nearby(checks, c.fact, c.enrolment, courses[c.enrolment.course_id])
        checks.load()
        minutes = sets.attended_minutes(c.enrolment.id for c in candidates)
        written = _judge_in_order(ctx, candidates, courses, checks, minutes, outcomes, refusals)
        _write(uow, sets, written)
        uow.commit()
    # As for a single event: the refusals are audited once the chunk's transaction has ended.
    for refusal in refusals:
        record_refusal(ctx, refusal)
    return [o for o in outcomes if o is not None]


def _candidates(
    ctx: AppContext,
    sets: TrainingSets,
    events: Sequence[AttendanceEvent],
    outcomes: list[AttendanceOutcome | None],
) -> list[_Candidate]:
    """The events that pass the checks made before any lock; the others' errors go into
    ``outcomes``."""
    ids = [e.voucher_id for e in events]
    vouchers = sets.vouchers(ids)
    enrolments = sets.active_enrolments(ids)
    candidates: list[_Candidate] = []
    for index, event in enumerate(events):
        try:
            check_attendance_shape(ctx, event.occurred_at, event.minutes, event.device_id)
            voucher, enrolment = attending(
                event.voucher_id,
                vouchers.get(event.voucher_id),
                enrolments.get,
                event.enrolment_id,
                event.occurred_at,
            )
        except DomainError as error:
            outcomes[index] = error
            continue
        fact = AttendanceFact(
            enrolment.person_id,
            enrolment.id,
            enrolment.institution_id,
            event.source,
            event.device_id,
            event.occurred_at,
            event.minutes,
        )
        candidates.append(_Candidate(index, event, voucher, enrolment, fact))
    return candidates


@dataclass
class _Written:
    rows: list[dict[str, Any]]
    minutes: dict[uuid.UUID, int]  # enrolment → minutes added
    started: dict[uuid.UUID, None]  # vouchers that move from enrolled to in training, in order
    audit: list[dict[str, Any]]


def _judge_in_order(
    ctx: AppContext,
    candidates: Sequence[_Candidate],
    courses: dict[uuid.UUID, Course],
    checks: ChunkAttendanceChecks,
    minutes: dict[uuid.UUID, int],
    outcomes: list[AttendanceOutcome | None],
    refusals: list[AttendanceRefusal],
) -> _Written:
    written = _Written([], defaultdict(int), {}, [])
    for c in candidates:
        course = courses[c.enrolment.course_id]
        refused = judge_nearby(checks, c.fact, c.enrolment, course)
        if refused is not None:
            refusals.append(AttendanceRefusal(refused.code, c.fact, c.voucher.region_code))
            outcomes[c.index] = refused
            continue
        recorded = not checks.already_recorded(
            c.fact.enrolment_id, c.fact.source, c.fact.occurred_at
        )
        if recorded:
            _accept(ctx, c, checks, minutes, written)
        total = minutes[c.enrolment.id]
        outcomes[c.index] = AttendanceReceipt(
            recorded, total, attendance_percent(total, course.hours)
        )
    return written


def _accept(
    ctx: AppContext,
    c: _Candidate,
    checks: ChunkAttendanceChecks,
    minutes: dict[uuid.UUID, int],
    written: _Written,
) -> None:
    """What ``record_attendance`` writes for an event it accepts, kept for the chunk's write."""
    now = ctx.clock()
    event, voucher, enrolment = c.event, c.voucher, c.enrolment
    checks.note(c.fact)
    minutes[enrolment.id] += event.minutes
    written.minutes[enrolment.id] += event.minutes
    written.rows.append(
        {
            "id": new_id(),
            "enrolment_id": enrolment.id,
            "voucher_id": event.voucher_id,
            "institution_id": enrolment.institution_id,
            "region_code": voucher.region_code,
            "province_code": voucher.province_code,
            "source": event.source,
            "device_id": event.device_id,
            "occurred_at": event.occurred_at,
            "minutes": event.minutes,
            "recorded_at": now,
        }
    )
    if voucher.status is VoucherStatus.ENROLLED:
        written.started[event.voucher_id] = None
    written.audit.append(
        {
            "occurred_at": now,
            "actor": ctx.actor,
            "action": "voucher.attended",
            "entity_type": "voucher",
            "entity_id": str(event.voucher_id),
            "region_code": voucher.region_code,
            "payload": {
                "source": event.source.value,
                "minutes": event.minutes,
                "device": event.device_id,
            },
        }
    )


def _write(uow: UnitOfWork, sets: TrainingSets, written: _Written) -> None:
    sets.add_attendance(written.rows)
    sets.add_minutes(written.minutes)
    if written.started:
        target = next_status(VoucherStatus.ENROLLED, VoucherEvent.START_TRAINING)
        sets.move_vouchers(list(written.started), VoucherStatus.ENROLLED, target)
    uow.audit.record_many(written.audit)
