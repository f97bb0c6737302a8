"""Statistics: the figures of `skillvoucher stats --json`, for the caller's region scope."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel

from skillvoucher.api.auth import Allowed
from skillvoucher.api.dependencies import Context
from skillvoucher.application.statistics import statistics_for
from skillvoucher.domain.access import Permission as P
from skillvoucher.domain.access import Principal

router = APIRouter(prefix="/api/v1", tags=["statistics"])


class CountsOut(BaseModel):
    key: str
    label: str
    issued: int
    claimed: int
    used: int
    completed: int
    certified: int
    settled: int
    expired: int
    revoked: int
    face_value_fen: int
    used_value_fen: int
    paid_fen: int
    utilization_rate: float


class StatisticsOut(BaseModel):
    vouchers_issued: int
    vouchers_claimed: int
    vouchers_used: int
    vouchers_completed: int
    vouchers_certified: int
    vouchers_settled: int
    vouchers_expired: int
    vouchers_revoked: int
    utilization_rate: float
    amount_issued_fen: int
    amount_committed_fen: int
    amount_payable_fen: int
    amount_paid_fen: int
    amount_released_fen: int
    fund_deposited_fen: int
    fund_unallocated_fen: int
    scheme_available_fen: int
    by: dict[str, list[CountsOut]]


@router.get("/statistics", response_model=StatisticsOut)
def statistics(
    ctx: Context, caller: Annotated[Principal, Allowed(P.STATISTICS_READ)]
) -> StatisticsOut:
    """Vouchers issued, used, completed, certified and settled, amounts in fen and utilisation,
    overall and by region, scheme, target group, institution and month: the vouchers of the
    schemes and the fund postings of the regions within the caller's scope (a national
    statistician sees the whole country)."""
    return StatisticsOut.model_validate(statistics_for(ctx, caller).as_json())
