"""Attendance and completion: the evidence that settlement pays for."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from skillvoucher.application.attendance_refusals import AttendanceRefusal, record_refusal
from skillvoucher.application.context import AppContext
from skillvoucher.domain.attendance import (
    DEVICE_BURST_WINDOW,
    MAX_DEVICE_ID_CHARS,
    MAX_MINUTES_PER_EVENT,
    ONLINE_OVERLAP_REACH,
    TWO_PLACES_WINDOW,
    AttendanceFact,
    AttendanceSource,
    ImplausibleAttendance,
    implausibility,
)
from skillvoucher.domain.catalogue import SkillLevel
from skillvoucher.domain.errors import IllegalTransition, InvalidInput, NotFound, VoucherNotUsable
from skillvoucher.domain.ids import new_id
from skillvoucher.domain.settlement import attendance_percent
from skillvoucher.domain.vouchers import VoucherEvent, VoucherStatus, next_status
from skillvoucher.persistence.repositories.attendance_checks import AttendanceChecks
from skillvoucher.persistence.tables import Course, Enrolment, Voucher
from skillvoucher.persistence.unit_of_work import UnitOfWork

# Devices' clocks drift; an event a little in the future is a clock, not a forgery.
CLOCK_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True)
class AttendanceReceipt:
    recorded: bool  # False when the same event had been recorded before
    attended_minutes: int
    attendance_percent: int


def record_attendance(
    ctx: AppContext,
    voucher_id: uuid.UUID,
    source: AttendanceSource,
    occurred_at: datetime,
    minutes: int,
    device_id: str | None = None,
    enrolment_id: uuid.UUID | None = None,
) -> AttendanceReceipt:
    """Record one check-in (offline) or a span of learning minutes (online), once.

    With ``enrolment_id``, only for that enrolment (not a newer one that replaced it). An event
    that cannot be true (see ``domain.attendance``) is refused with the rule it breaks, and the
    refusal (not the event) is audited in a transaction of its own (``attendance_refusals``)."""
    check_attendance_shape(ctx, occurred_at, minutes, device_id)
    refusals: list[AttendanceRefusal] = []
    try:
        with ctx.unit_of_work() as uow:
            receipt = record_attendance_within(
                ctx,
                uow,
                voucher_id,
                source,
                occurred_at,
                minutes,
                device_id,
                enrolment_id,
                refusals,
            )
            uow.commit()
    except ImplausibleAttendance:
        # The refused transaction has rolled back (and released its locks); what remains of the
        # event is an audit record of the refusal, then the caller still gets the rule broken.
        for refusal in refusals:
            record_refusal(ctx, refusal)
        raise
    return receipt


def check_attendance_shape(
    ctx: AppContext, occurred_at: datetime, minutes: int, device_id: str | None
) -> None:
    """Refuse an event whose fields alone are wrong, before any database work."""
    if not 0 < minutes <= MAX_MINUTES_PER_EVENT:
        raise InvalidInput(f"minutes must be between 1 and {MAX_MINUTES_PER_EVENT}")
    if device_id is not None and not 1 <= len(device_id) <= MAX_DEVICE_ID_CHARS:
        raise InvalidInput(f"a device id has 1 to {MAX_DEVICE_ID_CHARS} characters")
    if occurred_at.tzinfo is None:
        raise InvalidInput("the attendance time needs a time zone")
    if occurred_at > ctx.clock() + CLOCK_TOLERANCE:
        raise InvalidInput("the attendance time is in the future")


def record_attendance_within(
    ctx: AppContext,
    uow: UnitOfWork,
    voucher_id: uuid.UUID,
    source: AttendanceSource,
    occurred_at: datetime,
    minutes: int,
    device_id: str | None,
    enrolment_id: uuid.UUID | None,
    refusals: list[AttendanceRefusal],
) -> AttendanceReceipt:
    """``record_attendance`` inside the caller's unit of work, the event's shape already checked.

    Every refusal is raised before anything is written; an implausible event's refusal is
    appended to ``refusals`` for the caller to audit once its own transaction has ended."""
    now = ctx.clock()
    voucher, enrolment = attending(
        voucher_id,
        uow.vouchers.get(voucher_id),
        uow.vouchers.active_enrolment,
        enrolment_id,
        occurred_at,
    )
    course = uow.catalogue.course(enrolment.course_id)
    assert course is not None
    event = AttendanceFact(
        enrolment.person_id,
        enrolment.id,
        enrolment.institution_id,
        source,
        device_id,
        occurred_at,
        minutes,
    )
    checks = AttendanceChecks(uow.session)
    # Simultaneous check-ins must not each pass the rules that count the others: the holder's
    # row (two places at once, overlapping online spans) and the device (a crowd within
    # seconds) are locked, device first, until this transaction ends.
    if device_id is not None:
        checks.lock_device(enrolment.institution_id, device_id)
    uow.people.lock(enrolment.person_id)
    refused = judge_nearby(checks, event, enrolment, course)
    if refused is not None:
        refusals.append(AttendanceRefusal(refused.code, event, voucher.region_code))
        raise refused
    recorded = uow.vouchers.add_attendance(
        {
            "id": new_id(),
            "enrolment_id": enrolment.id,
            "voucher_id": voucher_id,
            "institution_id": enrolment.institution_id,
            "region_code": voucher.region_code,
            "province_code": voucher.province_code,
            "source": source,
            "device_id": device_id,
            "occurred_at": occurred_at,
            "minutes": minutes,
            "recorded_at": now,
        }
    )
    if recorded and voucher.status is VoucherStatus.ENROLLED:
        target = next_status(voucher.status, VoucherEvent.START_TRAINING)
        uow.vouchers.transition(voucher_id, [VoucherStatus.ENROLLED], target)
    if recorded:
        uow.audit.record(
            at=now,
            actor=ctx.actor,
            action="voucher.attended",
            entity_type="voucher",
            entity_id=voucher_id,
            region_code=voucher.region_code,
            payload={"source": source.value, "minutes": minutes, "device": device_id},
        )
    uow.session.refresh(enrolment)
    total = enrolment.attended_minutes
    return AttendanceReceipt(recorded, total, attendance_percent(total, course.hours))


def attending(
    voucher_id: uuid.UUID,
    voucher: Voucher | None,
    active_enrolment: Callable[[uuid.UUID], Enrolment | None],
    enrolment_id: uuid.UUID | None,
    occurred_at: datetime,
) -> tuple[Voucher, Enrolment]:
    """The voucher in training and its live enrolment that an event at ``occurred_at`` is for,
    or why the event cannot be (``attendance_batches`` judges a chunk's events by this too)."""
    if voucher is None:
        raise NotFound(f"voucher {voucher_id} is not known")
    if voucher.status not in (VoucherStatus.ENROLLED, VoucherStatus.IN_TRAINING):
        raise VoucherNotUsable(f"voucher {voucher_id} is {voucher.status.value}, not in training")
    enrolment = active_enrolment(voucher_id)
    assert enrolment is not None  # an enrolled voucher has one, by construction
    if enrolment_id is not None and enrolment.id != enrolment_id:
        raise IllegalTransition(f"enrolment {enrolment_id} is no longer the live one")
    if occurred_at < enrolment.enrolled_at:
        raise InvalidInput("the attendance time is before the enrolment")
    return voucher, enrolment


def judge_nearby(
    checks: AttendanceChecks, event: AttendanceFact, enrolment: Enrolment, course: Course
) -> ImplausibleAttendance | None:
    """Why ``event`` cannot be true, judged against the recorded events near it (read by
    ``checks``: from the database, or from a chunk's events loaded at once)."""
    if checks.already_recorded(event.enrolment_id, event.source, event.occurred_at):
        return None  # a re-sent event changes nothing, so it cannot be impossible now
    at = event.occurred_at
    nearby = checks.offline_of_person(
        event.person_id, at - TWO_PLACES_WINDOW, at + TWO_PLACES_WINDOW
    )
    if event.device_id is not None:
        nearby += checks.of_device(
            event.institution_id,
            event.device_id,
            at - DEVICE_BURST_WINDOW,
            at + DEVICE_BURST_WINDOW,
        )
    if event.source is AttendanceSource.ONLINE:
        # Spans overlapping the new one end after it starts and start before it ends; recorded
        # spans never overlap each other (this rule refused that), so these are all of them.
        nearby += checks.online_of_enrolment(
            event.enrolment_id, event.span_start, at + ONLINE_OVERLAP_REACH
        )
    return implausibility(
        event, nearby, (course.start_date, course.end_date), enrolment.enrolled_at
    )


def record_completion(
    ctx: AppContext,
    voucher_id: uuid.UUID,
    certificate_no: str | None = None,
    certificate_level: SkillLevel | None = None,
    institution_id: uuid.UUID | None = None,
) -> VoucherStatus:
    """The course is finished; with a certificate number, the skill certificate is recorded too.

    A completed voucher without a certificate can receive one later by calling this again.
    """
    check_certificate_shape(certificate_no, certificate_level)
    now = ctx.clock()
    with ctx.unit_of_work() as uow:
        voucher = uow.vouchers.get(voucher_id)
        step = completion_step(
            voucher_id, voucher, institution_id, certificate_no, certificate_level, now
        )
        if (
            not uow.vouchers.transition(voucher_id, [step.from_status], step.target, **step.values)
            and step.action == COMPLETED_ACTION
        ):
            raise IllegalTransition(f"voucher {voucher_id} changed meanwhile; try again")
        assert voucher is not None  # completion_step refused an unknown one
        uow.audit.record(
            at=now,
            actor=ctx.actor,
            action=step.action,
            entity_type="voucher",
            entity_id=voucher_id,
            region_code=voucher.region_code,
            payload={"certificate_no": certificate_no, "level": certificate_level},
        )
        uow.commit()
    return VoucherStatus.COMPLETED


COMPLETED_ACTION = "voucher.completed"
CERTIFIED_ACTION = "voucher.certified"


def check_certificate_shape(certificate_no: str | None, level: SkillLevel | None) -> None:
    """Refuse a certificate whose fields alone are wrong, before any database work."""
    if (certificate_no is None) != (level is None):
        raise InvalidInput("give the certificate number and its level together")
    if certificate_no is not None and not 4 <= len(certificate_no.strip()) <= 40:
        raise InvalidInput("a certificate number has 4 to 40 characters")


@dataclass(frozen=True)
class CompletionStep:
    """How a completion moves its voucher: from which status to which, with what values,
    under which audit action."""

    from_status: VoucherStatus
    target: VoucherStatus
    values: dict[str, Any]
    action: str


def completion_step(
    voucher_id: uuid.UUID,
    voucher: Voucher | None,
    institution_id: uuid.UUID | None,
    certificate_no: str | None,
    certificate_level: SkillLevel | None,
    now: datetime,
) -> CompletionStep:
    """What completing ``voucher`` (with the certificate, if any) does, or why it cannot
    (``completion_batches`` judges a chunk's completions by this too). A completed voucher
    without a certificate can only receive one; the move from in training is conditional."""
    if voucher is None:
        raise NotFound(f"voucher {voucher_id} is not known")
    if institution_id is not None and voucher.institution_id != institution_id:
        # Looked up through an enrolment that was replaced meanwhile.
        raise IllegalTransition(f"voucher {voucher_id} is no longer at that institution")
    cert: dict[str, Any] = (
        {
            "certificate_no": certificate_no.strip(),
            "certificate_level": certificate_level,
            "certified_at": now,
        }
        if certificate_no
        else {}
    )
    if voucher.status is VoucherStatus.COMPLETED:
        if not cert or voucher.certificate_no is not None:
            raise IllegalTransition(f"voucher {voucher_id} is already completed")
        return CompletionStep(
            VoucherStatus.COMPLETED, VoucherStatus.COMPLETED, cert, CERTIFIED_ACTION
        )
    target = next_status(voucher.status, VoucherEvent.COMPLETE)
    values = {"completed_at": now, **cert}
    return CompletionStep(VoucherStatus.IN_TRAINING, target, values, COMPLETED_ACTION)
