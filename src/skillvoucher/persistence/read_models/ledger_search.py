"""A region's fund ledger narrowed by journal kind and time, for the administrator console."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.ledger import JournalKind
from skillvoucher.persistence.tables import LedgerEntry


@dataclass(frozen=True)
class LedgerFilter:
    kind: JournalKind | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


def ledger_entries(
    session: Session,
    region_code: str,
    wanted: LedgerFilter,
    before: uuid.UUID | None,
    limit: int,
) -> list[LedgerEntry]:
    """The region's postings matching ``wanted``, newest first (keyset on the UUIDv7 id)."""
    stmt = (
        sa.select(LedgerEntry)
        .where(LedgerEntry.region_code == region_code)
        .order_by(LedgerEntry.id.desc())
        .limit(limit)
    )
    if wanted.kind is not None:
        stmt = stmt.where(LedgerEntry.kind == wanted.kind)
    if wanted.since is not None:
        stmt = stmt.where(LedgerEntry.created_at >= wanted.since)
    if wanted.until is not None:
        stmt = stmt.where(LedgerEntry.created_at < wanted.until)
    if before is not None:
        stmt = stmt.where(LedgerEntry.id < before)
    return list(session.scalars(stmt))
