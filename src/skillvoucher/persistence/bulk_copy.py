"""COPY for the bulk writers, in PostgreSQL's text format.

A bulk job's rows often differ only in a few fields (ids, a holder): its repository then
formats each row with one f-string around text made once per chunk, several times faster than
``copy_line``, which formats (and escapes) any value by its type. Such hand-spelled rows hold
ids, integers, timestamps and codes from fixed vocabularies only: nothing to escape.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy.orm import Session
from uuid_utils import uuid7

# Bytes handed to COPY at a time: large enough to amortise the calls, small enough to stream.
_COPY_BUFFER = 1 << 20

NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


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
        return NULL
    format_ = _BY_TYPE.get(type(value))
    if format_ is not None:
        return format_(value)
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "t" if value else "f"
    return _escaped(str(value))


def text_id() -> str:
    """A new id as ``domain.ids.new_id`` makes it (a UUIDv7, from the same generator), spelled
    as text for a COPY line: a tenth of the cost of making the ``uuid.UUID`` and spelling it,
    which for a push of millions was the largest share of its Python time."""
    return str(uuid7())


def as_uuid(value: uuid.UUID | str) -> uuid.UUID:
    """An id given either way, as ``uuid.UUID`` (for the executemany that SQLite gets)."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(value)


def copy_line(row: Sequence[object]) -> str:
    """``row`` as one line of COPY's text format, each value formatted and escaped."""
    return "\t".join(map(_text, row)) + "\n"


def copies(session: Session) -> bool:
    """Whether the session's database takes COPY (PostgreSQL); SQLite gets executemany."""
    return session.get_bind().dialect.name == "postgresql"


def copy_lines(session: Session, table: str, columns: Sequence[str], lines: Iterable[str]) -> int:
    """Append ``lines`` (each a row in COPY's text format, ending in a newline) to ``table`` in
    the session's transaction; returns how many. Columns not named take their defaults."""
    driver = session.connection().connection.driver_connection
    assert driver is not None
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    count = 0
    pending: list[str] = []
    size = 0
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for line in lines:
            pending.append(line)
            size += len(line)
            count += 1
            if size >= _COPY_BUFFER:
                copy.write("".join(pending))
                pending.clear()
                size = 0
        if pending:
            copy.write("".join(pending))
    return count
