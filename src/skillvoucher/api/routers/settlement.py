"""Settlement batches: build for a period, read, approve (four eyes when large), publish for
public notice, export the payment file, mark paid once the notice is over."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from skillvoucher.api.auth import Allowed
from skillvoucher.api.dependencies import Context
from skillvoucher.application.paging import MAX_PAGE
from skillvoucher.application.public_notices import NoticeLine, settlement_notices
from skillvoucher.application.scoped_settlement import (
    BatchDetails,
    approve_within,
    batch_details,
    batches_for,
    build_settlement,
    mark_paid_within,
    payment_file_for,
    publish_within,
)
from skillvoucher.application.settlement_batches import BatchSummary
from skillvoucher.domain.access import Permission as P
from skillvoucher.domain.access import Principal
from skillvoucher.domain.settlement import BatchStatus

router = APIRouter(prefix="/api/v1", tags=["settlement"])

MAX_BATCHES_PER_FILE = 500
# Settlement periods are of this century; the bounds also keep date arithmetic (the end of the
# period's last day) far from the calendar's edges (the fuzzer's favourite: 9999-12-31).
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period_start: date = Field(ge=EARLIEST, le=LATEST)
    period_end: date = Field(ge=EARLIEST, le=LATEST)
    institution_id: uuid.UUID | None = Field(
        default=None, description="Only this institution (within the caller's scope)."
    )


class RunOut(BaseModel):
    created: list[BatchSummary]
    already_settled: int = Field(description="Institutions whose batch for the period existed.")
    vouchers_settled: int = Field(description="Vouchers that reached their final state.")
    suspended: int = Field(description="Institutions skipped because they are suspended.")


class BatchPage(BaseModel):
    items: list[BatchSummary]
    next_cursor: str | None


class PaidRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payment_reference: str = Field(min_length=1, max_length=60)


class PaymentFileRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    batch_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_BATCHES_PER_FILE)


@router.post("/settlement/runs", response_model=RunOut, status_code=201)
def run(
    ctx: Context, caller: Annotated[Principal, Allowed(P.SETTLEMENT_BUILD)], body: RunRequest
) -> RunOut:
    """Build one draft batch per institution within the caller's scope for the period: the
    stages each voucher has earned by its evidence. Re-running a period creates nothing twice."""
    done = build_settlement(ctx, caller, body.period_start, body.period_end, body.institution_id)
    return RunOut(
        created=done.created,
        already_settled=done.already_settled,
        vouchers_settled=done.vouchers_settled,
        suspended=done.suspended,
    )


@router.get("/settlement/batches", response_model=BatchPage)
def batches(
    ctx: Context,
    caller: Annotated[Principal, Allowed(P.SETTLEMENT_READ)],
    status: BatchStatus | None = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> BatchPage:
    """Batches within the caller's scope (an institution sees its own statements), newest
    first; follow `next_cursor` for more."""
    page = batches_for(ctx, caller, status, cursor, limit)
    return BatchPage(items=page.items, next_cursor=page.next_cursor)


@router.get("/settlement/batches/{batch_id:uuid}", response_model=BatchDetails)
def batch(
    ctx: Context, caller: Annotated[Principal, Allowed(P.SETTLEMENT_READ)], batch_id: uuid.UUID
) -> BatchDetails:
    """One batch with its lines summed per stage."""
    return batch_details(ctx, caller, batch_id)


@router.post("/settlement/batches/{batch_id:uuid}/approve", response_model=BatchSummary)
def approve(
    ctx: Context,
    caller: Annotated[Principal, Allowed(P.SETTLEMENT_APPROVE)],
    batch_id: uuid.UUID,
) -> BatchSummary:
    """Approve a batch; the caller is recorded as its approver. A batch of at least the
    four-eyes amount (setting `settlement_second_approval_fen`) needs two approvals by two
    different people: the first leaves it `approved_once`, and the same person approving again
    answers 403 `approver_not_independent`."""
    return approve_within(ctx, caller, batch_id)


@router.post("/settlement/batches/{batch_id:uuid}/publish", response_model=BatchSummary)
def publish(
    ctx: Context,
    caller: Annotated[Principal, Allowed(P.SETTLEMENT_APPROVE)],
    batch_id: uuid.UUID,
) -> BatchSummary:
    """Put an approved batch on public notice (setting `settlement_notice_days`, 5 by default;
    the day of publication does not count). Its payment file may be exported from now on; it
    may be paid from `notice_until` on."""
    return publish_within(ctx, caller, batch_id)


@router.post("/settlement/batches/{batch_id:uuid}/paid", response_model=BatchSummary)
def paid(
    ctx: Context,
    caller: Annotated[Principal, Allowed(P.SETTLEMENT_PAY)],
    batch_id: uuid.UUID,
    body: PaidRequest,
) -> BatchSummary:
    """The treasury paid a published batch whose notice is over (before `notice_until`: 409
    `notice_not_over`): its lines' payable amounts move to paid."""
    return mark_paid_within(ctx, caller, batch_id, body.payment_reference)


@router.post(
    "/settlement/payment-file",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "The payment file (CSV)."}},
)
def payment_file(
    ctx: Context,
    caller: Annotated[Principal, Allowed(P.SETTLEMENT_EXPORT)],
    body: PaymentFileRequest,
) -> Response:
    """The CSV the treasury pays from, one row per batch; every batch must be published (or
    paid) and within the caller's scope."""
    text, _rows = payment_file_for(ctx, caller, body.batch_ids)
    return Response(
        content=text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="payment-file.csv"'},
    )


class NoticePage(BaseModel):
    items: list[NoticeLine]
    next_cursor: str | None


@router.get("/public/settlement-notices", response_model=NoticePage, tags=["public"])
def settlement_notices_now(
    ctx: Context,
    region: Annotated[
        str | None, Query(pattern=r"^\d{6}$", description="Within this region.")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> NoticePage:
    """Public, no sign-in: the settlement batches on notice now (公示) — institution, period,
    number of trainees' stages and amount — until each may be paid. No trainee is named."""
    page = settlement_notices(ctx, region, cursor, limit)
    return NoticePage(items=page.items, next_cursor=page.next_cursor)
