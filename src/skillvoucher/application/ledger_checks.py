"""Invariants of the fund ledger, checked on demand (`skillvoucher ledger check`) and by tests.

1. every journal's postings add up to zero;
2. no bucket but the treasury is below zero, overall or for any voucher;
3. the guard columns equal the ledger buckets they mirror;
4. every voucher's face value is fully accounted for: what its commitment took from the scheme
   is exactly what sits in its committed, payable and paid buckets, plus what was released;
   and a closed voucher (settled, expired, revoked) holds nothing committed any more;
5. the statistics tallies equal a recount of the vouchers and postings they count
   (``tally_checks``);
6. each first-come scheme's quota gate counts its stripes: the open ones and their shares
   (not money, but checked with it: a wrong count would refuse claims while places are left).
"""

from __future__ import annotations

from skillvoucher.application.context import AppContext
from skillvoucher.application.tally_checks import tally_problems
from skillvoucher.domain.ledger import Account
from skillvoucher.persistence.read_models.ledger_audit import voucher_accounting


def ledger_problems(ctx: AppContext) -> list[str]:
    problems: list[str] = []
    with ctx.unit_of_work() as uow:
        ledger = uow.ledger
        problems += [f"journal {j} does not balance" for j in ledger.unbalanced_journals()]
        for account, balance in ledger.balances().items():
            if account is not Account.TREASURY and balance < 0:
                problems.append(f"bucket {account.value} is overdrawn: {balance} fen")
        problems += [
            f"voucher {v}: {a.value} is {t} fen" for v, a, t in ledger.negative_voucher_buckets()
        ]
        scheme_buckets = ledger.scheme_bucket_balances()
        for scheme in uow.schemes.all():
            if scheme_buckets.get(scheme.id, 0) != scheme.available_fen:
                problems.append(
                    f"scheme {scheme.code}: guard {scheme.available_fen} != ledger "
                    f"{scheme_buckets.get(scheme.id, 0)}"
                )
        fund_buckets = ledger.fund_bucket_balances()
        for fund in ledger.fund_accounts():
            if fund_buckets.get(fund.region_code, 0) != fund.available_fen:
                problems.append(f"fund {fund.region_code}: guard differs from ledger")
        problems += voucher_accounting(uow.session)
        problems += tally_problems(uow.session)
        problems += [
            f"scheme {scheme}: quota gate {gate} != stripes {counted}"
            for scheme, (gate, counted) in uow.schemes.stripes.gates_at_odds().items()
        ]
    return problems
