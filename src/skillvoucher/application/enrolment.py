"""Enrolment: the holder consents, the institution enrols, and the voucher is bound to a course."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from skillvoucher.application.context import AppContext
from skillvoucher.application.enrolment_rules import (
    CONSENT_INVALID,
    ONCE_PER_OCCUPATION,
    consent_digest,
    course_facts,
    course_full,
    course_refusal,
    new_consent_code,
)
from skillvoucher.application.scheme_files import rules_of
from skillvoucher.domain.errors import (
    AlreadyEnrolled,
    ConsentInvalid,
    CourseNotUsable,
    IllegalTransition,
    NotFound,
    VoucherExpired,
    VoucherNotUsable,
)
from skillvoucher.domain.ids import new_id
from skillvoucher.domain.schemes import redeemable_fen
from skillvoucher.domain.vouchers import EnrolmentStatus, VoucherEvent, VoucherStatus, next_status
from skillvoucher.persistence.tables import Course, Enrolment, Institution, Person, Scheme, Voucher
from skillvoucher.persistence.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class ConsentGrant:
    voucher_id: uuid.UUID
    code: str
    expires_at: datetime


@dataclass(frozen=True)
class EnrolmentReceipt:
    voucher_id: uuid.UUID
    enrolment_id: uuid.UUID
    course_code: str
    voucher_pays_fen: int
    holder_pays_fen: int


def _voucher(uow: UnitOfWork, voucher_id: uuid.UUID) -> Voucher:
    voucher = uow.vouchers.get(voucher_id)
    if voucher is None:
        raise NotFound(f"voucher {voucher_id} is not known")
    return voucher


def grant_consent(ctx: AppContext, voucher_id: uuid.UUID) -> ConsentGrant:
    """What the holder's e-SSC app does: a six-digit code, valid for a few minutes, used once.

    Only its keyed digest is stored, so a copy of the database does not reveal live codes.
    """
    now = ctx.clock()
    expires_at = now + timedelta(minutes=ctx.settings.consent_code_minutes)
    with ctx.unit_of_work() as uow:
        voucher = _voucher(uow, voucher_id)
        if voucher.status is not VoucherStatus.ISSUED:
            raise VoucherNotUsable(f"voucher {voucher_id} is {voucher.status.value}")
        code, row = new_consent_code(ctx, voucher_id, voucher.province_code, now, expires_at)
        uow.vouchers.add_consent_code(row)
        uow.audit.record(
            at=now,
            actor=ctx.actor,  # the holder, signed in (or the operator at the CLI)
            action="voucher.consent_granted",
            entity_type="voucher",
            entity_id=voucher_id,
            region_code=voucher.region_code,
            payload={"expires_at": expires_at.isoformat()},
        )
        uow.commit()
    return ConsentGrant(voucher_id, code, expires_at)


def enrol(
    ctx: AppContext,
    voucher_id: uuid.UUID,
    institution_credit_code: str,
    course_code: str,
    consent_code: str,
) -> EnrolmentReceipt:
    """Bind an issued voucher to a course, once, whatever the concurrency.

    Every check happens first; then a conditional UPDATE moves the voucher from issued to
    enrolled, so of many simultaneous attempts exactly one succeeds and the rest roll back.
    """
    with ctx.unit_of_work() as uow:
        receipt = enrol_within(
            ctx, uow, voucher_id, institution_credit_code, course_code, consent_code
        )
        uow.commit()
    return receipt


def enrol_within(
    ctx: AppContext,
    uow: UnitOfWork,
    voucher_id: uuid.UUID,
    institution_credit_code: str,
    course_code: str,
    consent_code: str,
) -> EnrolmentReceipt:
    """``enrol`` inside the caller's unit of work (``enrolment_batches``); the caller commits."""
    now = ctx.clock()
    voucher = _voucher(uow, voucher_id)
    _, scheme = lock_holder(uow, voucher)
    check_enrollable(voucher, now)
    institution = uow.catalogue.institution_by_code(institution_credit_code)
    if institution is None:
        raise NotFound(f"institution {institution_credit_code} is not known")
    course = uow.catalogue.course_by_code(institution.id, course_code)
    if course is None:
        raise NotFound(f"course {course_code} of {institution_credit_code} is not known")
    return enrol_locked(ctx, uow, voucher, scheme, course, institution, consent_code, now).receipt


def lock_holder(uow: UnitOfWork, voucher: Voucher) -> tuple[Person, Scheme]:
    """Serialise each holder's enrolments: the once-per-occupation check reads the holder's
    enrolments and then writes one, which is only safe one at a time. The voucher is read
    again under the lock (with its scheme), so a loser of a race sees the winner's
    enrolment."""
    holder = uow.people.lock(voucher.person_id)
    assert holder is not None  # people are never deleted (decision 19)
    _, scheme = uow.vouchers.fresh_with_scheme(voucher.id)
    return holder, scheme


def check_enrollable(voucher: Voucher, now: datetime) -> None:
    """An issued voucher, still valid, or why not."""
    if voucher.status is not VoucherStatus.ISSUED:
        if voucher.status in (VoucherStatus.ENROLLED, VoucherStatus.IN_TRAINING):
            raise AlreadyEnrolled(f"voucher {voucher.id} is already enrolled")
        raise VoucherNotUsable(f"voucher {voucher.id} is {voucher.status.value}")
    if voucher.valid_until < now:
        raise VoucherExpired(f"voucher {voucher.id} expired on {voucher.valid_until:%Y-%m-%d}")


@dataclass(frozen=True)
class Enrolled:
    receipt: EnrolmentReceipt
    enrolment: Enrolment
    voucher_status: VoucherStatus


def enrol_locked(
    ctx: AppContext,
    uow: UnitOfWork,
    voucher: Voucher,
    scheme: Scheme,
    course: Course,
    institution: Institution,
    consent_code: str,
    now: datetime,
) -> Enrolled:
    """``enrol`` in the caller's unit of work, the holder locked (``lock_holder``) and the
    course and its institution found; the caller commits."""
    voucher_id = voucher.id
    check_enrollable(voucher, now)
    rules = rules_of(scheme.rules)
    facts = course_facts(course, institution)
    refusal = course_refusal(rules, facts, course, now)
    if refusal is not None:
        raise refusal
    if rules.eligibility.once_per_occupation_level and uow.vouchers.has_trained_in(
        voucher.person_id, course.occupation_code, course.skill_level, other_than=voucher_id
    ):
        raise CourseNotUsable(ONCE_PER_OCCUPATION)
    target = next_status(voucher.status, VoucherEvent.ENROL)
    paid_by_voucher = redeemable_fen(rules, facts)
    if not uow.vouchers.transition(
        voucher_id,
        [VoucherStatus.ISSUED],
        target,
        course_id=course.id,
        institution_id=institution.id,
        redeemable_fen=paid_by_voucher,
        enrolled_at=now,
    ):
        raise AlreadyEnrolled(f"voucher {voucher_id} was enrolled by someone else just now")
    if not uow.vouchers.use_consent_code(
        voucher_id, consent_digest(ctx, voucher_id, consent_code), now
    ):
        raise ConsentInvalid(CONSENT_INVALID)
    if not uow.catalogue.take_seat(course.id):
        # The seat is taken only while the course is approved: a refusal committed since
        # the check above lands here too.
        raise course_full(course)
    enrolment = Enrolment(
        id=new_id(),
        voucher_id=voucher_id,
        course_id=course.id,
        institution_id=institution.id,
        person_id=voucher.person_id,
        region_code=voucher.region_code,
        province_code=voucher.province_code,
        occupation_code=course.occupation_code,
        skill_level=course.skill_level,
        status=EnrolmentStatus.ACTIVE,
        redeemable_fen=paid_by_voucher,
        attended_minutes=0,
        enrolled_at=now,
        ended_at=None,
    )
    uow.vouchers.add_enrolment(enrolment)
    uow.audit.record(
        at=now,
        actor=ctx.actor,
        action="voucher.enrolled",
        entity_type="voucher",
        entity_id=voucher_id,
        region_code=voucher.region_code,
        payload={
            "institution": institution.credit_code,
            "course": course.course_code,
            "voucher_pays_fen": paid_by_voucher,
        },
    )
    receipt = EnrolmentReceipt(
        voucher_id,
        enrolment.id,
        course.course_code,
        paid_by_voucher,
        course.price_fen - paid_by_voucher,
    )
    return Enrolled(receipt, enrolment, target)


def cancel_enrolment(
    ctx: AppContext, voucher_id: uuid.UUID, reason: str, enrolment_id: uuid.UUID | None = None
) -> None:
    """Undo an enrolment before training starts; the voucher is issued again if still valid.

    With ``enrolment_id``, only that enrolment: a caller who looked it up before this
    transaction never cancels a newer one that replaced it meanwhile."""
    with ctx.unit_of_work() as uow:
        cancel_enrolment_within(ctx, uow, voucher_id, reason, enrolment_id)
        uow.commit()


def cancel_enrolment_within(
    ctx: AppContext,
    uow: UnitOfWork,
    voucher_id: uuid.UUID,
    reason: str,
    enrolment_id: uuid.UUID | None = None,
) -> None:
    """``cancel_enrolment`` inside the caller's unit of work (an upheld dispute's)."""
    now = ctx.clock()
    voucher = _voucher(uow, voucher_id)
    target = next_status(voucher.status, VoucherEvent.CANCEL_ENROLMENT)
    if voucher.valid_until < now:
        raise VoucherExpired(f"voucher {voucher_id} has expired; it cannot go back to issued")
    enrolment = uow.vouchers.active_enrolment(voucher_id)
    if enrolment_id is not None and (enrolment is None or enrolment.id != enrolment_id):
        raise IllegalTransition(f"enrolment {enrolment_id} is no longer the live one")
    if enrolment is None or uow.settlement.settled_stages([voucher_id]):
        raise IllegalTransition("this enrolment has settlement records and cannot be cancelled")
    if not uow.vouchers.transition(
        voucher_id,
        [VoucherStatus.ENROLLED],
        target,
        course_id=None,
        institution_id=None,
        redeemable_fen=None,
        enrolled_at=None,
    ):
        raise IllegalTransition(f"voucher {voucher_id} changed meanwhile; try again")
    uow.vouchers.cancel_enrolment(enrolment.id, now)
    uow.catalogue.free_seat(enrolment.course_id)
    uow.audit.record(
        at=now,
        actor=ctx.actor,
        action="voucher.enrolment_cancelled",
        entity_type="voucher",
        entity_id=voucher_id,
        region_code=voucher.region_code,
        payload={"reason": reason},
    )
