"""Write generated rows the fastest safe way each database offers: COPY on PostgreSQL
(psycopg's ``cursor.copy``, text format), batched INSERTs on SQLite."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.persistence.bulk_copy import copy_line, copy_lines
from skillvoucher.persistence.tables import Base

__all__ = ["Row", "copy_line", "copy_text", "write_rows"]

Row = tuple[object, ...]


def write_rows(
    session: Session, table: type[Base], columns: Sequence[str], rows: Iterable[Row]
) -> int:
    """Append ``rows`` (values in ``columns`` order) to ``table`` in the session's transaction;
    returns how many were written. The caller commits."""
    if session.get_bind().dialect.name == "postgresql":
        return _copy(session, table, columns, rows)
    return _insert(session, table, columns, rows)


def copy_text(session: Session, table: type[Base], columns: Sequence[str], text: str) -> None:
    """Append rows already in COPY's text format (PostgreSQL only)."""
    driver = session.connection().connection.driver_connection
    assert driver is not None
    statement = f"COPY {table.__tablename__} ({', '.join(columns)}) FROM STDIN"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        copy.write(text)


def _copy(session: Session, table: type[Base], columns: Sequence[str], rows: Iterable[Row]) -> int:
    return copy_lines(session, table.__tablename__, columns, map(copy_line, rows))


def _insert(
    session: Session, table: type[Base], columns: Sequence[str], rows: Iterable[Row]
) -> int:
    count = 0
    batch: list[dict[str, object]] = []
    for row in rows:
        batch.append(dict(zip(columns, row, strict=True)))
        if len(batch) == 5000:
            session.execute(sa.insert(table), batch)
            count += len(batch)
            batch = []
    if batch:
        session.execute(sa.insert(table), batch)
        count += len(batch)
    return count
