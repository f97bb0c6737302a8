"""Disputes and objections, and the questions settlement asks of them: is this voucher frozen,
is this batch held."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.access import Scope
from skillvoucher.domain.disputes import DisputeStatus
from skillvoucher.persistence.repositories.dialect import plain_update, rows_changed
from skillvoucher.persistence.scoping import within_scope
from skillvoucher.persistence.tables import Dispute, Enrolment, SettlementLine


class DisputeRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, dispute: Dispute) -> None:
        self._session.add(dispute)
        self._session.flush()

    def get(self, dispute_id: uuid.UUID, scope: Scope | None = None) -> Dispute | None:
        stmt = sa.select(Dispute).where(Dispute.id == dispute_id)
        if scope is not None:
            stmt = _scoped(stmt, scope)
        return self._session.scalar(stmt)

    def page(
        self, scope: Scope, status: DisputeStatus | None, before: uuid.UUID | None, limit: int
    ) -> list[Dispute]:
        """Disputes within ``scope``, newest first."""
        stmt = _scoped(sa.select(Dispute).order_by(Dispute.id.desc()).limit(limit), scope)
        if status is not None:
            stmt = stmt.where(Dispute.status == status)
        if before is not None:
            stmt = stmt.where(Dispute.id < before)
        return list(self._session.scalars(stmt))

    def open_on(self, subject_id: uuid.UUID, person_id: uuid.UUID | None) -> Dispute | None:
        """The open dispute of this subject by this person (or by staff), if any."""
        stmt = sa.select(Dispute).where(
            Dispute.subject_id == subject_id,
            Dispute.status == DisputeStatus.OPEN,
            Dispute.person_id.is_(None) if person_id is None else Dispute.person_id == person_id,
        )
        return self._session.scalars(stmt).first()

    def resolve(self, dispute_id: uuid.UUID, to: DisputeStatus, **values: Any) -> bool:
        """Move an open dispute to ``to``; False if it was resolved meanwhile."""
        changed = rows_changed(
            self._session,
            plain_update(Dispute)
            .where(Dispute.id == dispute_id, Dispute.status == DisputeStatus.OPEN)
            .values(status=to, **values),
        )
        return changed == 1

    @staticmethod
    def frozen_vouchers() -> sa.Select[Any]:
        """Vouchers with an open dispute: settlement builds no line for them meanwhile."""
        return sa.select(Dispute.voucher_id).where(
            Dispute.status == DisputeStatus.OPEN, Dispute.voucher_id.is_not(None)
        )


def _scoped(stmt: Any, scope: Scope) -> Any:
    return within_scope(stmt, scope, region=Dispute.region_code, person=Dispute.person_id)


class DisputeSubjects:
    """The rows a dispute may name, looked up by id (scope is checked by the caller)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def enrolment(self, enrolment_id: uuid.UUID) -> Enrolment | None:
        return self._session.get(Enrolment, enrolment_id)

    def settlement_line(self, line_id: uuid.UUID) -> SettlementLine | None:
        return self._session.get(SettlementLine, line_id)

    def lines_of_voucher(self, voucher_id: uuid.UUID) -> list[SettlementLine]:
        stmt = (
            sa.select(SettlementLine)
            .where(SettlementLine.voucher_id == voucher_id)
            .order_by(SettlementLine.stage_index)
        )
        return list(self._session.scalars(stmt))
