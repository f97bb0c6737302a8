"""Voucher codes: the public keys to verify them offline, and an online check of a code."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from skillvoucher.api.dependencies import Context
from skillvoucher.application.verification import verify_code
from skillvoucher.credentials.tokens import MAX_TOKEN_CHARS
from skillvoucher.domain.vouchers import VoucherStatus

router = APIRouter(prefix="/api/v1", tags=["vouchers"])


class VerifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=MAX_TOKEN_CHARS, description="The QR code's text.")


class VerifiedOut(BaseModel):
    voucher_id: str
    scheme_code: str
    region_code: str
    value_fen: int
    valid_from: datetime
    valid_until: datetime
    status: VoucherStatus


@router.get("/keys", response_model=dict[str, Any])
def public_keys(ctx: Context) -> JSONResponse:
    """Every region's public signing keys as a JWK Set: all an offline verifier needs."""
    return JSONResponse(ctx.keys.export_jwks(), headers={"Cache-Control": "public, max-age=300"})


@router.post("/vouchers/verify", response_model=VerifiedOut)
def verify(ctx: Context, body: VerifyRequest) -> VerifiedOut:
    """Verify a voucher code's signature and validity, then report the voucher's status now."""
    verified = verify_code(ctx, body.code)
    claims = verified.claims
    return VerifiedOut(
        voucher_id=claims.voucher_id,
        scheme_code=claims.scheme_code,
        region_code=claims.region_code,
        value_fen=claims.value_fen,
        valid_from=claims.valid_from,
        valid_until=claims.valid_until,
        status=verified.status,
    )
