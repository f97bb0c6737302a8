"""Vouchers as a signed-in principal reaches them: a worker their own, staff within their scope.

Every look-up goes through the scoped read model first; a voucher outside the caller's scope
answers exactly as a missing one does, so that no refusal tells whether it exists.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from skillvoucher.application import enrolment, lifecycle
from skillvoucher.application.context import AppContext
from skillvoucher.application.paging import MAX_PAGE, Page, check_limit, cursor_id, page_of
from skillvoucher.application.rate_limits import CONSENT_GRANTS_PER_VOUCHER
from skillvoucher.application.scheme_files import rules_of
from skillvoucher.application.voucher_codes import voucher_code
from skillvoucher.application.voucher_views import VoucherDetails, voucher_details
from skillvoucher.credentials.qr import qr_png, qr_svg
from skillvoucher.domain.access import AccessDenied, Permission, Principal
from skillvoucher.domain.errors import NotFound
from skillvoucher.domain.regions import code_prefix, validate_region_code
from skillvoucher.domain.schemes import UsableCourses, usable_courses
from skillvoucher.domain.vouchers import VoucherStatus
from skillvoucher.persistence.read_models.voucher_search import VoucherQuery, voucher_in_scope
from skillvoucher.persistence.read_models.voucher_search import VoucherRow as VoucherSummary
from skillvoucher.persistence.read_models.voucher_search import (
    search_vouchers as search_in_scope,
)
from skillvoucher.persistence.tables import Voucher

VoucherPage = Page[VoucherSummary]

# Explicit, because the read model's row is served as this module's VoucherSummary.
__all__ = [
    "MAX_PAGE",
    "QrFormat",
    "QrImage",
    "Revoked",
    "VoucherFilter",
    "VoucherPage",
    "VoucherSummary",
    "consent_for",
    "my_vouchers",
    "revoke_for",
    "search_vouchers",
    "voucher_details_for",
    "voucher_qr_for",
]


@dataclass(frozen=True)
class VoucherFilter:
    scheme_code: str | None = None
    status: VoucherStatus | None = None
    region_code: str | None = None  # a province, city or county: vouchers of schemes within it
    institution_id: uuid.UUID | None = None  # where the voucher is enrolled


class QrFormat(StrEnum):
    PNG = "png"
    SVG = "svg"


@dataclass(frozen=True)
class QrImage:
    content: bytes
    media_type: str


@dataclass(frozen=True)
class Revoked:
    voucher_id: uuid.UUID
    released_fen: int


def _missing(voucher_id: uuid.UUID) -> NotFound:
    # The same words voucher_views uses for a voucher that does not exist at all.
    return NotFound(f"voucher {voucher_id} is not known")


def _page(
    ctx: AppContext, principal: Principal, query: VoucherQuery, cursor: str | None, limit: int
) -> VoucherPage:
    after = cursor_id(cursor)
    check_limit(limit)
    with ctx.unit_of_work() as uow:
        found = search_in_scope(uow.session, principal.scope, query, after, limit + 1)
    return page_of(found, limit, lambda row: row.voucher_id)


def _visible(ctx: AppContext, principal: Principal, voucher_id: uuid.UUID) -> Voucher:
    with ctx.unit_of_work() as uow:
        voucher = voucher_in_scope(uow.session, principal.scope, voucher_id)
    if voucher is None:
        raise _missing(voucher_id)
    return voucher


def my_vouchers(
    ctx: AppContext, principal: Principal, cursor: str | None, limit: int
) -> VoucherPage:
    """The signed-in worker's own vouchers, oldest first."""
    principal.require(Permission.VOUCHER_READ_OWN)
    if principal.scope.person_id is None:  # only workers hold voucher:read_own; belt and braces
        raise AccessDenied("only a signed-in worker holds vouchers of their own")
    return _page(ctx, principal, VoucherQuery(person_id=principal.scope.person_id), cursor, limit)


def search_vouchers(
    ctx: AppContext, principal: Principal, filters: VoucherFilter, cursor: str | None, limit: int
) -> VoucherPage:
    """Vouchers within the caller's scope that match ``filters``, oldest first."""
    principal.require(Permission.VOUCHER_READ)
    region = filters.region_code
    query = VoucherQuery(
        scheme_code=filters.scheme_code,
        status=filters.status,
        region_prefix=code_prefix(validate_region_code(region)) if region else None,
        institution_id=filters.institution_id,
    )
    return _page(ctx, principal, query, cursor, limit)


def voucher_details_for(
    ctx: AppContext, principal: Principal, voucher_id: uuid.UUID
) -> VoucherDetails:
    """Everything about one voucher the caller may see; the holder's ID and mobile masked."""
    principal.require(Permission.VOUCHER_READ)
    # Scope first, then the shared detail view: what decides the scope (the voucher's region
    # and holder, the holder's employer) is not something the detail read could change.
    _visible(ctx, principal, voucher_id)
    return voucher_details(ctx, voucher_id)


def voucher_qr_for(
    ctx: AppContext, principal: Principal, voucher_id: uuid.UUID, fmt: QrFormat, scale: int
) -> QrImage:
    """The voucher's signed code as a QR image, as ``skillvoucher voucher qr`` draws it."""
    principal.require(Permission.VOUCHER_READ)
    credential = _visible(ctx, principal, voucher_id).credential or voucher_code(ctx, voucher_id)
    if fmt is QrFormat.SVG:
        return QrImage(qr_svg(credential, scale).encode("utf-8"), "image/svg+xml")
    return QrImage(qr_png(credential, scale), "image/png")


def revoke_for(
    ctx: AppContext, principal: Principal, voucher_id: uuid.UUID, reason: str
) -> Revoked:
    """Revoke a voucher within the caller's scope; the audit event names ``ctx.actor``."""
    principal.require(Permission.VOUCHER_REVOKE)
    _visible(ctx, principal, voucher_id)
    return Revoked(voucher_id, lifecycle.revoke_voucher(ctx, voucher_id, reason))


def consent_for(
    ctx: AppContext, principal: Principal, voucher_id: uuid.UUID
) -> enrolment.ConsentGrant:
    """A one-time consent code for the holder to show an institution: the holder's alone."""
    principal.require(Permission.CONSENT_GRANT)
    if principal.scope.person_id is None:
        raise AccessDenied("only the voucher's holder may grant consent")
    _visible(ctx, principal, voucher_id)
    ctx.rate_limiter.check(CONSENT_GRANTS_PER_VOUCHER, str(voucher_id))
    return enrolment.grant_consent(ctx, voucher_id)


def usable_courses_for(
    ctx: AppContext, principal: Principal, voucher_id: uuid.UUID
) -> UsableCourses:
    """What the catalogue may offer for a voucher the caller may see (a worker's own)."""
    principal.require(Permission.VOUCHER_READ)
    voucher = _visible(ctx, principal, voucher_id)
    with ctx.unit_of_work() as uow:
        scheme = uow.schemes.get(voucher.scheme_id)
        assert scheme is not None  # a voucher's scheme is a foreign key
        return usable_courses(rules_of(scheme.rules))
