from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.schemes import HolderHistory
from skillvoucher.domain.vouchers import OPEN_STATUSES, VoucherStatus
from skillvoucher.persistence.repositories.dialect import plain_update, upsert_insert
from skillvoucher.persistence.tables import Person, PersonDirectory, Voucher

_UPDATABLE = (
    "id_masked",
    "name",
    "mobile",
    "birth_date",
    "sex",
    "household_region",
    "province_code",
    "card_status",
    "employer_credit_code",
    "target_groups_mask",
    "content_digest",
    "updated_at",
)


class PeopleRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def upsert_many(self, rows: Sequence[dict[str, Any]]) -> tuple[int, int]:
        """Insert new people and update changed ones, keyed by ID digest.

        A row whose ``content_digest`` equals the stored one is left alone, so re-importing a
        file changes nothing. A new person is claimed in ``person_directory`` first: of two
        imports racing with one ID number, the one whose claim lands stores the person. A
        person whose household moved to another province is moved there: the row is written
        anew in its new province (with the same id) and the directory follows, since a row's
        province is its place on a distributed database. Returns (inserted, updated).
        """
        if not rows:
            return 0, 0
        digests = [r["id_digest"] for r in rows]
        known = {
            digest: (person_id, province, content)
            for digest, person_id, province, content in self._session.execute(
                sa.select(
                    Person.id_digest, Person.id, Person.province_code, Person.content_digest
                ).where(Person.id_digest.in_(digests))
            )
        }
        fresh = [r for r in rows if r["id_digest"] not in known]
        changed = [
            r
            for r in rows
            if r["id_digest"] in known and known[r["id_digest"]][2] != r["content_digest"]
        ]
        if fresh:
            claimed = set(
                self._claim([(r["id_digest"], r["province_code"], r["id"]) for r in fresh])
            )
            fresh = [r for r in fresh if r["id_digest"] in claimed]
        if fresh:
            self._session.execute(sa.insert(Person), fresh)
        for row in changed:
            person_id, province, _content = known[row["id_digest"]]
            if row["province_code"] == province:
                self._session.execute(
                    plain_update(Person)
                    .where(Person.id == person_id, Person.province_code == province)
                    .values({k: row[k] for k in _UPDATABLE})
                )
            else:
                self._move(person_id, province, row)
        return len(fresh), len(changed)

    def _claim(self, entries: Sequence[tuple[str, str, uuid.UUID]]) -> list[str]:
        """Enter new people in the directory; the digests this statement entered (SQLAlchemy
        sends the rows in pages, within each database's limit on parameters)."""
        stmt = (
            upsert_insert(self._session, PersonDirectory)
            .on_conflict_do_nothing(index_elements=[PersonDirectory.id_digest])
            .returning(PersonDirectory.id_digest)
        )
        rows = [
            {"id_digest": digest, "province_code": province, "person_id": person_id}
            for digest, province, person_id in entries
        ]
        return list(self._session.scalars(stmt, rows))

    def _move(self, person_id: uuid.UUID, province: str, row: dict[str, Any]) -> None:
        here = (Person.id == person_id, Person.province_code == province)
        stored = self._session.execute(sa.select(*Person.__table__.c).where(*here)).one()._asdict()
        self._session.execute(sa.delete(Person).where(*here))
        self._session.execute(
            sa.insert(Person).values({**stored, **{k: row[k] for k in _UPDATABLE}})
        )
        self._session.execute(
            plain_update(PersonDirectory)
            .where(PersonDirectory.id_digest == stored["id_digest"])
            .values(province_code=row["province_code"])
        )

    def by_digest(self, id_digest: str) -> Person | None:
        return self._session.scalars(sa.select(Person).where(Person.id_digest == id_digest)).first()

    def get(self, person_id: uuid.UUID) -> Person | None:
        return self._session.get(Person, person_id)

    def lock(self, person_id: uuid.UUID) -> Person | None:
        """Row lock on PostgreSQL (SQLite already serialises writers) so that two claims by
        one person cannot both pass the 'one open voucher' check."""
        stmt = sa.select(Person).where(Person.id == person_id).with_for_update()
        return self._session.scalars(stmt).first()

    def history(self, person_id: uuid.UUID, year_start: datetime) -> HolderHistory:
        this_year = sa.func.count().filter(
            Voucher.issued_at >= year_start, Voucher.status != VoucherStatus.REVOKED
        )
        open_now = sa.func.count().filter(Voucher.status.in_(OPEN_STATUSES))
        row = self._session.execute(
            sa.select(this_year, open_now).where(Voucher.person_id == person_id)
        ).one()
        return HolderHistory(vouchers_this_year=int(row[0]), has_open_voucher=bool(row[1]))

    def count(self) -> int:
        return self._session.scalar(sa.select(sa.func.count()).select_from(Person)) or 0

    def employees_of(self, credit_code: str) -> list[Person]:
        return list(
            self._session.scalars(
                sa.select(Person).where(Person.employer_credit_code == credit_code)
            )
        )

    def count_matching(self, condition: sa.ColumnElement[bool]) -> int:
        stmt = sa.select(sa.func.count()).select_from(Person).where(condition)
        return self._session.scalar(stmt) or 0

    def matching_chunk(
        self, condition: sa.ColumnElement[bool], after: uuid.UUID | None, limit: int
    ) -> list[tuple[uuid.UUID, str, int]]:
        """(id, household region, target-group mask) of the next people matching, by id."""
        stmt = (
            sa.select(Person.id, Person.household_region, Person.target_groups_mask)
            .where(condition)
            .order_by(Person.id)
            .limit(limit)
        )
        if after is not None:
            stmt = stmt.where(Person.id > after)
        return list(self._session.execute(stmt))
