"""The worker portal's use cases: a signed-in holder's vouchers with their QR codes, the courses
each voucher can pay for (with what it covers, what the holder pays and how the institution
does), asking to enrol (a consent code) and the holder's training.

Everything here is the holder's own: the person id comes from the caller's scope, never from
the request, and a voucher of someone else answers as a missing one does.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from skillvoucher.application.catalogue_views import CourseFilter, CourseView, search_courses
from skillvoucher.application.context import AppContext
from skillvoucher.application.enrolment import ConsentGrant
from skillvoucher.application.paging import MAX_PAGE
from skillvoucher.application.scheme_files import rules_of
from skillvoucher.application.voucher_access import (
    QrFormat,
    consent_for,
    usable_courses_for,
    voucher_details_for,
    voucher_qr_for,
)
from skillvoucher.application.voucher_views import VoucherDetails
from skillvoucher.domain.access import AccessDenied, Permission, Principal
from skillvoucher.domain.catalogue import CourseMode, SkillLevel
from skillvoucher.domain.errors import CourseNotUsable, NotFound
from skillvoucher.domain.regions import RegionLevel, region_level
from skillvoucher.domain.schemes import SchemeRules
from skillvoucher.domain.settlement import attendance_percent
from skillvoucher.domain.timekeeping import local_date
from skillvoucher.domain.vouchers import VoucherStatus
from skillvoucher.persistence.read_models.worker_portal import (
    HeldVoucher,
    InstitutionFigures,
    TrainingRow,
    held_vouchers,
    household_region,
    institution_figures,
    training_of,
)

# One page of courses: enough to choose from on a phone; "more" follows the cursor.
COURSES_PER_PAGE = 20
_SVG_SIZE = re.compile(r'width="(\d+)" height="(\d+)"')


def holder_of(principal: Principal) -> uuid.UUID:
    """The signed-in worker's person id; only a worker has vouchers of their own."""
    principal.require(Permission.VOUCHER_READ_OWN)
    if principal.scope.person_id is None:
        raise AccessDenied("only a signed-in worker holds vouchers of their own")
    return principal.scope.person_id


def _scalable_svg(document: str) -> str:
    """The QR SVG for inline use: without the XML declaration, and with a viewBox in place of
    a fixed size, so that the page's CSS can size it to the screen."""
    svg = document[document.index("<svg") :]
    return _SVG_SIZE.sub(r'viewBox="0 0 \1 \2"', svg, count=1)


def qr_markup(ctx: AppContext, principal: Principal, voucher_id: uuid.UUID) -> str:
    image = voucher_qr_for(ctx, principal, voucher_id, QrFormat.SVG, 4)
    return _scalable_svg(image.content.decode("utf-8"))


@dataclass(frozen=True)
class WorkerVoucher:
    voucher: HeldVoucher
    remaining_fen: int
    """What the voucher can still pay for a course: its face value while it is issued and
    valid, nothing once it is bound to a course or closed."""
    usable: bool
    qr_svg: str | None


def _is_usable(voucher: HeldVoucher, now: datetime) -> bool:
    return voucher.status is VoucherStatus.ISSUED and voucher.valid_until > now


def my_vouchers(
    ctx: AppContext, principal: Principal, *, with_qr: bool = True
) -> list[WorkerVoucher]:
    """The holder's vouchers, newest first, each with its QR code when it has a credential."""
    person_id = holder_of(principal)
    now = ctx.clock()
    with ctx.unit_of_work() as uow:
        held = held_vouchers(uow.session, person_id)
    return [
        WorkerVoucher(
            voucher=v,
            remaining_fen=v.face_value_fen if _is_usable(v, now) else 0,
            usable=_is_usable(v, now),
            qr_svg=qr_markup(ctx, principal, v.voucher_id) if with_qr and _has_code(v) else None,
        )
        for v in held
    ]


def _has_code(voucher: HeldVoucher) -> bool:
    # Only an open voucher is worth showing at an institution.
    return voucher.status not in (VoucherStatus.EXPIRED, VoucherStatus.REVOKED)


@dataclass(frozen=True)
class VoucherCard:
    details: VoucherDetails
    qr_svg: str | None


def voucher_card(ctx: AppContext, principal: Principal, voucher_id: uuid.UUID) -> VoucherCard:
    """One of the holder's vouchers with its big QR code and credential text."""
    holder_of(principal)
    details = voucher_details_for(ctx, principal, voucher_id)
    qr = qr_markup(ctx, principal, voucher_id) if details.credential else None
    return VoucherCard(details, qr)


@dataclass(frozen=True)
class CourseSearch:
    occupation_code: str | None = None
    skill_level: SkillLevel | None = None
    mode: CourseMode | None = None


@dataclass(frozen=True)
class Place:
    region_code: str
    region_name: str
    city_name: str
    same_city: bool
    """In the holder's household city."""


@dataclass(frozen=True)
class CourseOffer:
    course: CourseView
    voucher_pays_fen: int
    holder_pays_fen: int
    place: Place
    figures: InstitutionFigures


@dataclass(frozen=True)
class OfferPage:
    items: list[CourseOffer]
    next_cursor: str | None


def _voucher_pays(rules: SchemeRules, course: CourseView) -> int:
    face = rules.face_value.for_level(course.skill_level)
    return 0 if face is None else min(face, course.price_fen)


def _rules_of_held(ctx: AppContext, principal: Principal, voucher_id: uuid.UUID) -> SchemeRules:
    with ctx.unit_of_work() as uow:
        for held in held_vouchers(uow.session, holder_of(principal)):
            if held.voucher_id == voucher_id:
                return rules_of(held.scheme_rules)
    raise NotFound(f"voucher {voucher_id} is not known")


def _city_code(region_code: str) -> str:
    # A province-level institution has no city; it stands for itself.
    if region_level(region_code) is RegionLevel.PROVINCE:
        return region_code
    return region_code[:4] + "00"


def course_offers(
    ctx: AppContext,
    principal: Principal,
    voucher_id: uuid.UUID,
    search: CourseSearch,
    cursor: str | None = None,
) -> OfferPage:
    """Courses the voucher can pay for, matching ``search``, each with what the voucher pays,
    what the holder pays, where the institution is and how it does."""
    person_id = holder_of(principal)
    rules = _rules_of_held(ctx, principal, voucher_id)
    usable = usable_courses_for(ctx, principal, voucher_id)
    filters = CourseFilter(
        occupation_code=search.occupation_code,
        skill_level=search.skill_level,
        mode=search.mode,
        usable_with=usable,
    )
    page = search_courses(ctx, filters, cursor, COURSES_PER_PAGE)
    with ctx.unit_of_work() as uow:
        home = household_region(uow.session, person_id) or ""
        figures = institution_figures(uow.session, {c.institution_credit_code for c in page.items})
        codes = {f.region_code for f in figures.values()}
        codes |= {_city_code(code) for code in codes}
        names = {
            code: (region.name if (region := uow.regions.get(code)) else code) for code in codes
        }
    today = local_date(ctx.clock())
    offers = []
    for course in page.items:
        if course.end_date < today:
            continue  # enrolment refuses a course that has ended; never offer one
        figure = figures[course.institution_credit_code]
        city = _city_code(figure.region_code)
        pays = _voucher_pays(rules, course)
        offers.append(
            CourseOffer(
                course=course,
                voucher_pays_fen=pays,
                holder_pays_fen=course.price_fen - pays,
                place=Place(
                    figure.region_code,
                    names[figure.region_code],
                    names[city],
                    bool(home) and _city_code(home) == city,
                ),
                figures=figure,
            )
        )
    return OfferPage(offers, page.next_cursor)


def course_offer(
    ctx: AppContext, principal: Principal, voucher_id: uuid.UUID, course_id: uuid.UUID
) -> CourseOffer:
    """One course the voucher can pay for; CourseNotUsable if it cannot pay for it."""
    with ctx.unit_of_work() as uow:
        course = uow.catalogue.course(course_id)
        if course is None:
            raise NotFound(f"course {course_id} is not known")
        search = CourseSearch(course.occupation_code, course.skill_level, course.mode)
    cursor: str | None = None
    while True:  # a handful of pages at most: the search is already narrowed to this course's kind
        page = course_offers(ctx, principal, voucher_id, search, cursor)
        for offer in page.items:
            if offer.course.course_id == course_id:
                if offer.course.seats_taken >= offer.course.capacity:
                    raise CourseNotUsable(f"course {offer.course.course_code} is full")
                return offer
        if page.next_cursor is None:
            raise CourseNotUsable(f"voucher {voucher_id} cannot pay for course {course_id}")
        cursor = page.next_cursor


def usable_occupations(
    ctx: AppContext, principal: Principal, voucher_id: uuid.UUID
) -> list[tuple[str, str]]:
    """The occupations (code, name) of the courses the voucher can pay for: the filter's
    choices."""
    usable = usable_courses_for(ctx, principal, voucher_id)
    page = search_courses(ctx, CourseFilter(usable_with=usable), None, MAX_PAGE)
    return sorted({(c.occupation_code, c.occupation_name) for c in page.items})


@dataclass(frozen=True)
class ConsentRequest:
    grant: ConsentGrant
    offer: CourseOffer


def ask_to_enrol(
    ctx: AppContext, principal: Principal, voucher_id: uuid.UUID, course_id: uuid.UUID
) -> ConsentRequest:
    """The holder asks to enrol on a course: a one-time consent code for that voucher, to give
    the institution. ``ctx`` names the holder as the actor in the audit trail."""
    offer = course_offer(ctx, principal, voucher_id, course_id)
    return ConsentRequest(consent_for(ctx, principal, voucher_id), offer)


@dataclass(frozen=True)
class TrainingView:
    row: TrainingRow
    required_minutes: int
    """The attendance the scheme requires for completion (its minimum share of the hours)."""
    min_attendance_percent: int
    attendance_percent: int
    may_rate: bool


def my_training(ctx: AppContext, principal: Principal) -> list[TrainingView]:
    """The holder's enrolments, newest first, with attendance against what is required."""
    person_id = holder_of(principal)
    with ctx.unit_of_work() as uow:
        rows = training_of(uow.session, person_id)
    views = []
    for row in rows:
        minimum = rules_of(row.scheme_rules).min_attendance_percent
        hours_minutes = row.course_hours * 60
        views.append(
            TrainingView(
                row=row,
                required_minutes=-(-hours_minutes * minimum // 100),
                min_attendance_percent=minimum,
                attendance_percent=attendance_percent(row.attended_minutes, row.course_hours),
                may_rate=row.completed_at is not None and row.rating is None,
            )
        )
    return views
