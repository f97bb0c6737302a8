from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.access import Scope
from skillvoucher.domain.audit_chain import GENESIS, ChainedFacts, link
from skillvoucher.domain.ids import new_id
from skillvoucher.domain.regions import NATIONWIDE, province_code
from skillvoucher.domain.vouchers import EXPIRED_ACTION, PUSHED_ACTION
from skillvoucher.persistence.repositories.dialect import bulk_insert, plain_update, upsert_insert
from skillvoucher.persistence.scoping import within_scope
from skillvoucher.persistence.tables import AuditChainHead, AuditEvent, Voucher


@dataclass(frozen=True)
class AuditQuery:
    entity_type: str | None = None
    entity_id: str | None = None
    action: str | None = None
    actor: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


class AuditRepository:
    """Events are kept back until the unit of work commits, then appended to their provinces'
    hash chains in one step (``write_pending``), in the same transaction as the change."""

    def __init__(self, session: Session, chain_key: Callable[[], bytes]) -> None:
        self._session = session
        self._chain_key = chain_key
        self._pending: list[dict[str, Any]] = []

    def record(
        self,
        *,
        at: datetime,
        actor: str,
        action: str,
        entity_type: str,
        entity_id: object,
        region_code: str,
        payload: dict[str, Any] | None = None,
    ) -> None:
        self.record_many(
            [
                {
                    "occurred_at": at,
                    "actor": actor,
                    "action": action,
                    "entity_type": entity_type,
                    "entity_id": str(entity_id),
                    "region_code": region_code,
                    "payload": payload or {},
                }
            ]
        )

    def record_many(self, events: Iterable[dict[str, Any]]) -> None:
        self._pending.extend(
            {**e, "id": new_id(), "province_code": _province_of(e["region_code"])} for e in events
        )

    @property
    def pending(self) -> tuple[dict[str, Any], ...]:
        """The events recorded in this transaction and not yet written (for the outbox)."""
        return tuple(self._pending)

    def write_pending(self) -> None:
        """Append the transaction's events to their provinces' chains.

        Called by the unit of work just before it commits, so each chain head is locked only for
        that moment, and always in province order: two transactions that touch the same two
        provinces (a transfer) wait for each other instead of deadlocking."""
        if not self._pending:
            return
        key = self._chain_key()
        by_province: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for event in self._pending:
            by_province[event["province_code"]].append(event)
        rows: list[dict[str, Any]] = []
        for province in sorted(by_province):
            seq, previous = self._lock_head(province)
            for event in by_province[province]:
                seq += 1
                hash_ = link(key, previous, _facts(event, seq))
                rows.append({**event, "seq": seq, "prev_hash": previous, "hash": hash_})
                previous = hash_
            self._session.execute(
                plain_update(AuditChainHead)
                .where(AuditChainHead.province_code == province)
                .values(seq=seq, hash=previous)
            )
        bulk_insert(self._session, AuditEvent, rows)
        self._pending.clear()

    def _lock_head(self, province: str) -> tuple[int, str]:
        lock = (
            sa.select(AuditChainHead.seq, AuditChainHead.hash)
            .where(AuditChainHead.province_code == province)
            .with_for_update()
        )
        head = self._session.execute(lock).first()
        if head is None:
            # The province's first event: start its chain (a concurrent first event starts it
            # too; the loser's insert does nothing and it waits for the winner's row lock).
            create = (
                upsert_insert(self._session, AuditChainHead)
                .values(province_code=province, seq=0, hash=GENESIS)
                .on_conflict_do_nothing(index_elements=["province_code"])
            )
            self._session.execute(create)
            head = self._session.execute(lock).one()
        return int(head.seq), str(head.hash)

    # Verification -----------------------------------------------------------------------------

    def chain_heads(self) -> dict[str, tuple[int, str]]:
        rows = self._session.execute(
            sa.select(AuditChainHead.province_code, AuditChainHead.seq, AuditChainHead.hash)
        )
        return {r.province_code: (int(r.seq), str(r.hash)) for r in rows}

    def chained_provinces(self) -> list[str]:
        stmt = sa.select(AuditEvent.province_code).where(AuditEvent.seq.is_not(None)).distinct()
        return sorted(self._session.scalars(stmt))

    def unchained_count(self) -> int:
        stmt = sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.seq.is_(None))
        return self._session.scalar(stmt) or 0

    def chain_slice(self, province: str, after_seq: int, limit: int) -> list[AuditEvent]:
        """The next ``limit`` events of a province's chain after ``after_seq``, in seq order."""
        stmt = (
            sa.select(AuditEvent)
            .where(AuditEvent.province_code == province, AuditEvent.seq > after_seq)
            .order_by(AuditEvent.seq)
            .limit(limit)
        )
        return list(self._session.scalars(stmt))

    def for_entity(self, entity_type: str, entity_id: object) -> list[AuditEvent]:
        """The events about one entity, oldest first; for a voucher, with the chunk events of
        the bulk jobs that issued or expired it (see ``_about``)."""
        stmt = (
            sa.select(AuditEvent)
            .where(self._about(entity_type, str(entity_id)))
            .order_by(AuditEvent.occurred_at, AuditEvent.id)
        )
        return list(self._session.scalars(stmt))

    def _about(self, entity_type: str, entity_id: str) -> sa.ColumnElement[bool]:
        """Events whose entity is the one named, or, for a voucher, that name it in a range.

        A push issues, and the year-end expiry closes, a chunk of vouchers under one event of
        their scheme (``vouchers.pushed``, ``vouchers.expired``), whose payload bounds the
        chunk's voucher ids (and, for a push, holder ids). The chunk's vouchers are exactly
        the scheme's vouchers issued (or closed) at the event's instant within those bounds,
        so an auditor asking about one voucher is shown its issue and its expiry too."""
        own = sa.and_(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
        voucher = self._voucher(entity_id) if entity_type == "voucher" else None
        if voucher is None:
            return own
        pushed = sa.and_(
            AuditEvent.action == PUSHED_ACTION,
            AuditEvent.occurred_at == voucher.issued_at,
            _within(AuditEvent.payload, "holder", str(voucher.person_id)),
        )
        expired = sa.and_(
            AuditEvent.action == EXPIRED_ACTION,
            AuditEvent.occurred_at == voucher.closed_at,
        )
        chunk = sa.and_(
            AuditEvent.entity_type == "scheme",
            AuditEvent.entity_id == str(voucher.scheme_id),
            _within(AuditEvent.payload, "voucher", entity_id),
            sa.or_(pushed, expired) if voucher.closed_at is not None else pushed,
        )
        return sa.or_(own, chunk)

    def _voucher(
        self, entity_id: str
    ) -> sa.Row[uuid.UUID, uuid.UUID, datetime, datetime | None] | None:
        try:
            voucher_id = uuid.UUID(entity_id)
        except ValueError:
            return None
        stmt = sa.select(
            Voucher.scheme_id, Voucher.person_id, Voucher.issued_at, Voucher.closed_at
        ).where(Voucher.id == voucher_id)
        return self._session.execute(stmt).first()

    def page(
        self, scope: Scope, query: AuditQuery, before: uuid.UUID | None, limit: int
    ) -> list[AuditEvent]:
        """Events within ``scope`` matching ``query``, most recently recorded first.

        Nationwide events (region 000000) fall within a nationwide scope only.
        """
        stmt = within_scope(
            sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit),
            scope,
            region=AuditEvent.region_code,
        )
        if query.entity_type is not None and query.entity_id is not None:
            stmt = stmt.where(self._about(query.entity_type, query.entity_id))
        elif query.entity_type is not None:
            stmt = stmt.where(AuditEvent.entity_type == query.entity_type)
        elif query.entity_id is not None:
            stmt = stmt.where(AuditEvent.entity_id == query.entity_id)
        for column, wanted in (
            (AuditEvent.action, query.action),
            (AuditEvent.actor, query.actor),
        ):
            if wanted is not None:
                stmt = stmt.where(column == wanted)
        if query.since is not None:
            stmt = stmt.where(AuditEvent.occurred_at >= query.since)
        if query.until is not None:
            stmt = stmt.where(AuditEvent.occurred_at < query.until)
        if before is not None:
            stmt = stmt.where(AuditEvent.id < before)
        return list(self._session.scalars(stmt))

    def count(self) -> int:
        return self._session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) or 0


def _province_of(region_code: str) -> str:
    return NATIONWIDE if region_code == NATIONWIDE else province_code(region_code)


def _facts(event: dict[str, Any], seq: int) -> ChainedFacts:
    return ChainedFacts(
        province_code=event["province_code"],
        seq=seq,
        occurred_at=event["occurred_at"],
        region_code=event["region_code"],
        actor=event["actor"],
        action=event["action"],
        entity_type=event["entity_type"],
        entity_id=event["entity_id"],
        payload=event["payload"],
    )


def facts_of(event: AuditEvent) -> ChainedFacts:
    """What a stored event's link covers (for verification)."""
    assert event.seq is not None  # only chained events are walked
    return ChainedFacts(
        province_code=event.province_code,
        seq=event.seq,
        occurred_at=event.occurred_at,
        region_code=event.region_code,
        actor=event.actor,
        action=event.action,
        entity_type=event.entity_type,
        entity_id=event.entity_id,
        payload=event.payload,
    )


def _within(payload: Any, kind: str, value: str) -> sa.ColumnElement[bool]:
    """A chunk event's payload bounds ``value`` by its ``first_<kind>`` and ``last_<kind>``.
    Ids are compared as their canonical text, whose order is the order of the ids."""
    return sa.and_(
        payload[f"first_{kind}"].as_string() <= value,
        payload[f"last_{kind}"].as_string() >= value,
    )
