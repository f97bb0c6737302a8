from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.access import Scope
from skillvoucher.domain.ledger import Account, JournalKind
from skillvoucher.domain.settlement import BatchStatus, Evidence
from skillvoucher.domain.vouchers import EnrolmentStatus, VoucherStatus
from skillvoucher.persistence.repositories.dialect import bulk_insert, plain_update, rows_changed
from skillvoucher.persistence.repositories.disputes import DisputeRepository
from skillvoucher.persistence.scoping import within_scope
from skillvoucher.persistence.tables import (
    Course,
    Enrolment,
    Institution,
    LedgerEntry,
    SettlementBatch,
    SettlementLine,
    Voucher,
)


@dataclass(frozen=True)
class SettlementCandidate:
    voucher_id: uuid.UUID
    scheme_id: uuid.UUID
    institution_id: uuid.UUID
    region_code: str
    status: VoucherStatus
    face_value_fen: int
    redeemable_fen: int
    enrolment_id: uuid.UUID
    course_hours: int
    completed_at: datetime | None
    certified_at: datetime | None


class SettlementRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def candidates(
        self, until: datetime, institution_id: uuid.UUID | None = None, scope: Scope | None = None
    ) -> list[SettlementCandidate]:
        """Vouchers enrolled by ``until`` that are still open and not disputed: they may have
        earned stages.

        With ``scope``, only those enrolled at institutions within it.
        """
        stmt = self.candidates_stmt(
            until,
            institution_id,
            scope,
            Voucher.id,
            Voucher.scheme_id,
            Enrolment.institution_id,
            Voucher.region_code,
            Voucher.status,
            Voucher.face_value_fen,
            Enrolment.redeemable_fen,
            Enrolment.id,
            Course.hours,
            Voucher.completed_at,
            Voucher.certified_at,
        ).order_by(Enrolment.institution_id, Voucher.id)
        return [SettlementCandidate(*row) for row in self._session.execute(stmt)]

    @classmethod
    def candidates_stmt(
        cls,
        until: datetime,
        institution_id: uuid.UUID | None,
        scope: Scope | None,
        *columns: Any,
    ) -> sa.Select[Any]:
        """``columns`` of the candidates' vouchers, active enrolments and courses (see
        ``candidates``), unordered: also a subquery for the reads of a whole run."""
        stmt = (
            sa.select(*columns)
            .select_from(Voucher)
            .join(
                Enrolment,
                sa.and_(
                    Enrolment.voucher_id == Voucher.id,
                    Enrolment.status == EnrolmentStatus.ACTIVE,
                ),
            )
            .join(Course, Course.id == Enrolment.course_id)
            .where(
                Voucher.status.in_(
                    [VoucherStatus.ENROLLED, VoucherStatus.IN_TRAINING, VoucherStatus.COMPLETED]
                ),
                Enrolment.enrolled_at <= until,
            )
        )
        if institution_id is not None:
            stmt = stmt.where(Enrolment.institution_id == institution_id)
        if scope is not None:
            stmt = stmt.where(Enrolment.institution_id.in_(cls._institutions_within(scope)))
        # A voucher whose holder disputes a record is frozen: no line until it is resolved.
        return stmt.where(Voucher.id.not_in(DisputeRepository.frozen_vouchers()))

    @staticmethod
    def _institutions_within(scope: Scope) -> sa.Select[uuid.UUID]:
        return within_scope(
            sa.select(Institution.id),
            scope,
            region=Institution.region_code,
            institution=Institution.id,
        )

    def institution_within(self, institution_id: uuid.UUID, scope: Scope) -> Institution | None:
        stmt = within_scope(
            sa.select(Institution).where(Institution.id == institution_id),
            scope,
            region=Institution.region_code,
            institution=Institution.id,
        )
        return self._session.scalar(stmt)

    def settled_stages(self, voucher_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, set[int]]:
        found: dict[uuid.UUID, set[int]] = defaultdict(set)
        for start in range(0, len(voucher_ids), 500):
            part = voucher_ids[start : start + 500]
            stmt = sa.select(SettlementLine.voucher_id, SettlementLine.stage_index).where(
                SettlementLine.voucher_id.in_(part)
            )
            for voucher_id, stage in self._session.execute(stmt):
                found[voucher_id].add(stage)
        return found

    def add_batch(self, batch: SettlementBatch, lines: Sequence[dict[str, Any]]) -> None:
        self._session.add(batch)
        self._session.flush()
        if lines:
            bulk_insert(self._session, SettlementLine, lines)

    def batch(self, batch_id: uuid.UUID) -> SettlementBatch | None:
        return self._session.get(SettlementBatch, batch_id)

    def batches(self, status: BatchStatus | None = None) -> list[SettlementBatch]:
        stmt = sa.select(SettlementBatch).order_by(SettlementBatch.created_at, SettlementBatch.id)
        if status is not None:
            stmt = stmt.where(SettlementBatch.status == status)
        return list(self._session.scalars(stmt))

    def batch_within(self, batch_id: uuid.UUID, scope: Scope) -> SettlementBatch | None:
        """The batch, if it is the statement of an institution within ``scope``."""
        stmt = within_scope(
            sa.select(SettlementBatch).where(SettlementBatch.id == batch_id),
            scope,
            region=SettlementBatch.region_code,
            institution=SettlementBatch.institution_id,
        )
        return self._session.scalar(stmt)

    def batches_page(
        self,
        scope: Scope,
        status: BatchStatus | None,
        before: uuid.UUID | None,
        limit: int,
    ) -> list[SettlementBatch]:
        """Batches within ``scope``, newest first, those older than ``before`` if given."""
        stmt = within_scope(
            sa.select(SettlementBatch).order_by(SettlementBatch.id.desc()).limit(limit),
            scope,
            region=SettlementBatch.region_code,
            institution=SettlementBatch.institution_id,
        )
        if status is not None:
            stmt = stmt.where(SettlementBatch.status == status)
        if before is not None:
            stmt = stmt.where(SettlementBatch.id < before)
        return list(self._session.scalars(stmt))

    def on_notice(
        self, now: datetime, region_prefix: str, before: uuid.UUID | None, limit: int
    ) -> list[tuple[SettlementBatch, Institution]]:
        """Published batches whose public notice is still running, newest first."""
        stmt = (
            sa.select(SettlementBatch, Institution)
            .join(Institution, Institution.id == SettlementBatch.institution_id)
            .where(
                SettlementBatch.status == BatchStatus.PUBLISHED,
                SettlementBatch.notice_until > now,
                SettlementBatch.region_code.startswith(region_prefix, autoescape=True),
            )
            .order_by(SettlementBatch.id.desc())
            .limit(limit)
        )
        if before is not None:
            stmt = stmt.where(SettlementBatch.id < before)
        return [(b, i) for b, i in self._session.execute(stmt)]

    def line_summary(self, batch_id: uuid.UUID) -> list[tuple[int, Evidence, int, int, int]]:
        """(stage, evidence, lines, amount, withheld amount) of a batch's lines, per stage."""
        withheld = sa.case(
            (SettlementLine.withheld_at.is_not(None), SettlementLine.amount_fen), else_=0
        )
        stmt = (
            sa.select(
                SettlementLine.stage_index,
                SettlementLine.evidence,
                sa.func.count(),
                sa.func.sum(SettlementLine.amount_fen),
                sa.func.sum(withheld),
            )
            .where(SettlementLine.batch_id == batch_id)
            .group_by(SettlementLine.stage_index, SettlementLine.evidence)
            .order_by(SettlementLine.stage_index, SettlementLine.evidence)
        )
        return [
            (int(stage), Evidence(evidence), int(n), int(total), int(held))
            for stage, evidence, n, total, held in self._session.execute(stmt)
        ]

    def payable_lines(self, batch_id: uuid.UUID) -> list[tuple[int, str, uuid.UUID, uuid.UUID]]:
        """(amount, region, scheme, voucher) of the batch's lines to pay: those with an amount
        and not withheld, by voucher and stage."""
        stmt = (
            sa.select(
                SettlementLine.amount_fen,
                SettlementLine.region_code,
                SettlementLine.scheme_id,
                SettlementLine.voucher_id,
            )
            .where(
                SettlementLine.batch_id == batch_id,
                SettlementLine.amount_fen > 0,
                SettlementLine.withheld_at.is_(None),
            )
            .order_by(SettlementLine.voucher_id, SettlementLine.stage_index)
        )
        return [(int(a), r, s, v) for a, r, s, v in self._session.execute(stmt)]

    def move_batch(
        self, batch_id: uuid.UUID, from_status: BatchStatus, to: BatchStatus, **values: Any
    ) -> bool:
        changed = rows_changed(
            self._session,
            plain_update(SettlementBatch)
            .where(SettlementBatch.id == batch_id, SettlementBatch.status == from_status)
            .values(status=to, **values),
        )
        return changed == 1

    def institution_of(self, batch: SettlementBatch) -> Institution:
        institution = self._session.get(Institution, batch.institution_id)
        assert institution is not None  # a foreign key guarantees it
        return institution

    def line_totals(self) -> dict[uuid.UUID, tuple[int, int]]:
        """(sum of line amounts, sum of withheld line amounts) per batch."""
        withheld = sa.case(
            (SettlementLine.withheld_at.is_not(None), SettlementLine.amount_fen), else_=0
        )
        stmt = sa.select(
            SettlementLine.batch_id,
            sa.func.sum(SettlementLine.amount_fen),
            sa.func.sum(withheld),
        ).group_by(SettlementLine.batch_id)
        return {b: (int(s), int(w)) for b, s, w in self._session.execute(stmt)}

    def withhold_unpaid_lines(self, voucher_id: uuid.UUID, at: datetime) -> int:
        """Mark a voucher's lines in batches not yet paid so that paying them skips them.

        Returns how many lines were withheld. Amounts are never edited.
        """
        unpaid = sa.select(SettlementBatch.id).where(SettlementBatch.status != BatchStatus.PAID)
        return rows_changed(
            self._session,
            plain_update(SettlementLine)
            .where(
                SettlementLine.voucher_id == voucher_id,
                SettlementLine.withheld_at.is_(None),
                SettlementLine.batch_id.in_(unpaid),
            )
            .values(withheld_at=at),
        )

    def posted_totals(self) -> dict[tuple[uuid.UUID, JournalKind], int]:
        """What the ledger moved into payable and into paid, per batch and journal kind."""
        stmt = (
            sa.select(
                LedgerEntry.settlement_batch_id,
                LedgerEntry.kind,
                sa.func.sum(LedgerEntry.amount_fen),
            )
            .where(
                LedgerEntry.settlement_batch_id.is_not(None),
                LedgerEntry.account.in_([Account.PAYABLE, Account.PAID]),
                LedgerEntry.amount_fen > 0,
            )
            .group_by(LedgerEntry.settlement_batch_id, LedgerEntry.kind)
        )
        return {
            (b, JournalKind(k)): int(s) for b, k, s in self._session.execute(stmt) if b is not None
        }
