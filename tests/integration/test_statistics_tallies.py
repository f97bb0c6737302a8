"""The statistics tallies, kept by triggers, equal a recount of the vouchers and the ledger
after every kind of change: the use cases', a repair made by hand in SQL, folding, and (on
PostgreSQL) folding while other transactions change vouchers."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from builders import Clock, enrol, issue, training_world
from dashboard_world import XIAODIAN, YINGZE, dashboard_world
from skillvoucher.application import enrolment, lifecycle
from skillvoucher.application.context import AppContext
from skillvoucher.application.statistics import compute_statistics
from skillvoucher.application.tally_checks import tally_problems
from skillvoucher.application.tally_upkeep import fold_tallies
from skillvoucher.domain.ledger import Account
from skillvoucher.persistence.read_models import dashboard
from skillvoucher.persistence.read_models.dashboard import Slice
from skillvoucher.persistence.tables import Voucher, VoucherTally


def _problems(ctx: AppContext) -> list[str]:
    with ctx.unit_of_work() as uow:
        return tally_problems(uow.session)


def _tally_rows(ctx: AppContext) -> int:
    with ctx.unit_of_work() as uow:
        return int(uow.session.scalar(sa.select(sa.func.count()).select_from(VoucherTally)) or 0)


def test_tallies_follow_every_kind_of_change_and_survive_folding(
    ctx: AppContext, clock: Clock
) -> None:
    world = dashboard_world(ctx, clock)
    extra = training_world(ctx, people=4, code="TY-EXTRA")
    vouchers = [issue(ctx, extra.scheme.code, p).voucher_id for p in extra.people]
    enrol(ctx, vouchers[0], extra.institution)
    enrolment.cancel_enrolment(ctx, vouchers[0], "changed her mind")  # counted in, then out
    enrol(ctx, vouchers[1], extra.institution)
    lifecycle.revoke_voucher(ctx, vouchers[1], "moved away")
    clock.advance(timedelta(days=800))
    assert lifecycle.expire_vouchers(ctx) > 0

    assert _problems(ctx) == []
    before = compute_statistics(ctx).as_json()
    assert before["vouchers_revoked"] == 1
    assert before["vouchers_expired"] > 0
    assert before["amount_paid_fen"] == world.paid_fen > 0

    rows_before = _tally_rows(ctx)
    counts = fold_tallies(ctx)
    assert counts["voucher_tallies"] == (rows_before, _tally_rows(ctx))
    assert _tally_rows(ctx) < rows_before
    assert _problems(ctx) == []
    assert compute_statistics(ctx).as_json() == before
    before_again, after_again = fold_tallies(ctx)["voucher_tallies"]
    assert before_again == after_again  # nothing was left to fold


def test_a_repair_made_by_hand_in_sql_moves_the_figures_with_the_voucher(
    ctx: AppContext, clock: Clock
) -> None:
    """No application code runs here: the triggers alone keep the tallies right, money paid
    for the voucher included."""
    dashboard_world(ctx, clock)

    def paid_by_county() -> dict[str, int]:
        with ctx.unit_of_work() as uow:
            return {f.key: f.paid_fen for f in dashboard.by_region(uow.session, Slice(), 6)}

    before = paid_by_county()
    with ctx.unit_of_work() as uow:
        moved = uow.session.scalar(
            sa.select(Voucher.id).where(
                Voucher.holder_region == XIAODIAN, Voucher.certificate_no.is_not(None)
            )
        )
        assert moved is not None
        moved_paid = uow.ledger.voucher_balances(moved)[Account.PAID]
        uow.session.execute(
            sa.update(Voucher).where(Voucher.id == moved).values(holder_region=YINGZE)
        )
        uow.commit()

    assert _problems(ctx) == []
    after = paid_by_county()
    assert moved_paid > 0
    assert after[YINGZE] == before.get(YINGZE, 0) + moved_paid
    assert after.get(XIAODIAN, 0) == before[XIAODIAN] - moved_paid


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_folding_while_vouchers_change_loses_and_doubles_nothing(ctx: AppContext) -> None:
    world = training_world(ctx, people=24)
    stop = threading.Event()
    errors: list[BaseException] = []

    def keep_folding() -> None:
        while not stop.is_set():
            try:
                fold_tallies(ctx)
            except BaseException as error:  # reported below, not lost in the thread
                errors.append(error)
                return

    def issue_and_enrol(people: list[str]) -> None:
        try:
            for holder in people:
                enrol(ctx, issue(ctx, world.scheme.code, holder).voucher_id, world.institution)
        except BaseException as error:
            errors.append(error)

    holders = [p.resident_id for p in world.people]
    folder = threading.Thread(target=keep_folding)
    writers = [threading.Thread(target=issue_and_enrol, args=(holders[i::3],)) for i in range(3)]
    folder.start()
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
    stop.set()
    folder.join(timeout=60)

    assert errors == []
    assert _problems(ctx) == []
    assert compute_statistics(ctx).totals.used == len(holders)
