"""The regions' special fund accounts: balances, ledgers, deposits and transfers between
regions that need two approvals."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from skillvoucher.api.auth import Allowed
from skillvoucher.api.dependencies import Context
from skillvoucher.application.fund_transfers import (
    TransferView,
    approve_transfer,
    list_transfers,
    reject_transfer,
    request_transfer,
)
from skillvoucher.application.fund_views import (
    LedgerLine,
    balances_for,
    deposit_within,
    ledger_for,
)
from skillvoucher.application.funds import FundBalance
from skillvoucher.application.paging import MAX_PAGE
from skillvoucher.domain.access import Permission as P
from skillvoucher.domain.access import Principal
from skillvoucher.domain.ledger import TransferStatus

router = APIRouter(prefix="/api/v1", tags=["funds"])

# Far above any region's budget, far below what a 64-bit column holds.
MAX_AMOUNT_FEN = 10**12
REGION_PATTERN = r"^\d{6}$"
RegionPath = Annotated[str, Path(pattern=REGION_PATTERN, description="A GB/T 2260 code.")]
Cursor = Annotated[str | None, Query(max_length=64)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]


class FundList(BaseModel):
    items: list[FundBalance]


class LedgerPage(BaseModel):
    items: list[LedgerLine]
    next_cursor: str | None


class TransferPage(BaseModel):
    items: list[TransferView]
    next_cursor: str | None


class DepositRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount_fen: int = Field(ge=1, le=MAX_AMOUNT_FEN)
    reference: str = Field(min_length=1, max_length=100, description="The treasury's reference.")


class TransferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    from_region: str = Field(pattern=REGION_PATTERN, description="Within the requester's scope.")
    to_region: str = Field(pattern=REGION_PATTERN)
    amount_fen: int = Field(ge=1, le=MAX_AMOUNT_FEN)
    reason: str = Field(min_length=1, max_length=200)


class RejectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=200)


@router.get("/funds", response_model=FundList)
def fund_accounts(ctx: Context, caller: Annotated[Principal, Allowed(P.FUND_READ)]) -> FundList:
    """Every special fund account within the caller's region scope, with its bucket balances
    in fen (`treasury` is negative by what was deposited)."""
    return FundList(items=balances_for(ctx, caller))


@router.get("/funds/transfers", response_model=TransferPage)
def transfers(
    ctx: Context,
    caller: Annotated[Principal, Allowed(P.FUND_READ)],
    status: TransferStatus | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> TransferPage:
    """Transfers sent from or received into the caller's scope, newest first."""
    page = list_transfers(ctx, caller, status, cursor, limit)
    return TransferPage(items=page.items, next_cursor=page.next_cursor)


@router.post("/funds/transfers", response_model=TransferView, status_code=201)
def request_a_transfer(
    ctx: Context,
    caller: Annotated[Principal, Allowed(P.FUND_TRANSFER_REQUEST)],
    body: TransferRequest,
) -> TransferView:
    """Ask for money to move from a region within the caller's scope to another region. It
    moves only after two approvals by two people other than the requester."""
    return request_transfer(
        ctx, caller, body.from_region, body.to_region, body.amount_fen, body.reason
    )


@router.post("/funds/transfers/{transfer_id:uuid}/approve", response_model=TransferView)
def approve_a_transfer(
    ctx: Context,
    caller: Annotated[Principal, Allowed(P.FUND_TRANSFER_APPROVE)],
    transfer_id: uuid.UUID,
) -> TransferView:
    """Approve a transfer sent from the caller's scope. The first approval marks it
    `approved_once`; the second, by another person, executes it in one transaction (409
    `insufficient_funds` when the sender cannot cover it, and then nothing moves)."""
    return approve_transfer(ctx, caller, transfer_id)


@router.post("/funds/transfers/{transfer_id:uuid}/reject", response_model=TransferView)
def reject_a_transfer(
    ctx: Context,
    caller: Annotated[Principal, Allowed(P.FUND_TRANSFER_APPROVE)],
    transfer_id: uuid.UUID,
    body: RejectRequest,
) -> TransferView:
    """Refuse a transfer that has not been executed yet; nothing moves."""
    return reject_transfer(ctx, caller, transfer_id, body.reason)


@router.get("/funds/{region_code}/ledger", response_model=LedgerPage)
def ledger(
    ctx: Context,
    caller: Annotated[Principal, Allowed(P.FUND_READ)],
    region_code: RegionPath,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> LedgerPage:
    """The postings of a region's special fund, newest first; every journal's postings add up
    to zero."""
    page = ledger_for(ctx, caller, region_code, cursor, limit)
    return LedgerPage(items=page.items, next_cursor=page.next_cursor)


@router.post("/funds/{region_code}/deposits", response_model=FundBalance, status_code=201)
def deposit(
    ctx: Context,
    caller: Annotated[Principal, Allowed(P.FUND_DEPOSIT)],
    region_code: RegionPath,
    body: DepositRequest,
) -> FundBalance:
    """Money arrives from the treasury into a region's special fund (opening the account)."""
    return deposit_within(ctx, caller, region_code, body.amount_fen, body.reference)
