"""Attendance and completion as an institution (its staff, its check-in devices, its online
platform) reports them: only for its own enrolments, each event recorded once.

These wrap the unscoped use cases of ``training``: the caller's enrolments are looked up through
its scope first, then each event is recorded in its own transaction, as a file import does.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from skillvoucher.application.attendance_batches import AttendanceEvent, record_attendance_chunked
from skillvoucher.application.context import AppContext
from skillvoucher.application.enrolment_access import live_enrolment
from skillvoucher.application.training import record_attendance, record_completion
from skillvoucher.domain.access import Permission, Principal
from skillvoucher.domain.attendance import AttendanceSource
from skillvoucher.domain.catalogue import SkillLevel
from skillvoucher.domain.errors import DomainError, IllegalTransition, InvalidInput, NotFound
from skillvoucher.domain.vouchers import EnrolmentStatus, VoucherStatus
from skillvoucher.persistence.repositories.enrolment_access import EnrolmentAccess
from skillvoucher.persistence.tables import Enrolment

MAX_EVENTS_PER_BATCH = 1000


@dataclass(frozen=True)
class AttendanceEntry:
    """One check-in or span of online learning, for an enrolment or a voucher's live one."""

    source: AttendanceSource
    occurred_at: datetime
    minutes: int
    enrolment_id: uuid.UUID | None = None
    voucher_id: uuid.UUID | None = None
    device_id: str | None = None


@dataclass(frozen=True)
class RecordedAttendance:
    enrolment_id: uuid.UUID
    voucher_id: uuid.UUID
    recorded: bool  # False when the same event had been recorded before
    attended_minutes: int
    attendance_percent: int


@dataclass(frozen=True)
class EntryProblem:
    index: int  # position of the event in the request, from 0
    code: str
    detail: str


@dataclass(frozen=True)
class AttendanceBatchReport:
    recorded: int
    duplicates: int
    problems: list[EntryProblem]


@dataclass(frozen=True)
class CompletionView:
    enrolment_id: uuid.UUID
    voucher_id: uuid.UUID
    voucher_status: VoucherStatus
    completed_at: datetime | None
    certificate_no: str | None
    certificate_level: SkillLevel | None
    certified_at: datetime | None


def _enrolments_for(
    ctx: AppContext, principal: Principal, entries: Sequence[AttendanceEntry]
) -> list[Enrolment | DomainError]:
    """Each entry's live enrolment within the caller's scope, or why there is none."""
    with ctx.unit_of_work() as uow:
        access = EnrolmentAccess(uow.session)
        by_id = access.by_ids(
            principal.scope, [e.enrolment_id for e in entries if e.enrolment_id is not None]
        )
        by_voucher = access.active_by_vouchers(
            principal.scope,
            [e.voucher_id for e in entries if e.enrolment_id is None and e.voucher_id is not None],
        )
    resolved: list[Enrolment | DomainError] = []
    for entry in entries:
        if entry.enrolment_id is not None:
            enrolment = by_id.get(entry.enrolment_id)
            if enrolment is None:
                resolved.append(NotFound(f"enrolment {entry.enrolment_id} is not known"))
            elif enrolment.status is not EnrolmentStatus.ACTIVE:
                resolved.append(IllegalTransition(f"enrolment {enrolment.id} was cancelled"))
            else:
                resolved.append(enrolment)
        elif entry.voucher_id is not None:
            found = by_voucher.get(entry.voucher_id)
            # Missing, not enrolled, or enrolled elsewhere: one answer, so nothing leaks.
            resolved.append(
                found or NotFound(f"no live enrolment of voucher {entry.voucher_id} is known")
            )
        else:
            resolved.append(InvalidInput("give the enrolment_id or the voucher_id"))
    return resolved


def _record(ctx: AppContext, enrolment: Enrolment, entry: AttendanceEntry) -> RecordedAttendance:
    receipt = record_attendance(
        ctx,
        enrolment.voucher_id,
        entry.source,
        entry.occurred_at,
        entry.minutes,
        entry.device_id,
        enrolment_id=enrolment.id,
    )
    return RecordedAttendance(
        enrolment.id,
        enrolment.voucher_id,
        receipt.recorded,
        receipt.attended_minutes,
        receipt.attendance_percent,
    )


def record_attendance_as(
    ctx: AppContext, principal: Principal, entry: AttendanceEntry
) -> RecordedAttendance:
    """Record one event for one of the caller's enrolments; re-sending it records nothing."""
    principal.require(Permission.ATTENDANCE_RECORD)
    [enrolment] = _enrolments_for(ctx, principal, [entry])
    if isinstance(enrolment, DomainError):
        raise enrolment
    return _record(ctx, enrolment, entry)


def record_attendance_batch(
    ctx: AppContext, principal: Principal, entries: Sequence[AttendanceEntry]
) -> AttendanceBatchReport:
    """Record many events set-wise (``attendance_batches``: a transaction per chunk, each event
    judged by the single path's rules in order): good events are recorded, refused ones
    reported by index, and re-sending the same batch records nothing twice."""
    principal.require(Permission.ATTENDANCE_RECORD)
    if not 1 <= len(entries) <= MAX_EVENTS_PER_BATCH:
        raise InvalidInput(f"send between 1 and {MAX_EVENTS_PER_BATCH} events at once")
    problems: list[EntryProblem] = []
    sent: list[tuple[int, AttendanceEvent]] = []
    for index, (entry, enrolment) in enumerate(
        zip(entries, _enrolments_for(ctx, principal, entries), strict=True)
    ):
        if isinstance(enrolment, DomainError):
            problems.append(EntryProblem(index, enrolment.code, enrolment.message))
            continue
        event = AttendanceEvent(
            enrolment.voucher_id,
            entry.source,
            entry.occurred_at,
            entry.minutes,
            entry.device_id,
            enrolment_id=enrolment.id,
        )
        sent.append((index, event))
    recorded = duplicates = 0
    outcomes = record_attendance_chunked(ctx, [event for _, event in sent])
    for (index, _), outcome in zip(sent, outcomes, strict=True):
        if isinstance(outcome, DomainError):
            problems.append(EntryProblem(index, outcome.code, outcome.message))
        elif outcome.recorded:
            recorded += 1
        else:
            duplicates += 1
    return AttendanceBatchReport(recorded, duplicates, sorted(problems, key=lambda p: p.index))


def record_completion_as(
    ctx: AppContext,
    principal: Principal,
    enrolment_id: uuid.UUID,
    certificate_no: str | None = None,
    certificate_level: SkillLevel | None = None,
) -> CompletionView:
    """The caller's trainee finished the course; with a certificate number, it is recorded too
    (a completed enrolment can receive its certificate later by calling this again)."""
    principal.require(Permission.COMPLETION_RECORD)
    enrolment = live_enrolment(ctx, principal, enrolment_id).enrolment
    voucher_id = enrolment.voucher_id
    record_completion(
        ctx, voucher_id, certificate_no, certificate_level, institution_id=enrolment.institution_id
    )
    with ctx.unit_of_work() as uow:
        voucher = uow.vouchers.get(voucher_id)
        assert voucher is not None  # it was just completed
        return CompletionView(
            enrolment_id=enrolment_id,
            voucher_id=voucher_id,
            voucher_status=voucher.status,
            completed_at=voucher.completed_at,
            certificate_no=voucher.certificate_no,
            certificate_level=voucher.certificate_level,
            certified_at=voucher.certified_at,
        )
