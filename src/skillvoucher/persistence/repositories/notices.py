"""The holders' notice outbox: rows written from the transaction's audit events just before it
commits (one place for every use case), and claimed by deliverers afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.ids import new_id
from skillvoucher.domain.notices import (
    ATTENDED_ACTION,
    BATCH_ACTIONS,
    DISPUTE_ACTIONS,
    SAFE_PAYLOAD_KEYS,
    VOUCHER_ACTIONS,
    NoticeKind,
    attendance_milestone,
)
from skillvoucher.domain.vouchers import EnrolmentStatus
from skillvoucher.persistence.repositories.dialect import bulk_insert, plain_update, rows_changed
from skillvoucher.persistence.tables import (
    Course,
    Dispute,
    Enrolment,
    HolderNotice,
    Person,
    Scheme,
    SettlementLine,
    Voucher,
)

# What scheme_files.SettlementDoc assumes when a scheme's document names no minimum.
DEFAULT_MIN_ATTENDANCE_PERCENT = 80


class NoticeRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    # Writing ----------------------------------------------------------------------------------

    def write_for_events(self, events: Sequence[dict[str, Any]]) -> int:
        """Add a notice for each holder-facing event among ``events`` (audit rows not yet
        written); returns how many. Runs inside the change's transaction, after its writes."""
        rows: list[dict[str, Any]] = []
        voucher_events = [
            e for e in events if e["action"] in VOUCHER_ACTIONS or e["action"] == ATTENDED_ACTION
        ]
        if voucher_events:
            self._session.flush()
            holders = self._holders({uuid.UUID(e["entity_id"]) for e in voucher_events})
            milestones = self._milestones(
                [e for e in voucher_events if e["action"] == ATTENDED_ACTION]
            )
            for event in voucher_events:
                voucher_id = uuid.UUID(event["entity_id"])
                if voucher_id not in holders:
                    continue
                kind = VOUCHER_ACTIONS.get(event["action"]) or milestones.get(id(event))
                if kind is not None:
                    rows.append(_row(holders[voucher_id], voucher_id, kind, event))
        for event in events:
            if event["action"] in BATCH_ACTIONS:
                self._session.flush()
                batch_id = uuid.UUID(event["entity_id"])
                for person_id, voucher_id, region, total in self._holders_in_batch(batch_id):
                    facts = {**event, "payload": {"total_fen": total}}
                    holder = (person_id, region)
                    rows.append(_row(holder, voucher_id, BATCH_ACTIONS[event["action"]], facts))
            elif event["action"] in DISPUTE_ACTIONS:
                dispute = self._session.get(Dispute, uuid.UUID(event["entity_id"]))
                if dispute is not None and dispute.person_id is not None:
                    holder = (dispute.person_id, dispute.region_code)
                    kind = DISPUTE_ACTIONS[event["action"]]
                    rows.append(_row(holder, dispute.voucher_id, kind, event))
        if rows:
            bulk_insert(self._session, HolderNotice, rows)
        return len(rows)

    def _holders(self, voucher_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, tuple[uuid.UUID, str]]:
        ids = list(voucher_ids)
        found: dict[uuid.UUID, tuple[uuid.UUID, str]] = {}
        for start in range(0, len(ids), 500):
            stmt = sa.select(Voucher.id, Voucher.person_id, Voucher.region_code).where(
                Voucher.id.in_(ids[start : start + 500])
            )
            found.update({v: (p, r) for v, p, r in self._session.execute(stmt)})
        return found

    def _milestones(self, events: Sequence[dict[str, Any]]) -> dict[int, NoticeKind]:
        """First attendance, or the scheme's minimum reached, by each of these check-ins (in
        the order they were recorded), by ``id`` of the event. Read for all of them at once;
        a voucher's minutes before each of its check-ins are those after it less its own, so
        several check-ins of one enrolment in one transaction are told apart as if each had
        been recorded alone."""
        ids = sorted({uuid.UUID(e["entity_id"]) for e in events})
        found: dict[uuid.UUID, tuple[int, int, int]] = {}
        for start in range(0, len(ids), 500):
            stmt = (
                sa.select(
                    Enrolment.voucher_id, Enrolment.attended_minutes, Course.hours, Scheme.rules
                )
                .join(Course, Course.id == Enrolment.course_id)
                .join(Voucher, Voucher.id == Enrolment.voucher_id)
                .join(Scheme, Scheme.id == Voucher.scheme_id)
                .where(
                    Enrolment.voucher_id.in_(ids[start : start + 500]),
                    Enrolment.status == EnrolmentStatus.ACTIVE,
                )
            )
            for voucher_id, after, hours, rules in self._session.execute(stmt):
                minimum = (rules.get("settlement") or {}).get(
                    "min_attendance_percent", DEFAULT_MIN_ATTENDANCE_PERCENT
                )
                found.setdefault(voucher_id, (int(after), int(hours), int(minimum)))
        milestones: dict[int, NoticeKind] = {}
        for event in reversed(events):
            voucher_id = uuid.UUID(event["entity_id"])
            if voucher_id not in found:
                continue
            after, hours, minimum = found[voucher_id]
            minutes = int(event["payload"].get("minutes", 0))
            kind = attendance_milestone(after - minutes, after, hours, minimum)
            if kind is not None:
                milestones[id(event)] = kind
            found[voucher_id] = (after - minutes, hours, minimum)
        return milestones

    def _holders_in_batch(self, batch_id: uuid.UUID) -> list[tuple[uuid.UUID, uuid.UUID, str, int]]:
        stmt = (
            sa.select(
                Voucher.person_id,
                Voucher.id,
                Voucher.region_code,
                sa.func.sum(SettlementLine.amount_fen),
            )
            .join(Voucher, Voucher.id == SettlementLine.voucher_id)
            .where(SettlementLine.batch_id == batch_id, SettlementLine.withheld_at.is_(None))
            .group_by(Voucher.person_id, Voucher.id, Voucher.region_code)
            .order_by(Voucher.id)
        )
        return [(p, v, r, int(t)) for p, v, r, t in self._session.execute(stmt)]

    # Delivering -------------------------------------------------------------------------------

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[HolderNotice]:
        """Up to ``limit`` notices due at ``now``, each leased to this caller until
        ``now + lease`` (a deliverer that dies leaves them due again then).

        On PostgreSQL the rows are read FOR UPDATE SKIP LOCKED, so a second deliverer passes
        over them; the lease itself is a conditional UPDATE on the attempt count, so even
        where reads do not lock (SQLite) only one claimant wins each row."""
        stmt = (
            sa.select(HolderNotice.id, HolderNotice.attempts)
            .where(HolderNotice.delivered_at.is_(None), HolderNotice.next_attempt_at <= now)
            .order_by(HolderNotice.next_attempt_at, HolderNotice.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claimed: list[uuid.UUID] = []
        for notice_id, attempts in self._session.execute(stmt).all():
            won = rows_changed(
                self._session,
                plain_update(HolderNotice)
                .where(HolderNotice.id == notice_id, HolderNotice.attempts == attempts)
                .values(attempts=attempts + 1, next_attempt_at=now + lease),
            )
            if won == 1:
                claimed.append(notice_id)
        if not claimed:
            return []
        rows = self._session.scalars(
            sa.select(HolderNotice)
            .where(HolderNotice.id.in_(claimed))
            .order_by(HolderNotice.created_at, HolderNotice.id)
        )
        return list(rows)

    def record_outcome(
        self,
        notice_id: uuid.UUID,
        results: dict[str, str],
        delivered_at: datetime | None,
        next_attempt_at: datetime | None,
    ) -> None:
        self._session.execute(
            plain_update(HolderNotice)
            .where(HolderNotice.id == notice_id)
            .values(
                channel_results=results,
                delivered_at=delivered_at,
                next_attempt_at=next_attempt_at,
            )
        )

    def mobiles(self, person_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        """Holders' mobile numbers, read at sending time only (never stored in a notice)."""
        ids = list(set(person_ids))
        stmt = sa.select(Person.id, Person.mobile).where(
            Person.id.in_(ids), Person.mobile.is_not(None)
        )
        return {p: m for p, m in self._session.execute(stmt) if m}

    def of_person(self, person_id: uuid.UUID, limit: int = 50) -> list[HolderNotice]:
        stmt = (
            sa.select(HolderNotice)
            .where(HolderNotice.person_id == person_id)
            .order_by(HolderNotice.created_at.desc(), HolderNotice.id.desc())
            .limit(limit)
        )
        return list(self._session.scalars(stmt))

    def counts(self) -> dict[str, int]:
        """Pending, delivered and given-up notices (for the CLI's summary)."""
        state = sa.case(
            (HolderNotice.delivered_at.is_not(None), "delivered"),
            (HolderNotice.next_attempt_at.is_(None), "given_up"),
            else_="pending",
        )
        stmt = sa.select(state, sa.func.count()).group_by(state)
        return {str(s): int(n) for s, n in self._session.execute(stmt)}


def _row(
    holder: tuple[uuid.UUID, str],
    voucher_id: uuid.UUID | None,
    kind: NoticeKind,
    event: dict[str, Any],
) -> dict[str, Any]:
    person_id, region_code = holder
    safe = {k: v for k, v in (event.get("payload") or {}).items() if k in SAFE_PAYLOAD_KEYS}
    return {
        "id": new_id(),
        "person_id": person_id,
        "voucher_id": voucher_id,
        "region_code": region_code,
        "province_code": region_code[:2] + "0000",
        "kind": kind,
        "payload": safe,
        "created_at": event["occurred_at"],
        "delivered_at": None,
        "attempts": 0,
        "next_attempt_at": event["occurred_at"],
        "channel_results": {},
    }
