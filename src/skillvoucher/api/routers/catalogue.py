"""The approved catalogue, readable by anyone: regions and courses with filters."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from skillvoucher.api.dependencies import Context
from skillvoucher.application.catalogue_views import MAX_PAGE, CourseFilter, search_courses
from skillvoucher.application.regions_import import region_list
from skillvoucher.domain.catalogue import CourseMode, SkillLevel
from skillvoucher.domain.regions import RegionLevel

router = APIRouter(prefix="/api/v1", tags=["catalogue"])


class RegionOut(BaseModel):
    code: str
    name: str
    level: RegionLevel
    parent_code: str | None


class CourseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    course_id: uuid.UUID
    course_code: str
    name: str
    occupation_code: str
    occupation_name: str
    skill_level: SkillLevel
    mode: CourseMode
    hours: int
    price_fen: int
    capacity: int
    seats_taken: int
    start_date: date
    end_date: date
    region_code: str
    institution_credit_code: str
    institution_name: str


class CoursePage(BaseModel):
    items: list[CourseOut]
    next_cursor: str | None


@router.get("/regions", response_model=list[RegionOut])
def list_regions(ctx: Context) -> list[RegionOut]:
    """Every GB/T 2260 region known to this deployment."""
    return [RegionOut.model_validate(r, from_attributes=True) for r in region_list(ctx)]


@router.get("/courses", response_model=CoursePage)
def list_courses(
    ctx: Context,
    region: Annotated[
        str | None, Query(pattern=r"^\d{6}$", description="Within this region.")
    ] = None,
    occupation: Annotated[str | None, Query(pattern=r"^\d-\d{2}-\d{2}-\d{2}$")] = None,
    level: SkillLevel | None = None,
    mode: CourseMode | None = None,
    max_price_fen: Annotated[int | None, Query(ge=0)] = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> CoursePage:
    """Courses of approved institutions, in a stable order; follow `next_cursor` for more."""
    page = search_courses(
        ctx, CourseFilter(region, occupation, level, mode, max_price_fen), cursor, limit
    )
    return CoursePage(
        items=[CourseOut.model_validate(c) for c in page.items], next_cursor=page.next_cursor
    )
