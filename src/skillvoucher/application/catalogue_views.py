"""The approved catalogue as people browse it: courses with their institution, page by page."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from skillvoucher.application.context import AppContext
from skillvoucher.application.paging import Page, check_limit, cursor_id, page_of
from skillvoucher.domain.catalogue import CourseMode, DeliveryModes, SkillLevel
from skillvoucher.domain.errors import NotFound
from skillvoucher.domain.regions import code_prefix, validate_region_code
from skillvoucher.domain.schemes import UsableCourses


@dataclass(frozen=True)
class CourseFilter:
    region_code: str | None = None  # a province, city or county: courses within it
    occupation_code: str | None = None
    skill_level: SkillLevel | None = None
    mode: CourseMode | None = None
    max_price_fen: int | None = None
    usable_with: UsableCourses | None = None  # only courses this voucher's scheme pays for


@dataclass(frozen=True)
class CourseView:
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


def search_courses(
    ctx: AppContext, filters: CourseFilter, cursor: str | None, limit: int
) -> Page[CourseView]:
    check_limit(limit)
    with ctx.unit_of_work() as uow:
        found = uow.catalogue.search_courses(
            region_prefix=(
                code_prefix(validate_region_code(filters.region_code))
                if filters.region_code
                else None
            ),
            occupation_code=filters.occupation_code,
            skill_level=filters.skill_level,
            mode=filters.mode,
            max_price_fen=filters.max_price_fen,
            usable=filters.usable_with,
            after=cursor_id(cursor),
            limit=limit + 1,  # one more tells whether another page exists
        )
    items = [
        CourseView(
            course_id=c.id,
            course_code=c.course_code,
            name=c.name,
            occupation_code=c.occupation_code,
            occupation_name=c.occupation_name,
            skill_level=c.skill_level,
            mode=c.mode,
            hours=c.hours,
            price_fen=c.price_fen,
            capacity=c.capacity,
            seats_taken=c.enrolled_count,
            start_date=c.start_date,
            end_date=c.end_date,
            region_code=c.region_code,
            institution_credit_code=i.credit_code,
            institution_name=i.name,
        )
        for c, i in found
    ]
    return page_of(items, limit, lambda course: course.course_id)


def institution_id_by_code(ctx: AppContext, credit_code: str) -> uuid.UUID:
    """The id of the institution with this unified social credit code, or NotFound."""
    with ctx.unit_of_work() as uow:
        institution = uow.catalogue.institution_by_code(credit_code.strip().upper())
        if institution is None:
            raise NotFound(f"no institution with credit code {credit_code.strip()}")
        return institution.id


@dataclass(frozen=True)
class InstitutionView:
    institution_id: uuid.UUID
    credit_code: str
    name: str
    region_code: str
    delivery_modes: DeliveryModes


def approved_institutions(
    ctx: AppContext, region_code: str | None, cursor: str | None, limit: int
) -> Page[InstitutionView]:
    """The approved training institutions (public), within a region if one is named."""
    check_limit(limit)
    prefix = code_prefix(validate_region_code(region_code)) if region_code else None
    with ctx.unit_of_work() as uow:
        found = uow.catalogue.approved_institutions(
            region_prefix=prefix, after=cursor_id(cursor), limit=limit + 1
        )
    items = [
        InstitutionView(
            institution_id=i.id,
            credit_code=i.credit_code,
            name=i.name,
            region_code=i.region_code,
            delivery_modes=i.delivery_modes,
        )
        for i in found
    ]
    return page_of(items, limit, lambda institution: institution.institution_id)
