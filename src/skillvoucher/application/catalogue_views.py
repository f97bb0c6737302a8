"""The approved catalogue as people browse it: courses with their institution, page by page."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from skillvoucher.application.context import AppContext
from skillvoucher.domain.catalogue import CourseMode, SkillLevel
from skillvoucher.domain.errors import InvalidInput, NotFound
from skillvoucher.domain.regions import code_prefix, validate_region_code

MAX_PAGE = 200


@dataclass(frozen=True)
class CourseFilter:
    region_code: str | None = None  # a province, city or county: courses within it
    occupation_code: str | None = None
    skill_level: SkillLevel | None = None
    mode: CourseMode | None = None
    max_price_fen: int | None = None


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


@dataclass(frozen=True)
class Page:
    items: list[CourseView]
    next_cursor: str | None  # give it back to get the next page; None on the last page


def _after(cursor: str | None) -> uuid.UUID | None:
    if not cursor:
        return None
    try:
        return uuid.UUID(cursor)
    except ValueError:
        raise InvalidInput("the cursor is not one this service gave out") from None


def search_courses(ctx: AppContext, filters: CourseFilter, cursor: str | None, limit: int) -> Page:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
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
            after=_after(cursor),
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
        for c, i in found[:limit]
    ]
    more = len(found) > limit
    return Page(items, str(items[-1].course_id) if more and items else None)


def institution_id_by_code(ctx: AppContext, credit_code: str) -> uuid.UUID:
    """The id of the institution with this unified social credit code, or NotFound."""
    with ctx.unit_of_work() as uow:
        institution = uow.catalogue.institution_by_code(credit_code.strip().upper())
        if institution is None:
            raise NotFound(f"no institution with credit code {credit_code.strip()}")
        return institution.id
