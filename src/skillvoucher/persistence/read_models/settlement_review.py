"""What a reviewer reads before approving a settlement batch: each line with the voucher's
holder (masked), course and evidence; and the suspended institutions of a scope."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.access import Scope
from skillvoucher.domain.catalogue import ApprovalStatus
from skillvoucher.domain.settlement import Evidence
from skillvoucher.persistence.scoping import within_scope
from skillvoucher.persistence.tables import (
    Course,
    Enrolment,
    Institution,
    Person,
    SettlementBatch,
    SettlementLine,
    Voucher,
)


@dataclass(frozen=True)
class ReviewLine:
    voucher_id: uuid.UUID
    person_id: uuid.UUID
    holder_masked_id: str
    holder_name: str
    course_code: str | None
    course_name: str | None
    course_hours: int | None
    stage_index: int
    evidence: Evidence
    amount_fen: int
    withheld: bool
    enrolled_at: datetime | None
    attended_minutes: int
    completed_at: datetime | None
    certificate_no: str | None


def batch_lines(session: Session, batch_id: uuid.UUID, limit: int) -> list[ReviewLine]:
    """The batch's lines, by voucher and stage, with the evidence each stage rests on."""
    batch = sa.select(SettlementBatch.institution_id).where(SettlementBatch.id == batch_id)
    # Minutes at this batch's institution only: a voucher re-enrolled elsewhere keeps its own.
    minutes = (
        sa.select(sa.func.coalesce(sa.func.sum(Enrolment.attended_minutes), 0))
        .where(
            Enrolment.voucher_id == SettlementLine.voucher_id,
            Enrolment.institution_id == batch.scalar_subquery(),
        )
        .scalar_subquery()
    )
    stmt = (
        sa.select(
            SettlementLine.voucher_id,
            Person.id,
            Person.id_masked,
            Person.name,
            Course.course_code,
            Course.name,
            Course.hours,
            SettlementLine.stage_index,
            SettlementLine.evidence,
            SettlementLine.amount_fen,
            SettlementLine.withheld_at.is_not(None),
            Voucher.enrolled_at,
            minutes,
            Voucher.completed_at,
            Voucher.certificate_no,
        )
        .join(Voucher, Voucher.id == SettlementLine.voucher_id)
        .join(Person, Person.id == Voucher.person_id)
        .outerjoin(Course, Course.id == Voucher.course_id)
        .where(SettlementLine.batch_id == batch_id)
        .order_by(SettlementLine.voucher_id, SettlementLine.stage_index)
        .limit(limit)
    )
    return [
        ReviewLine(
            voucher_id=row[0],
            person_id=row[1],
            holder_masked_id=row[2],
            holder_name=row[3],
            course_code=row[4],
            course_name=row[5],
            course_hours=row[6],
            stage_index=int(row[7]),
            evidence=Evidence(row[8]),
            amount_fen=int(row[9]),
            withheld=bool(row[10]),
            enrolled_at=row[11],
            attended_minutes=int(row[12] or 0),
            completed_at=row[13],
            certificate_no=row[14],
        )
        for row in session.execute(stmt)
    ]


def suspended_institutions(session: Session, scope: Scope, limit: int) -> list[Institution]:
    """Suspended institutions within ``scope``, most recently suspended first."""
    stmt = within_scope(
        sa.select(Institution)
        .where(Institution.approval_status == ApprovalStatus.SUSPENDED)
        .order_by(Institution.suspended_at.desc(), Institution.id)
        .limit(limit),
        scope,
        region=Institution.region_code,
        institution=Institution.id,
    )
    return list(session.scalars(stmt))
