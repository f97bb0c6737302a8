"""The few statements whose spelling differs between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session


def upsert_insert(session: Session, entity: Any) -> Any:
    """An INSERT that supports ``on_conflict_do_nothing``/``do_update`` on either database.

    Built on the Core table, like ``bulk_insert``, for the same reason.
    """
    table = entity.__table__
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def bulk_insert(session: Session, entity: Any, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT many rows in one executemany on the Core table.

    The ORM's bulk path splits a batch wherever rows differ in which columns are None (a
    person with or without a mobile), which turned 5,000 rows into thousands of statements.
    """
    if rows:
        session.execute(sa.insert(entity.__table__), list(rows))


def plain_update(table: Any) -> Any:
    """An UPDATE that does not walk the session's identity map to synchronise objects.

    The ORM's default does, once per statement: with thousands of loaded rows in a bulk job
    that turns linear work quadratic. Repositories re-read what they need, so nothing is lost.
    """
    return sa.update(table).execution_options(synchronize_session=False)


def rows_changed(session: Session, statement: Any) -> int:
    """Run an UPDATE and say how many rows it changed: the test of every conditional UPDATE."""
    result = session.execute(statement)
    return int(cast(CursorResult[Any], result).rowcount)
