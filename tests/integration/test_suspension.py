"""Suspending an institution stops new enrolments and all its unpaid settlement at once, with
the reason recorded and audited; reinstating it lets both go on."""

from __future__ import annotations

from datetime import timedelta

import pytest

from builders import CITY, Clock, enrol, import_institution, issue, training_world
from skillvoucher.application.catalogue_views import institution_id_by_code
from skillvoucher.application.context import AppContext
from skillvoucher.application.risk_flags import (
    reinstate_institution,
    suspend_institution,
    suspend_institution_by_code,
)
from skillvoucher.application.settlement import run_settlement
from skillvoucher.application.settlement_batches import (
    approve_batch,
    export_payment_file,
    mark_batch_paid,
    publish_batch,
)
from skillvoucher.domain.access import (
    ROLE_PERMISSIONS,
    AccessDenied,
    Principal,
    PrincipalKind,
    Role,
    Scope,
)
from skillvoucher.domain.catalogue import ApprovalStatus
from skillvoucher.domain.errors import (
    CourseNotUsable,
    IllegalTransition,
    InstitutionSuspended,
    InvalidInput,
    NotFound,
)
from skillvoucher.domain.ids import new_id
from skillvoucher.domain.settlement import BatchStatus


def admin(role: Role = Role.CITY_ADMIN, region: str = CITY) -> Principal:
    return Principal(
        PrincipalKind.STAFF,
        new_id(),
        role,
        ROLE_PERMISSIONS[role],
        Scope.of_region(region),
        f"staff:{role.value}-{region}",
    )


def test_suspension_refuses_enrolment_records_the_reason_and_reinstating_allows_it(
    ctx: AppContext,
) -> None:
    world = training_world(ctx, people=2)
    first, second = (issue(ctx, world.scheme.code, p) for p in world.people)
    institution_id = institution_id_by_code(ctx, world.institution)

    standing = suspend_institution(ctx, admin(), institution_id, "  enrolment spike  ")
    assert standing.approval_status is ApprovalStatus.SUSPENDED
    assert standing.suspension_reason == "enrolment spike"
    assert standing.suspended_by == f"staff:city_admin-{CITY}"
    assert standing.suspended_at == ctx.clock()

    with pytest.raises(CourseNotUsable, match="approved"):
        enrol(ctx, first.voucher_id, world.institution)

    reinstated = reinstate_institution(ctx, admin(Role.PROVINCE_ADMIN, "140000"), institution_id)
    assert reinstated.approval_status is ApprovalStatus.APPROVED
    assert reinstated.suspension_reason == "enrolment spike"  # kept for the record
    enrol(ctx, first.voucher_id, world.institution)
    enrol(ctx, second.voucher_id, world.institution)

    with ctx.unit_of_work() as uow:
        events = uow.audit.for_entity("institution", institution_id)
    actions = [(e.action, e.actor, e.payload.get("reason")) for e in events]
    assert actions == [
        ("institution.suspended", f"staff:city_admin-{CITY}", "enrolment spike"),
        ("institution.reinstated", "staff:province_admin-140000", None),
    ]
    assert events[1].payload["suspension_reason"] == "enrolment spike"


def test_unpaid_settlement_stops_while_suspended_and_goes_on_after(
    ctx: AppContext, clock: Clock
) -> None:
    world = training_world(ctx, people=2)
    vouchers = [issue(ctx, world.scheme.code, p) for p in world.people]
    enrol(ctx, vouchers[0].voucher_id, world.institution)
    institution_id = institution_id_by_code(ctx, world.institution)
    [batch] = run_settlement(ctx, clock.today, clock.today).created

    suspend_institution(ctx, admin(), institution_id, "certificate rate")
    with pytest.raises(InstitutionSuspended):
        approve_batch(ctx, batch.batch_id, "approver-1")
    # A new enrolment waits too: the run skips the institution and says so.
    enrol_later = vouchers[1].voucher_id
    reinstate_institution(ctx, admin(), institution_id)
    enrol(ctx, enrol_later, world.institution)
    suspend_institution(ctx, admin(), institution_id, "certificate rate")
    tomorrow = clock.today + timedelta(days=1)
    run = run_settlement(ctx, tomorrow, tomorrow)
    assert run.created == []
    assert run.suspended == 1
    with pytest.raises(InstitutionSuspended):
        run_settlement(ctx, tomorrow, tomorrow, world.institution)

    reinstate_institution(ctx, admin(), institution_id)
    approved = approve_batch(ctx, batch.batch_id, "approver-1")
    assert approved.status is BatchStatus.APPROVED
    published = publish_batch(ctx, batch.batch_id)
    assert published.notice_until is not None
    clock.set(published.notice_until)

    suspend_institution(ctx, admin(), institution_id, "shared device")
    with pytest.raises(InstitutionSuspended):
        mark_batch_paid(ctx, batch.batch_id, "PAY-1")
    with pytest.raises(InstitutionSuspended):
        export_payment_file(ctx, [batch.batch_id], ctx.settings.data_dir / "pay.csv")
    with ctx.unit_of_work() as uow:
        assert uow.settlement.batch(batch.batch_id).status is BatchStatus.PUBLISHED  # type: ignore[union-attr]

    reinstate_institution(ctx, admin(), institution_id)
    assert mark_batch_paid(ctx, batch.batch_id, "PAY-1").status is BatchStatus.PAID
    assert run_settlement(ctx, tomorrow, tomorrow).suspended == 0


def test_suspension_is_scoped_guarded_and_needs_a_reason(ctx: AppContext) -> None:
    world = training_world(ctx, people=1)
    institution_id = institution_id_by_code(ctx, world.institution)
    # Another city's administrator hears what a missing institution would answer.
    unknown = new_id()
    with pytest.raises(NotFound) as outside:
        suspend_institution(ctx, admin(region="140200"), institution_id, "x")
    with pytest.raises(NotFound) as missing:
        suspend_institution(ctx, admin(), unknown, "x")
    assert str(outside.value) == f"institution {institution_id} is not known"
    assert str(missing.value) == f"institution {unknown} is not known"
    with pytest.raises(AccessDenied):
        suspend_institution(ctx, admin(Role.AUDITOR), institution_id, "x")
    with pytest.raises(InvalidInput):
        suspend_institution(ctx, admin(), institution_id, "   ")
    with pytest.raises(IllegalTransition, match="not suspended"):
        reinstate_institution(ctx, admin(), institution_id)
    suspend_institution_by_code(ctx, world.institution, "operator's decision")
    with pytest.raises(IllegalTransition, match="only an approved"):
        suspend_institution(ctx, admin(), institution_id, "again")
    with ctx.unit_of_work() as uow:
        [event] = uow.audit.for_entity("institution", institution_id)
    assert (event.actor, event.payload["reason"]) == ("cli", "operator's decision")


def test_re_importing_the_catalogue_does_not_lift_a_suspension(ctx: AppContext) -> None:
    code = import_institution(ctx)
    institution_id = institution_id_by_code(ctx, code)
    suspend_institution_by_code(ctx, code, "fake trainees")
    import_institution(ctx, code=code, name="改了名字的培训学校")  # a changed row: an update
    with ctx.unit_of_work() as uow:
        again = uow.catalogue.institution(institution_id)
        assert again is not None
        assert (again.name, again.approval_status.value) == ("改了名字的培训学校", "suspended")
