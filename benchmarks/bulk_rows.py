"""Write generated rows the fastest safe way each database offers: COPY on PostgreSQL
(psycopg's ``cursor.copy``, text format), batched INSERTs on SQLite."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.persistence.tables import Base

# Bytes handed to COPY at a time: large enough to amortise the calls, small enough to stream.
_COPY_BUFFER = 1 << 20
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})

Row = tuple[object, ...]


def _escaped(value: str) -> str:
    return value.translate(_ESCAPES)


def _iso(value: date) -> str:
    # datetime.isoformat keeps the UTC offset, which timestamptz reads as such.
    return value.isoformat()


_BY_TYPE: dict[type, Callable[[Any], str]] = {
    str: _escaped,
    int: str,
    uuid.UUID: str,
    date: _iso,
    datetime: _iso,
}


def _text(value: object) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    format_ = _BY_TYPE.get(type(value))
    if format_ is not None:
        return format_(value)
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "t" if value else "f"
    return _escaped(str(value))


def write_rows(
    session: Session, table: type[Base], columns: Sequence[str], rows: Iterable[Row]
) -> int:
    """Append ``rows`` (values in ``columns`` order) to ``table`` in the session's transaction;
    returns how many were written. The caller commits."""
    if session.get_bind().dialect.name == "postgresql":
        return _copy(session, table, columns, rows)
    return _insert(session, table, columns, rows)


def copy_line(row: Row) -> str:
    """``row`` as one line of COPY's text format."""
    return "\t".join(map(_text, row)) + "\n"


def copy_text(session: Session, table: type[Base], columns: Sequence[str], text: str) -> None:
    """Append rows already in COPY's text format (PostgreSQL only)."""
    driver = session.connection().connection.driver_connection
    assert driver is not None
    statement = f"COPY {table.__tablename__} ({', '.join(columns)}) FROM STDIN"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        copy.write(text)


def _copy(session: Session, table: type[Base], columns: Sequence[str], rows: Iterable[Row]) -> int:
    driver = session.connection().connection.driver_connection
    assert driver is not None
    statement = f"COPY {table.__tablename__} ({', '.join(columns)}) FROM STDIN"
    count = 0
    lines: list[str] = []
    size = 0
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            line = copy_line(row)
            lines.append(line)
            size += len(line)
            count += 1
            if size >= _COPY_BUFFER:
                copy.write("".join(lines))
                lines.clear()
                size = 0
        if lines:
            copy.write("".join(lines))
    return count


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
