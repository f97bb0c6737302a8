"""Settlement runs read every institution's candidates set-wise and skip institutions with
nothing to write; batch steps read a batch with its institution at once and summarise it without
reading it again. The books, lines, audit events and errors must be those of one-at-a-time."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from builders import (
    CITY,
    Clock,
    TrainingWorld,
    enrol,
    import_course,
    import_institution,
    issue,
    training_world,
)
from skillvoucher.application import settlement, settlement_batches, training
from skillvoucher.application.context import AppContext
from skillvoucher.application.disputes import open_dispute
from skillvoucher.application.ledger_checks import ledger_problems
from skillvoucher.domain.access import Principal, PrincipalKind, Role, Scope, permissions_for
from skillvoucher.domain.attendance import AttendanceSource
from skillvoucher.domain.catalogue import SkillLevel
from skillvoucher.domain.disputes import DisputeSubject
from skillvoucher.domain.errors import DisputeOpen, IllegalTransition, NotFound
from skillvoucher.domain.ledger import Account
from skillvoucher.domain.settlement import BatchStatus
from skillvoucher.domain.vouchers import VoucherStatus
from skillvoucher.persistence.repositories import settlement_runs
from skillvoucher.persistence.tables import AuditEvent, LedgerEntry, SettlementLine

MARCH = (date(2026, 3, 1), date(2026, 3, 31))
APRIL = (date(2026, 4, 1), date(2026, 4, 30))
COURSE_MINUTES = 80 * 60  # the builders' course has 80 hours


@pytest.fixture(params=[500, 1], ids=["one-read", "read-per-id"])
def part(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Ids per IN list of the set-wise reads: as shipped, and one a statement so that every
    read's splitting into parts is exercised too."""
    monkeypatch.setattr(settlement_runs, "_PART", request.param)
    return int(request.param)


def admin() -> Principal:
    return Principal(
        PrincipalKind.STAFF,
        uuid.uuid4(),
        Role.CITY_ADMIN,
        permissions_for(Role.CITY_ADMIN),
        Scope.of_region(CITY),
        f"staff:admin-{CITY}",
    )


def voucher(
    ctx: AppContext,
    clock: Clock,
    world: TrainingWorld,
    holder: int,
    institution: str,
    percent: int,
    certified: bool,
) -> uuid.UUID:
    """Enrolled at ``institution`` on 2 March, attended ``percent`` of the course from the day
    after, and completed (with a certificate if ``certified``) when ``percent`` is above zero."""
    clock.set(clock.now.replace(month=3, day=2, hour=1))
    voucher_id = issue(ctx, world.scheme.code, world.people[holder]).voucher_id
    enrol(ctx, voucher_id, institution)
    minutes = COURSE_MINUTES * percent // 100
    while minutes > 0:
        clock.advance(timedelta(days=1))
        span = min(480, minutes)
        training.record_attendance(
            ctx, voucher_id, AttendanceSource.FACE, clock.now, span, f"door-{holder}"
        )
        minutes -= span
    if percent:
        code = f"CERT-{holder:04d}" if certified else None
        if code is None:
            training.record_completion(ctx, voucher_id)
        else:
            training.record_completion(ctx, voucher_id, code, SkillLevel.LEVEL_5)
    return voucher_id


def lines(ctx: AppContext) -> dict[uuid.UUID, list[tuple[int, int]]]:
    with ctx.unit_of_work() as uow:
        stmt = sa.select(
            SettlementLine.voucher_id, SettlementLine.stage_index, SettlementLine.amount_fen
        ).order_by(SettlementLine.voucher_id, SettlementLine.stage_index)
        found: dict[uuid.UUID, list[tuple[int, int]]] = {}
        for v, stage, amount in uow.session.execute(stmt):
            found.setdefault(v, []).append((stage, amount))
        return found


def balances(ctx: AppContext, voucher_id: uuid.UUID) -> dict[Account, int]:
    with ctx.unit_of_work() as uow:
        found = uow.ledger.voucher_balances(voucher_id).items()
        return {a: n for a, n in found if n and a in (Account.COMMITTED, Account.PAYABLE)}


def status_of(ctx: AppContext, voucher_id: uuid.UUID) -> VoucherStatus:
    with ctx.unit_of_work() as uow:
        found = uow.vouchers.get(voucher_id)
        assert found is not None
        return found.status


def events(ctx: AppContext) -> list[tuple[str, str, dict[str, Any]]]:
    with ctx.unit_of_work() as uow:
        stmt = (
            sa.select(AuditEvent.action, AuditEvent.entity_id, AuditEvent.payload)
            .where(
                AuditEvent.action.like("settlement.%") | (AuditEvent.action == "voucher.settled")
            )
            .order_by(AuditEvent.province_code, AuditEvent.seq)
        )
        return [(a, e, dict(p)) for a, e, p in uow.session.execute(stmt)]


def ledger_rows(ctx: AppContext) -> int:
    with ctx.unit_of_work() as uow:
        return uow.session.scalar(sa.select(sa.func.count()).select_from(LedgerEntry)) or 0


def test_a_run_over_varied_institutions_writes_what_each_one_earned(
    ctx: AppContext, clock: Clock, part: int
) -> None:
    world = training_world(ctx, people=6)
    second = import_institution(ctx, name="太原市并州职业培训学校")
    import_course(ctx, second, price_fen=120_001)  # below the face value: the rest returns
    idle = import_institution(ctx, name="太原市汾河职业培训学校")
    import_course(ctx, idle)
    full = voucher(ctx, clock, world, 0, world.institution, 100, certified=True)
    enrolled = voucher(ctx, clock, world, 1, world.institution, 0, certified=False)
    short = voucher(ctx, clock, world, 2, world.institution, 50, certified=True)
    uncertified = voucher(ctx, clock, world, 3, world.institution, 100, certified=False)
    cheaper = voucher(ctx, clock, world, 4, second, 100, certified=True)

    run = settlement.run_settlement(ctx, *MARCH)

    # Stages 30 % at enrolment, 70 % at the certificate, 80 % attendance at least.
    assert lines(ctx) == {
        full: [(0, 45_000), (1, 105_000)],
        enrolled: [(0, 45_000)],
        short: [(0, 45_000)],
        uncertified: [(0, 45_000)],
        cheaper: [(0, 36_000), (1, 84_001)],
    }
    assert balances(ctx, full) == {Account.PAYABLE: 150_000}
    assert balances(ctx, cheaper) == {Account.PAYABLE: 120_001}  # 29,999 released
    assert balances(ctx, short) == {Account.PAYABLE: 45_000, Account.COMMITTED: 105_000}
    assert [status_of(ctx, v) for v in (full, enrolled, short, uncertified, cheaper)] == [
        VoucherStatus.SETTLED,
        VoucherStatus.ENROLLED,
        VoucherStatus.COMPLETED,
        VoucherStatus.COMPLETED,
        VoucherStatus.SETTLED,
    ]
    assert (run.already_settled, run.vouchers_settled, run.suspended) == (0, 2, 0)
    by_code = {s.institution_code: s for s in run.created}
    assert sorted(by_code) == sorted([world.institution, second])
    assert (by_code[world.institution].total_fen, by_code[world.institution].line_count) == (
        285_000,
        5,
    )
    assert (by_code[second].total_fen, by_code[second].line_count) == (120_001, 2)
    # What the run says of its batches is what is stored.
    assert sorted(run.created, key=lambda s: s.batch_id) == sorted(
        settlement_batches.list_batches(ctx), key=lambda s: s.batch_id
    )
    settled_events = {e: p for a, e, p in events(ctx) if a == "voucher.settled"}
    assert settled_events == {
        str(full): {"released_fen": 0},
        str(cheaper): {"released_fen": 29_999},
    }
    built = [(e, p) for a, e, p in events(ctx) if a == "settlement.batch_built"]
    assert sorted(built) == sorted(
        (str(s.batch_id), {"total_fen": s.total_fen, "lines": s.line_count}) for s in run.created
    )
    assert ledger_problems(ctx) == []

    # Again, and for a period with nothing new: nothing is written, the counts say why.
    entries, trail = ledger_rows(ctx), events(ctx)
    again = settlement.run_settlement(ctx, *MARCH)
    # (The second institution's vouchers are all settled: it has no candidates left.)
    assert (again.created, again.already_settled, again.vouchers_settled) == ([], 1, 0)
    april = settlement.run_settlement(ctx, *APRIL)
    assert (april.created, april.already_settled, april.vouchers_settled) == ([], 0, 0)
    assert (ledger_rows(ctx), events(ctx)) == (entries, trail)

    # A certificate in May: only the new stage, in a batch of its own, and the voucher closes.
    clock.set(clock.now.replace(month=5, day=3))
    training.record_completion(ctx, uncertified, "CERT-LATE", SkillLevel.LEVEL_5)
    may = settlement.run_settlement(ctx, date(2026, 5, 1), date(2026, 5, 31))
    assert [(s.institution_code, s.line_count, s.total_fen) for s in may.created] == [
        (world.institution, 1, 105_000)
    ]
    assert may.vouchers_settled == 1
    assert lines(ctx)[uncertified] == [(0, 45_000), (1, 105_000)]
    assert status_of(ctx, uncertified) is VoucherStatus.SETTLED
    assert idle not in {s.institution_code for s in settlement_batches.list_batches(ctx)}
    assert ledger_problems(ctx) == []


def test_batch_steps_return_what_is_stored_and_refuse_as_before(
    ctx: AppContext, clock: Clock, tmp_path: Path, part: int
) -> None:
    world = training_world(ctx, people=2)
    second = import_institution(ctx, name="太原市并州职业培训学校")
    import_course(ctx, second)
    voucher(ctx, clock, world, 0, world.institution, 100, certified=True)
    voucher(ctx, clock, world, 1, second, 100, certified=True)
    first_batch, second_batch = (s.batch_id for s in settlement.run_settlement(ctx, *MARCH).created)

    def stored(batch_id: uuid.UUID) -> settlement_batches.BatchSummary:
        [found] = [s for s in settlement_batches.list_batches(ctx) if s.batch_id == batch_id]
        return found

    with pytest.raises(IllegalTransition, match="only published batches"):
        settlement_batches.export_payment_file(ctx, [first_batch], tmp_path / "early.csv")
    for batch_id in (first_batch, second_batch):
        approved = settlement_batches.approve_batch(ctx, batch_id, "staff:approver")
        assert approved.status is BatchStatus.APPROVED
        assert approved == stored(batch_id)
        published = settlement_batches.publish_batch(ctx, batch_id)
        assert published.status is BatchStatus.PUBLISHED
        assert published.notice_until is not None
        assert published == stored(batch_id)

    unknown = uuid.uuid4()
    with pytest.raises(NotFound, match=str(unknown)):
        settlement_batches.export_payment_file(
            ctx, [first_batch, unknown], tmp_path / "unknown.csv"
        )
    objection = open_dispute(ctx, admin(), DisputeSubject.BATCH, second_batch, "never attended")
    with pytest.raises(DisputeOpen, match=str(objection.dispute_id)):
        settlement_batches.export_payment_file(
            ctx, [first_batch, second_batch], tmp_path / "held.csv"
        )
    exported = [a for a, _, _ in events(ctx) if a == "settlement.payment_file_exported"]
    assert exported == []  # a refused file writes nothing, not even the batches before

    assert settlement_batches.export_payment_file(ctx, [first_batch], tmp_path / "pay.csv") == 1
    clock.set(clock.now + timedelta(days=30))
    paid = settlement_batches.mark_batch_paid(ctx, first_batch, "PAY-1")
    assert paid.status is BatchStatus.PAID
    assert paid == stored(first_batch)
    with pytest.raises(DisputeOpen):
        settlement_batches.mark_batch_paid(ctx, second_batch, "PAY-2")
    # A paid batch goes into a file again whatever disputes its institution has since.
    assert settlement_batches.export_payment_file(ctx, [first_batch], tmp_path / "again.csv") == 1
    assert ledger_problems(ctx) == []
