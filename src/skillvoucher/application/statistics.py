"""Statistics for administrators: counts, amounts and utilisation, overall and by dimension."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from skillvoucher.application.context import AppContext
from skillvoucher.domain.access import Permission, Principal, Scope
from skillvoucher.domain.ledger import Account, JournalKind
from skillvoucher.persistence.read_models.statistics import (
    DIMENSIONS,
    Counts,
    breakdown,
    ledger_balances,
    ledger_kind_totals,
    totals,
)


def utilisation(counts: Counts) -> float:
    """Used / issued, as a ratio (a rate, not money, so a float is right here)."""
    return round(counts.used / counts.issued, 4) if counts.issued else 0.0


@dataclass(frozen=True)
class Statistics:
    totals: Counts
    amounts: dict[str, int]
    breakdowns: dict[str, list[Counts]]

    def as_json(self) -> dict[str, Any]:
        t = self.totals
        return {
            "vouchers_issued": t.issued,
            "vouchers_claimed": t.claimed,
            "vouchers_used": t.used,
            "vouchers_completed": t.completed,
            "vouchers_certified": t.certified,
            "vouchers_settled": t.settled,
            "vouchers_expired": t.expired,
            "vouchers_revoked": t.revoked,
            "utilization_rate": utilisation(t),
            **self.amounts,
            "by": {
                dimension: [{**asdict(row), "utilization_rate": utilisation(row)} for row in rows]
                for dimension, rows in self.breakdowns.items()
            },
        }


def compute_statistics(ctx: AppContext, scope: Scope | None = None) -> Statistics:
    """The figures of every region, or of the regions within ``scope`` when it is given."""
    with ctx.read_unit_of_work() as uow:
        session = uow.session
        balances = ledger_balances(session, scope)
        moved = ledger_kind_totals(session, scope)
        counts = totals(session, scope)
        amounts = {
            "amount_issued_fen": counts.face_value_fen,
            "amount_committed_fen": balances[Account.COMMITTED],
            "amount_payable_fen": balances[Account.PAYABLE],
            "amount_paid_fen": balances[Account.PAID],
            "amount_released_fen": moved[JournalKind.RELEASE],
            "fund_deposited_fen": -balances[Account.TREASURY],
            "fund_unallocated_fen": balances[Account.FUND_AVAILABLE],
            "scheme_available_fen": balances[Account.SCHEME_AVAILABLE],
        }
        return Statistics(counts, amounts, {d: breakdown(session, d, scope) for d in DIMENSIONS})


def statistics_for(ctx: AppContext, principal: Principal) -> Statistics:
    """The figures of the regions within the principal's scope (all, for a nationwide one)."""
    principal.require(Permission.STATISTICS_READ)
    return compute_statistics(ctx, principal.scope)
