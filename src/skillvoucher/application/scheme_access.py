"""Schemes for administrators, auditors and statisticians: read, preview, create and move through
their life, each within the caller's region scope, with the caller named in the audit trail.

Reading a scheme outside the scope answers as a missing one does. Naming an out-of-scope region
in a new scheme's document is refused as AccessDenied instead: the caller wrote the region
themselves, so saying "not yours" leaks nothing, and "not found" would be a lie about a region
that exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from skillvoucher.application import previews, schemes
from skillvoucher.application.context import AppContext
from skillvoucher.application.paging import Page, check_limit, cursor_id, page_of
from skillvoucher.application.scheme_files import SchemeDoc
from skillvoucher.domain.access import AccessDenied, Permission, Principal
from skillvoucher.domain.errors import NotFound
from skillvoucher.domain.schemes import IssuanceMode, SchemeStatus, SchemeType
from skillvoucher.persistence.read_models.scheme_search import schemes_page
from skillvoucher.persistence.read_models.scoped_schemes import scheme_in_scope
from skillvoucher.persistence.tables import Scheme


@dataclass(frozen=True)
class SchemeInfo:
    code: str
    name: str
    region_code: str
    type: SchemeType
    issuance: IssuanceMode
    status: SchemeStatus
    quota: int
    issued_count: int
    budget_fen: int
    available_fen: int
    face_value_max_fen: int
    created_at: datetime
    launched_at: datetime | None
    document: dict[str, Any]
    """The scheme's definition, as it was created (the same fields as a scheme file)."""


def _info(scheme: Scheme) -> SchemeInfo:
    return SchemeInfo(
        code=scheme.code,
        name=scheme.name,
        region_code=scheme.region_code,
        type=scheme.type,
        issuance=scheme.issuance_mode,
        status=scheme.status,
        quota=scheme.quota,
        issued_count=scheme.issued_count,
        budget_fen=scheme.budget_fen,
        available_fen=scheme.available_fen,
        face_value_max_fen=scheme.face_value_max_fen,
        created_at=scheme.created_at,
        launched_at=scheme.launched_at,
        document=dict(scheme.rules),
    )


def list_schemes(
    ctx: AppContext,
    principal: Principal,
    status: SchemeStatus | None,
    cursor: str | None,
    limit: int,
) -> Page[SchemeInfo]:
    """Schemes within the caller's region (every scheme for a nationwide scope), in id order."""
    principal.require(Permission.SCHEME_READ)
    with ctx.unit_of_work() as uow:
        rows = schemes_page(
            uow.session, principal.scope, status, cursor_id(cursor), check_limit(limit) + 1
        )
        page = page_of(rows, limit, lambda s: s.id)
        return Page([_info(s) for s in page.items], page.next_cursor)


def show_scheme(ctx: AppContext, principal: Principal, code: str) -> SchemeInfo:
    principal.require(Permission.SCHEME_READ)
    with ctx.unit_of_work() as uow:
        scheme = scheme_in_scope(uow.session, principal.scope, code)
        if scheme is None:
            raise NotFound(f"scheme {code} is not known")
        return _info(scheme)


def _require_regions_in_scope(principal: Principal, doc: SchemeDoc) -> None:
    """The scheme's region and every household region its eligibility names must lie within
    the caller's scope: otherwise a preview would count, and a push reach, people the caller
    may not see."""
    principal.require(Permission.SCHEME_MANAGE)
    scope = principal.scope
    if scope.person_id or scope.institution_id or scope.employer_credit_code:
        raise AccessDenied(f"{principal.role.value} may not manage schemes")
    for region in (doc.region, *doc.eligibility.household_regions):
        if not scope.covers_region(region):
            raise AccessDenied(f"you may not manage schemes for region {region}")


require_regions_in_scope = _require_regions_in_scope
"""For the other use cases that take a scheme document (``scheme_drafts``)."""


def preview_scheme(ctx: AppContext, principal: Principal, doc: SchemeDoc) -> previews.SchemePreview:
    """How many people the scheme would reach today and the budget it would need; writes
    nothing."""
    _require_regions_in_scope(principal, doc)
    return previews.preview_scheme(ctx, doc)


def create_scheme(
    ctx: AppContext, principal: Principal, doc: SchemeDoc, *, launch: bool
) -> SchemeInfo:
    """Store the scheme as a draft (or launch it at once), audited as the caller's act."""
    _require_regions_in_scope(principal, doc)
    schemes.create_scheme(ctx.acting_as(principal.label), doc, launch=launch)
    return show_scheme(ctx, principal, doc.code)


def change_scheme_status(
    ctx: AppContext, principal: Principal, code: str, to: SchemeStatus
) -> SchemeInfo:
    """Launch (or resume), pause or close a scheme within the caller's scope.

    The scope check and the move are two transactions; that is safe because a scheme's region
    never changes after it is created.
    """
    principal.require(Permission.SCHEME_MANAGE)  # before the lookup: 403 never depends on it
    show_scheme(ctx, principal, code)  # NotFound outside the scope, as for a missing scheme
    schemes.change_status(ctx.acting_as(principal.label), code, to)
    return show_scheme(ctx, principal, code)


def allocate_to_scheme(
    ctx: AppContext, principal: Principal, code: str, amount_fen: int
) -> SchemeInfo:
    """Top up a launched scheme within the caller's scope from its region's fund."""
    principal.require(Permission.SCHEME_MANAGE)  # before the lookup: 403 never depends on it
    show_scheme(ctx, principal, code)  # NotFound outside the scope, as for a missing scheme
    schemes.allocate_more(ctx.acting_as(principal.label), code, amount_fen)
    return show_scheme(ctx, principal, code)
