"""A region's fund ledger as a principal searches it: by journal kind and period, paged."""

from __future__ import annotations

from skillvoucher.application.context import AppContext
from skillvoucher.application.fund_views import LedgerLine, ledger_line, unknown_fund
from skillvoucher.application.paging import Page, check_limit, cursor_id, page_of
from skillvoucher.domain.access import Permission, Principal
from skillvoucher.domain.errors import InvalidInput
from skillvoucher.persistence.read_models.ledger_search import LedgerFilter, ledger_entries

__all__ = ["LedgerFilter", "search_ledger"]


def search_ledger(
    ctx: AppContext,
    principal: Principal,
    region_code: str,
    wanted: LedgerFilter,
    cursor: str | None,
    limit: int,
) -> Page[LedgerLine]:
    """The postings of a region within the principal's scope that match ``wanted``, newest
    first; a region outside the scope is as unknown as one without a fund account."""
    principal.require(Permission.FUND_READ)
    check_limit(limit)
    if wanted.since is not None and wanted.until is not None and wanted.until <= wanted.since:
        raise InvalidInput("the period ends before it starts")
    with ctx.unit_of_work() as uow:
        if uow.ledger.fund_account_within(region_code, principal.scope) is None:
            raise unknown_fund(region_code)
        rows = ledger_entries(uow.session, region_code, wanted, cursor_id(cursor), limit + 1)
        lines = [ledger_line(e) for e in rows]
    return page_of(lines, limit, lambda line: line.entry_id)
