"""Set-wise reads for settlement runs and batch steps: what a run needs to know of every
candidate, institution and scheme in a few statements at its start, instead of several per
institution, and a batch with its institution in one statement.

Each read answers for many rows a question ``SettlementRepository`` asks of one (or of one
institution's candidates); the run then judges them one by one, in memory, by the same rules."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.access import Scope
from skillvoucher.domain.disputes import DisputeStatus
from skillvoucher.domain.ledger import Account
from skillvoucher.persistence.repositories.settlement import SettlementRepository
from skillvoucher.persistence.scoping import within_scope
from skillvoucher.persistence.tables import (
    AttendanceEvent,
    Dispute,
    Enrolment,
    Institution,
    LedgerEntry,
    Scheme,
    SettlementBatch,
    SettlementLine,
    Voucher,
)


def _tag(kind: str) -> sa.ColumnElement[str]:
    """A constant column saying which of a union's parts a row comes from."""
    return sa.literal_column(f"'{kind}'", sa.String)


# Ids per IN list: three such lists (``institution_turn``) stay well below SQLite's bound on a
# statement's parameters (32,766).
_PART = 500


@dataclass(frozen=True)
class InstitutionTurn:
    """What an institution's transaction in a run reads before it writes."""

    has_batch: bool  # the period's batch of the institution exists
    settled: dict[uuid.UUID, set[int]]  # stages already on a line, per voucher
    minutes: dict[uuid.UUID, int]  # minutes attended by the period's end, per enrolment
    committed: dict[uuid.UUID, int]  # what is still committed, per voucher


class SettlementRunReads:
    def __init__(self, session: Session) -> None:
        self._session = session

    # A run's start --------------------------------------------------------------------------

    def settled_stages(
        self, until: datetime, institution_id: uuid.UUID | None, scope: Scope | None
    ) -> dict[uuid.UUID, set[int]]:
        """``SettlementRepository.settled_stages`` of every candidate of
        ``SettlementRepository.candidates(until, institution_id, scope)``, in one query."""
        vouchers = SettlementRepository.candidates_stmt(until, institution_id, scope, Voucher.id)
        stmt = sa.select(SettlementLine.voucher_id, SettlementLine.stage_index).where(
            SettlementLine.voucher_id.in_(vouchers)
        )
        found: dict[uuid.UUID, set[int]] = defaultdict(set)
        for voucher_id, stage in self._session.execute(stmt):
            found[voucher_id].add(stage)
        return found

    def attended_minutes(
        self, until: datetime, institution_id: uuid.UUID | None, scope: Scope | None
    ) -> dict[uuid.UUID, int]:
        """The minutes attended by ``until``, per enrolment of every candidate, in one query."""
        enrolments = SettlementRepository.candidates_stmt(
            until, institution_id, scope, Enrolment.id
        )
        stmt = (
            sa.select(AttendanceEvent.enrolment_id, sa.func.sum(AttendanceEvent.minutes))
            .where(
                AttendanceEvent.enrolment_id.in_(enrolments),
                AttendanceEvent.occurred_at <= until,
            )
            .group_by(AttendanceEvent.enrolment_id)
        )
        return {e: int(m) for e, m in self._session.execute(stmt)}

    def institutions(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Institution]:
        found: dict[uuid.UUID, Institution] = {}
        for start in range(0, len(ids), _PART):
            stmt = sa.select(Institution).where(Institution.id.in_(ids[start : start + _PART]))
            found.update((i.id, i) for i in self._session.scalars(stmt))
        return found

    def scheme_rules(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
        """The stored rules document of each scheme."""
        found: dict[uuid.UUID, dict[str, Any]] = {}
        for start in range(0, len(ids), _PART):
            stmt = sa.select(Scheme.id, Scheme.rules).where(
                Scheme.id.in_(ids[start : start + _PART])
            )
            found.update((s, r) for s, r in self._session.execute(stmt))
        return found

    def institutions_with_batch(self, start: date, end: date) -> set[uuid.UUID]:
        """The institutions whose batch for exactly this period exists."""
        stmt = sa.select(SettlementBatch.institution_id).where(
            SettlementBatch.period_start == start, SettlementBatch.period_end == end
        )
        return set(self._session.scalars(stmt))

    # An institution's turn ------------------------------------------------------------------

    def institution_turn(
        self,
        institution_id: uuid.UUID,
        start: date,
        end: date,
        voucher_ids: Sequence[uuid.UUID],
        enrolment_ids: Sequence[uuid.UUID],
        until: datetime,
    ) -> InstitutionTurn:
        """Whether the institution's batch for the period exists, and of its candidates the
        stages already on a line, the minutes attended by ``until`` and what is still committed
        (as ``LedgerRepository.committed_by_voucher``), in one statement (per 500 candidates)
        instead of four."""
        has_batch = False
        settled: dict[uuid.UUID, set[int]] = defaultdict(set)
        minutes: dict[uuid.UUID, int] = {}
        committed: dict[uuid.UUID, int] = {}
        for first in range(0, max(len(voucher_ids), 1), _PART):
            vouchers = voucher_ids[first : first + _PART]
            enrolments = enrolment_ids[first : first + _PART]
            parts: list[Any] = [
                sa.select(
                    _tag("stage"), SettlementLine.voucher_id, SettlementLine.stage_index
                ).where(SettlementLine.voucher_id.in_(vouchers)),
                sa.select(
                    _tag("minutes"),
                    AttendanceEvent.enrolment_id,
                    sa.func.sum(AttendanceEvent.minutes),
                )
                .where(
                    AttendanceEvent.enrolment_id.in_(enrolments),
                    AttendanceEvent.occurred_at <= until,
                )
                .group_by(AttendanceEvent.enrolment_id),
                sa.select(
                    _tag("committed"),
                    LedgerEntry.voucher_id,
                    sa.func.sum(LedgerEntry.amount_fen),
                )
                .where(
                    LedgerEntry.voucher_id.in_(vouchers),
                    LedgerEntry.account == Account.COMMITTED,
                )
                .group_by(LedgerEntry.voucher_id),
            ]
            if first == 0:
                parts.append(
                    sa.select(_tag("batch"), SettlementBatch.id, sa.literal_column("0")).where(
                        SettlementBatch.institution_id == institution_id,
                        SettlementBatch.period_start == start,
                        SettlementBatch.period_end == end,
                    )
                )
            for kind, key, number in self._session.execute(sa.union_all(*parts)):
                if kind == "stage":
                    settled[key].add(int(number))
                elif kind == "minutes":
                    minutes[key] = int(number)
                elif kind == "committed":
                    if key is not None:
                        committed[key] = int(number)
                else:
                    has_batch = True
        return InstitutionTurn(has_batch, settled, minutes, committed)

    # Batch steps ----------------------------------------------------------------------------

    def batches_with_institutions(
        self, batch_ids: Sequence[uuid.UUID], scope: Scope | None = None
    ) -> dict[uuid.UUID, tuple[SettlementBatch, Institution]]:
        """Each batch found (within ``scope``, if given) with its institution."""
        found: dict[uuid.UUID, tuple[SettlementBatch, Institution]] = {}
        ids = list(dict.fromkeys(batch_ids))
        for start in range(0, len(ids), _PART):
            stmt = sa.select(SettlementBatch).where(
                SettlementBatch.id.in_(ids[start : start + _PART])
            )
            if scope is not None:
                stmt = within_scope(
                    stmt,
                    scope,
                    region=SettlementBatch.region_code,
                    institution=SettlementBatch.institution_id,
                )
            with_institution = stmt.add_columns(Institution).join(
                Institution, Institution.id == SettlementBatch.institution_id
            )
            found.update((b.id, (b, i)) for b, i in self._session.execute(with_institution))
        return found

    def batch_with_hold(
        self, batch_id: uuid.UUID, scope: Scope | None = None
    ) -> tuple[SettlementBatch, Institution, uuid.UUID | None] | None:
        """The batch (within ``scope``, if given), its institution and the id of the open
        dispute holding it (as ``holding_disputes`` finds it), in one statement."""
        in_batch = sa.select(SettlementLine.voucher_id).where(
            SettlementLine.batch_id == SettlementBatch.id, SettlementLine.withheld_at.is_(None)
        )
        held = (
            sa.select(Dispute.id)
            .where(
                Dispute.status == DisputeStatus.OPEN,
                sa.or_(Dispute.batch_id == SettlementBatch.id, Dispute.voucher_id.in_(in_batch)),
            )
            .order_by(Dispute.opened_at, Dispute.id)
            .limit(1)
            .scalar_subquery()
        )
        stmt = sa.select(SettlementBatch).where(SettlementBatch.id == batch_id)
        if scope is not None:
            stmt = within_scope(
                stmt,
                scope,
                region=SettlementBatch.region_code,
                institution=SettlementBatch.institution_id,
            )
        found = self._session.execute(
            stmt.add_columns(Institution, held).join(
                Institution, Institution.id == SettlementBatch.institution_id
            )
        ).first()
        if found is None:
            return None
        batch, institution, held_id = found
        return batch, institution, held_id

    def holding_disputes(self, batch_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Dispute]:
        """The open dispute holding each of ``batch_ids`` that one holds: the first (by
        opening, then id) objecting to the batch or disputing a voucher with a line in it that
        is not withheld."""
        held: dict[uuid.UUID, list[Dispute]] = defaultdict(list)
        ids = list(dict.fromkeys(batch_ids))
        for start in range(0, len(ids), _PART):
            part = ids[start : start + _PART]
            objections = sa.select(Dispute, Dispute.batch_id).where(
                Dispute.status == DisputeStatus.OPEN, Dispute.batch_id.in_(part)
            )
            of_lines = (
                sa.select(Dispute, SettlementLine.batch_id)
                .join(SettlementLine, SettlementLine.voucher_id == Dispute.voucher_id)
                .where(
                    Dispute.status == DisputeStatus.OPEN,
                    SettlementLine.batch_id.in_(part),
                    SettlementLine.withheld_at.is_(None),
                )
            )
            for stmt in (objections, of_lines):
                for dispute, batch_id in self._session.execute(stmt):
                    if batch_id is not None:
                        held[batch_id].append(dispute)
        return {b: min(ds, key=lambda d: (d.opened_at, d.id)) for b, ds in held.items()}
