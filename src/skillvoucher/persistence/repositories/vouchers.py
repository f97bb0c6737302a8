from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.vouchers import EnrolmentStatus, VoucherStatus
from skillvoucher.persistence.bulk_copy import NULL, as_uuid, copies, copy_lines
from skillvoucher.persistence.repositories.dialect import (
    bulk_insert,
    plain_update,
    rows_changed,
    upsert_insert,
)
from skillvoucher.persistence.tables import (
    AttendanceEvent,
    ConsentCode,
    Enrolment,
    Scheme,
    Voucher,
)


@dataclass(frozen=True)
class IssuedBatch:
    """Vouchers of one scheme issued in one go: alike but for their ids and holders."""

    scheme_id: uuid.UUID
    region_code: str
    province_code: str
    face_value_fen: int
    issued_at: datetime
    valid_until: datetime
    holders: Sequence[tuple[uuid.UUID | str, uuid.UUID, str, str | None]]
    """(voucher id, person id, the holder's household region, the qualifying target group);
    the voucher's id may be given as text (``bulk_copy.text_id``)"""


_BATCH_COLUMNS = (
    "id",
    "scheme_id",
    "person_id",
    "holder_region",
    "target_group",
    "region_code",
    "province_code",
    "face_value_fen",
    "status",
    "issued_at",
    "valid_until",
    "version",
)


class VoucherRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def insert_many(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            bulk_insert(self._session, Voucher, rows)

    def insert_batch(self, batch: IssuedBatch) -> None:
        """Write the batch's vouchers as issued and not yet signed (no key, no credential: the
        code is signed when first shown, ``application/voucher_codes.py``). COPY on
        PostgreSQL, one executemany on SQLite."""
        if not batch.holders:
            return
        if not copies(self._session):
            bulk_insert(self._session, Voucher, [_batch_row(batch, h) for h in batch.holders])
            return
        # Everything after the holder's own fields is the same for the whole batch: spelled once.
        same = "\t".join(
            (
                batch.region_code,
                batch.province_code,
                str(batch.face_value_fen),
                VoucherStatus.ISSUED.value,
                batch.issued_at.isoformat(),
                batch.valid_until.isoformat(),
                "1",
            )
        )
        scheme = str(batch.scheme_id)
        copy_lines(
            self._session,
            Voucher.__tablename__,
            _BATCH_COLUMNS,
            (
                f"{voucher}\t{scheme}\t{person}\t{region}\t{group or NULL}\t{same}\n"
                for voucher, person, region, group in batch.holders
            ),
        )

    def get(self, voucher_id: uuid.UUID) -> Voucher | None:
        return self._session.get(Voucher, voucher_id)

    def fresh_with_scheme(self, voucher_id: uuid.UUID) -> tuple[Voucher, Scheme]:
        """The voucher read afresh (even if this session holds it) and its scheme, in one
        statement: what a use case needs once it holds the lock that guards the voucher."""
        row = self._session.execute(
            sa.select(Voucher, Scheme)
            .join(Scheme, Scheme.id == Voucher.scheme_id)
            .where(Voucher.id == voucher_id)
            .execution_options(populate_existing=True)
        ).one()
        return row[0], row[1]

    def holders_own_with_scheme(
        self, voucher_id: uuid.UUID, person_id: uuid.UUID
    ) -> tuple[Voucher, Scheme] | None:
        """``fresh_with_scheme`` of a voucher only if ``person_id`` holds it, else None: a
        holder acting on their own voucher, the holder's row locked already."""
        row = self._session.execute(
            sa.select(Voucher, Scheme)
            .join(Scheme, Scheme.id == Voucher.scheme_id)
            .where(Voucher.id == voucher_id, Voucher.person_id == person_id)
            .execution_options(populate_existing=True)
        ).first()
        return None if row is None else (row[0], row[1])

    def find(self, scheme_id: uuid.UUID, person_id: uuid.UUID) -> Voucher | None:
        return self._session.scalars(
            sa.select(Voucher).where(Voucher.scheme_id == scheme_id, Voucher.person_id == person_id)
        ).first()

    def of_person(self, person_id: uuid.UUID) -> list[Voucher]:
        return list(
            self._session.scalars(
                sa.select(Voucher).where(Voucher.person_id == person_id).order_by(Voucher.id)
            )
        )

    def transition(
        self,
        voucher_id: uuid.UUID,
        from_statuses: Sequence[VoucherStatus],
        to: VoucherStatus,
        **values: Any,
    ) -> bool:
        """Move a voucher only if it is still in one of ``from_statuses``.

        A conditional UPDATE checked by row count: of many concurrent attempts exactly one
        wins, on SQLite and on PostgreSQL alike. Bumps ``version`` for optimistic readers.
        """
        changed = rows_changed(
            self._session,
            plain_update(Voucher)
            .where(Voucher.id == voucher_id, Voucher.status.in_(from_statuses))
            .values(status=to, version=Voucher.version + 1, **values),
        )
        return changed == 1

    def store_credential(self, voucher_id: uuid.UUID, key_id: str, credential: str) -> bool:
        """Keep a voucher's first signed code; False if it already has one (a concurrent first
        view stored it first), which is then left as it is."""
        changed = rows_changed(
            self._session,
            plain_update(Voucher)
            .where(Voucher.id == voucher_id, Voucher.credential.is_(None))
            .values(key_id=key_id, credential=credential),
        )
        return changed == 1

    # Consent codes

    def add_consent_code(self, row: dict[str, Any]) -> None:
        bulk_insert(self._session, ConsentCode, [row])

    def use_consent_code(self, voucher_id: uuid.UUID, code_digest: str, now: datetime) -> bool:
        """Spend a consent code once: a conditional UPDATE, so a code can never be used twice.

        One statement: the code is chosen by a sub-select (the same code granted twice for one
        voucher is spent one at a time), then re-checked unused by the UPDATE itself."""
        candidate = (
            sa.select(ConsentCode.id)
            .where(
                ConsentCode.voucher_id == voucher_id,
                ConsentCode.code_digest == code_digest,
                ConsentCode.used_at.is_(None),
                ConsentCode.expires_at > now,
            )
            .limit(1)
            .scalar_subquery()
        )
        changed = rows_changed(
            self._session,
            plain_update(ConsentCode)
            .where(ConsentCode.id == candidate, ConsentCode.used_at.is_(None))
            .values(used_at=now),
        )
        return changed == 1

    # Enrolments and attendance

    def add_enrolment(self, enrolment: Enrolment) -> None:
        self._session.add(enrolment)
        self._session.flush()

    def active_enrolment(self, voucher_id: uuid.UUID) -> Enrolment | None:
        return self._session.scalars(
            sa.select(Enrolment).where(
                Enrolment.voucher_id == voucher_id, Enrolment.status == EnrolmentStatus.ACTIVE
            )
        ).first()

    def has_trained_in(
        self, person_id: uuid.UUID, occupation_code: str, level: str, other_than: uuid.UUID
    ) -> bool:
        """Whether the person used another voucher on this occupation and level."""
        stmt = sa.select(Enrolment.id).where(
            Enrolment.person_id == person_id,
            Enrolment.occupation_code == occupation_code,
            Enrolment.skill_level == level,
            Enrolment.status == EnrolmentStatus.ACTIVE,
            Enrolment.voucher_id != other_than,
        )
        return self._session.scalars(stmt.limit(1)).first() is not None

    def cancel_enrolment(self, enrolment_id: uuid.UUID, at: datetime) -> None:
        self._session.execute(
            plain_update(Enrolment)
            .where(Enrolment.id == enrolment_id)
            .values(status=EnrolmentStatus.CANCELLED, ended_at=at)
        )

    def add_attendance(self, row: dict[str, Any]) -> bool:
        """Record an attendance event once; a re-sent identical event is ignored (False)."""
        stmt = (
            upsert_insert(self._session, AttendanceEvent)
            .values(**row)
            .on_conflict_do_nothing(
                index_elements=[
                    AttendanceEvent.enrolment_id,
                    AttendanceEvent.source,
                    AttendanceEvent.occurred_at,
                    AttendanceEvent.province_code,
                ]
            )
            .returning(AttendanceEvent.id)
        )
        # RETURNING, not rowcount: drivers disagree on rowcount for INSERT … ON CONFLICT.
        if self._session.execute(stmt).first() is None:
            return False
        self._session.execute(
            plain_update(Enrolment)
            .where(Enrolment.id == row["enrolment_id"])
            .values(attended_minutes=Enrolment.attended_minutes + row["minutes"])
        )
        return True

    def holders_by_status(
        self, status: VoucherStatus, limit: int
    ) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
        """(voucher, scheme, holder's region) of vouchers in ``status``, oldest first."""
        stmt = (
            sa.select(Voucher.id, Voucher.scheme_id, Voucher.holder_region)
            .where(Voucher.status == status)
            .order_by(Voucher.id)
            .limit(limit)
        )
        return list(self._session.execute(stmt))


def _batch_row(
    batch: IssuedBatch, holder: tuple[uuid.UUID | str, uuid.UUID, str, str | None]
) -> dict[str, Any]:
    voucher, person, region, group = holder
    return {
        "id": as_uuid(voucher),
        "scheme_id": batch.scheme_id,
        "person_id": person,
        "holder_region": region,
        "target_group": group,
        "region_code": batch.region_code,
        "province_code": batch.province_code,
        "face_value_fen": batch.face_value_fen,
        "status": VoucherStatus.ISSUED,
        "issued_at": batch.issued_at,
        "valid_until": batch.valid_until,
        "version": 1,
    }
