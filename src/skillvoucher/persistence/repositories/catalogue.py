from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.catalogue import ApprovalStatus, CourseApproval, CourseMode, SkillLevel
from skillvoucher.domain.schemes import UsableCourses
from skillvoucher.persistence.repositories.dialect import bulk_insert, plain_update, rows_changed
from skillvoucher.persistence.tables import Course, Institution


class CatalogueRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def upsert_institutions(self, rows: Sequence[dict[str, Any]]) -> tuple[int, int]:
        return self._upsert(Institution, ("credit_code",), rows)

    def upsert_courses(self, rows: Sequence[dict[str, Any]]) -> tuple[int, int]:
        return self._upsert(Course, ("institution_id", "course_code"), rows)

    def _upsert(
        self, table: Any, key: tuple[str, ...], rows: Sequence[dict[str, Any]]
    ) -> tuple[int, int]:
        """Insert new rows, update changed ones (by ``content_digest``); returns (new, changed)."""
        if not rows:
            return 0, 0
        key_cols = [getattr(table, k) for k in key]
        stored = {
            tuple(r[:-1]): r[-1]
            for r in self._session.execute(
                sa.select(*key_cols, table.content_digest).where(
                    sa.tuple_(*key_cols).in_([tuple(r[k] for k in key) for r in rows])
                )
            )
        }
        inserted = updated = 0
        for row in rows:
            row_key = tuple(row[k] for k in key)
            if row_key not in stored:
                bulk_insert(self._session, table, [row])
                inserted += 1
            elif stored[row_key] != row["content_digest"]:
                values = {k: v for k, v in row.items() if k not in (*key, "id", "created_at")}
                if table is Institution and "approval_status" in values:
                    # A suspension is lifted by reinstating, never by re-importing the list;
                    # an administrator's refusal only by an administrator's approval.
                    values["approval_status"] = sa.case(
                        (Institution.suspended_at.is_not(None), Institution.approval_status),
                        (Institution.refused_at.is_not(None), Institution.approval_status),
                        else_=values["approval_status"],
                    )
                self._session.execute(
                    plain_update(table)
                    .where(*[c == row[k] for c, k in zip(key_cols, key, strict=True)])
                    .values(values)
                )
                updated += 1
        return inserted, updated

    def institution_by_code(self, credit_code: str) -> Institution | None:
        return self._session.scalars(
            sa.select(Institution).where(Institution.credit_code == credit_code)
        ).first()

    def institution(self, institution_id: uuid.UUID) -> Institution | None:
        return self._session.get(Institution, institution_id)

    def institution_ids_by_code(self, credit_codes: Sequence[str]) -> dict[str, uuid.UUID]:
        stmt = sa.select(Institution.credit_code, Institution.id).where(
            Institution.credit_code.in_(credit_codes)
        )
        return dict(self._session.execute(stmt).all())

    def refused_institutions(self, credit_codes: Sequence[str]) -> dict[str, str | None]:
        """Of these institutions, those an administrator refused: credit code → the reason."""
        stmt = sa.select(Institution.credit_code, Institution.refusal_reason).where(
            Institution.credit_code.in_(credit_codes), Institution.refused_at.is_not(None)
        )
        return dict(self._session.execute(stmt).all())

    def courses_not_approved(
        self, institution_ids: Sequence[uuid.UUID]
    ) -> dict[tuple[uuid.UUID, str], CourseApproval]:
        """Courses of these institutions that an administrator has not approved (refused or
        pending), by (institution, course code)."""
        stmt = sa.select(Course.institution_id, Course.course_code, Course.approval_status).where(
            Course.institution_id.in_(institution_ids),
            Course.approval_status != CourseApproval.APPROVED,
        )
        return {(i, c): status for i, c, status in self._session.execute(stmt)}

    def seats_taken(self, institution_ids: Sequence[uuid.UUID]) -> dict[tuple[uuid.UUID, str], int]:
        """Seats already taken per (institution, course code)."""
        stmt = sa.select(Course.institution_id, Course.course_code, Course.enrolled_count).where(
            Course.institution_id.in_(institution_ids), Course.enrolled_count > 0
        )
        return {(i, c): n for i, c, n in self._session.execute(stmt)}

    def course(self, course_id: uuid.UUID) -> Course | None:
        return self._session.get(Course, course_id)

    def course_by_code(self, institution_id: uuid.UUID, course_code: str) -> Course | None:
        return self._session.scalars(
            sa.select(Course).where(
                Course.institution_id == institution_id, Course.course_code == course_code
            )
        ).first()

    def take_seat(self, course_id: uuid.UUID) -> bool:
        """Claim one seat if the course has room and is approved; a conditional UPDATE, safe
        under races (a refusal committed meanwhile is seen, as a full course is)."""
        changed = rows_changed(
            self._session,
            plain_update(Course)
            .where(
                Course.id == course_id,
                Course.enrolled_count < Course.capacity,
                Course.approval_status == CourseApproval.APPROVED,
            )
            .values(enrolled_count=Course.enrolled_count + 1),
        )
        return changed == 1

    def free_seat(self, course_id: uuid.UUID) -> None:
        self._session.execute(
            plain_update(Course)
            .where(Course.id == course_id, Course.enrolled_count > 0)
            .values(enrolled_count=Course.enrolled_count - 1)
        )

    def usable_courses(self, province_code: str, limit: int = 1000) -> list[Course]:
        stmt = (
            sa.select(Course)
            .join(Institution, Institution.id == Course.institution_id)
            .where(
                Institution.approval_status == ApprovalStatus.APPROVED,
                Course.approval_status == CourseApproval.APPROVED,
                Course.province_code == province_code,
            )
            .order_by(Course.id)
            .limit(limit)
        )
        return list(self._session.scalars(stmt))

    def institutions(self) -> list[Institution]:
        return list(self._session.scalars(sa.select(Institution).order_by(Institution.credit_code)))

    def approved_institutions(
        self, *, region_prefix: str | None, after: uuid.UUID | None, limit: int
    ) -> list[Institution]:
        """Approved institutions in id order, for keyset (cursor) pagination."""
        stmt = (
            sa.select(Institution)
            .where(Institution.approval_status == ApprovalStatus.APPROVED)
            .order_by(Institution.id)
            .limit(limit)
        )
        if region_prefix:
            stmt = stmt.where(Institution.region_code.startswith(region_prefix))
        if after is not None:
            stmt = stmt.where(Institution.id > after)
        return list(self._session.scalars(stmt))

    def search_courses(
        self,
        *,
        region_prefix: str | None,
        occupation_code: str | None,
        skill_level: SkillLevel | None,
        mode: CourseMode | None,
        max_price_fen: int | None,
        after: uuid.UUID | None,
        limit: int,
        usable: UsableCourses | None = None,
    ) -> list[tuple[Course, Institution]]:
        """Approved courses of approved institutions, in id order, for keyset (cursor)
        pagination."""
        stmt = (
            sa.select(Course, Institution)
            .join(Institution, Institution.id == Course.institution_id)
            .where(
                Institution.approval_status == ApprovalStatus.APPROVED,
                Course.approval_status == CourseApproval.APPROVED,
            )
            .order_by(Course.id)
            .limit(limit)
        )
        if region_prefix:
            stmt = stmt.where(Course.region_code.startswith(region_prefix))
        if occupation_code:
            stmt = stmt.where(Course.occupation_code == occupation_code)
        if skill_level is not None:
            stmt = stmt.where(Course.skill_level == skill_level)
        if mode is not None:
            stmt = stmt.where(Course.mode == mode)
        if max_price_fen is not None:
            stmt = stmt.where(Course.price_fen <= max_price_fen)
        if after is not None:
            stmt = stmt.where(Course.id > after)
        if usable is not None:
            stmt = stmt.where(
                Institution.region_code.startswith(usable.institution_region_prefix),
                Course.skill_level.in_(usable.levels),
            )
            for values, column in (
                (usable.institutions, Institution.credit_code),
                (usable.occupations, Course.occupation_code),
                (usable.modes, Course.mode),
            ):
                if values:
                    stmt = stmt.where(column.in_(values))
        return [(c, i) for c, i in self._session.execute(stmt)]
