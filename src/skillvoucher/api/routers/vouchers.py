"""Vouchers: the public keys and online check of a code, and, for signed-in callers within
their scope, a worker's own vouchers, search, details, the QR code, revocation and consent."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from skillvoucher.api.auth import Acting, Allowed
from skillvoucher.api.dependencies import Context
from skillvoucher.application.verification import verify_code
from skillvoucher.application.voucher_access import (
    MAX_PAGE,
    QrFormat,
    VoucherFilter,
    VoucherSummary,
    consent_for,
    my_vouchers,
    revoke_for,
    search_vouchers,
    voucher_details_for,
    voucher_qr_for,
)
from skillvoucher.application.voucher_views import VoucherDetails
from skillvoucher.credentials.tokens import MAX_TOKEN_CHARS
from skillvoucher.domain.access import Permission, Principal
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


# --- Signed-in callers, within their scope -----------------------------------------------------

Cursor = Annotated[str | None, Query(max_length=64, description="`next_cursor` of the last page.")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
NO_STORE = {"Cache-Control": "no-store"}
# Paths take the id as a UUID in the route itself, so that /vouchers/verify and
# /vouchers/mine never reach the {voucher_id} routes (whose sign-in check would answer first).
# Enough for any phone screen; the renderer allows more, but a request should not ask for
# a picture of many megabytes.
MAX_QR_SCALE = 16


class VoucherPage(BaseModel):
    # The application's own summary, served as it is: pydantic reads stdlib dataclasses.
    items: list[VoucherSummary]
    next_cursor: str | None


class RevokeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=200, description="Kept in the audit trail.")


class RevokedOut(BaseModel):
    voucher_id: uuid.UUID
    status: VoucherStatus
    released_fen: int = Field(description="Value that went back to the scheme.")


class ConsentOut(BaseModel):
    code: str = Field(description="Six digits the holder shows the institution; works once.")
    expires_at: datetime


@router.get("/vouchers/mine", response_model=VoucherPage)
def list_my_vouchers(
    ctx: Context,
    caller: Annotated[Principal, Allowed(Permission.VOUCHER_READ_OWN)],
    cursor: Cursor = None,
    limit: Limit = 50,
) -> VoucherPage:
    """The signed-in worker's own vouchers, oldest first; follow `next_cursor` for more."""
    page = my_vouchers(ctx, caller, cursor, limit)
    return VoucherPage(items=page.items, next_cursor=page.next_cursor)


@router.get("/vouchers", response_model=VoucherPage)
def list_vouchers(
    ctx: Context,
    caller: Annotated[Principal, Allowed(Permission.VOUCHER_READ)],
    scheme_code: Annotated[str | None, Query(max_length=40)] = None,
    status: VoucherStatus | None = None,
    region: Annotated[
        str | None, Query(pattern=r"^\d{6}$", description="Vouchers of schemes within it.")
    ] = None,
    institution_id: Annotated[
        uuid.UUID | None, Query(description="Where the voucher is enrolled.")
    ] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> VoucherPage:
    """Vouchers within the caller's scope, oldest first. A filter outside the scope (another
    city's region, say) finds nothing: it is not an error."""
    page = search_vouchers(
        ctx, caller, VoucherFilter(scheme_code, status, region, institution_id), cursor, limit
    )
    return VoucherPage(items=page.items, next_cursor=page.next_cursor)


@router.get("/vouchers/{voucher_id:uuid}", response_model=VoucherDetails)
def show_voucher(
    ctx: Context,
    caller: Annotated[Principal, Allowed(Permission.VOUCHER_READ)],
    voucher_id: uuid.UUID,
) -> VoucherDetails:
    """One voucher with its scheme, course, enrolment and certificate; the holder's ID number
    and mobile masked. Outside the caller's scope it answers 404, as a missing voucher does."""
    return voucher_details_for(ctx, caller, voucher_id)


@router.get(
    "/vouchers/{voucher_id:uuid}/qr",
    response_class=Response,
    responses={
        200: {
            "description": "The QR image.",
            "content": {"image/png": {}, "image/svg+xml": {}},
        }
    },
)
def voucher_qr(
    ctx: Context,
    caller: Annotated[Principal, Allowed(Permission.VOUCHER_READ)],
    voucher_id: uuid.UUID,
    image_format: Annotated[QrFormat, Query(alias="format")] = QrFormat.PNG,
    scale: Annotated[int, Query(ge=1, le=MAX_QR_SCALE, description="Pixels per module.")] = 4,
) -> Response:
    """The voucher's signed code as a QR image (PNG or SVG), for the holder to show."""
    image = voucher_qr_for(ctx, caller, voucher_id, image_format, scale)
    return Response(image.content, media_type=image.media_type, headers=NO_STORE)


@router.post("/vouchers/{voucher_id:uuid}/revoke", response_model=RevokedOut)
def revoke(
    acting: Acting,
    caller: Annotated[Principal, Allowed(Permission.VOUCHER_REVOKE)],
    voucher_id: uuid.UUID,
    body: RevokeRequest,
) -> RevokedOut:
    """Revoke a voucher that has not completed; its still-committed value returns to the
    scheme. The audit event names the caller."""
    revoked = revoke_for(acting, caller, voucher_id, body.reason)
    return RevokedOut(
        voucher_id=voucher_id, status=VoucherStatus.REVOKED, released_fen=revoked.released_fen
    )


@router.post("/vouchers/{voucher_id:uuid}/consent", response_model=ConsentOut, status_code=201)
def grant_consent(
    acting: Acting,
    caller: Annotated[Principal, Allowed(Permission.CONSENT_GRANT)],
    voucher_id: uuid.UUID,
    response: Response,
) -> ConsentOut:
    """A one-time consent code for the holder to give the institution that enrols them.
    Only the voucher's holder may ask; the answer is never to be cached."""
    grant = consent_for(acting, caller, voucher_id)
    response.headers.update(NO_STORE)
    return ConsentOut(code=grant.code, expires_at=grant.expires_at)
