"""Statistics agree with the vouchers and the ledger they summarise."""

from __future__ import annotations

from datetime import date

from builders import Clock, enrol, issue, publish_and_pay, training_world
from skillvoucher.application import settlement, settlement_batches
from skillvoucher.application.context import AppContext
from skillvoucher.application.statistics import compute_statistics
from skillvoucher.domain.ledger import Account

MARCH = (date(2026, 3, 1), date(2026, 3, 31))


def test_statistics_count_vouchers_and_money_consistently(ctx: AppContext, clock: Clock) -> None:
    world = training_world(ctx, people=3)
    vouchers = [issue(ctx, world.scheme.code, holder).voucher_id for holder in world.people]
    for voucher_id in vouchers[:2]:
        enrol(ctx, voucher_id, world.institution)
    [batch] = settlement.run_settlement(ctx, *MARCH).created
    settlement_batches.approve_batch(ctx, batch.batch_id, "finance-officer")
    publish_and_pay(ctx, clock, batch.batch_id, "TR-1")

    stats = compute_statistics(ctx)
    figures = stats.as_json()

    assert (figures["vouchers_issued"], figures["vouchers_used"]) == (3, 2)
    assert figures["utilization_rate"] == round(2 / 3, 4)
    with ctx.unit_of_work() as uow:
        ledger = uow.ledger.balances()
    assert figures["amount_paid_fen"] == ledger[Account.PAID] == batch.total_fen > 0
    assert figures["amount_committed_fen"] == ledger[Account.COMMITTED]
    assert figures["fund_deposited_fen"] == -ledger[Account.TREASURY]
    for dimension, rows in stats.breakdowns.items():
        if dimension == "institution":  # only vouchers in use have an institution
            assert sum(r.issued for r in rows) == 2, dimension
        else:
            assert sum(r.issued for r in rows) == 3, dimension
        assert sum(r.used for r in rows) == 2, dimension
        assert sum(r.paid_fen for r in rows) == batch.total_fen, dimension
    [month] = stats.breakdowns["month"]
    assert month.key == "2026-03"
