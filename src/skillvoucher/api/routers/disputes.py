"""Disputes and objections: a holder disputes a record of theirs, an administrator objects to a
batch on public notice; administrators in scope list and resolve them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from skillvoucher.api.auth import Allowed
from skillvoucher.api.dependencies import Context
from skillvoucher.application.disputes import (
    DisputeView,
    list_disputes,
    open_dispute,
    resolve_dispute,
)
from skillvoucher.application.paging import MAX_PAGE
from skillvoucher.domain.access import Permission as P
from skillvoucher.domain.access import Principal
from skillvoucher.domain.disputes import (
    MAX_NOTE_CHARS,
    MAX_REASON_CHARS,
    DisputeOutcome,
    DisputeStatus,
    DisputeSubject,
)

router = APIRouter(prefix="/api/v1", tags=["disputes"])


class DisputeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: DisputeSubject = Field(
        description="enrolment, attendance and completion take the enrolment id; "
        "settlement_line a line id; batch (administrators) a batch id."
    )
    subject_id: uuid.UUID
    reason: str = Field(min_length=1, max_length=MAX_REASON_CHARS)


class ResolveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: DisputeOutcome
    note: str = Field(min_length=1, max_length=MAX_NOTE_CHARS)


class DisputeOut(BaseModel):
    dispute_id: uuid.UUID
    subject: DisputeSubject
    subject_id: uuid.UUID
    voucher_id: uuid.UUID | None
    batch_id: uuid.UUID | None
    by_holder: bool
    reason: str
    status: DisputeStatus
    opened_at: datetime
    opened_by: str
    resolved_at: datetime | None
    resolved_by: str | None
    resolution_note: str | None
    region_code: str


class DisputeList(BaseModel):
    items: list[DisputeOut]


def _out(view: DisputeView) -> DisputeOut:
    return DisputeOut.model_validate(view, from_attributes=True)


@router.post("/disputes", response_model=DisputeOut, status_code=201)
def open_(
    ctx: Context, caller: Annotated[Principal, Allowed(P.DISPUTE_OPEN)], body: DisputeRequest
) -> DisputeOut:
    """Open a dispute. A holder disputes a record of their own voucher; an administrator may
    also object to a batch on public notice. While open, the voucher's settlement is frozen
    and any batch with one of its unpaid lines (or the objected batch) is neither approved,
    exported nor paid (409 `dispute_open`). Opening an open subject again returns it."""
    return _out(open_dispute(ctx, caller, body.subject, body.subject_id, body.reason))


@router.get("/disputes", response_model=DisputeList)
def list_(
    ctx: Context,
    caller: Annotated[Principal, Allowed(P.DISPUTE_RESOLVE)],
    status: DisputeStatus | None = None,
    before: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> DisputeList:
    """Disputes and objections within the caller's scope, newest first; pass the last
    `dispute_id` as `before` for more."""
    return DisputeList(items=[_out(v) for v in list_disputes(ctx, caller, status, before, limit)])


@router.post("/disputes/{dispute_id:uuid}/resolve", response_model=DisputeOut)
def resolve(
    ctx: Context,
    caller: Annotated[Principal, Allowed(P.DISPUTE_RESOLVE)],
    dispute_id: uuid.UUID,
    body: ResolveRequest,
) -> DisputeOut:
    """Uphold or dismiss an open dispute, with a note. Upheld, the holder's record is undone
    (an enrolment with nothing settled is cancelled, anything further clawed back); dismissed,
    the voucher's settlement and the batch go on."""
    return _out(resolve_dispute(ctx, caller, dispute_id, body.outcome, body.note))
