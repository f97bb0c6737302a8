"""A caller that looked an enrolment up before acting never acts on a newer one that replaced
it meanwhile (cancelled, then the voucher enrolled at another institution)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from builders import Clock, enrol, import_course, import_institution, issue, training_world
from skillvoucher.application.context import AppContext
from skillvoucher.application.enrolment import cancel_enrolment
from skillvoucher.application.training import record_attendance, record_completion
from skillvoucher.domain.attendance import AttendanceSource
from skillvoucher.domain.errors import IllegalTransition


def test_a_replaced_enrolment_is_not_acted_on(ctx: AppContext, clock: Clock) -> None:
    world = training_world(ctx, people=1)
    voucher_id = issue(ctx, world.scheme.code, world.people[0]).voucher_id
    first = enrol(ctx, voucher_id, world.institution)
    first_school = world.institution
    cancel_enrolment(ctx, voucher_id, "changed their mind", enrolment_id=first.enrolment_id)
    other = import_institution(ctx, name="太原市另一所职业培训学校")
    import_course(ctx, other)
    second = enrol(ctx, voucher_id, other)
    clock.advance(timedelta(hours=1))

    with pytest.raises(IllegalTransition):
        cancel_enrolment(ctx, voucher_id, "stale", enrolment_id=first.enrolment_id)
    with pytest.raises(IllegalTransition):
        record_attendance(
            ctx, voucher_id, AttendanceSource.FACE, clock.now, 60, enrolment_id=first.enrolment_id
        )
    with ctx.unit_of_work() as uow:
        old_school = uow.catalogue.institution_by_code(first_school)
        assert old_school is not None
        old_school_id = old_school.id
    with pytest.raises(IllegalTransition):
        record_completion(ctx, voucher_id, institution_id=old_school_id)

    # The live enrolment is untouched and still takes its own attendance.
    receipt = record_attendance(
        ctx, voucher_id, AttendanceSource.FACE, clock.now, 60, enrolment_id=second.enrolment_id
    )
    assert receipt.attended_minutes == 60
