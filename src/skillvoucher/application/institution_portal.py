"""What an institution's staff see when a holder shows a voucher, and their own courses.

A voucher code is checked in two steps, as at a counter without a network the first one alone
would be: the signature and validity dates against the region's public key, then the voucher's
status now in the ledger of record. The second step shows only what the person at the counter
needs to go on: the status, the value left, and the holder's name masked.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from skillvoucher.application.context import AppContext
from skillvoucher.credentials.tokens import VoucherClaims, verify_voucher
from skillvoucher.domain.access import Permission, Principal
from skillvoucher.domain.catalogue import CourseApproval, CourseMode, SkillLevel
from skillvoucher.domain.errors import CredentialError
from skillvoucher.domain.vouchers import VoucherStatus
from skillvoucher.persistence.tables import Course, Institution, Person, SettlementLine, Voucher

# The statuses in which a voucher still carries value for its institution to earn.
_HOLDING_VALUE = frozenset(
    {VoucherStatus.ENROLLED, VoucherStatus.IN_TRAINING, VoucherStatus.COMPLETED}
)


@dataclass(frozen=True)
class OnlineStatus:
    voucher_id: uuid.UUID
    status: VoucherStatus
    remaining_fen: int
    """Issued: the face value; enrolled: what is still to be settled; otherwise nothing."""
    holder_name_masked: str
    enrolled_here: bool
    enrolled_elsewhere: bool
    enrolment_id: uuid.UUID | None = None
    """The live enrolment, when it is at the caller's institution."""


@dataclass(frozen=True)
class CodeCheck:
    """Both steps of a check; the second is None when the first failed or the voucher is
    not held by this deployment (``unknown_here``)."""

    offline_error: CredentialError | None
    claims: VoucherClaims | None
    online: OnlineStatus | None
    unknown_here: bool = False


@dataclass(frozen=True)
class CourseOption:
    course_id: uuid.UUID
    course_code: str
    name: str
    skill_level: SkillLevel
    mode: CourseMode
    hours: int
    price_fen: int
    capacity: int
    seats_taken: int
    start_date: date
    end_date: date
    approved: bool
    """Only an approved course takes new enrolments; a refused one keeps its roster."""


def mask_name(name: str) -> str:
    """The first character and a star for each of the others: 王芳 -> 王*."""
    name = name.strip()
    return name[:1] + "*" * max(len(name) - 1, 1) if name else "*"


def check_voucher_code(ctx: AppContext, principal: Principal, code: str) -> CodeCheck:
    """The offline check of ``code`` (signature, validity dates) and, if it passes, the
    voucher's status now. Anyone who holds the code may learn this much; enrolling still
    needs the holder's consent code."""
    principal.require(Permission.ENROLMENT_CREATE)
    try:
        claims = verify_voucher(code.strip(), ctx.keys.verifying_keys(), ctx.clock())
    except CredentialError as error:
        return CodeCheck(error, None, None)
    try:
        voucher_id = uuid.UUID(claims.voucher_id)
    except ValueError:
        return CodeCheck(None, claims, None, unknown_here=True)
    with ctx.unit_of_work() as uow:
        voucher = uow.session.get(Voucher, voucher_id)
        if voucher is None:
            return CodeCheck(None, claims, None, unknown_here=True)
        holder = uow.session.get(Person, voucher.person_id)
        settled = uow.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(SettlementLine.amount_fen), 0)).where(
                SettlementLine.voucher_id == voucher_id, SettlementLine.withheld_at.is_(None)
            )
        )
        if voucher.status is VoucherStatus.ISSUED:
            remaining = voucher.face_value_fen
        elif voucher.status in _HOLDING_VALUE:
            remaining = max((voucher.redeemable_fen or 0) - int(settled or 0), 0)
        else:
            remaining = 0
        own = principal.scope.institution_id
        enrolled = voucher.institution_id is not None and voucher.status in _HOLDING_VALUE
        here = enrolled and voucher.institution_id == own
        live = uow.vouchers.active_enrolment(voucher_id) if here else None
        online = OnlineStatus(
            voucher_id=voucher.id,
            status=voucher.status,
            remaining_fen=remaining,
            holder_name_masked=mask_name(holder.name if holder else ""),
            enrolled_here=here,
            enrolled_elsewhere=enrolled and not here,
            enrolment_id=live.id if live is not None else None,
        )
    return CodeCheck(None, claims, online)


def own_courses(ctx: AppContext, principal: Principal) -> list[CourseOption]:
    """The courses of the principal's institution, by code; none for anyone else."""
    principal.require(Permission.ENROLMENT_READ)
    institution_id = principal.scope.institution_id
    if institution_id is None:
        return []
    with ctx.unit_of_work() as uow:
        rows = uow.session.scalars(
            sa.select(Course)
            .where(Course.institution_id == institution_id)
            .order_by(Course.course_code)
        )
        return [
            CourseOption(
                c.id,
                c.course_code,
                c.name,
                c.skill_level,
                c.mode,
                c.hours,
                c.price_fen,
                c.capacity,
                c.enrolled_count,
                c.start_date,
                c.end_date,
                c.approval_status is CourseApproval.APPROVED,
            )
            for c in rows
        ]


def own_institution_name(ctx: AppContext, principal: Principal) -> str:
    institution_id = principal.scope.institution_id
    if institution_id is None:
        return ""
    with ctx.unit_of_work() as uow:
        institution = uow.session.get(Institution, institution_id)
        return institution.name if institution else ""
