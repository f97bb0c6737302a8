"""Read one voucher with everything a holder, an institution or an administrator asks about it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from skillvoucher.application.context import AppContext
from skillvoucher.application.voucher_codes import voucher_code
from skillvoucher.domain.catalogue import SkillLevel
from skillvoucher.domain.errors import NotFound
from skillvoucher.domain.identity import mask_mobile
from skillvoucher.domain.settlement import attendance_percent
from skillvoucher.domain.vouchers import VoucherStatus


@dataclass(frozen=True)
class CourseLine:
    institution_code: str
    institution_name: str
    course_code: str
    course_name: str
    hours: int
    price_fen: int


@dataclass(frozen=True)
class EnrolmentLine:
    enrolled_at: datetime
    attended_minutes: int
    attendance_percent: int
    voucher_pays_fen: int


@dataclass(frozen=True)
class VoucherDetails:
    voucher_id: uuid.UUID
    status: VoucherStatus
    scheme_code: str
    scheme_name: str
    region_code: str
    face_value_fen: int
    issued_at: datetime
    valid_until: datetime
    holder_id_masked: str
    """Masked when stored; the full number is never in the database."""
    holder_mobile_masked: str | None
    target_group: str | None
    key_id: str | None
    credential: str
    """The signed code, signed now if this is the first time it is shown."""
    course: CourseLine | None
    enrolment: EnrolmentLine | None
    completed_at: datetime | None
    certificate_no: str | None
    certificate_level: SkillLevel | None
    closed_at: datetime | None


def voucher_details(ctx: AppContext, voucher_id: uuid.UUID) -> VoucherDetails:
    # First, in a transaction of its own: a pushed voucher is signed when first shown.
    code = voucher_code(ctx, voucher_id)
    with ctx.unit_of_work() as uow:
        voucher = uow.vouchers.get(voucher_id)
        if voucher is None:
            raise NotFound(f"voucher {voucher_id} is not known")
        scheme = uow.schemes.get(voucher.scheme_id)
        person = uow.people.get(voucher.person_id)
        assert scheme is not None  # foreign key
        assert person is not None  # people are never deleted (decision 19)
        course_line = None
        course = uow.catalogue.course(voucher.course_id) if voucher.course_id else None
        if course is not None:
            institution = uow.catalogue.institution(course.institution_id)
            assert institution is not None
            course_line = CourseLine(
                institution.credit_code,
                institution.name,
                course.course_code,
                course.name,
                course.hours,
                course.price_fen,
            )
        enrolment_line = None
        enrolment = uow.vouchers.active_enrolment(voucher_id)
        if enrolment is not None and course is not None:
            enrolment_line = EnrolmentLine(
                enrolment.enrolled_at,
                enrolment.attended_minutes,
                attendance_percent(enrolment.attended_minutes, course.hours),
                enrolment.redeemable_fen,
            )
        return VoucherDetails(
            voucher_id=voucher.id,
            status=voucher.status,
            scheme_code=scheme.code,
            scheme_name=scheme.name,
            region_code=voucher.region_code,
            face_value_fen=voucher.face_value_fen,
            issued_at=voucher.issued_at,
            valid_until=voucher.valid_until,
            holder_id_masked=person.id_masked,
            holder_mobile_masked=mask_mobile(person.mobile) if person.mobile else None,
            target_group=voucher.target_group,
            key_id=voucher.key_id,
            credential=code,
            course=course_line,
            enrolment=enrolment_line,
            completed_at=voucher.completed_at,
            certificate_no=voucher.certificate_no,
            certificate_level=voucher.certificate_level,
            closed_at=voucher.closed_at,
        )
