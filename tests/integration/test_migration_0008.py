"""Migration 0008 on both databases, on a database that holds rows: existing courses become
approved, an institution still refused gets its refusal back from the audit trail, the course
status is checked by the database, and the revision goes down again."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from skillvoucher.domain.ids import new_id
from skillvoucher.persistence.database import create_engine_for
from skillvoucher.persistence.migrate import alembic_config
from skillvoucher.persistence.types import JsonDocument, UtcDateTime

CITY = "140100"
AT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def blank_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """An engine on an empty database of its own (never the session's shared one)."""
    if request.param == "sqlite":
        engine = create_engine_for(f"sqlite:///{(tmp_path / 'blank.db').as_posix()}")
        yield engine
        engine.dispose()
        return
    shared = sa.make_url(request.getfixturevalue("postgres_database").url)  # skips if absent
    name = f"skillvoucher_m0008_{secrets.token_hex(4)}"
    admin = sa.create_engine(shared, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine = create_engine_for(shared.set(database=name).render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        admin.dispose()


def migrate_to(engine: sa.Engine, revision: str, *, down: bool = False) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def row_of(table: str, engine: sa.Engine, **values: Any) -> None:
    """Insert one row by the columns it names, typed as the tables type them (the head's
    table definitions would add columns this revision does not have yet)."""
    columns = [sa.column(name, column_type(value)) for name, value in values.items()]
    with engine.begin() as connection:
        connection.execute(sa.insert(sa.table(table, *columns)), [values])


def column_type(value: object) -> Any:
    if isinstance(value, uuid.UUID):
        return sa.Uuid()
    if isinstance(value, datetime):
        return UtcDateTime()
    if isinstance(value, date):
        return sa.Date()
    if isinstance(value, dict):
        return JsonDocument
    return None


def test_0008_approves_existing_courses_keeps_refusals_and_goes_down_again(
    blank_engine: sa.Engine,
) -> None:
    migrate_to(blank_engine, "0007")
    row_of("regions", blank_engine, **region())
    refused, file_revoked = new_id(), new_id()
    for institution_id, code in (
        (refused, "91140100MA0000001X"),
        (file_revoked, "91140100MA0000002X"),
    ):
        row_of("institutions", blank_engine, **institution(institution_id, code))
    course_id = new_id()
    row_of("courses", blank_engine, **course(course_id, refused))
    row_of("audit_events", blank_engine, **refusal_event(refused))

    migrate_to(blank_engine, "0008")

    with blank_engine.connect() as connection:
        statuses = connection.execute(sa.text("SELECT approval_status FROM courses")).scalars()
        assert list(statuses) == ["approved"]
        marks: dict[str, str | None] = dict(
            connection.execute(
                sa.text("SELECT credit_code, refusal_reason FROM institutions ORDER BY credit_code")
            ).all()
        )
        assert marks == {"91140100MA0000001X": "场地不符合要求", "91140100MA0000002X": None}
        refused_by = connection.execute(
            sa.text("SELECT refused_by FROM institutions WHERE refused_at IS NOT NULL")
        ).scalar_one()
        assert refused_by == "staff:city-admin-1"
    with pytest.raises(sa.exc.IntegrityError), blank_engine.begin() as connection:
        connection.execute(sa.text("UPDATE courses SET approval_status = 'gone'"))

    migrate_to(blank_engine, "0007", down=True)
    with blank_engine.connect() as connection:
        columns = {c["name"] for c in sa.inspect(connection).get_columns("courses")}
    assert "approval_status" not in columns
    migrate_to(blank_engine, "0008")


def region() -> dict[str, Any]:
    return {"code": CITY, "name": "太原市", "name_en": "Taiyuan", "level": "city"}


def institution(institution_id: Any, code: str) -> dict[str, Any]:
    return {
        "id": institution_id,
        "credit_code": code,
        "name": "太原市培训学校",
        "region_code": CITY,
        "province_code": "140000",
        "approval_status": "revoked",
        "delivery_modes": "both",
        "content_digest": "x",
        "created_at": AT,
        "updated_at": AT,
    }


def course(course_id: Any, institution_id: Any) -> dict[str, Any]:
    return {
        "id": course_id,
        "institution_id": institution_id,
        "course_code": "C1",
        "name": "育婴员(五级)",
        "occupation_code": "4-10-01-02",
        "occupation_name": "育婴员",
        "skill_level": "5",
        "hours": 80,
        "price_fen": 160_000,
        "mode": "offline",
        "capacity": 30,
        "enrolled_count": 0,
        "start_date": date(2026, 3, 1),
        "end_date": date(2026, 12, 31),
        "region_code": CITY,
        "province_code": "140000",
        "content_digest": "x",
        "created_at": AT,
        "updated_at": AT,
    }


def refusal_event(institution_id: Any) -> dict[str, Any]:
    return {
        "id": new_id(),
        "occurred_at": AT,
        "region_code": CITY,
        "province_code": "140000",
        "actor": "staff:city-admin-1",
        "action": "institution.refused",
        "entity_type": "institution",
        "entity_id": str(institution_id),
        "payload": {"reason": "场地不符合要求", "from": "pending", "to": "revoked"},
    }
