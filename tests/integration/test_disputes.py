"""Disputes freeze a voucher's settlement; objections hold a batch's payment; resolutions undo
or release, every step audited and the ledger reconciled."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from builders import CITY, OTHER_CITY, Clock, TrainingWorld, enrol, issue, training_world
from skillvoucher.application import settlement, settlement_batches, training
from skillvoucher.application.context import AppContext
from skillvoucher.application.disputes import list_disputes, open_dispute, resolve_dispute
from skillvoucher.application.ledger_checks import ledger_problems
from skillvoucher.application.sign_in import worker_principal
from skillvoucher.domain.access import Principal, PrincipalKind, Role, Scope, permissions_for
from skillvoucher.domain.attendance import AttendanceSource
from skillvoucher.domain.catalogue import SkillLevel
from skillvoucher.domain.disputes import DisputeOutcome, DisputeStatus, DisputeSubject
from skillvoucher.domain.errors import DisputeOpen, IllegalTransition, InvalidInput, NotFound
from skillvoucher.domain.ledger import Account
from skillvoucher.domain.notices import NoticeKind
from skillvoucher.domain.vouchers import VoucherStatus
from skillvoucher.persistence.tables import AuditEvent, HolderNotice, SettlementLine

MARCH = (date(2026, 3, 1), date(2026, 3, 31))
MARCH_AND_APRIL = (date(2026, 3, 1), date(2026, 4, 30))


def admin(region: str = CITY) -> Principal:
    return Principal(
        PrincipalKind.STAFF,
        uuid.uuid4(),
        Role.CITY_ADMIN,
        permissions_for(Role.CITY_ADMIN),
        Scope.of_region(region),
        f"staff:admin-{region}",
    )


def trained(ctx: AppContext, clock: Clock, world: TrainingWorld, holder: int) -> uuid.UUID:
    voucher_id = issue(ctx, world.scheme.code, world.people[holder]).voucher_id
    enrol(ctx, voucher_id, world.institution)
    for _ in range(10):
        clock.advance(timedelta(days=1))
        training.record_attendance(
            ctx, voucher_id, AttendanceSource.FACE, clock.now, 480, f"door-{holder}"
        )
    training.record_completion(ctx, voucher_id, f"CERT-{holder:04d}", SkillLevel.LEVEL_5)
    return voucher_id


def holder_of(ctx: AppContext, voucher_id: uuid.UUID) -> Principal:
    with ctx.unit_of_work() as uow:
        voucher = uow.vouchers.get(voucher_id)
        assert voucher is not None
        return worker_principal(voucher.person_id)


def enrolment_of(ctx: AppContext, voucher_id: uuid.UUID) -> uuid.UUID:
    with ctx.unit_of_work() as uow:
        found = uow.vouchers.active_enrolment(voucher_id)
        assert found is not None
        return found.id


def line_vouchers(ctx: AppContext) -> list[uuid.UUID]:
    with ctx.unit_of_work() as uow:
        return sorted(set(uow.session.scalars(sa.select(SettlementLine.voucher_id))))


def status_of(ctx: AppContext, voucher_id: uuid.UUID) -> VoucherStatus:
    with ctx.unit_of_work() as uow:
        voucher = uow.vouchers.get(voucher_id)
        assert voucher is not None
        return voucher.status


def actions(ctx: AppContext) -> list[str]:
    with ctx.unit_of_work() as uow:
        stmt = sa.select(AuditEvent.action).where(AuditEvent.entity_type == "dispute")
        return sorted(uow.session.scalars(stmt))


def test_an_open_dispute_freezes_the_voucher_until_dismissed(ctx: AppContext, clock: Clock) -> None:
    world = training_world(ctx, people=2)
    disputed, other = trained(ctx, clock, world, 0), trained(ctx, clock, world, 1)
    holder = holder_of(ctx, disputed)
    opened = open_dispute(
        ctx, holder, DisputeSubject.ATTENDANCE, enrolment_of(ctx, disputed), "I missed days"
    )
    again = open_dispute(
        ctx, holder, DisputeSubject.ATTENDANCE, enrolment_of(ctx, disputed), "twice"
    )
    assert again.dispute_id == opened.dispute_id  # one open dispute per subject and holder

    first = settlement.run_settlement(ctx, *MARCH)
    assert line_vouchers(ctx) == [other]  # the disputed voucher is frozen: no line
    assert first.vouchers_settled == 1
    assert status_of(ctx, disputed) is VoucherStatus.COMPLETED
    assert ledger_problems(ctx) == []

    resolved = resolve_dispute(
        ctx, admin(), opened.dispute_id, DisputeOutcome.DISMISS, "records checked"
    )
    assert resolved.status is DisputeStatus.DISMISSED
    settlement.run_settlement(ctx, *MARCH_AND_APRIL)
    assert line_vouchers(ctx) == sorted([disputed, other])
    assert status_of(ctx, disputed) is VoucherStatus.SETTLED
    assert ledger_problems(ctx) == []
    assert actions(ctx) == ["dispute.dismissed", "dispute.opened"]
    with ctx.unit_of_work() as uow:
        told = uow.notices.of_person(holder.scope.person_id or uuid.uuid4())
    assert NoticeKind.DISPUTE_OPENED in {n.kind for n in told}
    assert NoticeKind.DISPUTE_RESOLVED in {n.kind for n in told}
    with pytest.raises(IllegalTransition):
        resolve_dispute(ctx, admin(), opened.dispute_id, DisputeOutcome.UPHOLD, "late")


def test_a_disputed_line_stops_approval_and_upholding_claws_it_back(
    ctx: AppContext, clock: Clock
) -> None:
    world = training_world(ctx, people=2)
    disputed, other = trained(ctx, clock, world, 0), trained(ctx, clock, world, 1)
    [batch] = settlement.run_settlement(ctx, *MARCH).created
    with ctx.unit_of_work() as uow:
        line = uow.dispute_subjects.lines_of_voucher(disputed)[0]
    opened = open_dispute(
        ctx, holder_of(ctx, disputed), DisputeSubject.SETTLEMENT_LINE, line.id, "never trained"
    )
    with pytest.raises(DisputeOpen):
        settlement_batches.approve_batch(ctx, batch.batch_id, "staff:approver")

    resolve_dispute(ctx, admin(), opened.dispute_id, DisputeOutcome.UPHOLD, "no such training")
    assert status_of(ctx, disputed) is VoucherStatus.REVOKED  # clawed back
    settlement_batches.approve_batch(ctx, batch.batch_id, "staff:approver")
    published = settlement_batches.publish_batch(ctx, batch.batch_id)
    assert published.notice_until is not None
    clock.set(published.notice_until)
    paid = settlement_batches.mark_batch_paid(ctx, batch.batch_id, "PAY-1")
    assert paid.status.value == "paid"
    with ctx.unit_of_work() as uow:
        balances = uow.ledger.voucher_balances(disputed)
        others = uow.ledger.voucher_balances(other)
    assert balances[Account.PAID] == balances[Account.PAYABLE] == 0  # nothing paid for it
    assert others[Account.PAID] > 0
    assert all(row.agrees for row in settlement_batches.reconcile(ctx))
    assert ledger_problems(ctx) == []
    assert actions(ctx) == ["dispute.opened", "dispute.upheld"]


def test_an_objection_during_the_notice_holds_the_payment(
    ctx: AppContext, clock: Clock, tmp_path: Path
) -> None:
    world = training_world(ctx, people=1)
    trained(ctx, clock, world, 0)
    [batch] = settlement.run_settlement(ctx, *MARCH).created
    with pytest.raises(IllegalTransition):  # not on notice yet: nothing to object to
        open_dispute(ctx, admin(), DisputeSubject.BATCH, batch.batch_id, "too early")
    settlement_batches.approve_batch(ctx, batch.batch_id, "staff:approver")
    published = settlement_batches.publish_batch(ctx, batch.batch_id)
    assert published.notice_until is not None
    with pytest.raises(NotFound):  # another city's administrator: as if it did not exist
        open_dispute(ctx, admin(OTHER_CITY), DisputeSubject.BATCH, batch.batch_id, "x")
    objection = open_dispute(
        ctx, admin(), DisputeSubject.BATCH, batch.batch_id, "a trainee says she never attended"
    )
    clock.set(published.notice_until)
    with pytest.raises(DisputeOpen):
        settlement_batches.mark_batch_paid(ctx, batch.batch_id, "PAY-1")
    with pytest.raises(DisputeOpen):
        settlement_batches.export_payment_file(ctx, [batch.batch_id], tmp_path / "pay.csv")

    resolve_dispute(ctx, admin(), objection.dispute_id, DisputeOutcome.DISMISS, "she did")
    assert settlement_batches.mark_batch_paid(ctx, batch.batch_id, "PAY-1").status.value == "paid"
    assert ledger_problems(ctx) == []


def test_holders_dispute_only_their_own_records(ctx: AppContext, clock: Clock) -> None:
    world = training_world(ctx, people=2)
    mine = issue(ctx, world.scheme.code, world.people[0]).voucher_id
    theirs = issue(ctx, world.scheme.code, world.people[1]).voucher_id
    enrol(ctx, mine, world.institution)
    enrol(ctx, theirs, world.institution)
    me = holder_of(ctx, mine)
    with pytest.raises(NotFound):
        open_dispute(ctx, me, DisputeSubject.ENROLMENT, enrolment_of(ctx, theirs), "not me")
    with pytest.raises(NotFound):
        open_dispute(ctx, me, DisputeSubject.ENROLMENT, uuid.uuid4(), "nothing")
    with pytest.raises(IllegalTransition):  # nothing completed yet
        open_dispute(ctx, me, DisputeSubject.COMPLETION, enrolment_of(ctx, mine), "early")
    with pytest.raises(InvalidInput):
        open_dispute(ctx, me, DisputeSubject.BATCH, uuid.uuid4(), "a whole batch")
    with pytest.raises(InvalidInput):
        open_dispute(ctx, me, DisputeSubject.ENROLMENT, enrolment_of(ctx, mine), "   ")

    opened = open_dispute(
        ctx, me, DisputeSubject.ENROLMENT, enrolment_of(ctx, mine), "I did not sign up"
    )
    assert [d.dispute_id for d in list_disputes(ctx, me)] == [opened.dispute_id]
    assert list_disputes(ctx, admin(OTHER_CITY)) == []
    with pytest.raises(NotFound):
        resolve_dispute(ctx, admin(OTHER_CITY), opened.dispute_id, DisputeOutcome.UPHOLD, "x")

    # Upheld before any training or settlement: the enrolment is cancelled, the voucher free.
    resolve_dispute(ctx, admin(), opened.dispute_id, DisputeOutcome.UPHOLD, "signed up falsely")
    assert status_of(ctx, mine) is VoucherStatus.ISSUED
    assert status_of(ctx, theirs) is VoucherStatus.ENROLLED
    assert ledger_problems(ctx) == []
    with ctx.unit_of_work() as uow:
        kinds = [n.kind for n in uow.notices.of_person(me.scope.person_id or uuid.uuid4())]
        stored = uow.session.scalars(sa.select(HolderNotice.payload)).all()
    assert NoticeKind.ENROLMENT_CANCELLED in kinds
    assert all("reason" not in payload for payload in stored)
