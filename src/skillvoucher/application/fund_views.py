"""The special fund accounts as a principal sees them: balances, ledger pages and deposits,
each limited to the accounts within the principal's region scope."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from skillvoucher.application import funds
from skillvoucher.application.context import AppContext
from skillvoucher.application.paging import Page, check_limit, cursor_id, page_of
from skillvoucher.domain.access import Permission, Principal
from skillvoucher.domain.errors import NotFound
from skillvoucher.domain.ledger import Account, JournalKind
from skillvoucher.persistence.tables import LedgerEntry


@dataclass(frozen=True)
class LedgerLine:
    entry_id: uuid.UUID
    journal_id: uuid.UUID
    kind: JournalKind
    reverses: JournalKind | None
    account: Account
    amount_fen: int
    scheme_id: uuid.UUID | None
    voucher_id: uuid.UUID | None
    institution_id: uuid.UUID | None
    settlement_batch_id: uuid.UUID | None
    created_at: datetime


def balances_for(ctx: AppContext, principal: Principal) -> list[funds.FundBalance]:
    principal.require(Permission.FUND_READ)
    return funds.fund_balances(ctx, principal.scope)


def unknown_fund(region_code: str) -> NotFound:
    # The same words whether the account is missing or outside the caller's scope.
    return NotFound(f"the special fund of region {region_code} is not known")


def ledger_for(
    ctx: AppContext, principal: Principal, region_code: str, cursor: str | None, limit: int
) -> Page[LedgerLine]:
    """The region's postings, newest first."""
    principal.require(Permission.FUND_READ)
    check_limit(limit)
    with ctx.unit_of_work() as uow:
        if uow.ledger.fund_account_within(region_code, principal.scope) is None:
            raise unknown_fund(region_code)
        rows = uow.ledger.entries_page(region_code, cursor_id(cursor), limit + 1)
    return page_of([ledger_line(e) for e in rows], limit, lambda line: line.entry_id)


def ledger_line(entry: LedgerEntry) -> LedgerLine:
    """A stored posting as the ledger pages show it."""
    return LedgerLine(
        entry.id,
        entry.journal_id,
        entry.kind,
        entry.reverses,
        entry.account,
        entry.amount_fen,
        entry.scheme_id,
        entry.voucher_id,
        entry.institution_id,
        entry.settlement_batch_id,
        entry.created_at,
    )


def deposit_within(
    ctx: AppContext, principal: Principal, region_code: str, amount_fen: int, reference: str
) -> funds.FundBalance:
    """A deposit into a region's special fund, by a principal whose scope covers the region."""
    principal.require(Permission.FUND_DEPOSIT)
    if not principal.scope.covers_region(region_code):
        raise NotFound(f"region {region_code} is not known")  # as funds.deposit words it
    return funds.deposit(ctx.acting_as(principal.label), region_code, amount_fen, reference)
