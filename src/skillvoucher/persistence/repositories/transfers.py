"""Transfers between two regions' special fund accounts, waiting for or past their approvals.

A transfer moves through its statuses only by a conditional UPDATE naming the status and the
version it was read at, so two approvers racing cannot both move it (nor execute it twice).
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.access import Scope
from skillvoucher.domain.ledger import TransferStatus
from skillvoucher.persistence.repositories.dialect import plain_update, rows_changed
from skillvoucher.persistence.scoping import within_scope
from skillvoucher.persistence.tables import FundTransfer


class TransferRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, transfer: FundTransfer) -> None:
        self._session.add(transfer)
        self._session.flush()

    def sent_within(self, transfer_id: uuid.UUID, scope: Scope) -> FundTransfer | None:
        """The transfer, if its sending region is within ``scope``: who may decide on it."""
        stmt = within_scope(
            sa.select(FundTransfer).where(FundTransfer.id == transfer_id),
            scope,
            region=FundTransfer.region_code,
        )
        return self._session.scalar(stmt)

    def move(
        self,
        transfer_id: uuid.UUID,
        from_status: TransferStatus,
        version: int,
        to: TransferStatus,
        **values: Any,
    ) -> bool:
        """Move the transfer if it is still as it was read; False when someone was faster."""
        changed = rows_changed(
            self._session,
            plain_update(FundTransfer)
            .where(
                FundTransfer.id == transfer_id,
                FundTransfer.status == from_status,
                FundTransfer.version == version,
            )
            .values(status=to, version=version + 1, **values),
        )
        return changed == 1

    def page(
        self,
        scope: Scope,
        status: TransferStatus | None,
        before: uuid.UUID | None,
        limit: int,
    ) -> list[FundTransfer]:
        """Transfers sent from or received into the scope, newest first."""
        sent = within_scope(sa.select(FundTransfer.id), scope, region=FundTransfer.region_code)
        received = within_scope(sa.select(FundTransfer.id), scope, region=FundTransfer.to_region)
        stmt = (
            sa.select(FundTransfer)
            .where(sa.or_(FundTransfer.id.in_(sent), FundTransfer.id.in_(received)))
            .order_by(FundTransfer.id.desc())
            .limit(limit)
        )
        if status is not None:
            stmt = stmt.where(FundTransfer.status == status)
        if before is not None:
            stmt = stmt.where(FundTransfer.id < before)
        return list(self._session.scalars(stmt))
