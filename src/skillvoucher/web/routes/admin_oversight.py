"""Pages under /admin for oversight: the special fund accounts (balances, ledger, deposits,
transfers that need two approvals). Settlement, flags and the audit trail live in the
``admin_oversight_*`` modules and join this router."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from skillvoucher.api.dependencies import Context
from skillvoucher.api.problems import status_of
from skillvoucher.application.fund_transfers import (
    OPEN,
    approve_transfer,
    list_transfers,
    reject_transfer,
    request_transfer,
)
from skillvoucher.application.fund_views import balances_for, deposit_within
from skillvoucher.application.ledger_search import LedgerFilter, search_ledger
from skillvoucher.domain.access import Permission as P
from skillvoucher.domain.access import Principal
from skillvoucher.domain.errors import DomainError
from skillvoucher.domain.ledger import Account, JournalKind
from skillvoucher.web.forms import FormInvalid, error_sentence, parse_form
from skillvoucher.web.i18n import N_, request_language
from skillvoucher.web.routes import (
    admin_oversight_audit,
    admin_oversight_risk,
    admin_oversight_settlement,
)
from skillvoucher.web.routes.admin_oversight_forms import (
    DONE_MESSAGES,
    YuanAmount,
    day_range,
    with_query,
)
from skillvoucher.web.session import with_permission
from skillvoucher.web.templating import render

router = APIRouter(prefix="/admin", include_in_schema=False)

FundReader = Annotated[Principal, with_permission(P.FUND_READ)]
Depositor = Annotated[Principal, with_permission(P.FUND_DEPOSIT)]
TransferRequester = Annotated[Principal, with_permission(P.FUND_TRANSFER_REQUEST)]
TransferApprover = Annotated[Principal, with_permission(P.FUND_TRANSFER_APPROVE)]

REGION = r"^\d{6}$"
LEDGER_PAGE = 50
TRANSFERS_SHOWN = 50

ACCOUNT_NAMES = {
    Account.TREASURY: N_("Treasury"),
    Account.FUND_AVAILABLE: N_("Fund available"),
    Account.SCHEME_AVAILABLE: N_("Scheme budgets available"),
    Account.COMMITTED: N_("Committed to vouchers"),
    Account.PAYABLE: N_("Payable to institutions"),
    Account.PAID: N_("Paid"),
}
KIND_NAMES = {
    JournalKind.DEPOSIT: N_("Deposit"),
    JournalKind.ALLOCATION: N_("Allocation to a scheme"),
    JournalKind.COMMITMENT: N_("Commitment at issue"),
    JournalKind.RELEASE: N_("Release of unused value"),
    JournalKind.PAYABLE: N_("Stage earned (payable)"),
    JournalKind.PAID: N_("Payment"),
    JournalKind.REVERSAL: N_("Reversal (claw-back)"),
    JournalKind.TRANSFER_OUT: N_("Transfer out"),
    JournalKind.TRANSFER_IN: N_("Transfer in"),
}
TRANSFER_STATUS_NAMES = {
    "requested": N_("Requested"),
    "approved_once": N_("Approved once"),
    "executed": N_("Executed"),
    "rejected": N_("Rejected"),
}


class DepositForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    region_code: str = Field(pattern=REGION)
    amount_yuan: YuanAmount
    reference: str = Field(min_length=1, max_length=100)


class TransferForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    from_region: str = Field(pattern=REGION)
    to_region: str = Field(pattern=REGION)
    amount_yuan: YuanAmount
    reason: str = Field(min_length=1, max_length=200)


class RejectForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    reason: str = Field(min_length=1, max_length=200)


class LedgerQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    kind: JournalKind | None = None
    from_day: date | None = None
    to_day: date | None = None
    cursor: str | None = Field(default=None, max_length=64)


def _funds_page(
    request: Request,
    ctx: Context,
    visitor: Principal,
    *,
    form: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    accounts = balances_for(ctx, visitor)
    transfers = list_transfers(ctx, visitor, None, None, TRANSFERS_SHOWN).items
    done = DONE_MESSAGES.get(request.query_params.get("done", ""))
    return render(
        request,
        "admin/funds.html",
        {
            "accounts": accounts,
            "account_options": [(a.region_code, f"{a.name} ({a.region_code})") for a in accounts],
            "buckets": list(Account),
            "account_names": ACCOUNT_NAMES,
            "transfers": transfers,
            # Decisions belong to the sending side: buttons only where the visitor may decide.
            "decidable": {
                t.transfer_id
                for t in transfers
                if t.status in OPEN and visitor.scope.covers_region(t.from_region)
            },
            "transfer_status_names": TRANSFER_STATUS_NAMES,
            "form": form,
            "errors": errors or {},
            "values": values or {},
            "error": error,
            "done": done,
        },
        status_code=status_code,
    )


@router.get("/funds")
def funds_page(request: Request, ctx: Context, visitor: FundReader) -> Response:
    return _funds_page(request, ctx, visitor)


@router.post("/funds/deposits")
async def deposit_submit(request: Request, ctx: Context, visitor: Depositor) -> Response:
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    language = request_language(request)
    try:
        data = parse_form(DepositForm, form, language)
        await run_in_threadpool(
            deposit_within, ctx, visitor, data.region_code, data.amount_yuan, data.reference
        )
    except FormInvalid as invalid:
        return await run_in_threadpool(
            _page_again, request, ctx, visitor, "deposit", invalid.errors, values, None, 422
        )
    except DomainError as failure:
        sentence = error_sentence(failure, language)
        return await run_in_threadpool(
            _page_again, request, ctx, visitor, "deposit", {}, values, sentence, status_of(failure)
        )
    return RedirectResponse("/admin/funds?done=deposited", status_code=303)


def _page_again(
    request: Request,
    ctx: Context,
    visitor: Principal,
    form: str,
    errors: dict[str, str],
    values: dict[str, Any],
    error: str | None,
    status_code: int,
) -> Response:
    return _funds_page(
        request,
        ctx,
        visitor,
        form=form,
        errors=errors,
        values=values,
        error=error,
        status_code=status_code,
    )


@router.post("/funds/transfers")
async def transfer_submit(request: Request, ctx: Context, visitor: TransferRequester) -> Response:
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    language = request_language(request)
    try:
        data = parse_form(TransferForm, form, language)
        await run_in_threadpool(
            request_transfer,
            ctx,
            visitor,
            data.from_region,
            data.to_region,
            data.amount_yuan,
            data.reason,
        )
    except FormInvalid as invalid:
        return await run_in_threadpool(
            _page_again, request, ctx, visitor, "transfer", invalid.errors, values, None, 422
        )
    except DomainError as failure:
        sentence = error_sentence(failure, language)
        return await run_in_threadpool(
            _page_again, request, ctx, visitor, "transfer", {}, values, sentence, status_of(failure)
        )
    return RedirectResponse("/admin/funds?done=transfer_requested", status_code=303)


@router.post("/funds/transfers/{transfer_id:uuid}/approve")
def transfer_approve(
    request: Request, ctx: Context, visitor: TransferApprover, transfer_id: uuid.UUID
) -> Response:
    try:
        approve_transfer(ctx, visitor, transfer_id)
    except DomainError as failure:
        sentence = error_sentence(failure, request_language(request))
        return _funds_page(request, ctx, visitor, error=sentence, status_code=status_of(failure))
    return RedirectResponse("/admin/funds?done=transfer_approved", status_code=303)


@router.post("/funds/transfers/{transfer_id:uuid}/reject")
async def transfer_reject(
    request: Request, ctx: Context, visitor: TransferApprover, transfer_id: uuid.UUID
) -> Response:
    form = await request.form()
    language = request_language(request)
    try:
        data = parse_form(RejectForm, form, language)
        await run_in_threadpool(reject_transfer, ctx, visitor, transfer_id, data.reason)
    except FormInvalid as invalid:
        errors = {f"reject-{transfer_id}": invalid.errors.get("reason", "")}
        return await run_in_threadpool(
            _page_again, request, ctx, visitor, "reject", errors, {}, None, 422
        )
    except DomainError as failure:
        sentence = error_sentence(failure, language)
        return await run_in_threadpool(
            _page_again, request, ctx, visitor, "reject", {}, {}, sentence, status_of(failure)
        )
    return RedirectResponse("/admin/funds?done=transfer_rejected", status_code=303)


@router.get("/funds/{region_code}/ledger")
def ledger_page(request: Request, ctx: Context, visitor: FundReader, region_code: str) -> Response:
    language = request_language(request)
    values = dict(request.query_params)
    errors: dict[str, str] = {}
    error = None
    lines: list[Any] = []
    next_cursor = None
    status_code = 200
    try:
        query = parse_form(LedgerQuery, request.query_params, language)
        since, until = day_range(query.from_day, query.to_day)
        page = search_ledger(
            ctx,
            visitor,
            region_code,
            LedgerFilter(query.kind, since, until),
            query.cursor,
            LEDGER_PAGE,
        )
        lines, next_cursor = page.items, page.next_cursor
    except FormInvalid as invalid:
        errors, status_code = invalid.errors, 422
        search_ledger(ctx, visitor, region_code, LedgerFilter(), None, 1)  # scope still applies
    except DomainError as failure:
        if failure.code == "not_found":
            raise
        error, status_code = error_sentence(failure, language), status_of(failure)
    account = next((a for a in balances_for(ctx, visitor) if a.region_code == region_code), None)
    next_link = None
    if next_cursor is not None:
        next_link = with_query(
            request.url.path,
            kind=values.get("kind"),
            from_day=values.get("from_day"),
            to_day=values.get("to_day"),
            cursor=next_cursor,
        )
    return render(
        request,
        "admin/funds_ledger.html",
        {
            "region_code": region_code,
            "account": account,
            "lines": lines,
            "next_link": next_link,
            "kinds": [(k.value, KIND_NAMES[k]) for k in JournalKind],
            "kind_names": KIND_NAMES,
            "account_names": ACCOUNT_NAMES,
            "values": values,
            "errors": errors,
            "error": error,
        },
        status_code=status_code,
    )


router.include_router(admin_oversight_settlement.router)
router.include_router(admin_oversight_risk.router)
router.include_router(admin_oversight_audit.router)
