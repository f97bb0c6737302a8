"""Settlement: stages earned per period, batches approved, exported, paid and reconciled."""

from __future__ import annotations

import csv
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from builders import (
    Clock,
    TrainingWorld,
    enrol,
    import_course,
    import_institution,
    issue,
    publish_and_pay,
    training_world,
)
from skillvoucher.application import enrolment, lifecycle, settlement, settlement_batches, training
from skillvoucher.application.context import AppContext
from skillvoucher.application.ledger_checks import ledger_problems
from skillvoucher.domain.attendance import AttendanceSource
from skillvoucher.domain.catalogue import SkillLevel
from skillvoucher.domain.errors import IllegalTransition, InvalidInput, NotFound
from skillvoucher.domain.ledger import Account
from skillvoucher.domain.settlement import BatchStatus, Evidence
from skillvoucher.domain.timekeeping import show
from skillvoucher.domain.vouchers import VoucherStatus
from skillvoucher.persistence.tables import SettlementLine

MARCH = (date(2026, 3, 1), date(2026, 3, 31))
COURSE_MINUTES = 80 * 60  # the builders' course has 80 hours


def attend(ctx: AppContext, clock: Clock, voucher_id: uuid.UUID, minutes: int) -> None:
    """One check-in a day, up to eight hours each, until ``minutes`` are recorded."""
    while minutes > 0:
        span = min(480, minutes)
        clock.advance(timedelta(days=1))
        receipt = training.record_attendance(
            ctx, voucher_id, AttendanceSource.FACE, clock.now, span, "door-1"
        )
        assert receipt.recorded
        minutes -= span


def complete(ctx: AppContext, voucher_id: uuid.UUID, certified: bool = True) -> None:
    if certified:
        training.record_completion(
            ctx, voucher_id, f"CERT-{voucher_id.hex[:8]}", SkillLevel.LEVEL_5
        )
    else:
        training.record_completion(ctx, voucher_id)


def trained_voucher(
    ctx: AppContext, clock: Clock, world: TrainingWorld, holder: int = 0, percent: int = 100
) -> uuid.UUID:
    """A voucher enrolled, attended for ``percent`` of the course, completed and certified."""
    issued = issue(ctx, world.scheme.code, world.people[holder])
    enrol(ctx, issued.voucher_id, world.institution, world.course.course_code)
    attend(ctx, clock, issued.voucher_id, COURSE_MINUTES * percent // 100)
    complete(ctx, issued.voucher_id)
    return issued.voucher_id


def lines_of(ctx: AppContext, voucher_id: uuid.UUID) -> list[SettlementLine]:
    with ctx.unit_of_work() as uow:
        stmt = (
            sa.select(SettlementLine)
            .where(SettlementLine.voucher_id == voucher_id)
            .order_by(SettlementLine.stage_index)
        )
        return list(uow.session.scalars(stmt))


def all_lines(ctx: AppContext) -> int:
    with ctx.unit_of_work() as uow:
        return uow.session.scalar(sa.select(sa.func.count()).select_from(SettlementLine)) or 0


def voucher_balances(ctx: AppContext, voucher_id: uuid.UUID) -> dict[Account, int]:
    with ctx.unit_of_work() as uow:
        return uow.ledger.voucher_balances(voucher_id)


def status_of(ctx: AppContext, voucher_id: uuid.UUID) -> VoucherStatus:
    with ctx.unit_of_work() as uow:
        found = uow.vouchers.get(voucher_id)
        assert found is not None
        return found.status


def stages(*pairs: tuple[str, int]) -> dict[str, Any]:
    return {
        "stages": [{"evidence": e, "percent": p} for e, p in pairs],
        "min_attendance_percent": 80,
    }


@pytest.mark.parametrize(
    ("face", "plan", "expected"),
    [
        (100_001, stages(("enrolment", 30), ("certificate", 70)), [30_000, 70_001]),
        (
            99_999,
            stages(("enrolment", 33), ("attendance", 33), ("certificate", 34)),
            [33_000, 33_000, 33_999],
        ),
        (7, stages(("enrolment", 50), ("completion", 25), ("certificate", 25)), [3, 2, 2]),
    ],
    ids=["30-70", "33-33-34", "tiny"],
)
def test_stages_split_the_redeemable_amount_exactly(
    ctx: AppContext, clock: Clock, face: int, plan: dict[str, Any], expected: list[int]
) -> None:
    world = training_world(ctx, face_value={"fixed_fen": face}, settlement=plan)
    voucher_id = trained_voucher(ctx, clock, world)

    run = settlement.run_settlement(ctx, *MARCH)

    [batch] = run.created
    assert run.vouchers_settled == 1
    lines = lines_of(ctx, voucher_id)
    assert [line.amount_fen for line in lines] == expected
    assert sum(expected) == face
    assert [line.evidence for line in lines] == [Evidence(s["evidence"]) for s in plan["stages"]]
    assert (batch.total_fen, batch.line_count, batch.status) == (
        face,
        len(expected),
        BatchStatus.DRAFT,
    )
    assert status_of(ctx, voucher_id) is VoucherStatus.SETTLED
    assert voucher_balances(ctx, voucher_id)[Account.PAYABLE] == face
    assert voucher_balances(ctx, voucher_id)[Account.COMMITTED] == 0
    assert ledger_problems(ctx) == []


def test_unused_face_value_returns_to_the_scheme_on_settling(ctx: AppContext, clock: Clock) -> None:
    world = training_world(ctx, course={"price_fen": 120_001})
    available_after_issue = world.scheme.available_fen - 150_000
    voucher_id = trained_voucher(ctx, clock, world)

    settlement.run_settlement(ctx, *MARCH)

    assert [line.amount_fen for line in lines_of(ctx, voucher_id)] == [36_000, 84_001]
    with ctx.unit_of_work() as uow:
        scheme = uow.schemes.by_code(world.scheme.code)
        assert scheme is not None
        assert scheme.available_fen == available_after_issue + 150_000 - 120_001
    assert ledger_problems(ctx) == []


@pytest.mark.parametrize(("percent", "paid_stages"), [(79, [0]), (80, [0, 1])])
def test_minimum_attendance_gates_every_stage_after_enrolment(
    ctx: AppContext, clock: Clock, percent: int, paid_stages: list[int]
) -> None:
    world = training_world(ctx)
    voucher_id = trained_voucher(ctx, clock, world, percent=percent)

    run = settlement.run_settlement(ctx, *MARCH)

    assert [line.stage_index for line in lines_of(ctx, voucher_id)] == paid_stages
    expected_status = VoucherStatus.SETTLED if paid_stages == [0, 1] else VoucherStatus.COMPLETED
    assert status_of(ctx, voucher_id) is expected_status
    assert run.vouchers_settled == (1 if expected_status is VoucherStatus.SETTLED else 0)
    if paid_stages == [0]:
        # Below the minimum the rest stays committed: nothing more is ever paid for it.
        assert voucher_balances(ctx, voucher_id)[Account.PAYABLE] == 45_000
        assert voucher_balances(ctx, voucher_id)[Account.COMMITTED] == 105_000
    assert ledger_problems(ctx) == []


def test_completion_without_certificate_waits_for_the_certificate(
    ctx: AppContext, clock: Clock
) -> None:
    world = training_world(ctx)
    issued = issue(ctx, world.scheme.code, world.people[0])
    enrol(ctx, issued.voucher_id, world.institution)
    attend(ctx, clock, issued.voucher_id, COURSE_MINUTES)
    complete(ctx, issued.voucher_id, certified=False)

    first = settlement.run_settlement(ctx, date(2026, 3, 1), date(2026, 3, 15))
    assert [line.stage_index for line in lines_of(ctx, issued.voucher_id)] == [0]
    assert first.vouchers_settled == 0

    clock.set(clock.now.replace(day=20))
    complete(ctx, issued.voucher_id, certified=True)
    second = settlement.run_settlement(ctx, date(2026, 3, 16), date(2026, 3, 31))

    assert [line.stage_index for line in lines_of(ctx, issued.voucher_id)] == [0, 1]
    assert second.vouchers_settled == 1
    assert status_of(ctx, issued.voucher_id) is VoucherStatus.SETTLED
    assert ledger_problems(ctx) == []


def test_rerunning_a_period_creates_nothing_twice(ctx: AppContext, clock: Clock) -> None:
    world = training_world(ctx)
    early = issue(ctx, world.scheme.code, world.people[0])
    enrol(ctx, early.voucher_id, world.institution)
    late = trained_voucher(ctx, clock, world, holder=1)

    first = settlement.run_settlement(ctx, *MARCH)
    with ctx.unit_of_work() as uow:
        balances_after_first = uow.ledger.balances()
    lines_after_first = all_lines(ctx)

    again = settlement.run_settlement(ctx, *MARCH)

    assert len(first.created) == 1
    assert first.created[0].line_count == 3  # early: enrolment; late: enrolment + certificate
    assert (again.created, again.already_settled, again.vouchers_settled) == ([], 1, 0)
    assert all_lines(ctx) == lines_after_first
    with ctx.unit_of_work() as uow:
        assert uow.ledger.balances() == balances_after_first

    # A later period pays only what is new: no stage of a voucher is ever paid twice.
    attend(ctx, clock, early.voucher_id, COURSE_MINUTES)
    complete(ctx, early.voucher_id)
    april = settlement.run_settlement(ctx, date(2026, 4, 1), date(2026, 4, 30))
    [batch] = april.created
    assert batch.line_count == 1
    assert [line.stage_index for line in lines_of(ctx, early.voucher_id)] == [0, 1]
    assert [line.stage_index for line in lines_of(ctx, late)] == [0, 1]
    assert settlement.run_settlement(ctx, date(2026, 4, 1), date(2026, 4, 30)).created == []
    assert ledger_problems(ctx) == []


def test_period_only_counts_evidence_up_to_its_end(ctx: AppContext, clock: Clock) -> None:
    world = training_world(ctx)
    issued = issue(ctx, world.scheme.code, world.people[0])
    enrol(ctx, issued.voucher_id, world.institution)
    attend(ctx, clock, issued.voucher_id, COURSE_MINUTES)  # 2026-03-03 .. 2026-03-12
    complete(ctx, issued.voucher_id)

    settlement.run_settlement(ctx, date(2026, 3, 1), date(2026, 3, 5))

    # By 5 March only three days were attended and nothing was completed.
    assert [line.stage_index for line in lines_of(ctx, issued.voucher_id)] == [0]
    assert status_of(ctx, issued.voucher_id) is VoucherStatus.COMPLETED


def test_certificate_recorded_after_the_period_is_not_evidence_of_it(
    ctx: AppContext, clock: Clock
) -> None:
    world = training_world(ctx)
    issued = issue(ctx, world.scheme.code, world.people[0])
    enrol(ctx, issued.voucher_id, world.institution)
    attend(ctx, clock, issued.voucher_id, COURSE_MINUTES)  # until 12 March
    complete(ctx, issued.voucher_id, certified=False)
    clock.set(clock.now.replace(day=20))
    complete(ctx, issued.voucher_id, certified=True)  # the certificate arrives on 20 March

    settlement.run_settlement(ctx, date(2026, 3, 1), date(2026, 3, 15))

    assert [line.stage_index for line in lines_of(ctx, issued.voucher_id)] == [0]


def test_approve_export_pay_and_reconcile(ctx: AppContext, clock: Clock) -> None:
    world = training_world(ctx, people=3, face_value={"fixed_fen": 100_001})
    other = import_institution(ctx, name="太原市恒信职业技能培训学校")
    import_course(ctx, other, course_code="D1")
    paid_voucher = trained_voucher(ctx, clock, world, holder=0)
    second = trained_voucher(ctx, clock, world, holder=1)
    elsewhere = issue(ctx, world.scheme.code, world.people[2])
    enrol(ctx, elsewhere.voucher_id, other, "D1")

    run = settlement.run_settlement(ctx, *MARCH)
    by_school = {b.institution_code: b for b in run.created}
    assert by_school.keys() == {world.institution, other}
    ours, theirs = by_school[world.institution], by_school[other]
    assert (ours.total_fen, ours.line_count) == (2 * 100_001, 4)
    assert (theirs.total_fen, theirs.line_count) == (30_000, 1)

    export = ctx.settings.data_dir / "payment.csv"
    with pytest.raises(IllegalTransition, match="only published batches"):
        settlement_batches.export_payment_file(ctx, [ours.batch_id], export)
    with pytest.raises(IllegalTransition):
        settlement_batches.mark_batch_paid(ctx, ours.batch_id, "TR-0")

    approved = settlement_batches.approve_batch(ctx, ours.batch_id, "finance-officer")
    assert approved.status is BatchStatus.APPROVED
    with pytest.raises(IllegalTransition):
        settlement_batches.approve_batch(ctx, ours.batch_id, "finance-officer")
    # Approved is not yet public: no money instructions leave before the notice is posted.
    with pytest.raises(IllegalTransition, match="only published batches"):
        settlement_batches.export_payment_file(ctx, [ours.batch_id], export)
    with pytest.raises(IllegalTransition):
        settlement_batches.mark_batch_paid(ctx, ours.batch_id, "TR-0")

    published = settlement_batches.publish_batch(ctx, ours.batch_id)
    assert published.status is BatchStatus.PUBLISHED
    assert published.notice_until is not None
    assert settlement_batches.export_payment_file(ctx, [ours.batch_id], export) == 1
    with export.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows == [
        {
            "batch_id": str(ours.batch_id),
            "institution_credit_code": world.institution,
            "institution_name": "太原市晋阳职业技能培训学校",
            "period_start": "2026-03-01",
            "period_end": "2026-03-31",
            "lines": "4",
            "amount_fen": "200002",
            "amount_yuan": "2000.02",
            "approved_by": "finance-officer",
            "approved_at": rows[0]["approved_at"],
            "second_approved_by": "",
            "notice_until": show(published.notice_until),
        }
    ]
    assert rows[0]["approved_at"].endswith("CST")

    clock.set(published.notice_until)
    paid = settlement_batches.mark_batch_paid(ctx, ours.batch_id, "TR-2026-0001")
    assert paid.status is BatchStatus.PAID
    with pytest.raises(IllegalTransition):
        settlement_batches.mark_batch_paid(ctx, ours.batch_id, "TR-2026-0002")
    with pytest.raises(IllegalTransition):
        settlement_batches.approve_batch(ctx, ours.batch_id, "finance-officer")

    reconciliation = {r.batch_id: r for r in settlement_batches.reconcile(ctx)}
    assert reconciliation.keys() == {ours.batch_id, theirs.batch_id}
    assert all(r.agrees for r in reconciliation.values())
    assert reconciliation[ours.batch_id].paid_posted_fen == 200_002
    assert reconciliation[ours.batch_id].payable_posted_fen == 200_002
    assert reconciliation[theirs.batch_id].paid_posted_fen == 0
    assert reconciliation[theirs.batch_id].status is BatchStatus.DRAFT
    for voucher_id in (paid_voucher, second):
        assert voucher_balances(ctx, voucher_id)[Account.PAID] == 100_001
        assert voucher_balances(ctx, voucher_id)[Account.PAYABLE] == 0
    with ctx.unit_of_work() as uow:
        totals = uow.ledger.balances()
    assert (totals[Account.PAID], totals[Account.PAYABLE]) == (200_002, 30_000)
    assert [b.batch_id for b in settlement_batches.list_batches(ctx, BatchStatus.PAID)] == [
        ours.batch_id
    ]
    assert ledger_problems(ctx) == []


def test_export_of_an_unknown_batch_is_refused(ctx: AppContext) -> None:
    with pytest.raises(NotFound):
        settlement_batches.export_payment_file(ctx, [uuid.uuid4()], ctx.settings.data_dir / "x.csv")
    assert not (ctx.settings.data_dir / "x.csv").exists()


def test_enrolment_with_a_paid_stage_cannot_be_cancelled(ctx: AppContext) -> None:
    world = training_world(ctx)
    issued = issue(ctx, world.scheme.code, world.people[0])
    enrol(ctx, issued.voucher_id, world.institution)
    settlement.run_settlement(ctx, *MARCH)

    with pytest.raises(IllegalTransition, match="settlement records"):
        enrolment.cancel_enrolment(ctx, issued.voucher_id, "too late")

    assert status_of(ctx, issued.voucher_id) is VoucherStatus.ENROLLED


def test_revoking_after_a_paid_stage_releases_only_what_is_still_committed(
    ctx: AppContext, clock: Clock
) -> None:
    world = training_world(ctx)
    issued = issue(ctx, world.scheme.code, world.people[0])
    enrol(ctx, issued.voucher_id, world.institution)
    attend(ctx, clock, issued.voucher_id, 480)
    [batch] = settlement.run_settlement(ctx, *MARCH).created

    released = lifecycle.revoke_voucher(ctx, issued.voucher_id, "dropped out")

    assert released == 150_000 - 45_000
    assert voucher_balances(ctx, issued.voucher_id)[Account.COMMITTED] == 0
    assert voucher_balances(ctx, issued.voucher_id)[Account.PAYABLE] == 45_000
    # What the institution earned before the revocation is still paid.
    settlement_batches.approve_batch(ctx, batch.batch_id, "finance-officer")
    publish_and_pay(ctx, clock, batch.batch_id, "TR-1")
    assert voucher_balances(ctx, issued.voucher_id)[Account.PAID] == 45_000
    assert all(r.agrees for r in settlement_batches.reconcile(ctx))
    assert ledger_problems(ctx) == []


def test_resent_attendance_counts_once(ctx: AppContext, clock: Clock) -> None:
    world = training_world(ctx)
    issued = issue(ctx, world.scheme.code, world.people[0])
    enrol(ctx, issued.voucher_id, world.institution)
    clock.advance(timedelta(hours=2))
    at = clock.now - timedelta(hours=1)

    first = training.record_attendance(ctx, issued.voucher_id, AttendanceSource.CARD, at, 240)
    again = training.record_attendance(ctx, issued.voucher_id, AttendanceSource.CARD, at, 240)
    other_source = training.record_attendance(ctx, issued.voucher_id, AttendanceSource.QR, at, 60)

    assert (first.recorded, first.attended_minutes, first.attendance_percent) == (True, 240, 5)
    assert (again.recorded, again.attended_minutes) == (False, 240)
    assert (other_source.recorded, other_source.attended_minutes) == (True, 300)
    assert status_of(ctx, issued.voucher_id) is VoucherStatus.IN_TRAINING


def test_attendance_from_the_future_or_before_enrolment_is_refused(
    ctx: AppContext, clock: Clock
) -> None:
    world = training_world(ctx)
    issued = issue(ctx, world.scheme.code, world.people[0])
    enrol(ctx, issued.voucher_id, world.institution)
    face = AttendanceSource.FACE

    # A device clock a few minutes fast is tolerated; more is not.
    training.record_attendance(ctx, issued.voucher_id, face, clock.now + timedelta(minutes=5), 60)
    with pytest.raises(InvalidInput, match="in the future"):
        training.record_attendance(ctx, issued.voucher_id, face, clock.now + timedelta(hours=1), 60)
    with pytest.raises(InvalidInput, match="before the enrolment"):
        training.record_attendance(ctx, issued.voucher_id, face, clock.now - timedelta(days=1), 60)
    with pytest.raises(InvalidInput, match="minutes must be between"):
        training.record_attendance(ctx, issued.voucher_id, face, clock.now, 0)


def test_claw_back_reverses_paid_money_and_withholds_unpaid_lines(
    ctx: AppContext, clock: Clock
) -> None:
    world = training_world(ctx, people=2)
    paid_out = trained_voucher(ctx, clock, world, holder=0)
    pending = issue(ctx, world.scheme.code, world.people[1]).voucher_id
    enrol(ctx, pending, world.institution)
    [march] = settlement.run_settlement(ctx, *MARCH).created
    settlement_batches.approve_batch(ctx, march.batch_id, "finance-officer")
    publish_and_pay(ctx, clock, march.batch_id, "TR-1")
    # April: the second holder trains and certifies; that stage waits in an unpaid batch.
    clock.advance(timedelta(days=31))
    attend(ctx, clock, pending, COURSE_MINUTES)
    complete(ctx, pending, certified=True)
    [april] = settlement.run_settlement(ctx, date(2026, 4, 1), date(2026, 4, 30)).created

    assert lifecycle.claw_back_voucher(ctx, paid_out, "attendance was faked") == 150_000
    assert lifecycle.claw_back_voucher(ctx, pending, "not a real trainee") == 150_000

    for voucher_id in (paid_out, pending):
        assert status_of(ctx, voucher_id) is VoucherStatus.REVOKED
        held = voucher_balances(ctx, voucher_id)
        assert (held[Account.COMMITTED], held[Account.PAYABLE], held[Account.PAID]) == (0, 0, 0)
    with pytest.raises(IllegalTransition):
        lifecycle.claw_back_voucher(ctx, paid_out, "twice")
    # Paying April's batch now pays nothing for the clawed-back voucher.
    settlement_batches.approve_batch(ctx, april.batch_id, "finance-officer")
    publish_and_pay(ctx, clock, april.batch_id, "TR-2")
    assert voucher_balances(ctx, pending)[Account.PAID] == 0
    reconciliation = {r.batch_id: r for r in settlement_batches.reconcile(ctx)}
    assert reconciliation[april.batch_id].withheld_fen == april.total_fen
    assert reconciliation[april.batch_id].paid_posted_fen == 0
    assert all(r.agrees for r in reconciliation.values())
    assert ledger_problems(ctx) == []
