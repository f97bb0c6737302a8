"""Attendance recorded in chunks, a transaction each: every event judged as one recorded alone,
a refused event leaving the rest of its chunk recorded, and a re-sent batch recording nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa

from builders import Clock, TrainingWorld, enrol, issue, training_world
from skillvoucher.application.attendance_batches import AttendanceEvent, record_attendance_chunked
from skillvoucher.application.audit_verify import verify_audit_chain
from skillvoucher.application.context import AppContext
from skillvoucher.application.ledger_checks import ledger_problems
from skillvoucher.application.training import AttendanceReceipt
from skillvoucher.domain.attendance import REFUSED_ACTION, AttendanceDeviceBurst, AttendanceSource
from skillvoucher.domain.errors import NotFound
from skillvoucher.domain.ids import new_id
from skillvoucher.domain.vouchers import VoucherStatus
from skillvoucher.persistence.tables import AttendanceEvent as StoredEvent
from skillvoucher.persistence.tables import AuditEvent

FACE = AttendanceSource.FACE


def enrolled(ctx: AppContext, world: TrainingWorld, holder: int) -> uuid.UUID:
    voucher_id = issue(ctx, world.scheme.code, world.people[holder]).voucher_id
    enrol(ctx, voucher_id, world.institution, world.course.course_code)
    return voucher_id


def counted(ctx: AppContext, action: str) -> int:
    with ctx.unit_of_work() as uow:
        stmt = sa.select(sa.func.count()).where(AuditEvent.action == action)
        return int(uow.session.scalar(stmt) or 0)


def test_a_chunked_batch_records_each_event_as_alone(ctx: AppContext, clock: Clock) -> None:
    ctx.settings = ctx.settings.model_copy(update={"chunk_size": 4})
    world = training_world(ctx, people=7)
    vouchers = [enrolled(ctx, world, holder=i) for i in range(7)]
    clock.advance(timedelta(hours=1))
    door_opens = clock.now - timedelta(minutes=30)
    # Six people through door-1 within 10 s: the sixth is a crowd (rule: at most 5), and falls
    # in the second chunk, judged against the first chunk's committed events.
    events = [
        AttendanceEvent(v, FACE, door_opens + timedelta(seconds=2 * i), 60, "door-1")
        for i, v in enumerate(vouchers[:6])
    ]
    events.insert(2, AttendanceEvent(new_id(), FACE, door_opens, 60, "door-1"))  # unknown
    events.append(AttendanceEvent(vouchers[6], FACE, door_opens, 60, "door-2"))

    outcomes = record_attendance_chunked(ctx, events)

    assert isinstance(outcomes[2], NotFound)
    assert isinstance(outcomes[6], AttendanceDeviceBurst)
    recorded = [o for o in outcomes if isinstance(o, AttendanceReceipt)]
    assert len(recorded) == 6
    assert all(r.recorded and r.attended_minutes == 60 for r in recorded)
    with ctx.unit_of_work() as uow:
        stored = uow.session.scalar(sa.select(sa.func.count()).select_from(StoredEvent))
        attended = [uow.vouchers.get(v) for v in vouchers if v != vouchers[5]]
        statuses = {v.status for v in attended if v is not None}
    assert stored == 6
    assert statuses == {VoucherStatus.IN_TRAINING}
    assert counted(ctx, "voucher.attended") == 6
    assert counted(ctx, REFUSED_ACTION) == 1  # the crowd's refusal, audited once

    again = record_attendance_chunked(ctx, events)  # re-sent: duplicates, nothing new

    assert [isinstance(o, AttendanceReceipt) and not o.recorded for o in again].count(True) == 6
    assert counted(ctx, "voucher.attended") == 6
    assert ledger_problems(ctx) == []
    assert verify_audit_chain(ctx).intact
