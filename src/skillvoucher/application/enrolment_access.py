"""Enrolments as a signed-in caller makes and sees them: a holder enrols their own voucher, an
institution enrols a consenting holder on its own courses, administrators see their region.

These wrap the unscoped use cases of ``enrolment``: a scoped lookup first (a row outside the
caller's scope is "not known", word for word as a missing one), then the use case itself.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from skillvoucher.application.context import AppContext
from skillvoucher.application.enrolment import cancel_enrolment, enrol_locked, lock_holder
from skillvoucher.application.paging import Page, check_limit, cursor_id, page_of
from skillvoucher.application.rate_limits import CONSENT_TRIES_PER_VOUCHER
from skillvoucher.domain.access import Permission, Principal, Scope
from skillvoucher.domain.catalogue import SkillLevel
from skillvoucher.domain.errors import IllegalTransition, InvalidInput, NotFound
from skillvoucher.domain.settlement import attendance_percent
from skillvoucher.domain.vouchers import EnrolmentStatus, VoucherStatus
from skillvoucher.persistence.repositories.enrolment_access import EnrolmentAccess, EnrolmentRecord
from skillvoucher.persistence.tables import Person, Scheme, Voucher


@dataclass(frozen=True)
class CourseChoice:
    """A course by its id, or by its code at an institution (an institution's own by default)."""

    course_id: uuid.UUID | None = None
    institution_code: str | None = None
    course_code: str | None = None


@dataclass(frozen=True)
class EnrolledCourse:
    course_id: uuid.UUID
    course_code: str
    name: str
    occupation_code: str
    skill_level: SkillLevel
    hours: int
    price_fen: int


@dataclass(frozen=True)
class EnrollingInstitution:
    credit_code: str
    name: str
    region_code: str


@dataclass(frozen=True)
class EnrolmentView:
    enrolment_id: uuid.UUID
    voucher_id: uuid.UUID
    status: EnrolmentStatus
    voucher_status: VoucherStatus
    region_code: str
    holder_name: str
    holder_id_masked: str
    """Masked when stored; the full number is never in the database."""
    course: EnrolledCourse
    institution: EnrollingInstitution
    voucher_pays_fen: int
    holder_pays_fen: int
    attended_minutes: int
    attendance_percent: int
    enrolled_at: datetime
    ended_at: datetime | None


def view_of(record: EnrolmentRecord) -> EnrolmentView:
    e, c, i, p, v = (
        record.enrolment,
        record.course,
        record.institution,
        record.holder,
        record.voucher,
    )
    return EnrolmentView(
        enrolment_id=e.id,
        voucher_id=e.voucher_id,
        status=e.status,
        voucher_status=v.status,
        region_code=e.region_code,
        holder_name=p.name,
        holder_id_masked=p.id_masked,
        course=EnrolledCourse(
            c.id, c.course_code, c.name, c.occupation_code, c.skill_level, c.hours, c.price_fen
        ),
        institution=EnrollingInstitution(i.credit_code, i.name, i.region_code),
        voucher_pays_fen=e.redeemable_fen,
        holder_pays_fen=c.price_fen - e.redeemable_fen,
        attended_minutes=e.attended_minutes,
        attendance_percent=attendance_percent(e.attended_minutes, c.hours),
        enrolled_at=e.enrolled_at,
        ended_at=e.ended_at,
    )


def _voucher_scope(principal: Principal) -> Scope:
    # An institution cannot see a voucher before it is enrolled there: the holder's consent
    # code, checked by ``enrol``, is what entitles it to enrol one.
    return Scope() if principal.scope.institution_id is not None else principal.scope


def _course_scope(principal: Principal) -> Scope:
    # A holder may choose any course of the public catalogue; an institution only its own.
    return Scope() if principal.scope.person_id is not None else principal.scope


def _own_vouchers_only(principal: Principal) -> uuid.UUID | None:
    """The holder whose vouchers are all that ``principal`` may see (a worker), or None."""
    person_id = principal.scope.person_id
    if person_id is None or principal.scope != Scope(person_id=person_id):
        return None
    return person_id


def enrol_as(
    ctx: AppContext,
    principal: Principal,
    voucher_id: uuid.UUID,
    choice: CourseChoice,
    consent_code: str,
) -> EnrolmentView:
    """Enrol ``voucher_id`` on the chosen course with the holder's consent code."""
    principal.require(Permission.ENROLMENT_CREATE)
    own_institution = principal.scope.institution_id is not None
    if choice.course_id is None and (
        choice.course_code is None or (choice.institution_code is None and not own_institution)
    ):
        raise InvalidInput("name the course by course_id, or by institution_code and course_code")
    now = ctx.clock()
    # One transaction: what the caller may see, then the enrolment, then its view from the
    # rows in hand (the enrolment, its course and institution, the holder locked for it).
    with ctx.unit_of_work() as uow:
        access = EnrolmentAccess(uow.session)

        def visible_voucher() -> Voucher:
            voucher = access.voucher(_voucher_scope(principal), voucher_id)
            if voucher is None:
                raise NotFound(f"voucher {voucher_id} is not known")
            return voucher

        # What the caller may know is checked first: an institution its own courses (it may not
        # learn whether another's voucher exists), a worker their own vouchers.
        holder_id = _own_vouchers_only(principal)
        locked: tuple[Person, Scheme] | None = None
        if holder_id is not None:
            # A holder enrols their own voucher: their row is locked first (as ``lock_holder``
            # does), then the voucher is read under the lock, with its scheme, only if it is
            # theirs. One read where there were two (a scoped one, then a fresh one).
            holder_row = uow.people.lock(holder_id)
            own = uow.vouchers.holders_own_with_scheme(voucher_id, holder_id)
            if holder_row is None or own is None:
                raise NotFound(f"voucher {voucher_id} is not known")
            voucher: Voucher | None = own[0]
            locked = (holder_row, own[1])
        else:
            voucher = None if own_institution else visible_voucher()
        found = access.course(
            _course_scope(principal),
            course_id=choice.course_id,
            institution_code=choice.institution_code,
            course_code=choice.course_code,
        )
        if found is None:
            named = choice.course_id or f"{choice.course_code} of {choice.institution_code or '-'}"
            raise NotFound(f"course {named} is not known")
        if voucher is None:
            voucher = visible_voucher()
        course, institution = found
        # Counted once the caller may see the voucher and course: a consent code is what is
        # guessed.
        ctx.rate_limiter.check(CONSENT_TRIES_PER_VOUCHER, str(voucher_id))
        holder, scheme = locked or lock_holder(uow, voucher)
        enrolled = enrol_locked(ctx, uow, voucher, scheme, course, institution, consent_code, now)
        uow.commit()
    record = EnrolmentRecord(enrolled.enrolment, course, institution, holder, voucher)
    return replace(view_of(record), voucher_status=enrolled.voucher_status)


def enrolment_view(ctx: AppContext, principal: Principal, enrolment_id: uuid.UUID) -> EnrolmentView:
    principal.require(Permission.ENROLMENT_READ)
    return _view(ctx, principal, enrolment_id)


def _view(ctx: AppContext, principal: Principal, enrolment_id: uuid.UUID) -> EnrolmentView:
    # Also the answer to a change: a key allowed to enrol or cancel sees what it did, even
    # without enrolment:read.
    with ctx.unit_of_work() as uow:
        record = EnrolmentAccess(uow.session).record(principal.scope, enrolment_id)
        if record is None:
            raise NotFound(f"enrolment {enrolment_id} is not known")
        return view_of(record)


def live_enrolment(
    ctx: AppContext, principal: Principal, enrolment_id: uuid.UUID
) -> EnrolmentRecord:
    """The caller's visible, not cancelled enrolment, or NotFound / IllegalTransition.

    The use case that follows acts in its own transaction and is given the enrolment (or its
    institution) to check again there, so a cancellation and re-enrolment elsewhere between the
    two makes it refuse rather than act on the newer enrolment.
    """
    with ctx.unit_of_work() as uow:
        record = EnrolmentAccess(uow.session).record(principal.scope, enrolment_id)
    if record is None:
        raise NotFound(f"enrolment {enrolment_id} is not known")
    if record.enrolment.status is not EnrolmentStatus.ACTIVE:
        raise IllegalTransition(f"enrolment {enrolment_id} was cancelled")
    return record


def cancel_as(
    ctx: AppContext, principal: Principal, enrolment_id: uuid.UUID, reason: str
) -> EnrolmentView:
    """Cancel an enrolment before training starts: an institution its own, an administrator
    one in their region. The voucher is issued again if still valid."""
    principal.require(Permission.ENROLMENT_CANCEL)
    record = live_enrolment(ctx, principal, enrolment_id)
    cancel_enrolment(ctx, record.enrolment.voucher_id, reason, enrolment_id=enrolment_id)
    return _view(ctx, principal, enrolment_id)


def list_enrolments(
    ctx: AppContext,
    principal: Principal,
    *,
    status: EnrolmentStatus | None = None,
    course_id: uuid.UUID | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[EnrolmentView]:
    """The enrolments the caller may see, oldest first: a worker's own, an institution's own,
    an administrator's region."""
    principal.require(Permission.ENROLMENT_READ)
    check_limit(limit)
    with ctx.unit_of_work() as uow:
        found = EnrolmentAccess(uow.session).search(
            principal.scope,
            status=status,
            course_id=course_id,
            after=cursor_id(cursor),
            limit=limit + 1,
        )
        views = [view_of(r) for r in found]
    return page_of(views, limit, lambda v: v.enrolment_id)
