"""An institution's class enrolled in chunks, a transaction each: every request checked as
``enrol`` checks one, a refused request leaving the rest of its chunk enrolled, and a re-sent
class enrolling nobody twice."""

from __future__ import annotations

import sqlalchemy as sa

from builders import Clock, issue, training_world
from skillvoucher.application import enrolment
from skillvoucher.application.audit_verify import verify_audit_chain
from skillvoucher.application.context import AppContext
from skillvoucher.application.enrolment import EnrolmentReceipt
from skillvoucher.application.enrolment_batches import EnrolmentRequest, enrol_chunked
from skillvoucher.application.ledger_checks import ledger_problems
from skillvoucher.domain.errors import AlreadyEnrolled, ConsentInvalid, NotFound
from skillvoucher.domain.ids import new_id
from skillvoucher.domain.vouchers import VoucherStatus
from skillvoucher.persistence.tables import AuditEvent, Course


def seats_and_events(ctx: AppContext) -> tuple[int, int]:
    with ctx.unit_of_work() as uow:
        seats = uow.session.scalar(sa.select(sa.func.sum(Course.enrolled_count)))
        events = uow.session.scalar(
            sa.select(sa.func.count()).where(AuditEvent.action == "voucher.enrolled")
        )
    return int(seats or 0), int(events or 0)


def test_a_class_enrolled_in_chunks_is_enrolled_as_one_by_one(
    ctx: AppContext, clock: Clock
) -> None:
    ctx.settings = ctx.settings.model_copy(update={"chunk_size": 2})
    world = training_world(ctx, people=4)
    vouchers = [issue(ctx, world.scheme.code, p).voucher_id for p in world.people]
    codes = [enrolment.grant_consent(ctx, v).code for v in vouchers]
    course = world.course.course_code
    wrong = "000000" if codes[1] != "000000" else "111111"
    requests = [
        EnrolmentRequest(vouchers[0], course, codes[0]),
        EnrolmentRequest(vouchers[1], course, wrong),  # refused after its UPDATE: undone alone
        EnrolmentRequest(new_id(), course, "123456"),
        EnrolmentRequest(vouchers[2], course, codes[2]),
        EnrolmentRequest(vouchers[3], course, codes[3]),
    ]

    outcomes = enrol_chunked(ctx, world.institution, requests)

    assert isinstance(outcomes[1], ConsentInvalid)
    assert isinstance(outcomes[2], NotFound)
    assert [isinstance(o, EnrolmentReceipt) for o in outcomes] == [True, False, False, True, True]
    with ctx.unit_of_work() as uow:
        statuses = [uow.vouchers.get(v) for v in vouchers]
    assert [v.status for v in statuses if v is not None] == [
        VoucherStatus.ENROLLED,
        VoucherStatus.ISSUED,
        VoucherStatus.ENROLLED,
        VoucherStatus.ENROLLED,
    ]
    assert seats_and_events(ctx) == (3, 3)

    again = enrol_chunked(ctx, world.institution, requests)  # re-sent: nobody enrolled twice

    assert [type(o) for o in again] == [
        AlreadyEnrolled,
        ConsentInvalid,
        NotFound,
        AlreadyEnrolled,
        AlreadyEnrolled,
    ]
    assert seats_and_events(ctx) == (3, 3)
    # The holder refused for a wrong code can still enrol with the right one.
    late = enrol_chunked(ctx, world.institution, [EnrolmentRequest(vouchers[1], course, codes[1])])
    assert isinstance(late[0], EnrolmentReceipt)
    assert seats_and_events(ctx) == (4, 4)
    assert ledger_problems(ctx) == []
    assert verify_audit_chain(ctx).intact
