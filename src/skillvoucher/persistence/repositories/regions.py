from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.regions import Region as RegionFacts
from skillvoucher.persistence.repositories.dialect import upsert_insert
from skillvoucher.persistence.tables import Region


class RegionRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def upsert_many(self, regions: Iterable[RegionFacts]) -> int:
        """Insert or rename regions; parents first so the foreign key holds. Returns rows seen."""
        ordered = sorted(
            regions, key=lambda r: (r.level != "province", r.level == "county", r.code)
        )
        if not ordered:
            return 0
        stmt = upsert_insert(self._session, Region)
        stmt = stmt.on_conflict_do_update(
            index_elements=[Region.code],
            set_={"name": stmt.excluded.name, "name_en": stmt.excluded.name_en},
        )
        self._session.execute(
            stmt,
            [
                {
                    "code": r.code,
                    "name": r.name,
                    "name_en": r.name_en,
                    "level": r.level,
                    "parent_code": r.parent_code,
                }
                for r in ordered
            ],
        )
        return len(ordered)

    def get(self, code: str) -> Region | None:
        return self._session.get(Region, code)

    def existing_codes(self) -> set[str]:
        return set(self._session.scalars(sa.select(Region.code)))

    def names(self) -> dict[str, str]:
        return dict(self._session.execute(sa.select(Region.code, Region.name)).all())
