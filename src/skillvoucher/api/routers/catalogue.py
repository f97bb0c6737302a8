"""The approved catalogue, readable by anyone: regions and courses with filters."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from skillvoucher.api.auth import MaybeSignedIn
from skillvoucher.api.dependencies import Context
from skillvoucher.application.catalogue_views import (
    CourseFilter,
    CourseView,
    InstitutionView,
    approved_institutions,
    search_courses,
)
from skillvoucher.application.paging import MAX_PAGE
from skillvoucher.application.regions_import import region_list
from skillvoucher.application.voucher_access import usable_courses_for
from skillvoucher.domain.access import NotAuthenticated
from skillvoucher.domain.catalogue import CourseMode, SkillLevel
from skillvoucher.domain.regions import RegionLevel

router = APIRouter(prefix="/api/v1", tags=["catalogue"])

# Far above any course price, far below what a 64-bit column holds (the fuzzer found that).
MAX_QUERY_FEN = 10**12


class RegionOut(BaseModel):
    code: str
    name: str
    level: RegionLevel
    parent_code: str | None


class CoursePage(BaseModel):
    # The application's own view, served as it is: pydantic reads stdlib dataclasses.
    items: list[CourseView]
    next_cursor: str | None


@router.get("/regions", response_model=list[RegionOut])
def list_regions(ctx: Context) -> list[RegionOut]:
    """Every GB/T 2260 region known to this deployment."""
    return [RegionOut.model_validate(r, from_attributes=True) for r in region_list(ctx)]


class InstitutionPage(BaseModel):
    items: list[InstitutionView]
    next_cursor: str | None


@router.get("/institutions", response_model=InstitutionPage)
def list_institutions(
    ctx: Context,
    region: Annotated[
        str | None, Query(pattern=r"^\d{6}$", description="Within this region.")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> InstitutionPage:
    """Approved training institutions, in a stable order; follow `next_cursor` for more."""
    page = approved_institutions(ctx, region, cursor, limit)
    return InstitutionPage(items=page.items, next_cursor=page.next_cursor)


@router.get("/courses", response_model=CoursePage)
def list_courses(
    ctx: Context,
    region: Annotated[
        str | None, Query(pattern=r"^\d{6}$", description="Within this region.")
    ] = None,
    occupation: Annotated[str | None, Query(pattern=r"^\d-\d{2}-\d{2}-\d{2}$")] = None,
    level: SkillLevel | None = None,
    mode: CourseMode | None = None,
    max_price_fen: Annotated[int | None, Query(ge=0, le=MAX_QUERY_FEN)] = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    usable_with_voucher: Annotated[
        uuid.UUID | None,
        Query(description="Only courses this voucher can pay for (sign in as its holder)."),
    ] = None,
    caller: MaybeSignedIn = None,
) -> CoursePage:
    """Courses of approved institutions, in a stable order; follow `next_cursor` for more.

    Public; with `usable_with_voucher`, the signed-in holder (or staff who may see the voucher)
    gets only the courses that voucher's scheme pays for."""
    usable = None
    if usable_with_voucher is not None:
        if caller is None:
            raise NotAuthenticated("sign in to filter by your voucher")
        usable = usable_courses_for(ctx, caller, usable_with_voucher)
    filters = CourseFilter(region, occupation, level, mode, max_price_fen, usable)
    page = search_courses(ctx, filters, cursor, limit)
    return CoursePage(items=page.items, next_cursor=page.next_cursor)
